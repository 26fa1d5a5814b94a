"""``analyze``: a spec or a graph in, plain records out. Pure arithmetic on the graph IR: no torch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import starmap
from typing import Any, NamedTuple

from analysis import lints as lint_rules
from analysis import parts
from analysis.memory import DTYPE_BYTES
from analysis.receptive import UNIT, UnitRF, last_spatial, whole_field
from analysis.records import BlockRecord, LayerRecord, ReceptiveField, Report, Totals
from arch.errors import ConvSmithError, SpecError
from arch.expand import Expansion, Segment, expand
from arch.freezing import frozen_blocks, is_frozen
from arch.graph import BlockInfo, Graph, Shape
from arch.paths import is_top
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
            object_size: int | tuple[int, int] | None = None, expansion: Expansion | None = None,
            freeze: str | None = None) -> Report:
    """Every figure of a network: per layer, per block, totals, receptive field and lints.

    ``source`` is a Spec (expanded at ``input_shape`` or its own input; SpecError when shapes fail) or a
    Graph (from ``arch.fx_import``). ``object_size`` (pixels, int or (h, w)): the receptive-field lint
    then also asks for a field at least that large. ``expansion``: the spec's expansion when the caller
    made it already (the designer expands incrementally from the previous state, arch/expand.py).
    ``freeze``: the training option (``body[N]``): the blocks it holds fixed are marked frozen and their
    parameters count as frozen, not trainable (``arch.freezing``, as training freezes them); training memory
    then keeps only what the trainable part needs. ConfigError when the network has no such block.
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ConvSmithError(f"batch must be a positive integer (got {batch!r})")
    if dtype not in DTYPE_BYTES:
        raise ConvSmithError(f"dtype must be one of {', '.join(DTYPE_BYTES)} (got {dtype!r})")
    target = _pair(object_size, "object_size") if object_size is not None else None
    graph, expansion = _graph(source, input_shape, expansion)
    frozen = range(0) if freeze is None else frozen_blocks(
        freeze, sum(1 for b in graph.blocks if b.parent is None and is_top(b.path)))
    nbytes = DTYPE_BYTES[dtype]
    whole = whole_field(graph)
    rf: dict[str, UnitRF | None] = {}
    figures = _analysed_parts(graph, expansion, batch, nbytes, whole, rf, frozen)
    layers: list[LayerRecord] = []
    blocks: list[BlockRecord] = []
    totals = [0, 0, 0, 0, 0]
    values: dict[str, int] = {}  # training: saved storages and their bytes
    extra = peak = 0
    has_gate = False
    for piece, storage, port in figures:  # new records from each part's cached arguments
        layers += starmap(LayerRecord, piece.layers)
        blocks += starmap(BlockRecord, piece.blocks)
        counts = piece.counts
        for i, v in enumerate(counts.totals):
            totals[i] += v
        for k, v in counts.saved.values.items():
            values[storage if k == port else k] = v
        extra += counts.saved.extra
        peak = max(peak, counts.peak)
        has_gate = has_gate or counts.gated
    params, trainable, buffers, macs, flops = totals
    totals_record = Totals(params, trainable, params - trainable, buffers, macs, flops, sum(values.values()) + extra,
                           peak, list(graph.unknown_ops))

    last = last_spatial(graph, rf)
    lf = rf[last] or NO_FIELD
    receptive = ReceptiveField(last, lf.size, lf.jump, lf.centre)
    notes = [WHOLE_NOTE]
    if has_gate:
        notes.append(SE_NOTE)
    if graph.unknown_ops:
        notes.append(f"{len(graph.unknown_ops)} op(s) could not be mapped and count as 0 MACs / FLOPs, so MACs, "
                     "FLOPs, activation memory and the receptive field are lower bounds (receptive fields treat "
                     "them as element-wise): " + ", ".join(graph.unknown_ops))
    report = Report(graph.name, tuple(graph.input_shape), batch, dtype, graph, totals_record, layers, blocks,
                    receptive, [], notes, freeze)
    report.lints = lint_rules.find(report, source if isinstance(source, Spec) else None, target, expansion, rf)
    return report


class Piece(NamedTuple):
    """A part's figures with its records' constructor arguments: made once per part and context (cached with
    a spec's segment), so an edit copies the records of every block it did not change instead of assembling
    them again. The engine makes new records from the arguments: cached records are never handed out."""

    counts: parts.Counts
    fields: dict[str, UnitRF | None]  # per node
    layers: tuple[tuple[Any, ...], ...]  # LayerRecord arguments, in graph order
    blocks: tuple[tuple[Any, ...], ...]  # BlockRecord arguments, in graph order


Part = tuple[Piece, str, str | None]  # with its port's training storage and its port


def _piece(counts: parts.Counts, found: parts.Fields, blocks: Sequence[BlockInfo], port: str | None,
           entering: UnitRF | None, held: Callable[[str], bool]) -> Piece:
    """The records of a part: its layers, and its blocks from their own layers' sums (stages fold in their
    repeats; a part holds every block nested in its blocks). ``port`` and ``entering``: the value entering
    the part and its field (an empty block's output). A block is frozen when the freeze point holds it
    (``held``), or (import) it has parameters and none of them trains."""
    fields = found.fields
    layers = []
    for r in counts.rows:
        f = fields[r.name] or NO_FIELD
        layers.append((r.params, r.macs, r.flops, r.activation_bytes, f.size, f.jump, f.centre, f.whole, r.name,
                       r.block, r.type, r.in_shape, r.out_shape, r.trainable_params, r.buffers, r.frozen))
    zero = (0, 0, 0, 0, 0)
    sums = {b.path: list(counts.sums.get(b.path, zero)) for b in blocks}
    aligned = {b.path: b.path not in found.misaligned for b in blocks}
    for b in reversed(blocks):  # children come after their stage: fold them in, innermost first
        if b.parent is not None:
            parent = sums[b.parent]
            for i, v in enumerate(sums[b.path]):
                parent[i] += v
            aligned[b.parent] = aligned[b.parent] and aligned[b.path]
    out = []
    for b in blocks:
        f = (fields.get(b.output) if b.output != port else entering) or NO_FIELD
        params, macs, flops, act, trainable = sums[b.path]
        out.append((params, macs, flops, act, f.size, f.jump, f.centre, f.whole, b.path, b.family, b.summary,
                    b.label, b.parent, b.in_shape, b.out_shape, aligned[b.path],
                    held(b.path) or (params > 0 and trainable == 0)))
    return Piece(counts, fields, tuple(layers), tuple(out))


def _analysed_parts(graph: Graph, expansion: Expansion | None, batch: int, nbytes: int, whole: UnitRF,
                    rf: dict[str, UnitRF | None], frozen: range) -> list[Part]:
    """Each part's figures and records, with the training storage of its port and the port's name; fills
    ``rf`` with every node's field. An fx graph is one part; a spec's parts are its input node and its
    top-level blocks (cached per block expansion). ``frozen``: the top-level blocks held fixed."""
    if expansion is None:
        found = parts.fields(graph.nodes, None, None, whole)
        rf.update(found.fields)
        held = (lambda block: is_frozen(block, frozen)) if frozen else None
        counts = parts.counts(graph.nodes, None, False, graph.output.name, batch, nbytes, held)
        return [(_piece(counts, found, graph.blocks, None, None, held or (lambda _block: False)), "", None)]
    first = graph.nodes[0]
    rf[first.name] = UNIT
    counts = parts.counts([first], None, False, first.name, batch, nbytes)
    out: list[Part] = [(Piece(counts, {}, (), ()), "", None)]
    grad, storage = False, first.name  # the network input needs no gradient and is its own storage
    whole_key = parts.exact(whole)
    for i, seg in enumerate(expansion.segments):  # segment i is top-level block body[i]
        port = seg.port.node
        entering, fixed = rf[port], i in frozen
        piece = _segment_piece(seg, grad, batch, nbytes, fixed, entering, whole, whole_key)
        rf.update(piece.fields)
        out.append((piece, storage, port))
        counts = piece.counts
        grad = counts.saved.grads[seg.out.node]
        owner = counts.saved.owners[seg.out.node]
        storage = storage if owner == port else owner
    return out


def _segment_piece(seg: Segment, grad: bool, batch: int, nbytes: int, fixed: bool, entering: UnitRF | None,
                   whole: UnitRF, whole_key: tuple[Any, ...] | None) -> Piece:
    """A top-level block's piece, cached with its segment per context (the port's gradient, batch, dtype,
    freezing, the field entering it and the input's)."""
    def make() -> Piece:
        counts = parts.segment_counts(seg, grad, batch, nbytes, fixed)
        found = parts.segment_fields(seg, entering, whole, whole_key)
        return _piece(counts, found, seg.blocks, seg.port.node, entering, lambda _block: fixed)

    return parts._cached(seg, ("records", grad, batch, nbytes, fixed, parts.exact(entering), whole_key), make)
