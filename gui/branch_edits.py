"""Edits that compose blocks into branches, as pure functions ``Spec -> Edit`` (no Qt; see gui/edits.py).

A block lives in a list: the body (``body[4]``) or one path of a branch (``body[3].paths[1][0]``). Moving
takes a block out of its list and inserts it into another (into, out of and between paths); wrapping puts
consecutive blocks of one list into a branch of one path (the network is unchanged: a one-path branch
emits no merge), unwrapping writes a one-path branch's blocks back in its place.
"""

from __future__ import annotations

import copy

from arch import paths
from arch.errors import Problem, SpecError
from arch.paths import get_block, path_of
from arch.spec import BlockSpec, Spec, parse_spec, to_dict
from gui.edits import Edit


def locate(path: str) -> tuple[str, int]:
    """``body[4]`` -> ('body', 4); ``body[3].paths[1][0]`` -> ('body[3].paths[1]', 0): its list and index."""
    where = path_of(path)
    if where is not None:
        branch, p, j = where
        return paths.lane(branch, p), j
    index = paths.top_index(path)
    if index is None or not paths.is_top(path):
        raise SpecError(Problem(path, "names no block of the body or of a branch's path"))
    return "body", index


def _list(spec: Spec, where: str) -> list[BlockSpec]:
    """The list ``where`` names inside ``spec`` (the object itself: callers edit a copy)."""
    if where == "body":
        return spec.body
    found = paths.lane_of(where)
    if found is None:
        raise SpecError(Problem(where, "names no list of blocks (body or a branch's path)"))
    at, p = found
    branch = get_block(spec, at)
    if branch.block != "branch":
        raise SpecError(Problem(at, f"is a {branch.block}, not a branch"))
    lanes = branch.params["paths"]
    if p >= len(lanes):
        raise SpecError(Problem(where, f"the branch has {len(lanes)} paths"))
    return lanes[p]


def _checked(new: Spec) -> Spec:
    """Field validation of the whole result (a block moved into a path is checked there)."""
    return parse_spec(to_dict(new))


def add_path(spec: Spec, branch: str) -> Edit:
    """A new, empty path (the identity) at the end of the branch's paths."""
    new = copy.deepcopy(spec)
    bs = get_block(new, branch)
    if bs.block != "branch":
        raise SpecError(Problem(branch, f"is a {bs.block}, not a branch"))
    bs.params["paths"].append([])
    return Edit(_checked(new), f"Add path {len(bs.params['paths']) - 1} to {branch}")


def remove_path(spec: Spec, branch: str, p: int) -> Edit:
    new = copy.deepcopy(spec)
    lanes = get_block(new, branch).params.get("paths") or []
    if not 0 <= p < len(lanes) or len(lanes) == 1:
        raise SpecError(Problem(paths.field(branch, "paths"),
                                f"cannot remove path {p} of {len(lanes)} (a branch keeps one)"))
    lanes.pop(p)
    return Edit(_checked(new), f"Remove path {p} of {branch}")


def move(spec: Spec, path: str, into: str, at: int) -> Edit:
    """Move the block at ``path`` to position ``at`` of the list ``into`` ('body' or 'body[3].paths[1]').

    Positions count in the list as it is before the move. A block cannot move into itself."""
    src_list, i = locate(path)
    if into == path or into.startswith(path + "."):
        raise SpecError(Problem(path, "cannot move a branch into one of its own paths"))
    new = copy.deepcopy(spec)
    source, target = _list(new, src_list), _list(new, into)
    if not 0 <= i < len(source):
        raise SpecError(Problem(path, "no such block"))
    block = source[i]
    at = max(0, min(at, len(target)))
    if source is target and at > i:
        at -= 1
    source.pop(i)
    target.insert(at, block)
    if source is target and at == i:
        raise SpecError(Problem(path, "is already there"))
    return Edit(_checked(new), f"Move {path} to {into}[{at}]")


def wrap_in_branch(spec: Spec, first: str, last: str | None = None) -> Edit:
    """Blocks ``first`` .. ``last`` (one list, in order) become the single path of a new branch."""
    where, i = locate(first)
    where2, j = locate(last or first)
    if where2 != where or j < i:
        raise SpecError(Problem(first, f"{last} is not after it in the same list"))
    new = copy.deepcopy(spec)
    blocks = _list(new, where)
    if j >= len(blocks):
        raise SpecError(Problem(last or first, "no such block"))
    blocks[i:j + 1] = [BlockSpec("branch", {"paths": [blocks[i:j + 1]]})]
    span = first if j == i else f"{first}..{last}"
    return Edit(_checked(new), f"Wrap {span} in a branch")


def unwrap_branch(spec: Spec, path: str) -> Edit:
    """A branch of one path, with nothing after its merge, replaced by that path's blocks."""
    bs = get_block(spec, path)
    if bs.block != "branch":
        raise SpecError(Problem(path, f"is a {bs.block}, not a branch"))
    lanes = bs.params["paths"]
    if len(lanes) != 1 or bs.params.get("norm", "none") != "none" or bs.params.get("activation", "none") != "none":
        raise SpecError(Problem(path, "only a branch of one path with no norm or activation after the merge can be "
                                      "unwrapped without changing the network (remove the other paths first)"))
    where, i = locate(path)
    new = copy.deepcopy(spec)
    blocks = _list(new, where)
    blocks[i:i + 1] = copy.deepcopy(lanes[0])
    return Edit(_checked(new), f"Unwrap branch {path}")


def remove(spec: Spec, path: str) -> Edit:
    """Delete the block at ``path`` from its list (a path may become empty: the identity)."""
    where, i = locate(path)
    new = copy.deepcopy(spec)
    blocks = _list(new, where)
    if not 0 <= i < len(blocks):
        raise SpecError(Problem(path, "no such block"))
    removed = blocks.pop(i)
    return Edit(_checked(new), f"Delete {path} ({removed.block})")
