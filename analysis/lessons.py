"""The CNN course's lessons as one-click comparisons from a selected block: two networks, the formulas with
the block's own numbers, the ratio the formula predicts and the one the analysis measures.

* ``separable``: a k x k conv (M -> N channels) vs depthwise k x k + pointwise 1x1: MACs ratio 1/N + 1/k^2;
* ``gap``: a fully connected head on C x H x W vs global average pooling first: params ratio ~ H W;
* ``inception``: the naive module (1x1, 3x3, 5x5 and pooling straight on the input) vs the 1x1-reduced one;
* ``residual``: the network as it is vs the same layers without shortcuts (``shortcut: none``); the
  gradient norm per layer at initialisation is ``training.gradients``;
* ``mlp``: a conv vs a fully connected layer producing the same output from the same input (weight sharing).

The two networks of a lesson are the block alone on its input (followed by the same head), except the
residual lesson, which compares whole networks (a plain net only shows its trouble when deep).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analysis.engine import analyze
from analysis.records import Report
from arch.errors import ConvSmithError
from arch.fields import as_pair
from arch.graph import within
from arch.paths import get_block
from arch.registry import family
from arch.spec import BlockSpec, Spec


def _head() -> list[BlockSpec]:
    """The same classifier head after either network (new objects: specs are edited in place elsewhere)."""
    return [BlockSpec("global_pool"), BlockSpec("flatten"), BlockSpec("classifier")]


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    a: Spec
    b: Spec
    formulas: list[str]  # with the block's numbers filled in
    ratio_formula: str
    predicted: float  # what the formula says b / a is
    measured: float  # what the analysis of the two networks gives
    measured_what: str  # which figure of which layers was divided


def _alone(spec: Spec, name: str, shape: tuple[int, ...], blocks: list[BlockSpec]) -> Spec:
    c, h, w = shape
    return dataclasses.replace(spec, name=name, input=(c, h, w), body=blocks, search={}, description="")


def _sum(report: Report, attr: str, ops: tuple[str, ...] = ("conv", "linear"), block: str | None = None) -> int:
    return sum(getattr(r, attr) for r in report.layers
               if r.type in ops and (block is None or r.block == block or within(r.block, block)))


def _context(spec: Spec, path: str) -> tuple[BlockSpec, Any, tuple[int, ...], tuple[int, ...]]:
    report = analyze(spec)
    try:
        rec = report.block(path)
    except KeyError:
        raise ConvSmithError(f"no block {path!r} in {spec.name}") from None
    bs = _block_at(spec, path)
    cfg = family(bs.block).resolve(bs.params, spec.width_mult)
    return bs, cfg, tuple(rec.in_shape), tuple(rec.out_shape)


def _block_at(spec: Spec, path: str) -> BlockSpec:
    """The block spec at a graph block path (``body[3]``, a stage repeat ``body[4][1]``: its unit)."""
    head = path.split("]")[0] + "]"
    bs = get_block(spec, head)
    rest = path[len(head):]
    while rest.startswith("[") and bs.block == "stage":
        repeat = int(rest[1:rest.index("]")])
        stage: Any = family("stage")  # arch.blocks.stage.Stage
        units = stage.units(stage.resolve(bs.params), spec.depth_mult)
        bs, rest = units[repeat], rest[rest.index("]") + 1:]
    return bs


def separable(spec: Spec, path: str) -> Lesson:
    bs, cfg, x, y = _context(spec, path)
    if bs.block not in ("conv", "separable") or as_pair(cfg.kernel)[0] != as_pair(cfg.kernel)[1]:
        raise ConvSmithError("the separable lesson needs a conv or separable block with a square kernel")
    k, m, n, (ho, wo) = as_pair(cfg.kernel)[0], x[0], cfg.out, y[1:]
    common: dict[str, Any] = {f: bs.params[f] for f in ("kernel", "stride", "padding", "padding_mode", "dilation")
                              if f in bs.params}
    std = BlockSpec("conv", {"out": n, **common}, "standard")
    sep = BlockSpec("separable", {"out": n, **common}, "depthwise-separable")
    a, b = _alone(spec, "standard conv", x, [std, *_head()]), _alone(spec, "depthwise-separable", x, [sep, *_head()])
    ra, rb = analyze(a), analyze(b)
    measured = _sum(rb, "macs", block="body[0]") / _sum(ra, "macs", block="body[0]")
    return Lesson("separable", "standard vs depthwise-separable convolution", a, b, [
        f"standard: k²·M·N·H·W = {k}²·{m}·{n}·{ho}·{wo} = {k * k * m * n * ho * wo:,} MACs, "
        f"k²·M·N = {k * k * m * n:,} weights",
        f"depthwise + pointwise: (k²·M + M·N)·H·W = ({k}²·{m} + {m}·{n})·{ho}·{wo} = "
        f"{(k * k * m + m * n) * ho * wo:,} MACs, {k * k * m + m * n:,} weights",
    ], "(k²M + MN) / (k²MN) = 1/N + 1/k²", 1 / n + 1 / (k * k), measured, "MACs of the block's convs, b / a")


def gap(spec: Spec, path: str) -> Lesson:
    _, _, _, y = _context(spec, path)
    if len(y) != 3:
        raise ConvSmithError("the head lesson needs a block whose output is a C x H x W map")
    c, h, w = y
    classes = spec.num_classes
    a = _alone(spec, "fully connected head", y, [BlockSpec("flatten"), BlockSpec("classifier")])
    b = _alone(spec, "global average pooling", y, _head())
    pa, pb = analyze(a).totals.params, analyze(b).totals.params
    return Lesson("gap", "fully connected head vs global average pooling", a, b, [
        f"FC: (C·H·W + 1)·K = ({c}·{h}·{w} + 1)·{classes} = {(c * h * w + 1) * classes:,} params",
        f"GAP then FC: (C + 1)·K = ({c} + 1)·{classes} = {(c + 1) * classes:,} params",
    ], "(C + 1) / (C·H·W + 1) ≈ 1 / (H·W)", (c + 1) / (c * h * w + 1), pb / pa, "params of the whole head, b / a")


def inception(spec: Spec, path: str) -> Lesson:
    bs, cfg, x, y = _context(spec, path)
    if bs.block != "inception":
        raise ConvSmithError("the inception lesson needs an inception block")
    unit = {"norm": cfg.norm, "activation": cfg.activation}
    naive = BlockSpec("branch", {"merge": "concat", "paths": [
        [BlockSpec("conv", {"out": cfg.c1, "kernel": 1, **unit})],
        [BlockSpec("conv", {"out": cfg.c3, "kernel": 3, **unit})],
        [BlockSpec("conv", {"out": cfg.c5, "kernel": cfg.kernel5, **unit})],
        [BlockSpec("pool", {"mode": "max", "kernel": cfg.pool_kernel, "stride": 1, "padding": cfg.pool_kernel // 2})],
    ]}, "naive")
    a = _alone(spec, "naive inception", x, [naive, *_head()])
    b = _alone(spec, "inception with 1x1 reductions", x, [BlockSpec("inception", dict(bs.params)), *_head()])
    c, h, w = x
    k5 = as_pair(cfg.kernel5)
    hw = h * w
    naive_macs = hw * c * (cfg.c1 + 9 * cfg.c3 + k5[0] * k5[1] * cfg.c5)
    reduced = hw * (c * (cfg.c1 + cfg.c3r + cfg.c5r + cfg.pool_proj) + 9 * cfg.c3r * cfg.c3
                    + k5[0] * k5[1] * cfg.c5r * cfg.c5)
    ma, mb = _sum(analyze(a), "macs", block="body[0]"), _sum(analyze(b), "macs", block="body[0]")
    return Lesson("inception", "naive vs reduced inception module", a, b, [
        f"naive: H·W·C·(c1 + 9·c3 + k5²·c5) = {h}·{w}·{c}·({cfg.c1} + 9·{cfg.c3} + {k5[0] * k5[1]}·{cfg.c5}) "
        f"= {naive_macs:,} MACs; output {cfg.c1 + cfg.c3 + cfg.c5 + c} channels (the pool passes all {c})",
        f"reduced: H·W·(C·(c1 + c3r + c5r + pool_proj) + 9·c3r·c3 + k5²·c5r·c5) = {reduced:,} MACs; output "
        f"{cfg.c1 + cfg.c3 + cfg.c5 + cfg.pool_proj} channels",
    ], "reduced MACs / naive MACs", reduced / naive_macs, mb / ma, "MACs of the module, b / a")


def residual(spec: Spec, path: str) -> Lesson:
    if not any(_has_residual(b) for b in spec.body):
        raise ConvSmithError("the residual lesson needs a network with residual blocks")
    plain = dataclasses.replace(spec, name=f"{spec.name} (plain)", body=[_plain(b) for b in spec.body], search={})
    ra, rb = analyze(plain), analyze(spec)
    return Lesson("residual", "plain vs residual network", plain, dataclasses.replace(spec, search={}), [
        "residual: y = F(x) + x, so ∂L/∂x = ∂L/∂y · (∂F/∂x + I): the identity carries the gradient past every block",
        "plain: y = F(x), so ∂L/∂x = ∂L/∂y · ∂F/∂x: a product of one Jacobian per block, which shrinks or grows "
        "with depth",
        f"parameters: plain {ra.totals.params:,}, residual {rb.totals.params:,} (projection shortcuts only)",
    ], "residual params / plain params", rb.totals.params / ra.totals.params,
        rb.totals.params / ra.totals.params, "params, b / a (the gradient plot shows the difference)")


def _has_residual(bs: BlockSpec) -> bool:
    return bs.block == "residual" or any(isinstance(v, BlockSpec) and _has_residual(v) for v in bs.params.values())


def _plain(bs: BlockSpec) -> BlockSpec:
    if bs.block == "residual":
        return BlockSpec("residual", {**bs.params, "shortcut": "none"}, bs.label)
    params = {k: _plain(v) if isinstance(v, BlockSpec) else v for k, v in bs.params.items()}
    return BlockSpec(bs.block, params, bs.label)


def mlp(spec: Spec, path: str) -> Lesson:
    bs, cfg, x, y = _context(spec, path)
    if bs.block != "conv" or len(x) != 3:
        raise ConvSmithError("the weight-sharing lesson needs a conv block")
    c, h, w = x
    n, ho, wo = y
    kh, kw = as_pair(cfg.kernel)
    bias = cfg.bias if cfg.bias is not None else cfg.norm == "none"
    conv = BlockSpec("conv", {**bs.params, "norm": "none", "activation": "none", "bias": bias}, "conv")
    a = _alone(spec, "fully connected", x, [BlockSpec("flatten"), BlockSpec("linear", {"out": n * ho * wo,
                                                                                       "activation": "none",
                                                                                       "bias": bias}),
                                            BlockSpec("classifier")])
    b = _alone(spec, "convolution", x, [conv, BlockSpec("flatten"), BlockSpec("classifier")])
    fc = c * h * w * n * ho * wo + (n * ho * wo if bias else 0)
    cv = kh * kw * c * n + (n if bias else 0)
    pa = _sum(analyze(a), "params", ("linear",), "body[1]")
    pb = _sum(analyze(b), "params", ("conv",), "body[0]")
    return Lesson("mlp", "fully connected vs convolution on the same input", a, b, [
        f"fully connected, every output sees every input: C·H·W·N·H'·W'{' + N·H′·W′' if bias else ''} = "
        f"{c}·{h}·{w}·{n}·{ho}·{wo}{f' + {n * ho * wo}' if bias else ''} = {fc:,} params",
        f"convolution, one k×k filter shared by every position: k_h·k_w·C·N{' + N' if bias else ''} = "
        f"{kh}·{kw}·{c}·{n}{f' + {n}' if bias else ''} = {cv:,} params",
        f"both give {n}x{ho}x{wo} from {c}x{h}x{w}",
    ], "conv params / FC params", cv / fc, pb / pa, "params of the conv vs the linear layer, b / a")


LESSONS: dict[str, tuple[str, Callable[[Spec, str], Lesson], tuple[str, ...]]] = {
    "separable": ("Standard vs depthwise-separable", separable, ("conv", "separable")),
    "gap": ("Fully connected head vs global average pooling", gap, ()),
    "inception": ("Naive vs reduced Inception", inception, ("inception",)),
    "residual": ("Plain vs residual (gradient norms)", residual, ("residual",)),
    "mlp": ("MLP vs conv (weight sharing)", mlp, ("conv",)),
}


def available(spec: Spec, path: str, report: Report | None = None) -> list[str]:
    """The lessons that apply to the block at ``path`` (empty families: any block with a spatial output)."""
    report = report or analyze(spec)
    try:
        rec = report.block(path)
        bs = _block_at(spec, path)
    except (KeyError, ConvSmithError):
        return []
    kinds = {rec.family, bs.block}
    while bs.block == "stage":
        bs = bs.params["unit"]
        kinds.add(bs.block)
    out = []
    for key, (_, _, families) in LESSONS.items():
        if (families and kinds & set(families)) or (not families and len(rec.out_shape) == 3):
            out.append(key)
    return out


def lesson(key: str, spec: Spec, path: str) -> Lesson:
    if key not in LESSONS:
        raise ConvSmithError(f"unknown lesson {key!r}; one of {', '.join(LESSONS)}")
    return LESSONS[key][1](spec, path)

