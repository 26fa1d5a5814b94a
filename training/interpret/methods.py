"""Running the methods of ``training.interpret.table``: ``run`` computes one request on a
:class:`~training.interpret.subject.Subject` and returns its picture and its numbers; ``save`` keeps them
in the run folder."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from arch import io
from training.errors import ConfigError
from training.interpret import render as r
from training.interpret.common import Cancel, Progress, one_thread
from training.interpret.subject import Subject
from training.interpret.table import METHODS, Request


@dataclass
class Result:
    method: str
    request: Request
    picture: Image.Image
    numbers: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "request": asdict(self.request), "seconds": round(self.seconds, 4),
                **self.numbers}


def _input(subject: Subject, req: Request) -> tuple[torch.Tensor, int | None, str]:
    if req.image:
        return subject.read_image(req.image), None, Path(req.image).name
    x, y = subject.image(req.index)
    return x, y, f"validation image {req.index}"


def _name(subject: Subject, k: int | None) -> str:
    if k is None:
        return "?"
    return f"{k} {subject.classes[k]}" if 0 <= k < len(subject.classes) and subject.classes[k] != str(k) else str(k)


def run(subject: Subject, req: Request, progress: Progress = None, cancel: Cancel = None) -> Result:
    """Compute ``req`` on ``subject``; a bad layer, channel, class or image is a ConfigError/DataError naming it."""
    import time

    if req.method not in METHODS:
        raise ConfigError(f"unknown method {req.method!r}; methods: {', '.join(METHODS)}")
    m = METHODS[req.method]
    # a class needs no layer; histograms take a layer with parameters (checked against the recorded ones)
    layered = m.layer and not (req.method == "maximize" and req.target is not None) and req.method != "histograms"
    if layered and not req.layer:
        req.layer = subject.last_spatial()
    if layered and req.layer not in subject.spatial_layers():
        from arch.fields import did_you_mean

        raise ConfigError(f"layer {req.layer!r} is not a spatial layer of the network"
                          f"{did_you_mean(req.layer or '', subject.spatial_layers())}; spatial layers: "
                          + ", ".join(subject.spatial_layers()))
    t = time.perf_counter()
    with nullcontext() if m.batched else one_thread():
        picture, numbers = _COMPUTE[req.method](subject, req, progress, cancel)
    return Result(req.method, req, picture, numbers, time.perf_counter() - t)


# ------------------------------------------------------------------------------------------ one per method
def _topk(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.patches import top_patches

    x, y = s.validation()
    top = top_patches(s.model, q.layer, q.channel, x, q.k, s.report, progress=progress, cancel=cancel)  # type: ignore[arg-type]
    tiles = []
    for p in top.patches:
        t, b, lft, rgt = p.box
        crop = s.pixels(x[p.index])[t:b + 1, lft:rgt + 1]
        tiles.append(r.titled(r.panel(crop, 96), f"#{p.index}", f"{p.value:.3g}"))
    pic = r.header(r.grid(tiles, min(len(tiles), 5)), f"{q.layer} channel {q.channel}: top {len(tiles)} of "
                   f"{top.images} validation images (crop = receptive field)")
    return pic, {"layer": q.layer, "channel": q.channel, "images": top.images,
                 "patches": [{"index": p.index, "unit": list(p.unit), "value": p.value, "box": list(p.box),
                              "label": int(y[p.index])} for p in top.patches]}


def _project(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.deconv import project

    x, label, where = _input(s, q)
    p = project(s.model, q.layer, q.channel, x, q.method, report=s.report)  # type: ignore[arg-type]
    hw = tuple(x.shape[-2:])
    img = r.outline(r.panel(s.pixels(x)), p.box, hw)  # type: ignore[arg-type]
    proj = r.outline(r.panel(r.signed(p.map)), p.box, hw)  # type: ignore[arg-type]
    title = METHODS[q.method].title
    pic = r.header(r.row([r.titled(img, where), r.titled(proj, title, f"unit {p.unit} = {p.value:.3g}")]),
                   f"{q.layer} channel {q.channel}: {title.lower()} of its strongest unit (box: receptive field)")
    nz = np.nonzero(np.abs(p.map).sum(0))
    support = [int(nz[0].min()), int(nz[0].max()), int(nz[1].min()), int(nz[1].max())] if len(nz[0]) else None
    return pic, {"layer": q.layer, "channel": q.channel, "unit": list(p.unit), "value": p.value,
                 "rf_box": list(p.box), "support": support, "label": label, "plain_activations": p.plain}


def _occlusion(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.occlusion import occlusion

    x, label, where = _input(s, q)
    target = q.target if q.target is not None else label
    if target is None:
        raise ConfigError("occlusion of an image file needs --class N (the class whose probability to watch)")
    o = occlusion(s.model, x, target, q.size, q.stride, progress=progress, cancel=cancel)
    hw = tuple(x.shape[-2:])
    peak = float(o.map.max())
    heat = np.clip(o.map / peak, 0, 1) if peak > 0 else np.zeros_like(o.map)
    pic = r.header(r.row([r.titled(r.panel(s.pixels(x)), where),
                          r.titled(r.mark(r.panel(r.overlay(s.pixels(x), heat)), o.peak, hw), "probability drop",  # type: ignore[arg-type]
                                   f"largest {peak:.3f} at {o.peak}")]),
                   f"occlusion of class {_name(s, target)} (p = {o.base:.3f}), {o.size} px patch, stride {o.stride}")
    return pic, {"target": target, "label": label, "base_prob": o.base, "size": o.size, "stride": o.stride,
                 "peak": list(o.peak), "largest_drop": peak, "grid": o.grid.round(5).tolist()}


def _gradcam(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.gradcam import gradcam

    x, label, where = _input(s, q)
    g = gradcam(s.model, q.layer, x, q.target, guided=True)  # type: ignore[arg-type]
    hw = tuple(x.shape[-2:])
    pix = s.pixels(x)
    pic = r.header(r.row([r.titled(r.panel(pix), where),
                          r.titled(r.mark(r.panel(r.overlay(pix, g.map)), g.peak, hw), "Grad-CAM"),  # type: ignore[arg-type]
                          r.titled(r.panel(r.signed(g.guided)), "guided Grad-CAM")]),  # type: ignore[arg-type]
                   f"class {_name(s, g.target)} (p = {g.prob:.3f}) at {q.layer} ({g.coarse.shape[0]}x"
                   f"{g.coarse.shape[1]})")
    return pic, {"layer": q.layer, "target": g.target, "prob": g.prob, "label": label, "peak": list(g.peak),
                 "coarse": g.coarse.round(5).tolist()}


def _maximize(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.maximize import maximize

    mean = torch.tensor(s.mean).view(-1, 1, 1)
    std = torch.tensor(s.std).view(-1, 1, 1)
    bounds = ((0 - mean) / std, (1 - mean) / std)
    if q.target is not None:
        res = maximize(s.model, s.input_shape, target_class=q.target, steps=q.steps, bounds=bounds,
                       progress=progress, cancel=cancel)
    else:
        res = maximize(s.model, s.input_shape, q.layer, q.channel, steps=q.steps, bounds=bounds, progress=progress,
                       cancel=cancel)
    pix = s.pixels(res.image)
    pic = r.header(r.row([r.titled(r.panel(pix), res.target, f"{res.start:.3g} -> {res.value:.3g}"),
                          r.curve(res.history, f"objective over {res.steps} steps")]),
                   f"activation maximisation of {res.target}: {res.steps} steps, jitter + blur + TV")
    return pic, {"target": res.target, "steps": res.steps, "start": res.start, "value": res.value,
                 "ratio": res.value / res.start if res.start > 0 else None}


def _probs(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.probs import probabilities, top

    x, label, where = _input(s, q)
    p = probabilities(s.model, x)
    best = top(p, 5)
    pic = r.row([r.titled(r.panel(s.pixels(x)), where, f"label {_name(s, label)}" if label is not None else ""),
                 r.bars([(_name(s, k), v) for k, v in best], "top 5 (softmax)", scale=1.0)])
    return pic, {"label": label, "top5": [{"class": k, "name": s.classes[k] if k < len(s.classes) else str(k),
                                           "prob": v} for k, v in best], "probs": p.round(6).tolist()}


def _misclassified(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    for what, k in (("class", q.target), ("predicted class", q.predicted)):
        if k is not None and not 0 <= k < len(s.classes):
            raise ConfigError(f"{what} {k}: the network has {len(s.classes)} classes (0..{len(s.classes) - 1})")
    x, y = s.validation()
    pred = s.predictions(progress, cancel)
    idx = pred.cell(q.target, q.predicted)
    shown = idx[:q.k * 4]
    tiles = [r.titled(r.panel(s.pixels(x[i]), 80), f"#{i}", f"{pred.labels[i]}->{pred.predicted[i]} "
                      f"{pred.confidence[i]:.2f}") for i in shown]
    what = (f"true {_name(s, q.target)}" if q.target is not None else "any class") + \
        (f", predicted {_name(s, q.predicted)}" if q.predicted is not None else "")
    body = r.grid(tiles, 6) if tiles else r.titled(Image.new("RGB", (200, 20), "white"), "none")
    pic = r.header(body, f"misclassified ({what}): {len(idx)} of {len(y)}; showing {len(shown)}")
    return pic, {"misclassified": len(idx), "images": int(len(y)), "indices": idx.tolist(),
                 "confusion": pred.confusion.tolist(), "accuracy": float((pred.labels == pred.predicted).mean())}


def _histograms(s: Subject, q: Request, progress: Progress, cancel: Cancel) -> tuple[Image.Image, dict]:
    from training.interpret.histograms import load_histograms

    if s.path is None:
        raise ConfigError("histograms are read from a run directory")
    h = load_histograms(s.path if s.path.is_dir() else s.path.parent)
    layer = q.layer or h.layers[0]
    if layer not in h.layers:
        from arch.fields import did_you_mean

        raise ConfigError(f"layer {layer!r} has no recorded histograms (only layers with parameters have them)"
                          f"{did_you_mean(layer, h.layers)}; recorded: {', '.join(h.layers)}")
    q.layer = layer
    views = []
    for kind in ("weight", "grad"):
        picture, a, b = r.history_image(*h.series(layer, kind))
        img = Image.fromarray(picture).resize((256, max(48, 24 * len(h.epochs))), Image.Resampling.NEAREST)
        views.append(r.titled(img, f"{kind}s: epochs {h.epochs[0]}..{h.epochs[-1]} (rows, first on top)",
                              f"value {a:.3g} .. {b:.3g} (columns)"))
    norms = h.norms("grad")
    views.append(r.bars([(n, v) for n, v in norms], f"gradient norm per layer, epoch {h.epochs[-1]}",
                        width=360, fmt="{:.3g}"))
    pic = r.header(r.row(views), f"{layer}: histograms over epochs ({h.params(layer):,} parameters, "
                   f"{h.bins} bins)")
    w_counts, _, _ = h.series(layer, "weight")
    return pic, {"layer": layer, "epochs": h.epochs, "params": h.params(layer),
                 "weight_counts_per_epoch": w_counts.sum(1).tolist(),
                 "grad_norms": {n: v for n, v in norms}, "weight_norms": dict(h.norms("weight"))}


_COMPUTE = {"topk": _topk, "deconv": _project, "guided": _project, "occlusion": _occlusion, "gradcam": _gradcam,
            "maximize": _maximize, "probs": _probs, "misclassified": _misclassified, "histograms": _histograms}


def save(result: Result, run_dir: str | Path) -> Path:
    """Keep ``result`` in the run folder: ``inspect/SLUG.png`` and ``.json`` (written atomically)."""
    import io as _io
    import json

    folder = Path(run_dir) / "inspect"
    path = folder / f"{result.request.slug()}.png"
    buf = _io.BytesIO()
    result.picture.save(buf, format="PNG")
    io.write_bytes(path, buf.getvalue())
    io.write_text(path.with_suffix(".json"), json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n")
    return path
