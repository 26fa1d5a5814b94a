"""Any ``nn.Module`` -> an editable spec, through the fx import's graph IR.

The IR of a CNN is a DAG of primitive ops. A chain of ops becomes blocks (conv -> bn -> act fused into
one ``conv`` block, linear -> act into one ``linear`` block); a merge (add, mul, concat) becomes a
``branch`` whose paths are the chains from the merge's immediate dominator (where the paths fork) to
each of its inputs, with a batch norm / activation right after the merge folded into the branch. This is
a series-parallel decomposition: a graph that is not series-parallel (a value read by two merges that
do not nest) cannot be written as nested branches, and is reported, as is every op no block expresses.

Two rewrites keep the values bit-identical: a one-input concatenation is its input, and a concatenation
whose leading inputs are exactly those of an earlier concatenation reads that one instead
(``cat(x, y1, y2) = cat(cat(x, y1), y2)``: DenseNet's growing feature lists become nested branches).

Nothing is dropped or approximated silently: ``ImportResult.problems`` names each module that could not
be expressed and why (an empty list means the spec builds the same network), ``notes`` say what was
written differently but computes the same. ``mapping`` gives, for every source module with weights, the
module of the built spec that takes them (``transfer_weights``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from arch.errors import ConvSmithError, SpecError
from arch.fx_import import import_module
from arch.graph import Graph, Node
from arch.op_table import Op
from arch.paths import body as body_path
from arch.paths import body_module, in_module, in_path
from arch.registry import families, family
from arch.spec import BlockSpec, Spec, parse_spec, to_dict

LAYER_OPS = ("conv", "bn", "act", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "flatten",
             "dropout", "linear")
MERGE_OPS = {"add": "add", "mul": "mul", "concat": "concat", "max": "max"}
WEIGHTED = ("conv", "bn", "linear")
# what an import does, in order; a caller's ``step`` hears each one as it starts (the app's progress and cancel)
STEPS = ("building the model", "tracing its forward", "writing blocks", "checking the spec")
Step = Callable[[str], None]
TORCHVISION_ARGS = {  # training-only auxiliary classifiers are left out: inference never calls them
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}


@dataclass
class ImportResult:
    spec: Spec | None  # None when a problem makes an exact spec impossible
    problems: list[str] = field(default_factory=list)  # "module: why it cannot be expressed"
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # source module -> built module


@dataclass
class _Layer:
    nodes: list[str]  # fused IR nodes, in order (conv, bn, act)


@dataclass
class _Branch:
    merge: str  # IR merge node
    lanes: list[list[Any]]
    post: list[str] = field(default_factory=list)  # bn / act folded after the merge


class _Decomposer:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes = {n.name: n for n in graph.nodes}
        self.inputs: dict[str, list[str]] = {n.name: list(n.inputs) for n in graph.nodes}
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._rewrite_concats()
        self.users: dict[str, list[str]] = {n: [] for n in self.inputs}
        for name, ins in self.inputs.items():
            for i in ins:
                self.users[i].append(name)
        self.idom = self._dominators()

    # -------------------------------------------------------------------------------- rewrites
    def _resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def _rewrite_concats(self) -> None:
        self.alias: dict[str, str] = {}
        seen: list[tuple[list[str], str]] = []
        factored = 0
        for n in self.graph.nodes:
            ins = [self._resolve(i) for i in self.inputs[n.name]]
            self.inputs[n.name] = ins
            if n.op != Op.CONCAT:
                continue
            if len(ins) == 1:
                self.alias[n.name] = ins[0]
                continue
            best = max((s for s in seen if len(s[0]) < len(ins) and ins[:len(s[0])] == s[0]),
                       key=lambda s: len(s[0]), default=None)
            full = list(ins)
            if best is not None:
                self.inputs[n.name] = [best[1], *ins[len(best[0]):]]
                factored += 1
            seen.append((full, n.name))
        for name in self.alias:
            del self.inputs[name]
        if self.alias:
            self.notes.append(f"{len(self.alias)} one-input concatenation(s) read as their input")
        if factored:
            self.notes.append(f"{factored} concatenation(s) of growing feature lists nested as "
                              "cat(cat(x, y1), y2) (the same values)")

    def _dominators(self) -> dict[str, str]:
        """Immediate dominators of the DAG: in topological order, the nearest common dominator of the inputs."""
        depth: dict[str, int] = {}
        idom: dict[str, str] = {}

        def common(a: str, b: str) -> str:
            while a != b:
                if depth[a] >= depth[b]:
                    a = idom[a]
                else:
                    b = idom[b]
            return a

        for n in self.graph.nodes:
            ins = self.inputs.get(n.name)
            if ins is None:
                continue
            if not ins:
                depth[n.name] = 0
                continue
            d = ins[0]
            for other in ins[1:]:
                d = common(d, other)
            idom[n.name] = d
            depth[n.name] = depth[d] + 1
        return idom

    # ------------------------------------------------------------------------------- structure
    def chain(self, src: str, dst: str) -> list[Any]:
        """The items computing ``dst`` from ``src`` (which dominates it), in order."""
        items: list[Any] = []
        cur = dst
        while cur != src:
            node = self.nodes[cur]
            ins = self.inputs[cur]
            if node.op in MERGE_OPS and len(ins) > 1:
                fork = self.idom[cur]
                items.append(_Branch(cur, [self.chain(fork, i) for i in ins]))
                cur = fork
            elif len(ins) == 1:
                items.append(_Layer([cur]))
                cur = ins[0]
            else:
                raise ConvSmithError(f"{cur}: cannot be reached from {src}")
        items.reverse()
        return self._fuse(items)

    def _single(self, name: str) -> bool:
        return len(self.users[name]) == 1

    def _fuse(self, items: list[Any]) -> list[Any]:
        """conv (-> bn) (-> act) and linear (-> act) into one layer; bn / act after a merge into the branch."""
        out: list[Any] = []
        for item in items:
            prev = out[-1] if out else None
            if isinstance(item, _Layer) and prev is not None:
                op = self.nodes[item.nodes[0]].op
                if isinstance(prev, _Layer) and self._single(prev.nodes[-1]):
                    ops = [self.nodes[n].op for n in prev.nodes]
                    if (op == "bn" and ops == ["conv"]) or (op == "act" and ops in (["conv"], ["conv", "bn"],
                                                                                       ["linear"])):
                        prev.nodes += item.nodes
                        continue
                if isinstance(prev, _Branch):
                    tail = prev.post[-1] if prev.post else prev.merge
                    posts = [self.nodes[n].op for n in prev.post]
                    if self._single(tail) and ((op == "bn" and not posts) or (op == "act" and "act" not in posts)):
                        prev.post.append(item.nodes[0])
                        continue
            out.append(item)
        return out


class _Writer:
    """Items -> blocks, recording where each IR node lands in the built model."""

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes
        self.problems: list[str] = []
        self.placed: dict[str, str] = {}  # IR node -> built node name

    def blocks(self, items: list[Any], path: str, module: str, lane: tuple[int, int] | None = None) -> list[BlockSpec]:
        out = []
        for j, item in enumerate(items):
            if lane is None:
                p, m = body_path(j), body_module(j)
            else:
                p, m = in_path(path, lane[0], j), in_module(module, lane[0], j)
            out.append(self.branch(item, p, m) if isinstance(item, _Branch) else self.layer(item, m))
        return out

    def branch(self, item: _Branch, path: str, module: str) -> BlockSpec:
        params: dict[str, Any] = {"merge": MERGE_OPS[self.nodes[item.merge].op]}
        params["paths"] = [self.blocks(lane, path, module, (p, 0)) for p, lane in enumerate(item.lanes)]
        self.placed[item.merge] = f"{module}.merge"
        for name in item.post:
            n = self.nodes[name]
            if n.op == Op.BN:
                params["norm"] = "batch"
                self.placed[name] = f"{module}.bn"
            else:
                params["activation"] = n.attrs["fn"]
                self.placed[name] = f"{module}.act"
        return BlockSpec("branch", params)

    def layer(self, item: _Layer, module: str) -> BlockSpec:
        first = self.nodes[item.nodes[0]]
        a, op = first.attrs, first.op
        rest = [self.nodes[n] for n in item.nodes[1:]]
        place = {first.name: {"conv": "conv", "bn": "bn", "act": "act", "linear": "fc", "flatten": "flatten",
                              "dropout": "drop"}.get(op, "pool")}
        if op == "conv":
            params: dict[str, Any] = {"out": a["out_channels"], "kernel": _pair(a["kernel"]),
                                      "stride": _pair(a["stride"]),
                                      "padding": "same" if a["padding"] == "same" else _pair(a["padding"]),
                                      "dilation": _pair(a["dilation"]), "groups": a["groups"], "bias": a["bias"],
                                      "padding_mode": a["padding_mode"],
                                      "norm": "batch" if any(r.op == Op.BN for r in rest) else "none",
                                      "activation": next((r.attrs["fn"] for r in rest if r.op == Op.ACT), "none")}
            for r in rest:
                place[r.name] = r.op
            auto = [(k - 1) * d // 2 if k % 2 else None for k, d in zip(a["kernel"], a["dilation"])]
            if list(_both(params["padding"])) == auto:
                params["padding"] = "auto"
            block = BlockSpec("conv", _lean("conv", params))
        elif op == "linear":
            params = {"out": a["out_features"], "bias": a["bias"],
                      "activation": next((r.attrs["fn"] for r in rest if r.op == Op.ACT), "none")}
            for r in rest:
                place[r.name] = "act"
            block = BlockSpec("linear", _lean("linear", params))
        elif op == "bn":
            block = BlockSpec("batchnorm", {})
        elif op == "act":
            block = BlockSpec("activation", _lean("activation", {"fn": a["fn"]}))
        elif op in ("maxpool", "avgpool"):
            block = BlockSpec("pool", _lean("pool", {"mode": op[:3], "kernel": _pair(a["kernel"]),
                                                     "stride": _pair(a["stride"]), "padding": _pair(a["padding"]),
                                                     "ceil_mode": a["ceil_mode"]}))
        elif op in ("adaptive_avgpool", "adaptive_maxpool"):
            mode = "avg" if op == "adaptive_avgpool" else "max"
            out = _pair(a["output"])
            block = BlockSpec("global_pool", {"mode": mode}) if out == 1 else \
                BlockSpec("adaptive_pool", {"mode": mode, "size": out})
        elif op == "flatten":
            block = BlockSpec("flatten", {})
        elif op == "dropout":
            block = BlockSpec("dropout", {"p": float(a["p"])})
        else:
            raise ConvSmithError(f"{first.name}: op {op} has no block")
        for name, local in place.items():
            self.placed[name] = f"{module}.{local}"
        return block


def _lean(block: str, params: dict[str, Any]) -> dict[str, Any]:
    """Fields equal to the family's default left out (as a hand-written spec would), except widths and
    kernels (read at a glance) and a conv's bias, always written: its default changed between versions."""
    fam = family(block)
    return {k: v for k, v in params.items() if k in ("bias", "out", "kernel") or v != fam.field_map[k].default}


def _both(value: Any) -> tuple[Any, Any]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _pair(value: Any) -> Any:
    h, w = value if isinstance(value, (tuple, list)) else (value, value)
    return h if h == w else [h, w]


def _inexpressible(graph: Graph, root: nn.Module) -> list[str]:
    """Every op that no block writes exactly, with the reason."""
    out = []
    modules = dict(root.named_modules())
    for n in graph.nodes[1:]:
        a, why = n.attrs, None
        m = modules.get(n.name.split("@")[0])
        if "@" in n.name and m is not None and any(True for _ in m.state_dict()):
            why = "a module with weights called more than once (a spec block owns its weights)"
        elif a.get("shared_params") or a.get("shared_buffers"):
            why = "weights tied to another module"
        elif a.get("external") or a.get("constants"):
            why = "reads weights it does not own (a functional call on a parameter)"
        elif n.op not in LAYER_OPS and n.op not in MERGE_OPS:
            what = a.get("target") or a.get("fn")
            why = f"{n.op} op{f' ({what})' if what else ''}: no block family expresses it"
        elif n.op in (Op.CONV, Op.LINEAR, Op.BN, Op.MAXPOOL, Op.AVGPOOL) and len(n.shape) not in (1, 3):
            why = f"{n.op} on a {len(n.shape)}-d value (blocks work on CxHxW maps and flat vectors)"
        elif n.op == Op.BN and not (a.get("affine", True) and a.get("track_running_stats", True)
                                   and a.get("momentum") is not None):
            why = "batch norm without affine weights, running statistics or a momentum"
        elif n.op == Op.MUL and len(n.inputs) != 2:
            why = "a product of one value with itself"
        elif n.op == Op.CONCAT and len(n.shape) != 3:
            why = "a concatenation on another axis than the channels"
        if why is None and isinstance(m, nn.LeakyReLU) and m.negative_slope != 0.01:
            why = f"LeakyReLU slope {m.negative_slope} (blocks use 0.01)"
        if why is None and isinstance(m, nn.GELU) and m.approximate != "none":
            why = "GELU with the tanh approximation"
        if why is None and isinstance(m, nn.AvgPool2d) and (not m.count_include_pad or m.divisor_override):
            why = "average pooling that excludes the padding or overrides the divisor"
        if why is None and m is not None and any(not p.requires_grad for p in m.parameters(recurse=False)):
            why = "frozen parameters (a spec trains every weight)"
        if why:
            out.append(f"{n.name}: {why}")
    return out


def _settings(graph: Graph) -> tuple[dict[str, Any], list[str]]:
    """The spec-wide batch-norm eps / momentum, which every batch norm must share."""
    bns = [n for n in graph.nodes if n.op == Op.BN]
    out: dict[str, float] = {}
    problems = []
    for key in ("eps", "momentum"):
        values = {n.attrs[key] for n in bns if n.attrs.get(key) is not None}
        if len(values) > 1:
            first = bns[0]
            odd = [n.name for n in bns if n.attrs[key] != first.attrs[key]]
            problems += [f"{name}: batch-norm {key} differs from {first.name}'s {first.attrs[key]} (a spec has one "
                         f"{key} for every batch norm)" for name in odd]
        elif values:
            out["bn_" + key] = float(values.pop())
    return out, problems


def spec_from_module(module: nn.Module, input_shape: tuple[int, int, int], name: str | None = None,
                     step: Step | None = None) -> ImportResult:
    """The spec that builds ``module`` (see the module docstring), or the problems that prevent it. ``step``
    hears STEPS[1:] as each starts (it may raise to stop the import there)."""
    step = step or (lambda _text: None)
    name = name or type(module).__name__
    step(STEPS[1])
    graph = import_module(module, input_shape, name)
    problems = _inexpressible(graph, module)
    settings, odd = _settings(graph)
    problems += odd
    used = {n.name.split("@")[0] for n in graph.nodes}
    for mod_name, m in module.named_modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if own and mod_name not in used:
            problems.append(f"{mod_name}: {type(m).__name__} with {own:,} parameters is never called by the "
                            "inference forward (a training-only head?)")
    if problems:
        return ImportResult(None, problems)
    step(STEPS[2])
    dec = _Decomposer(graph)
    out = graph.output.name
    items = dec.chain("input", out)
    writer = _Writer(dec.nodes)
    body = writer.blocks(items, "", "")
    placed = writer.placed
    counts = Counter(_flat(items))
    twice = sorted(n for n, k in counts.items() if k > 1)
    missing = [n.name for n in graph.nodes[1:] if n.name not in placed and n.name not in dec.alias]
    if twice:
        problems += [f"{n}: read by two merges that do not nest (the graph is not series-parallel)" for n in twice]
    if missing:
        problems += [f"{n}: not on the path to the output" for n in missing]
    if problems:
        return ImportResult(None, problems, dec.notes)
    drop_path = [n.name for n in graph.nodes if n.op == Op.DROPOUT and "stochastic_depth" in n.name]
    if drop_path:
        dec.notes.append(f"{len(drop_path)} stochastic-depth op(s) ({drop_path[0]}, ...) written as dropout blocks "
                         "with the same p: identical in inference; in training they drop values, not whole samples")
    classes = graph.output.shape[0] if len(graph.output.shape) == 1 else 1
    c, h, w = input_shape
    spec = Spec(name=_spec_name(name), input=(c, h, w), num_classes=classes, body=body,
                description=f"Imported from {type(module).__name__} by convsmith import.", **settings)
    families()  # the registry, for writing the blocks out
    step(STEPS[3])
    try:
        spec = parse_spec(to_dict(spec))  # the validator's view: a value out of a field's range says so
    except SpecError as e:
        return ImportResult(None, [f"{p.path}: {p.message}" for p in e.problems], dec.notes)
    mapping = {n: placed[n] for n in placed if dec.nodes[n].op in WEIGHTED}
    return ImportResult(spec, [], dec.notes, mapping)


def _flat(items: list[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, _Layer):
            out += item.nodes
        else:
            out += [item.merge, *item.post]
            for lane in item.lanes:
                out += _flat(lane)
    return out


def _spec_name(text: str) -> str:
    clean = "".join(c for c in text if c.isprintable() and c not in "\"'\\`")[:80]
    return clean or "imported"


def transfer_weights(source: nn.Module, built: nn.Module, mapping: dict[str, str]) -> None:
    """Copy every mapped source module's parameters and buffers into the built model."""
    with torch.no_grad():
        for src, dst in mapping.items():
            built.get_submodule(dst).load_state_dict(source.get_submodule(src).state_dict())


def check_spec(result: ImportResult, what: str) -> Spec:
    """The spec of a successful import, or ConvSmithError listing every problem (one per line)."""
    if result.spec is None:
        by_reason: dict[str, list[str]] = {}  # one line per reason: a shuffle in every block is one line, not 87
        for problem in result.problems:
            module, _, why = problem.partition(": ")
            by_reason.setdefault(why, []).append(module)
        lines = [f"{why} ({', '.join(mods[:8])}{f' and {len(mods) - 8} more' if len(mods) > 8 else ''})"
                 for why, mods in by_reason.items()]
        raise ConvSmithError(f"{what} cannot be written as a spec exactly ({len(result.problems)} module(s)):\n  "
                             + "\n  ".join(lines))
    return result.spec
