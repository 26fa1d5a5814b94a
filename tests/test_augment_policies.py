"""Rich batched augmentation: witnesses for each transform (identity gives the input back, a 90 degree turn is
torch.rot90, a one-pixel shift is a slice, colour factors against torchvision's functional ops, mixup targets
sum to 1), per-image randomness, seeds that repeat, and the training options that switch them on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from arch.options import option_map
from arch.train_options import POLICIES, TrainConfig
from training.augment_policies import (
    POLICY_CHUNKS,
    Augmenter,
    AugmentSettings,
    Policy,
    affine,
    color_jitter,
    mix,
    random_affine,
    random_erase,
)

N = 6


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randint(0, 256, (N, 3, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


def _const(v: float) -> torch.Tensor:
    return torch.full((N,), float(v))


def test_identity_parameters_give_the_input_back_exactly(x) -> None:
    assert torch.equal(affine(x, _const(0), _const(1), _const(0), _const(0), _const(0)), x)
    assert torch.equal(color_jitter(x, _const(1), _const(1), _const(1), _const(0)), x)
    assert torch.equal(random_erase(x, 0.0, torch.Generator().manual_seed(0)), x)
    assert torch.equal(Augmenter(AugmentSettings(), 0)(x, torch.Generator()), x)


def test_quarter_turn_is_rot90_and_shift_is_a_slice(x) -> None:
    turned = affine(x, _const(90), _const(1), _const(0), _const(0), _const(0))
    assert torch.equal(turned, torch.rot90(x, 1, (2, 3)))  # counter-clockwise as seen
    shifted = affine(x, _const(0), _const(1), _const(1 / 12), _const(0), _const(0))
    assert torch.equal(shifted[..., 1:], x[..., :-1]) and not shifted[..., 0].any()
    down = affine(x, _const(0), _const(1), _const(0), _const(2 / 12), _const(0))
    assert torch.equal(down[..., 2:, :], x[..., :-2, :])


def test_affine_matches_torchvision_per_image(x) -> None:
    """Per-image parameters: each image equals torchvision's affine with its own angle, scale and shear
    (torchvision's functional affine turns clockwise for a positive angle and shears the other way: the same
    maps with the signs flipped; our ranges are symmetric, so the distributions are the same)."""
    angles, scales, shears = torch.linspace(-40, 40, N), torch.linspace(0.8, 1.2, N), torch.linspace(-10, 10, N)
    ours = affine(x, angles, scales, _const(0), _const(0), shears).int()
    for i in range(N):
        theirs = TF.affine(x[i], angle=-float(angles[i]), translate=[0, 0], scale=float(scales[i]),
                           shear=[-float(shears[i]), 0.0], interpolation=TF.InterpolationMode.BILINEAR).int()
        assert (ours[i] - theirs)[:, 3:-3, 3:-3].abs().max() <= 1  # borders: half-outside pixels filled differently


def test_colour_factors_match_torchvision(x) -> None:
    f = torch.linspace(0.5, 1.5, N)
    one, zero = _const(1), _const(0)
    for ours, theirs in ((color_jitter(x, f, one, one, zero), TF.adjust_brightness),
                         (color_jitter(x, one, f, one, zero), TF.adjust_contrast),
                         (color_jitter(x, one, one, f, zero), TF.adjust_saturation)):
        for i in range(N):
            assert (ours[i].int() - theirs(x[i], float(f[i])).int()).abs().max() <= 1
    grey = x[:, :1]
    assert torch.equal(color_jitter(grey, one, one, f, _const(0.3)), grey)  # grey images: no saturation or hue
    hued = color_jitter(x, one, one, one, _const(0.25)).float()
    lum = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert ((hued * lum).sum(1) - (x.float() * lum).sum(1)).abs().mean() < 4  # a hue turn keeps the luminance
    assert not torch.equal(hued.to(torch.uint8), x)


def test_per_image_draws_and_seeds_repeat(x) -> None:
    batch = x[:1].expand(N, -1, -1, -1).contiguous()
    out = random_affine(batch, 30, 0.2, 0.1, 10, torch.Generator().manual_seed(3))
    assert len({o.numpy().tobytes() for o in out}) == N  # each image its own parameters
    again = random_affine(batch, 30, 0.2, 0.1, 10, torch.Generator().manual_seed(3))
    assert torch.equal(out, again)
    erased = random_erase(batch, 1.0, torch.Generator().manual_seed(0))
    holes = (erased == 0).all(1).flatten(1).float().mean(1)
    assert ((holes > 0.01) & (holes < 0.5)).all() and len(set(holes.tolist())) > 1


def test_policies_sample_one_op_per_slice() -> None:
    """v2 policies pick one op per call: a batch of one image repeated shows several different results, one per
    slice, and the same seed gives the same batch."""
    img = torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    batch = img.expand(4 * POLICY_CHUNKS, -1, -1, -1).contiguous()
    for name in POLICIES[1:]:
        out = Policy(name)(batch, np.random.default_rng(5))
        slices = out.tensor_split(POLICY_CHUNKS)
        assert all(len({o.numpy().tobytes() for o in s}) == 1 for s in slices)  # one op within a slice
        assert len({s[0].numpy().tobytes() for s in slices}) > 2  # different ops across slices
        assert torch.equal(out, Policy(name)(batch, np.random.default_rng(5)))
        assert Policy(name)(batch[:, :1].contiguous(), np.random.default_rng(5)).shape == (len(batch), 1, 16, 16)


def test_mixup_and_cutmix_targets() -> None:
    xf = torch.randn(N, 3, 8, 8)
    y = torch.arange(N) % 4
    for mixup, cutmix in ((0.4, 0.0), (0.0, 1.0), (1.0, 1.0)):
        for seed in range(4):
            mixed, t = mix(xf, y, 4, mixup, cutmix, np.random.default_rng(seed))
            assert torch.allclose(t.sum(1), torch.ones(N))
            lam = float(t[0, y[0]]) if y[0] != y[-1] else None
            if lam is not None and cutmix == 0:  # mixup: the image is the same blend as its target
                assert torch.allclose(mixed[0], lam * xf[0] + (1 - lam) * xf[-1], atol=1e-5)
            if lam is not None and mixup == 0:   # cutmix: the target is the fraction of pixels kept
                kept = (mixed[0] == xf[0]).all(0).float().mean()
                assert abs(float(kept) - lam) < 1e-6
    same, t = mix(xf, y, 4, 0.0, 0.0, np.random.default_rng(0))
    assert same is xf and torch.equal(t.argmax(1), y)


def test_every_knob_is_a_searchable_training_option() -> None:
    options = option_map(TrainConfig)
    for name in AugmentSettings.__dataclass_fields__:
        assert options[name].searchable, name
    assert TrainConfig(rotate=200).problems() == ["rotate: must be in [0, 180] (got 200)"]
    assert TrainConfig(policy="nope").problems()[0].startswith("policy: ")
    assert AugmentSettings.of(TrainConfig(rotate=10, policy="randaugment")).describe() == "rotate 10, randaugment"


def test_preview_shows_originals_then_augmented_views(tmp_path, capsys) -> None:
    from PIL import Image

    from main import main
    from tests.test_training_support import tiny_source
    from training.augment_preview import GAP, augmented_views, preview_grid
    from training.data import load_data

    data = load_data(tiny_source(n=40, size=16, channels=3))
    cfg = TrainConfig(rotate=30, erase=1.0, crop=0, flip=False)
    originals, views = augmented_views(data, cfg, images=3, repeats=4)
    assert views.shape == (4, 3, 3, 16, 16) and torch.equal(originals, data.train.x[:3])
    assert all(not torch.equal(v, originals) for v in views)
    grid = preview_grid(data, cfg, images=3, repeats=4)
    assert grid.shape == (3 * 18 - GAP, 5 * 18 + GAP, 3)
    assert np.array_equal(grid[:16, :16], originals[0].permute(1, 2, 0).numpy())
    assert np.array_equal(preview_grid(data, TrainConfig(crop=0, flip=False), 3, 2)[:16, 18 + 2 * GAP:34 + 2 * GAP],
                          originals[0].permute(1, 2, 0).numpy())  # nothing on: the views are the originals
    out = tmp_path / "preview.png"
    assert main(["train", "template:cifar_cnn", "--data", tiny_source(n=40, size=32), "--rotate", "20",
                 "--policy", "randaugment", "--preview-augment", str(out)]) == 0
    assert Image.open(out).size[0] >= 512 and "augmentation preview" in capsys.readouterr().out
    assert not list(tmp_path.glob("runs"))  # a preview trains nothing
