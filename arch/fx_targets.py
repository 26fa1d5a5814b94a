"""The fx call targets and module classes the op table (``arch.op_table``) declares, resolved: which op a
call node or a module of a traced model maps to (``arch.fx_import`` reads it with one rule per op)."""

from __future__ import annotations

import functools
import importlib
from typing import Any, NamedTuple

import torch
from torch import fx, nn

from arch import ops
from arch.activations import ACTIVATIONS
from arch.op_table import OPS, Op, OpSpec


def target_name(fx_node: fx.Node) -> str:
    t = fx_node.target
    if isinstance(t, str):
        return t if fx_node.op == "call_module" else f"Tensor.{t}"
    module = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", repr(t))
    return f"{module}.{name}" if module and module != "_operator" else f"operator.{name}"


class Call(NamedTuple):
    """A function or method call as a rule of ``_CALLS`` sees it."""

    node: fx.Node
    key: str  # its target as the op table names it: "torch.nn.functional.relu", "Tensor.view"
    inputs: list[str]  # the IR values among its arguments
    shape: tuple[int, ...]  # its value's shape without the batch axis

    @property
    def tensors(self) -> list[fx.Node]:
        return [a for a in self.node.args if isinstance(a, fx.Node)]


def resolve_target(key: str) -> Any:
    """The object an op-table fx target names: ``torch.nn.functional.relu``, ``operator.add``, ``Tensor.view``."""
    if key.startswith("Tensor."):
        return getattr(torch.Tensor, key[7:])
    module, _, attr = key.rpartition(".")
    return getattr(importlib.import_module(module), attr)


CALL_OPS: dict[str, Op] = {key: e.op for e in OPS.values() for key in e.fx_functions}
ACT_OF_TARGET = {key: a.name for a in ACTIVATIONS for key in a.functions}


@functools.cache
def _call_keys() -> dict[Any, str]:
    """Call targets (functions, builtins, Tensor methods called as functions) -> their op-table names. The
    torchvision functions torch.fx.wrap keeps opaque are matched by name (importing torchvision is slow)."""
    return {resolve_target(key): key for key in CALL_OPS if not key.startswith("torchvision.")}


def call_target(fx_node: fx.Node) -> tuple[Op, str] | None:
    """The op table's op for a call node, and the target's name there."""
    t = fx_node.target
    if fx_node.op == "call_method":
        key: str | None = f"Tensor.{t}"
    else:
        try:
            key = _call_keys().get(t) or target_name(fx_node)
        except TypeError:  # an unhashable target
            key = None
    op = CALL_OPS.get(key) if key else None
    return (op, key) if op is not None and key is not None else None


@functools.cache
def _module_entries() -> dict[type, OpSpec]:
    """torch.nn and arch.ops classes -> the op table entry that reads them."""
    out: dict[type, OpSpec] = {}
    for e in OPS.values():
        for name in e.fx_modules:
            out[getattr(ops, name, None) or getattr(nn, name)] = e
    return out


def module_entry(m: nn.Module) -> OpSpec | None:
    """By exact class for torch.nn modules (a subclass may compute something else); ConvSmith's own
    modules (arch.ops) also by subclass."""
    entry = _module_entries().get(type(m))
    if entry is None:
        entry = next((e for cls, e in _module_entries().items() if cls.__module__ == ops.__name__
                      and isinstance(m, cls)), None)
    return entry
