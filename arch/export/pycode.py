"""The ``py`` export: one readable Python file, importing only torch, that rebuilds the model exactly.

It is generated from the graph IR and ``arch.op_table`` (the builder's own constructor
table), so the exported module and the built ``ConvNet`` cannot disagree: same submodule paths, hence
identical ``state_dict`` keys in the same order, and the same forward computation.

Security: identifiers in the generated code come only from the block registry's node names (checked
to be identifiers) and from the spec name reduced to ASCII letters and digits. Names, labels and
descriptions appear only inside comments and the header docstring, with every character that could
end them (line breaks, quotes, backslashes, non-printables) escaped or dropped — even for a ``Spec``
object that never went through validation.
"""

from __future__ import annotations

import inspect
import keyword
import re
import textwrap
from dataclasses import dataclass
from typing import Any

import torch

from arch import ops
from arch.builder import ConvNet
from arch.expand import expand_spec
from arch.graph import BlockInfo, Graph, Node, fmt_shape
from arch.op_table import MERGES, OPS, module_call
from arch.registry import family
from arch.spec import FORMAT, Spec

LINE = 120
RESERVED = {"torch", "nn", "F", "self", "x", "super", "NMaxPool2d"}


# ------------------------------------------------------------------------------ names and text
def class_name(text: str, fallback: str = "Net") -> str:
    """ASCII letters and digits in CamelCase, starting with a letter, never a keyword."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name:
        return fallback
    if name[0].isdigit():
        name = fallback + name
    return name + fallback if keyword.iskeyword(name) or name in RESERVED else name


def _is_name(text: str) -> bool:
    return text.isidentifier() and text.isascii() and not keyword.iskeyword(text) and text not in RESERVED


def comment(text: str) -> str:
    """Text safe inside a ``#`` comment: only printable characters, one line."""
    return "".join(c if c.isprintable() else "?" for c in text)


def docstring_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring: printable, quotes and backslashes escaped."""
    return "".join(c for c in text if c.isprintable()).replace("\\", "\\\\").replace('"', '\\"')


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Wrapped at spaces only: never inside a word, so an escape such as \\" is never split."""
    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [""]


def _docstring(text: str, indent: int) -> str:
    """A one-paragraph docstring, wrapped to the line length."""
    pad = " " * indent
    lines = _wrap(docstring_text(text), LINE - indent - 6)
    if len(lines) == 1:
        return f'{pad}"""{lines[0]}"""'
    return f'{pad}"""' + f"\n{pad}".join(lines) + f'\n{pad}"""'


def _literal(value: Any) -> str:
    """A constructor argument as Python source; only plain, finite constants are accepted."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, (bool, int)) or (isinstance(value, str) and re.fullmatch(r"[a-z_]+", value)):
        return repr(value)
    raise ValueError(f"cannot write {value!r} as a constructor argument")


def _call(node: Node) -> str:
    """``nn.Conv2d(3, 64, 7, stride=2, ...)``: the builder's arguments, those equal to torch's defaults left out."""
    cls, args, kwargs = module_call(node)
    ctor = cls if hasattr(ops, cls) else f"nn.{cls}"
    defaults = inspect.signature(getattr(ops, cls, None) or getattr(torch.nn, cls)).parameters
    parts = [_literal(a) for a in args]
    parts += [f"{k}={_literal(v)}" for k, v in kwargs.items()
              if k not in defaults or type(defaults[k].default) is not type(v) or defaults[k].default != v]
    return f"{ctor}({', '.join(parts)})"


# ------------------------------------------------------------------------------------ block classes
@dataclass(frozen=True)
class _Body:
    """What makes two blocks the same class: summary, constructor lines and forward lines."""

    summary: str
    init: tuple[str, ...]
    forward: tuple[str, ...]


def _local(info: BlockInfo, node: Node) -> str:
    """The node's path below its block; parts are identifiers, or indices of a branch's paths."""
    local = node.name[len(info.module) + 1:]
    if not all(_is_name(part) or part.isdecimal() for part in local.split(".")):
        raise ValueError(f"node {node.name} of {info.path} does not have an identifier path")
    return local


def _attr(parts: list[str]) -> str:
    """``self.paths["1"]["0"].conv``: names as attributes, path indices as ModuleDict keys."""
    return "self" + "".join(f'["{p}"]' if p.isdecimal() else f".{p}" for p in parts)


def _init_lines(info: BlockInfo, nodes: list[Node]) -> list[str]:
    """Submodules in graph order, parents created on first need: the builder's registration order."""
    lines, made = [], set()
    for n in nodes:
        if n.op in MERGES:
            continue
        parts = _local(info, n).split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent not in made:
                made.add(parent)
                container = "nn.ModuleDict()" if parts[i].isdecimal() else "nn.Module()"
                lines.append(f"{_attr(parts[:i])} = {container}")
        lines.append(f"{_attr(parts)} = {_call(n)}")
    return lines


def _forward_lines(info: BlockInfo, nodes: list[Node]) -> tuple[list[str], str]:
    """Straight-line code, one statement per op.

    A value keeps its variable while a chain continues in the same branch (``y = self.bn(y)``); a new
    branch (``shortcut``, ``branch2``, ``se``) or a value still needed later opens a new variable.
    """
    own = {n.name for n in nodes}
    last_use: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for name in n.inputs:
            last_use[name if name in own else "input"] = i
    var = {"input": "x"}
    group = {"x": ""}
    taken = {"x"}
    lines = []
    for i, n in enumerate(nodes):
        local = _local(info, n)
        ins = [var[name if name in own else "input"] for name in n.inputs]
        first = n.inputs[0] if n.inputs[0] in own else "input"
        parts = local.split(".")
        here = f"path{parts[1]}" if parts[0] == "paths" and len(parts) > 2 else parts[0] if len(parts) > 1 else ""
        dies = last_use[first] == i and first != info.output and ins.count(ins[0]) == 1
        if dies and (group[ins[0]] == here or "{0}" in OPS[n.op].code):  # x * gate, a + b continue x, a
            target = ins[0]
        else:
            target = _fresh(here if _is_name(here) else "y", taken)
            group[target] = here
        code = OPS[n.op].code
        expr = code.format(*ins, all=", ".join(ins)) if code else f"{_attr(local.split('.'))}({ins[0]})"
        lines.append(f"{target} = {expr}")
        var[n.name] = target
    return lines, var.get(info.output, "x")


def _fresh(base: str, taken: set[str]) -> str:
    """``base``, else ``base2``, ``base3``...: a variable name not used before in this forward."""
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    taken.add(name)
    return name


def _body(info: BlockInfo, nodes: list[Node]) -> _Body:
    forward, out = _forward_lines(info, nodes)
    return _Body(info.summary, tuple(_init_lines(info, nodes)), tuple(forward + [f"return {out}"]))


def _class_source(name: str, body: _Body) -> str:
    lines = [f"class {name}(nn.Module):", _docstring(body.summary, 4), "",
             "    def __init__(self):", "        super().__init__()"]
    lines += [f"        {line}" for line in body.init]
    lines += ["", "    def forward(self, x):"] + [f"        {line}" for line in body.forward]
    return "\n".join(lines)


def _own_modules(graph: Graph) -> list[type]:
    """ConvSmith's own module classes (arch.ops) the graph uses, in the order arch.ops defines them."""
    used = {module_call(n)[0] for n in graph.nodes if OPS[n.op].module is not None}
    return [c for name, c in vars(ops).items() if isinstance(c, type) and c.__module__ == ops.__name__
            and name in used]


# ------------------------------------------------------------------------------------- the file
def _header(spec: Spec, graph: Graph, model: str, params: int, module: str | None) -> str:
    c, h, w = graph.input_shape
    out = fmt_shape(graph.output.shape)
    batch = f"torch.randn(1, {c}, {h}, {w})"
    how = f"from {module} import {model}" if module else f"# import {model} from this file"
    lines = [f"{docstring_text(spec.name)}: a plain PyTorch model exported by ConvSmith.", ""]
    if spec.description:
        lines += _wrap(docstring_text(spec.description), LINE - 4) + [""]
    lines += [
        f"Spec: {docstring_text(spec.name)} ({FORMAT}), {len(spec.body)} blocks",
        f"Input: {c}x{h}x{w} (batch first: N x {c} x {h} x {w}); output per example: {out}",
        f"Parameters: {params:,}",
        "",
        "Usage:",
        "    import torch",
        f"    {how}",
        "",
        f"    model = {model}().eval()",
        f"    out = model({batch})",
        "",
        "The state_dict keys equal those of the ConvSmith-built model, so weights trained in ConvSmith",
        "load directly, from a saved state_dict or a run's best.pt / final.pt (which keep it under",
        "'state_dict'):",
        "    state = torch.load(PATH, weights_only=True)",
        "    model.load_state_dict(state.get('state_dict', state))",
        "This file needs only torch.",
    ]
    wrapped = [part for line in lines for part in _wrap(line, LINE, "    ")]
    return '"""' + "\n".join(wrapped) + '\n"""'


def _entry(indent: int, code: str, note: str) -> str:
    """``Class(),  # note``, the note cut so the line stays within the line length."""
    line = " " * indent + code
    room = LINE - len(line) - 3
    return f"{line}  # {comment(note)[:room]}" if note and room > 8 else line


def render(spec: Spec, input_shape: tuple[int, int, int] | None = None, module: str | None = None) -> str:
    """The Python source of ``spec`` (SpecError when its shapes fail). ``module``: the file's module name."""
    graph = expand_spec(spec, input_shape)
    module = module if module and _is_name(module) else None
    with torch.device("meta"):
        params = sum(p.numel() for p in ConvNet(graph).parameters())
    nodes = {n.name: n for n in graph.nodes}
    children: dict[str | None, list[BlockInfo]] = {}
    for b in graph.blocks:
        children.setdefault(b.parent, []).append(b)

    classes: dict[_Body, str] = {}
    counts: dict[str, int] = {}

    def class_for(info: BlockInfo) -> str:
        own = graph.subtree_nodes(info) if family(info.family).composite else [nodes[n] for n in info.nodes]
        body = _body(info, own)
        if body not in classes:
            base = class_name(family(info.family).title.split(" (")[0], "Block")
            counts[base] = counts.get(base, 0) + 1
            classes[body] = base if counts[base] == 1 else f"{base}{counts[base]}"
        return classes[body]

    def entries(info: BlockInfo, indent: int) -> list[str]:
        note = f"{info.path}" + (f" [{info.label}]" if info.label else "") + f" {info.summary}"
        kids = None if family(info.family).composite else children.get(info.path)
        if not kids:
            return [_entry(indent, f"{class_for(info)}(),", note)]
        inner = [line for kid in kids for line in entries(kid, indent + 4)]
        return [_entry(indent, "nn.Sequential(", note), *inner, " " * indent + "),"]

    body_lines = [line for info in children.get(None, []) for line in entries(info, 12)]
    taken = set(classes.values())
    model = class_name(spec.name)
    while model in taken:
        model += "Net"
    own = _own_modules(graph)  # copied verbatim
    sources = [inspect.getsource(c).rstrip() for c in own]
    imports = []
    if own or any("torch." in OPS[n.op].code for n in graph.nodes):
        imports.append("import torch")
    if any(re.search(r"\bF\.", source) for source in sources):
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")
    parts = [_header(spec, graph, model, params, module), "\n".join(imports)]
    parts += sources
    parts += [_class_source(name, body) for body, name in classes.items()]
    model_lines = [f"class {model}(nn.Module):",
                   _docstring(f"{spec.name}: input {fmt_shape(graph.input_shape)}, output "
                              f"{fmt_shape(graph.output.shape)}.", 4), "",
                   "    def __init__(self):", "        super().__init__()",
                   "        self.body = nn.Sequential(", *body_lines, "        )", "",
                   "    def forward(self, x):", "        return self.body(x)"]
    parts.append("\n".join(model_lines))
    return "\n\n\n".join(parts) + "\n"
