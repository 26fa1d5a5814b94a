"""A branch: parallel paths of any blocks on the same input, merged by add, concat, mul or max.

Each path is a list of blocks (stages and branches nest); an empty path is the identity, so a residual
connection is ``{"paths": [[...], []], "merge": "add"}`` and a DenseNet layer ``[[], [...]]`` with concat.
Paths expand in order, each under ``MODULE.paths.P.J`` (``body.3.paths.1.0.conv``), and the merge
(a chain of two-input ops for add / mul / max, one concat) is followed by an optional norm and activation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arch import fields as F
from arch.fields import Field
from arch.graph import Port, fmt_shape
from arch.registry import REGISTRY, BlockFamily, register

if TYPE_CHECKING:
    from arch.expand import Emitter


MERGES = ("add", "concat", "mul", "max")


def _fix(merge: str, p: int, r: int, mine: tuple[int, ...], ref: tuple[int, ...]) -> str:
    """What to add to paths[p] so that its output ``mine`` merges with paths[r]'s ``ref``."""
    if len(mine) != len(ref) or len(mine) != 3:
        return f"make paths[{p}] end in the same kind of value as paths[{r}] (both maps or both flat)"
    (c, h, w), (rc, rh, rw) = mine, ref
    want_c = c if merge == "concat" else rc
    if (h, w) == (rh, rw):
        return f"add a 1x1 conv with {want_c} outputs to paths[{p}]"
    if h % rh == 0 and w % rw == 0 and h // rh == w // rw:
        s = h // rh
        if want_c == c:
            return f"add a pool with stride {s} (or a 1x1 conv with stride {s}) to paths[{p}]"
        return f"add a 1x1 conv with stride {s} and {want_c} outputs to paths[{p}]"
    if rh % h == 0 and rw % w == 0 and rh // h == rw // w:
        return f"paths[{p}] shrinks more than paths[{r}]: give paths[{r}] stride {rh // h} too, or reduce paths[{p}]'s"
    return f"make paths[{p}] and paths[{r}] reach the same size (check their strides and paddings)"


def merge_problem(merge: str, outs: list[Port]) -> str | None:
    """Why the paths' outputs cannot be merged (naming the paths, both shapes and a fix), or None."""
    gate = [merge == "mul" and len(o.shape) == 3 and o.shape[1:] == (1, 1) for o in outs]
    r = gate.index(False) if False in gate else 0  # a multiply compares with a full-size path
    ref = outs[r].shape
    for p, port in enumerate(outs):
        mine = port.shape
        if p == r:
            continue
        if merge == "concat":
            ok = len(mine) == len(ref) and mine[1:] == ref[1:]
        elif merge == "mul":  # a (C, 1, 1) gate scales channels (squeeze-excitation, CBAM)
            ok = mine == ref or (gate[p] and mine[0] == ref[0])
        else:
            ok = mine == ref
        if not ok:
            return (f"paths[{p}] gives {fmt_shape(mine)}, paths[{r}] {fmt_shape(ref)}: cannot {merge} them; "
                    f"{_fix(merge, p, r, mine, ref)}")
    return None


@register
class Branch(BlockFamily):
    name = "branch"
    title = "Branch"
    category = "structure"
    multipath = True
    composite = True
    doc = ("Parallel paths on the same input, merged. 'paths' is a list of paths, each a list of blocks of "
           "any family (an empty path is the identity); 'merge' adds, concatenates (channels), multiplies "
           "(a Cx1x1 path gates channels) or takes the maximum; norm / activation follow the merge.")
    fields = (
        Field("merge", "choice", "add", "how the paths' outputs combine", choices=MERGES),
        F.norm("none"),
        F.activation("none"),
        Field("paths", "paths", None, "the parallel paths: a list of lists of blocks ([] is the identity)",
              searchable=False),
    )

    def check(self, cfg: Any) -> list[tuple[str, str]]:
        if not cfg.paths:
            return [("paths", "needs at least one path (a list of blocks; [] is the identity)")]
        return []

    def summary(self, cfg: Any) -> str:
        def path_text(blocks: list[Any]) -> str:
            if not blocks:
                return "identity"
            names = [REGISTRY[b.block].name for b in blocks]
            return " > ".join(names) if len(names) <= 3 else f"{names[0]} > ... > {names[-1]} ({len(names)})"

        after = "".join(f", {x}" for x in (("bn" if cfg.norm == "batch" else ""), cfg.activation)
                        if x and x != "none")
        return f"branch {cfg.merge} of {len(cfg.paths)}: " + " | ".join(map(path_text, cfg.paths)) + after

    def expand(self, e: Emitter, cfg: Any, x: Port) -> Port:
        from arch.expand import ShapeIssue
        from arch.paths import in_module, in_path

        path, module = e.scope.path, e.scope.module
        outs = []
        for p, blocks in enumerate(cfg.paths):
            y = x
            for j, bs in enumerate(blocks):
                y = e.block(bs, y, in_path(path, p, j), in_module(module, p, j))
            outs.append(y)
        problem = merge_problem(cfg.merge, outs)
        if problem:
            raise ShapeIssue(problem)
        if cfg.merge == "concat":
            y = e.concat(outs, "merge") if len(outs) > 1 else outs[0]
        else:
            if cfg.merge == "mul":  # the IR reads (x, gate): full-size operands first
                outs = sorted(outs, key=lambda o: len(o.shape) == 3 and o.shape[1:] == (1, 1))
            y = outs[0]
            for k, other in enumerate(outs[1:]):
                y = e.merge(cfg.merge, y, other, "merge" if k == 0 else f"merge_{k}")
        if cfg.norm == "batch":
            y = e.bn(y, "bn")
        return e.act(y, "act", cfg.activation)
