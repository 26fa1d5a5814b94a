"""``analyze``: a spec or a graph in, plain records out. Pure arithmetic on the graph IR: no torch."""

from __future__ import annotations

from typing import Any

from analysis import lints as lint_rules
from analysis.memory import DTYPE_BYTES, peak_inference_bytes, training_bytes
from analysis.receptive import Field, fields, last_spatial
from analysis.records import BlockRecord, LayerRecord, ReceptiveField, Report, Totals
from analysis.rules import RULES, frozen, numel
from arch.errors import ConvSmithError
from arch.expand import expand_spec
from arch.graph import Graph, Shape
from arch.spec import Spec

NO_FIELD = Field((0, 0), (0, 0), (0, 0))  # a value computed from constants only (fx import)
SE_NOTE = ("Squeeze-excitation gates are channel scales: their global context is not counted in the "
           "receptive field.")
WHOLE_NOTE = "Global pooling, flatten and linear layers see the whole input (rf_whole_input)."


def _pair(value: Any, what: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return (value, value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)):
        return (value[0], value[1])
    raise ConvSmithError(f"{what} must be a positive integer or (h, w) (got {value!r})")


def _graph(source: Spec | Graph, input_shape: Shape | None) -> Graph:
    if isinstance(source, Graph):
        if input_shape is not None and tuple(input_shape) != tuple(source.input_shape):
            raise ConvSmithError(f"this graph was traced at input {source.input_shape}; import it again at "
                                 f"{tuple(input_shape)} instead of passing input_shape")
        if source.problems:
            raise ConvSmithError("cannot analyse a graph with problems: " + "; ".join(map(str, source.problems)))
        return source
    if not isinstance(source, Spec):
        raise ConvSmithError(f"analyze needs a Spec or a Graph (got {type(source).__name__})")
    if input_shape is not None:
        shape = tuple(input_shape)
        if len(shape) != 3 or not all(isinstance(s, int) and s >= 1 for s in shape):
            raise ConvSmithError(f"input_shape must be (C, H, W) with positive sizes (got {input_shape!r})")
        input_shape = shape
    return expand_spec(source, input_shape)


def analyze(source: Spec | Graph, input_shape: Shape | None = None, batch: int = 1, dtype: str = "float32",
            object_size: int | tuple[int, int] | None = None) -> Report:
    """Every figure of a network: per layer, per block, totals, receptive field and lints.

    ``source`` is a Spec (expanded at ``input_shape`` or its own input; SpecError when shapes fail) or a
    Graph (from ``arch.fx_import``). ``object_size`` (pixels, int or (h, w)): the receptive-field lint
    then also asks for a field at least that large.
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ConvSmithError(f"batch must be a positive integer (got {batch!r})")
    if dtype not in DTYPE_BYTES:
        raise ConvSmithError(f"dtype must be one of {', '.join(DTYPE_BYTES)} (got {dtype!r})")
    target = _pair(object_size, "object_size") if object_size is not None else None
    graph = _graph(source, input_shape)
    nbytes = DTYPE_BYTES[dtype]
    rf = fields(graph)
    shapes = {n.name: n.shape for n in graph.nodes}

    layers: list[LayerRecord] = []
    trainable: dict[str, int] = {}
    params_sum = trainable_sum = buffers_sum = macs_sum = flops_sum = 0
    has_gate = False
    for n in graph.nodes:
        if n.op == "input":
            continue
        in_shape = shapes[n.inputs[0]] if n.inputs else ()
        params, buffers, macs, flops = RULES[n.op](n, in_shape)
        still = params - frozen(n, params)
        trainable[n.name] = still
        macs, flops = macs * batch, flops * batch
        f = rf[n.name] or NO_FIELD
        layers.append(LayerRecord(n.name, n.block, n.op, in_shape, n.shape, still, buffers, params=params, macs=macs,
                                  flops=flops, activation_bytes=numel(n.shape) * batch * nbytes, rf_size=f.size,
                                  rf_jump=f.jump, rf_offset=f.centre, rf_whole_input=f.whole))
        params_sum += params
        trainable_sum += still
        buffers_sum += buffers
        macs_sum += macs
        flops_sum += flops
        if n.op == "mul":
            has_gate = has_gate or any(shapes[i] != n.shape for i in n.inputs)
    totals = Totals(params_sum, trainable_sum, params_sum - trainable_sum, buffers_sum, macs_sum, flops_sum,
                    training_bytes(graph, trainable, batch, nbytes), peak_inference_bytes(graph, batch, nbytes),
                    list(graph.unknown_ops))

    last = last_spatial(graph, rf)
    lf = rf[last] or NO_FIELD
    receptive = ReceptiveField(last, lf.size, lf.jump, lf.centre)
    blocks = _blocks(graph, layers, rf)
    notes = [WHOLE_NOTE]
    if has_gate:
        notes.append(SE_NOTE)
    if graph.unknown_ops:
        notes.append(f"{len(graph.unknown_ops)} op(s) could not be mapped and count as 0 MACs / FLOPs; "
                     "receptive fields treat them as element-wise: " + ", ".join(graph.unknown_ops))
    report = Report(graph.name, tuple(graph.input_shape), batch, dtype, graph, totals, layers, blocks,
                    receptive, [], notes)
    report.lints = lint_rules.find(report, source if isinstance(source, Spec) else None, target)
    return report


def _blocks(graph: Graph, layers: list[LayerRecord], rf: dict[str, Field | None]) -> list[BlockRecord]:
    """Roll layer figures up into every block, and stages up from their repeats."""
    sums: dict[str, list[int]] = {b.path: [0, 0, 0, 0] for b in graph.blocks}
    for r in layers:
        s = sums.get(r.block)
        if s is not None:
            s[0] += r.params
            s[1] += r.macs
            s[2] += r.flops
            s[3] += r.activation_bytes
    aligned = {b.path: all((rf[n] or NO_FIELD).aligned for n in b.nodes) for b in graph.blocks}
    for b in reversed(graph.blocks):  # children come after their stage: fold them in, innermost first
        if b.parent is not None:
            parent = sums[b.parent]
            for i, v in enumerate(sums[b.path]):
                parent[i] += v
            aligned[b.parent] = aligned[b.parent] and aligned[b.path]
    out = []
    for b in graph.blocks:
        f = rf.get(b.output) or NO_FIELD
        params, macs, flops, act = sums[b.path]
        out.append(BlockRecord(b.path, b.family, b.summary, b.label, b.parent, b.in_shape, b.out_shape,
                               aligned[b.path], params=params, macs=macs, flops=flops, activation_bytes=act,
                               rf_size=f.size, rf_jump=f.jump, rf_offset=f.centre, rf_whole_input=f.whole))
    return out

