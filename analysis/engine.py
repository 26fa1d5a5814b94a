"""``analyze``: a spec or a graph in, plain records out. Pure arithmetic on the graph IR: no torch."""

from __future__ import annotations

from typing import Any

from analysis import lints as lint_rules
from analysis import parts
from analysis.memory import DTYPE_BYTES
from analysis.receptive import UNIT, UnitRF, last_spatial, whole_field
from analysis.records import BlockRecord, LayerRecord, ReceptiveField, Report, Totals
from arch.errors import ConvSmithError, SpecError
from arch.expand import Expansion, expand
from arch.graph import Graph, Shape
from arch.spec import Spec

NO_FIELD = UnitRF((0, 0), (0, 0), (0, 0))  # a value computed from constants only (fx import)
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


def _graph(source: Spec | Graph, input_shape: Shape | None,
           expansion: Expansion | None) -> tuple[Graph, Expansion | None]:
    if expansion is not None:
        if expansion.spec is not source or input_shape is not None:
            raise ConvSmithError("an expansion passed to analyze must be of the spec analysed, at its own input")
        if expansion.graph.problems:
            raise SpecError(expansion.graph.problems)
        return expansion.graph, expansion
    if isinstance(source, Graph):
        if input_shape is not None and tuple(input_shape) != tuple(source.input_shape):
            raise ConvSmithError(f"this graph was traced at input {source.input_shape}; import it again at "
                                 f"{tuple(input_shape)} instead of passing input_shape")
        if source.problems:
            raise ConvSmithError("cannot analyse a graph with problems: " + "; ".join(map(str, source.problems)))
        return source, None
    if not isinstance(source, Spec):
        raise ConvSmithError(f"analyze needs a Spec or a Graph (got {type(source).__name__})")
    if input_shape is not None:
        shape = tuple(input_shape)
        if len(shape) != 3 or not all(isinstance(s, int) and s >= 1 for s in shape):
            raise ConvSmithError(f"input_shape must be (C, H, W) with positive sizes (got {input_shape!r})")
        input_shape = shape
    expansion = expand(source, input_shape)
    if expansion.graph.problems:
        raise SpecError(expansion.graph.problems)
    return expansion.graph, expansion


def analyze(source: Spec | Graph, input_shape: Shape | None = None, batch: int = 1, dtype: str = "float32",
            object_size: int | tuple[int, int] | None = None, expansion: Expansion | None = None) -> Report:
    """Every figure of a network: per layer, per block, totals, receptive field and lints.

    ``source`` is a Spec (expanded at ``input_shape`` or its own input; SpecError when shapes fail) or a
    Graph (from ``arch.fx_import``). ``object_size`` (pixels, int or (h, w)): the receptive-field lint
    then also asks for a field at least that large. ``expansion``: the spec's expansion when the caller
    made it already (the designer expands incrementally from the previous state, arch/expand.py).
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ConvSmithError(f"batch must be a positive integer (got {batch!r})")
    if dtype not in DTYPE_BYTES:
        raise ConvSmithError(f"dtype must be one of {', '.join(DTYPE_BYTES)} (got {dtype!r})")
    target = _pair(object_size, "object_size") if object_size is not None else None
    graph, expansion = _graph(source, input_shape, expansion)
    nbytes = DTYPE_BYTES[dtype]
    whole = whole_field(graph)
    rf: dict[str, UnitRF | None] = {}
    figures = _analysed_parts(graph, expansion, batch, nbytes, whole, rf)
    # per block: params, MACs, FLOPs, activation bytes; and the blocks whose merges are not aligned
    sums: dict[str, list[int]] = {b.path: [0, 0, 0, 0] for b in graph.blocks}
    misaligned: set[str] = set()
    layers: list[LayerRecord] = []
    totals = [0, 0, 0, 0, 0]
    values: dict[str, int] = {}  # training: saved storages and their bytes
    extra = peak = 0
    for counts, part_fields, storage, port in figures:
        found = part_fields.fields
        for r in counts.rows:
            f = found[r.name] or NO_FIELD
            layers.append(LayerRecord(r.params, r.macs, r.flops, r.activation_bytes, f.size, f.jump, f.centre,
                                      f.whole, r.name, r.block, r.type, r.in_shape, r.out_shape,
                                      r.trainable_params, r.buffers))
        for path, four in counts.sums.items():
            t = sums.get(path)
            if t is not None:
                t[0] += four[0]
                t[1] += four[1]
                t[2] += four[2]
                t[3] += four[3]
        misaligned |= part_fields.misaligned
        for i, v in enumerate(counts.totals):
            totals[i] += v
        for k, v in counts.saved.values.items():
            values[storage if k == port else k] = v
        extra += counts.saved.extra
        peak = max(peak, counts.peak)
    params, trainable, buffers, macs, flops = totals
    totals_record = Totals(params, trainable, params - trainable, buffers, macs, flops, sum(values.values()) + extra,
                           peak, list(graph.unknown_ops))
    has_gate = any(counts.gated for counts, *_ in figures)

    last = last_spatial(graph, rf)
    lf = rf[last] or NO_FIELD
    receptive = ReceptiveField(last, lf.size, lf.jump, lf.centre)
    blocks = _blocks(graph, sums, misaligned, rf)
    notes = [WHOLE_NOTE]
    if has_gate:
        notes.append(SE_NOTE)
    if graph.unknown_ops:
        notes.append(f"{len(graph.unknown_ops)} op(s) could not be mapped and count as 0 MACs / FLOPs, so MACs, "
                     "FLOPs, activation memory and the receptive field are lower bounds (receptive fields treat "
                     "them as element-wise): " + ", ".join(graph.unknown_ops))
    report = Report(graph.name, tuple(graph.input_shape), batch, dtype, graph, totals_record, layers, blocks,
                    receptive, [], notes)
    report.lints = lint_rules.find(report, source if isinstance(source, Spec) else None, target, expansion)
    return report


Part = tuple[parts.Counts, parts.Fields, str, str | None]  # with its port's training storage and its port


def _analysed_parts(graph: Graph, expansion: Expansion | None, batch: int, nbytes: int, whole: UnitRF,
                    rf: dict[str, UnitRF | None]) -> list[Part]:
    """Each part's counts and fields, with the training storage of its port and the port's name; fills
    ``rf`` with every node's field. An fx graph is one part; a spec's parts are its input node and its
    top-level blocks (cached per block expansion)."""
    if expansion is None:
        found = parts.fields(graph.nodes, None, None, whole)
        rf.update(found.fields)
        return [(parts.counts(graph.nodes, None, False, graph.output.name, batch, nbytes), found, "", None)]
    first = graph.nodes[0]
    rf[first.name] = UNIT
    out: list[Part] = [(parts.counts([first], None, False, first.name, batch, nbytes), parts.Fields({}, frozenset()),
                        "", None)]
    grad, storage = False, first.name  # the network input needs no gradient and is its own storage
    whole_key = parts.exact(whole)
    for seg in expansion.segments:
        port = seg.port.node
        counts = parts.segment_counts(seg, grad, batch, nbytes)
        found = parts.segment_fields(seg, rf[port], whole, whole_key)
        rf.update(found.fields)
        out.append((counts, found, storage, port))
        grad = counts.saved.grads[seg.out.node]
        owner = counts.saved.owners[seg.out.node]
        storage = storage if owner == port else owner
    return out


def _blocks(graph: Graph, sums: dict[str, list[int]], misaligned: set[str],
            rf: dict[str, UnitRF | None]) -> list[BlockRecord]:
    """Every block's record from its own layers' sums; stages fold in their repeats."""
    aligned = {b.path: b.path not in misaligned for b in graph.blocks}
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
        out.append(BlockRecord(params, macs, flops, act, f.size, f.jump, f.centre, f.whole, b.path, b.family,
                               b.summary, b.label, b.parent, b.in_shape, b.out_shape, aligned[b.path]))
    return out
