"""Why each number is what it is: the derivation of a layer's figures with the numbers filled in.

Every step is recomputed here from the node's attributes and its input's shape and field, by the textbook
formula it prints (not read from the analysis), and names the ``LayerRecord`` value it must equal; a test
holds every step of every layer of every template and of random specs to that. Formulas:

* output size per axis: floor((H + p_top + p_bottom - d(k - 1) - 1) / s) + 1; pooling with ceil_mode
  rounds up, and drops a last window that would start in the bottom padding (torch's rule);
* conv params: (k_h k_w C_in / groups + bias) C_out; MACs: C_out H_out W_out k_h k_w C_in / groups per
  sample; linear: (F_in + bias) F_out and F_in F_out;
* activation memory: C H W x batch x bytes per value of the output;
* receptive field per axis (Araujo et al. 2019): r_out = r_in + (k - 1) d j_in, j_out = j_in s,
  c_out = c_in + ((k - 1) d / 2 - p_top) j_in (the centre of unit 0's field, in input pixels).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import prod
from typing import Any

from analysis.memory import DTYPE_BYTES
from analysis.receptive import num
from analysis.records import LayerRecord, Report
from arch.errors import ConvSmithError
from arch.graph import Node, fmt_shape
from arch.op_counts import adaptive_windows
from arch.op_table import OPS, Op, RfRule
from arch.shapes import conv_out, pixels_dropped, pool_out, rows_left_over

AXES = ("H", "W")
WINDOWS = frozenset(("conv", "maxpool", "avgpool", "nmaxpool"))


@dataclass(frozen=True)
class Step:
    """One derived number: what it is, the formula, the formula with the numbers, the value, and the
    record value it must equal (``record``: a LayerRecord attribute, ``index`` an axis of it; "" for a
    number the analysis does not keep, such as the ceil_mode alternative)."""

    quantity: str
    formula: str
    working: str
    value: Any
    record: str = ""
    index: int | None = None

    def recorded(self, r: LayerRecord) -> Any:
        v = getattr(r, self.record)
        return v[self.index] if self.index is not None else v

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "formula": self.formula, "working": self.working,
                "value": list(self.value) if isinstance(self.value, tuple) else self.value,
                "record": self.record + (f"[{self.index}]" if self.index is not None else "")}


@dataclass(frozen=True)
class Derivation:
    layer: str
    block: str
    op: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    steps: list[Step]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "block": self.block, "op": self.op, "in_shape": list(self.in_shape),
                "out_shape": list(self.out_shape), "steps": [s.to_json() for s in self.steps],
                "notes": list(self.notes)}


def _f(x: float) -> str:
    return f"{num(x):g}" if isinstance(x, float) else f"{x:,}" if abs(x) >= 10_000 else str(x)


# ------------------------------------------------------------------------------------- output size
def _size_steps(node: Node, x: tuple[int, ...], notes: list[str]) -> list[Step]:
    a = node.attrs
    out = []
    if node.op == Op.CONV:
        t, b, left, right = a["pads"]
        pads = ((t, b), (left, right))
        dil = a["dilation"]
    else:
        ph, pw = a["padding"]
        pads = ((ph, ph), (pw, pw))
        dil = (1, 1)
    ceil = node.op != Op.CONV and a["ceil_mode"]
    for ax in (0, 1):
        n, k, s, d = x[1 + ax], a["kernel"][ax], a["stride"][ax], dil[ax]
        before, after = pads[ax]
        span = n + before + after - d * (k - 1) - 1
        name = AXES[ax]
        formula = (f"{name}_out = floor(({name} + p_before + p_after - d(k - 1) - 1) / s) + 1")
        working = f"floor(({n} + {before} + {after} - {d}·({k} - 1) - 1) / {s}) + 1 = floor({span} / {s}) + 1"
        if node.op == Op.CONV:
            value = conv_out(n, k, s, d, before, after)
            out.append(Step(f"{name}_out", formula, f"{working} = {value}", value, "out_shape", 1 + ax))
        else:
            floor_v, ceil_v = pool_out(n, k, s, before, False), pool_out(n, k, s, before, True)
            if ceil:
                raw = -(-span // s) + 1
                working = (f"ceil(({n} + {before} + {after} - ({k} - 1) - 1) / {s}) + 1 = ceil({span} / {s}) + 1 "
                           f"= {raw}")
                if raw != ceil_v:
                    working += f"; the last window would start in the padding, so {ceil_v}"
                out.append(Step(f"{name}_out (ceil_mode)", formula.replace("floor", "ceil"), working, ceil_v,
                                "out_shape", 1 + ax))
                out.append(Step(f"{name}_out (floor, for comparison)", formula, f"{working.split(' = ')[0]} -> "
                                f"floor: {floor_v}", floor_v))
            else:
                out.append(Step(f"{name}_out", formula, f"{working} = {floor_v}", floor_v, "out_shape", 1 + ax))
                if ceil_v != floor_v:
                    out.append(Step(f"{name}_out (ceil_mode, for comparison)", formula.replace("floor", "ceil"),
                                    f"ceil({span} / {s}) + 1 -> {ceil_v}", ceil_v))
        left_over = rows_left_over(n, k, s, d, before, after)
        dropped = pixels_dropped(n, k, s, d, before, after)
        if left_over and not ceil:
            what = "rows" if ax == 0 else "columns"
            where = (f"{dropped} input {what} at the far end are never read" if dropped
                     else f"only padding {what} are left out")
            notes.append(f"{name}: ({span}) mod {s} = {left_over}: {where}")
    return out


# ----------------------------------------------------------------------------- params, MACs, memory
def _count_steps(node: Node, x: tuple[int, ...], batch: int) -> list[Step]:
    a, op = node.attrs, node.op
    out_n = prod(node.shape)
    shared = a.get("shared_params", 0)
    minus = f" - {shared} shared" if shared else ""
    if op == "conv":
        (kh, kw), g, cin, cout, bias = a["kernel"], a["groups"], a["in_channels"], a["out_channels"], a["bias"]
        per = kh * kw * cin // g
        params = (per + (1 if bias else 0)) * cout - shared
        macs = out_n * per * batch
        steps = [
            Step("params", "(k_h k_w C_in / groups + bias) C_out",
                 f"({kh}·{kw}·{cin} / {g} + {int(bias)}) · {cout}{minus} = {_f(params)}", params, "params"),
            Step("MACs", "C_out H_out W_out · k_h k_w C_in / groups · batch",
                 f"{cout}·{node.shape[1]}·{node.shape[2]} · {kh}·{kw}·{cin} / {g} · {batch} = {_f(macs)}", macs,
                 "macs"),
        ]
        flops = 2 * macs + (out_n * batch if bias else 0)
        adds = out_n * batch if bias else 0
        steps.append(Step("FLOPs", "2 MACs + bias adds", f"2·{_f(macs)} + {_f(adds)} = {_f(flops)}", flops, "flops"))
        return steps
    if op == "linear":
        fi, fo, bias = a["in_features"], a["out_features"], a["bias"]
        params = (fi + (1 if bias else 0)) * fo - shared
        macs = fi * fo * batch
        flops = 2 * macs + (fo * batch if bias else 0)
        return [Step("params", "(F_in + bias) F_out", f"({fi} + {int(bias)}) · {fo}{minus} = {_f(params)}", params,
                     "params"),
                Step("MACs", "F_in F_out · batch", f"{fi}·{fo}·{batch} = {_f(macs)}", macs, "macs"),
                Step("FLOPs", "2 MACs + bias adds", f"2·{_f(macs)} + {_f(fo * batch if bias else 0)} = {_f(flops)}",
                     flops, "flops")]
    if op == "channel_gate":
        c, hid = a["channels"], a["hidden"]
        params = 2 * c * hid + hid + c - shared
        macs = 4 * c * hid * batch
        return [Step("params", "C·h + h + h·C + C (the shared MLP's two 1x1 convs with biases)",
                     f"{c}·{hid} + {hid} + {hid}·{c} + {c}{minus} = {_f(params)}", params, "params"),
                Step("MACs", "2 · (C·h + h·C) · batch (the MLP runs on the average and on the max)",
                     f"2·({c}·{hid} + {hid}·{c})·{batch} = {_f(macs)}", macs, "macs")]
    if op == "spatial_gate":
        k, (_, h, w) = a["kernel"], x
        params = 2 * k * k - shared
        macs = h * w * 2 * k * k * batch
        return [Step("params", "2·k·k (one k x k conv from [mean, max] to 1 channel, no bias)",
                     f"2·{k}·{k}{minus} = {params}", params, "params"),
                Step("MACs", "H·W·2·k·k · batch", f"{h}·{w}·2·{k}·{k}·{batch} = {_f(macs)}", macs, "macs")]
    if op == "bn":
        c = a["channels"]
        params = (2 * c if a.get("affine", True) else 0) - shared
        return [Step("params", "2 C (scale and shift; running mean and variance are buffers)",
                     f"2·{c}{minus} = {params}", params, "params"),
                Step("MACs", "0 (only conv and linear count)", "0", 0, "macs")]
    return [Step("params", "0 (no weights)", "0", 0, "params"),
            Step("MACs", "0 (only conv and linear count)", "0", 0, "macs")]


def _memory_step(node: Node, batch: int, nbytes: int) -> Step:
    shape = node.shape
    n = prod(shape) if shape else 0
    value = n * batch * nbytes
    dims = "·".join(map(str, shape)) if shape else "0"
    return Step("activation memory", "output values · batch · bytes per value",
                f"{dims} · {batch} · {nbytes} B = {_f(value)} B", value, "activation_bytes")


# -------------------------------------------------------------------------------- receptive field
Rf = tuple[tuple[float, float], tuple[float, float], tuple[float, float], bool]


def _field_of(report: Report, name: str) -> Rf:
    if name == "input":
        return ((1, 1), (1, 1), (0, 0), False)
    r = report.layer(name)
    (sh, sw), (jh, jw), (oh, ow) = r.rf_size, r.rf_jump, r.rf_offset
    return ((sh, sw), (jh, jw), (oh, ow), r.rf_whole_input)


def _rf_steps(report: Report, node: Node) -> tuple[list[Step], list[str]]:
    op, a = node.op, node.attrs
    ins = [_field_of(report, i) for i in node.inputs]
    if op == "channel_gate":
        return _same(*_whole(report)[:3], "a channel gate from global average and max: the whole input"), []
    rule = OPS[op]
    window = rule.window  # the op table's geometry: conv, pools, the spatial gate's k x k conv
    if window is not None and not ins[0][3]:
        (r, j, c, _), = ins
        k, stride, lead, d = window(node)
        steps = []
        for ax in (0, 1):
            n = AXES[ax]
            ke = d[ax] * (k[ax] - 1)
            r_out = num(r[ax] + ke * j[ax])
            j_out = num(j[ax] * stride[ax])
            c_out = num(c[ax] + (ke / 2 - lead[ax]) * j[ax])
            steps += [
                Step(f"r_out ({n})", "r_in + (k - 1) d j_in",
                     f"{_f(r[ax])} + ({k[ax]} - 1)·{d[ax]}·{_f(j[ax])} = {_f(r_out)}", r_out, "rf_size", ax),
                Step(f"j_out ({n})", "j_in s", f"{_f(j[ax])}·{stride[ax]} = {_f(j_out)}", j_out, "rf_jump", ax),
                Step(f"centre ({n})", "c_in + ((k - 1) d / 2 - p_before) j_in",
                     f"{_f(c[ax])} + (({k[ax]} - 1)·{d[ax]} / 2 - {lead[ax]})·{_f(j[ax])} = {_f(c_out)}",
                     c_out, "rf_offset", ax),
            ]
        return steps, []
    if rule.rf is RfRule.SCALE:  # a broadcast (C, 1, 1) gate scales channels: only full-size operands shape the field
        ins = [f for f, i in zip(ins, node.inputs) if report.graph.node(i).shape[1:] == node.shape[1:]] or ins
    if any(f[3] for f in ins) or rule.rf is RfRule.WHOLE:
        return _same(*_whole(report)[:3], "sees the whole input: size and jump the input size, centre its "
                                         "middle"), []
    if rule.rf is RfRule.ADAPTIVE:
        in_hw = report.graph.node(node.inputs[0]).shape[1:3]
        if tuple(a["output"]) == (1, 1) and tuple(in_hw) != (1, 1):
            return _same(*_whole(report)[:3], "global pooling sees the whole input"), []
        return _adaptive(ins[0], in_hw, a["output"]), []
    if len(ins) == 1:
        return _same(*ins[0][:3], "element-wise: the field of its input"), []
    return _envelope(ins), []


def _adaptive(f: Rf, in_hw: tuple[int, ...], out_hw: tuple[int, int]) -> list[Step]:
    steps = []
    for ax in (0, 1):
        n, o, name = in_hw[ax], out_hw[ax], AXES[ax]
        windows = adaptive_windows(n, o)
        k, step = max(windows), num(n / o)
        r, j, c = f[0][ax], f[1][ax], f[2][ax]
        r_out, j_out, c_out = num(r + (k - 1) * j), num(j * step), num(c + (windows[0] - 1) / 2 * j)
        steps += [Step(f"r_out ({name})", "r_in + (k_max - 1) j_in, k_max the largest window (torch's windows)",
                       f"{_f(r)} + ({k} - 1)·{_f(j)} = {_f(r_out)}", r_out, "rf_size", ax),
                  Step(f"j_out ({name})", "j_in · in / out", f"{_f(j)}·{n}/{o} = {_f(j_out)}", j_out, "rf_jump", ax),
                  Step(f"centre ({name})", "c_in + (k_first - 1) / 2 · j_in",
                       f"{_f(c)} + ({windows[0]} - 1)/2·{_f(j)} = {_f(c_out)}", c_out, "rf_offset", ax)]
    return steps


def _whole(report: Report) -> Rf:
    s = report.graph.input_shape
    h, w = (s[1], s[2]) if len(s) == 3 else (1, 1)
    return ((h, w), (h, w), (num((h - 1) / 2), num((w - 1) / 2)), True)


def _same(r: Any, j: Any, c: Any, why: str) -> list[Step]:
    steps = []
    for ax in (0, 1):
        n = AXES[ax]
        steps += [Step(f"r_out ({n})", why, f"{_f(r[ax])}", num(r[ax]), "rf_size", ax),
                  Step(f"j_out ({n})", why, f"{_f(j[ax])}", num(j[ax]), "rf_jump", ax),
                  Step(f"centre ({n})", why, f"{_f(c[ax])}", num(c[ax]), "rf_offset", ax)]
    return steps


def _envelope(ins: list[Rf]) -> list[Step]:
    steps = []
    for ax in (0, 1):
        n = AXES[ax]
        lows = [f[2][ax] - (f[0][ax] - 1) / 2 for f in ins]
        highs = [f[2][ax] + (f[0][ax] - 1) / 2 for f in ins]
        lo, hi = min(lows), max(highs)
        size, centre = num(hi - lo + 1), num((lo + hi) / 2)
        jump = max(f[1][ax] for f in ins)
        paths = ", ".join(f"[{_f(num(a))}, {_f(num(b))}]" for a, b in zip(lows, highs))
        steps += [Step(f"r_out ({n})", "envelope of the paths: max(c + (r-1)/2) - min(c - (r-1)/2) + 1",
                       f"paths span {paths}: {_f(num(hi))} - {_f(num(lo))} + 1 = {_f(size)}", size, "rf_size", ax),
                  Step(f"j_out ({n})", "largest jump of the paths", f"max = {_f(jump)}", jump, "rf_jump", ax),
                  Step(f"centre ({n})", "middle of the envelope", f"({_f(num(lo))} + {_f(num(hi))}) / 2 = {_f(centre)}",
                       centre, "rf_offset", ax)]
    return steps


# ------------------------------------------------------------------------------------------ public
def derive(report: Report, layer: str) -> Derivation:
    """The derivation of one layer (a node name such as ``body.0.conv``)."""
    graph = report.graph
    try:
        node = graph.node(layer)
    except KeyError:
        raise ConvSmithError(f"no layer {layer!r} in {report.name}") from None
    if node.op == Op.INPUT:
        raise ConvSmithError("the input is not a layer: pick one after it")
    x = graph.node(node.inputs[0]).shape if node.inputs else ()
    notes: list[str] = []
    steps: list[Step] = []
    if node.op in WINDOWS:
        steps += _size_steps(node, x, notes)
    steps += _count_steps(node, x, report.batch)
    steps.append(_memory_step(node, report.batch, DTYPE_BYTES[report.dtype]))
    if len(node.shape) == 3 and node.op != Op.UNKNOWN:
        rf, more = _rf_steps(report, node)
        steps += rf
        notes += more
    return Derivation(node.name, node.block, node.op, tuple(x), tuple(node.shape), steps, notes)


def layers_of(report: Report, where: str | None) -> list[str]:
    """Layer names for ``--layer``: a layer (``body.0.conv``), a block path (``body[3]``: its layers and
    those of blocks inside it) or None (every layer)."""
    names = [r.name for r in report.layers]
    if where is None:
        return names
    if where in report._layers:
        return [where]
    inside = [r.name for r in report.layers if r.block == where or r.block.startswith(where + "[")]
    if inside:
        return inside
    from arch.fields import did_you_mean

    blocks = [b.path for b in report.blocks]
    raise ConvSmithError(f"no layer or block {where!r}{did_you_mean(where, names + blocks)} "
                         f"(layers look like {names[0]}, blocks like body[0])")


def check(report: Report, d: Derivation) -> list[str]:
    """Steps whose value differs from the record (empty when every derived number agrees)."""
    r = report.layer(d.layer)
    return [f"{d.layer} {s.quantity}: derived {s.value}, analysis {s.recorded(r)}"
            for s in d.steps if s.record and s.value != s.recorded(r)]


# ------------------------------------------------------------------------------------------ render
def _title(d: Derivation) -> str:
    return f"{d.layer} ({d.op}, {d.block}): {fmt_shape(d.in_shape) or '-'} -> {fmt_shape(d.out_shape)}"


def text(ds: list[Derivation]) -> str:
    lines: list[str] = []
    for d in ds:
        lines.append(_title(d))
        width = max(len(s.quantity) for s in d.steps)
        for s in d.steps:
            lines.append(f"  {s.quantity:<{width}}  {s.formula}")
            lines.append(f"  {'':<{width}}  = {s.working}")
        lines += [f"  note: {n}" for n in d.notes]
        lines.append("")
    return "\n".join(lines)


def markdown(ds: list[Derivation]) -> str:
    lines: list[str] = []
    for d in ds:
        lines += [f"### `{d.layer}`", "", f"{d.op} in `{d.block}`: {fmt_shape(d.in_shape) or '-'} -> "
                  f"{fmt_shape(d.out_shape)}", "", "| quantity | formula | with the numbers |", "|---|---|---|"]
        lines += [f"| {s.quantity} | `{s.formula}` | {s.working} |" for s in d.steps]
        lines += [""] + [f"- {n}" for n in d.notes] + ([""] if d.notes else [])
    return "\n".join(lines)


def to_json(report: Report, ds: list[Derivation]) -> str:
    return json.dumps({"name": report.name, "input_shape": list(report.input_shape), "batch": report.batch,
                       "dtype": report.dtype, "layers": [d.to_json() for d in ds]}, indent=2)
