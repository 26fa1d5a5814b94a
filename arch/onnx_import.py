"""An ONNX file (what Netron users have) -> the graph IR, with the ``onnx`` package: shapes from ONNX shape
inference, weights from the initializers, each ONNX node mapped to the IR op whose ``arch.op_table`` entry
lists its type (read by that op's reader, ``_ONNX_READERS``).

Weights (initializers read by Conv, Gemm, BatchNormalization...) are parameters of the node that reads
them; BatchNormalization's running mean and variance are buffers (ONNX has no ``num_batches_tracked``). An
initializer read by an element-wise op (a layer scale, a bias added separately) is a ``constant`` node.
A Pad whose only reader is a Conv is folded into it (torch exports reflect / replicate padding that way).
Every node with no IR equivalent becomes ``unknown`` (listed in ``graph.unknown_ops``; the analysis then
marks MACs, FLOPs, memory and the receptive field as lower bounds). The graph is read-only: an ONNX file
cannot become an editable spec.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from arch.activations import ACTIVATIONS
from arch.errors import ConvSmithError
from arch.graph import Graph, Node
from arch.op_table import OPS, Op

MAX_FILE_BYTES = 2 * 1024**3  # protobuf's own limit for one file
SMALL = 64  # initializers up to this many elements are read as values (shapes, axes, pads, bounds)
FLOAT_TYPES = (1, 10, 11, 16)  # onnx.TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16
PAD_MODES = {"reflect": "reflect", "edge": "replicate", "wrap": "circular", "constant": "zeros"}

def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _load(path: str | Path, input_shape: tuple[int, ...] | None) -> Any:
    import onnx

    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ConvSmithError(f"{p}: larger than the {MAX_FILE_BYTES:,} bytes an ONNX file may have")
        model = onnx.load(str(p), load_external_data=False)
    except FileNotFoundError:
        raise ConvSmithError(f"{p}: no such file") from None
    except ConvSmithError:
        raise
    except Exception as e:  # protobuf's DecodeError and friends
        raise ConvSmithError(f"{p}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ConvSmithError(f"{p}: the model must take exactly one input tensor (it takes {len(inputs)})")
    dims = inputs[0].type.tensor_type.shape.dim
    if input_shape is not None:
        if len(dims) != len(input_shape) + 1:
            raise ConvSmithError(f"{p}: its input has {len(dims) - 1} dimensions besides the batch; --input gives "
                                 f"{len(input_shape)}")
        for d, size in zip(list(dims)[1:], input_shape):
            d.ClearField("dim_param")
            d.dim_value = size
        del model.graph.value_info[:]  # shapes recorded at the exported size: inferred again below
        for out in model.graph.output:
            out.type.tensor_type.ClearField("shape")
    dims[0].ClearField("dim_param")
    dims[0].dim_value = 1  # analyse one sample; the engine multiplies by --batch
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:
        raise ConvSmithError(f"{p}: ONNX shape inference failed: {' '.join(str(e).split())[:300]}") from None


class _Weight(NamedTuple):
    """A large initializer as the reader needs it: its shape and type, not its values (VGG's are 0.5 GB)."""

    shape: tuple[int, ...]
    dtype: Any

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)


def _tensor(t: Any) -> Any:
    """Small initializers (pads, axes, clip bounds) as numpy arrays; weights as their shape and type."""
    import onnx
    from onnx import numpy_helper

    if prod(t.dims) <= SMALL:
        return numpy_helper.to_array(t)
    return _Weight(tuple(int(d) for d in t.dims), np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.data_type)))


class _Reader:
    def __init__(self, model: Any, name: str) -> None:
        from onnx import numpy_helper

        g = model.graph
        self.inits = {t.name: _tensor(t) for t in g.initializer}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.floats: set[str] = set()  # values holding numbers of the network (not shapes, indices, flags)
        for vi in [*g.input, *g.value_info, *g.output]:
            if vi.type.tensor_type.elem_type in FLOAT_TYPES:
                self.floats.add(vi.name)
            dims = vi.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                self.shapes[vi.name] = tuple(int(d.dim_value) for d in dims)
        for node in g.node:  # Constant nodes: small tensors (shapes, axes) the rules read
            if node.op_type == "Constant":
                value = _attrs(node).get("value")
                if value is not None:
                    self.inits[node.output[0]] = numpy_helper.to_array(value)
        image = next(i for i in g.input if i.name not in self.inits)
        self.graph = Graph(name, self.shapes[image.name][1:])
        self.graph.add(Node("input", "input", (), self.graph.input_shape))
        self.value = {image.name: "input"}
        self.counted: set[str] = set()  # initializers counted as parameters (floating point: not shapes, axes)
        self.readers: dict[str, list[Any]] = {}
        for node in g.node:
            for i in node.input:
                self.readers.setdefault(i, []).append(node)
        self.folded: dict[str, Any] = {}  # conv output name -> the Pad folded into it
        self.nodes = [n for n in g.node if n.op_type != "Constant"]
        self.output = g.output[0].name

    def weights(self, names: list[str], scalars: bool = True) -> int:
        """Elements of the floating-point initializers among ``names`` not counted before (shared weights
        count once); ``scalars=False`` leaves out one-element ones (an exponent, an epsilon)."""
        total = 0
        for n in names:
            if n in self.inits and n not in self.counted and n not in self.value and self.inits[n].dtype.kind == "f" \
                    and (scalars or self.inits[n].size > 1):
                self.counted.add(n)
                total += int(self.inits[n].size)
        return total

    def shared(self, names: list[str]) -> dict[str, int]:
        """A conv's / linear's weights that another node already counted (the rules count the rest)."""
        total = sum(int(self.inits[n].size) for n in names if n in self.inits and self.inits[n].dtype.kind == "f")
        seen = total - self.weights(names)
        return {"shared_params": seen} if seen else {}

    def operand(self, name: str) -> str | None:
        """The IR value of an input: an activation, or an initializer as a constant node."""
        if name in self.value:
            return self.value[name]
        if name in self.inits and self.inits[name].size > 1:
            node = f"const:{name}"
            self.graph.add(Node(node, "constant", (), tuple(self.inits[name].shape),
                                {"once": True, "params": self.weights([name])}))
            self.value[name] = node
            return node
        return None

    def run(self) -> Graph:
        for node in self.nodes:
            self._node(node)
        out = self.value.get(self.output)
        if out is not None and self.graph.nodes[-1].name != out:  # keep the network output last
            last = self.graph.node(out)
            self.graph.nodes.remove(last)
            self.graph.nodes.append(last)
        return self.graph

    def _node(self, node: Any) -> None:
        name = node.name or node.output[0]
        if name in {n.name for n in self.graph.nodes[-3:]}:
            name = f"{name}@{node.output[0]}"
        shape = self.shapes.get(node.output[0])
        acts = [self.value[i] for i in node.input if i in self.value]
        if not any(o in self.floats for o in node.output):
            return  # shape arithmetic (Shape, Gather, Cast to int...): not an activation, as in the fx import
        if node.op_type in ("Identity", "Dropout") and acts:
            self.value[node.output[0]] = acts[0]
            return
        if node.op_type == "Identity" and node.input[0] in self.inits:
            # torch's exporter stores equal-valued weights once and gives the others an Identity of it:
            # each is still a tensor of its own in the model
            self.inits[node.output[0]] = self.inits[node.input[0]]
            return
        if node.op_type == "Pad" and acts and self._foldable(node):
            self.value[node.output[0]] = acts[0]
            return
        mapped = self._map(node, acts, shape) if shape is not None and acts else None
        if mapped is None:
            inputs = [v for v in (self.operand(i) for i in node.input) if v is not None]
            self.graph.add(Node(name, "unknown", tuple(inputs), shape[1:] if shape else (),
                                {"target": f"onnx:{node.op_type}", "params": self.weights(list(node.input), False)}))
            self.graph.unknown_ops.append(f"{name} (onnx:{node.op_type})")
        else:
            assert shape is not None  # mapped only with a known shape
            op, inputs, attrs = mapped
            self.graph.add(Node(name, op, tuple(inputs), shape[1:], attrs))
        self.value[node.output[0]] = name

    def _foldable(self, pad: Any) -> bool:
        readers = self.readers.get(pad.output[0], [])
        mode = _attrs(pad).get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = self.inits.get(pad.input[1]) if len(pad.input) > 1 else None
        value = self.inits.get(pad.input[2]) if len(pad.input) > 2 and pad.input[2] else None
        if len(readers) != 1 or readers[0].op_type != "Conv" or pads is None or len(pads) != 8 or mode not in PAD_MODES:
            return False
        if any(int(v) for v in (*pads[:2], *pads[4:6])) or (value is not None and float(value) != 0):
            return False
        self.folded[readers[0].output[0]] = (PAD_MODES[mode], [int(v) for v in pads])
        return True

    def _map(self, node: Any, acts: list[str], shape: tuple[int, ...]) -> tuple[str, list[str], dict] | None:
        """An ONNX node, by the op table entry that lists its type (``_ONNX_READERS`` reads it)."""
        op = ONNX_OPS.get(node.op_type)
        if op is None:
            return None
        ins = list(node.input)
        return _ONNX_READERS[op](self, Onnx(node.op_type, _attrs(node), ins, self.shapes.get(ins[0]) if ins else None,
                                            acts, shape, node.output[0]))

    # ------------------------------------------------------------------------- one reader per op
    def _conv(self, n: Onnx) -> Mapped | None:
        a, ins, x = n.attrs, n.inputs, n.x
        if x is None or len(x) != 4 or ins[1] not in self.inits:
            return None
        w = self.inits[ins[1]].shape
        k = tuple(a.get("kernel_shape", w[2:]))
        d = tuple(a.get("dilations", (1, 1)))
        pads = list(a.get("pads", (0, 0, 0, 0)))  # top, left, bottom, right
        mode = "zeros"
        if n.output in self.folded:
            mode, extra = self.folded[n.output]
            pads = [pads[0] + extra[2], pads[1] + extra[3], pads[2] + extra[6], pads[3] + extra[7]]
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            return None
        groups = int(a.get("group", 1))
        shared = self.shared(ins[1:])
        return "conv", [n.acts[0]], dict(
            in_channels=x[1], out_channels=int(w[0]), kernel=k, stride=tuple(a.get("strides", (1, 1))),
            dilation=d, groups=groups, bias=len(ins) > 2 and bool(ins[2]), padding_mode=mode,
            pads=(pads[0], pads[2], pads[1], pads[3]), padding=(pads[0], pads[1]), **shared)

    def _linear(self, n: Onnx) -> Mapped | None:
        a, ins = n.attrs, n.inputs
        if n.type == "Gemm" and ins[1] in self.inits and not a.get("transA", 0) and len(n.shape) == 2:
            w = self.inits[ins[1]].shape
            out_f, in_f = (w[0], w[1]) if a.get("transB", 0) else (w[1], w[0])
            return "linear", [n.acts[0]], dict(in_features=int(in_f), out_features=int(out_f),
                                               bias=len(ins) > 2 and bool(ins[2]), **self.shared(ins[1:]))
        if n.type == "MatMul" and len(ins) == 2 and ins[1] in self.inits and self.inits[ins[1]].ndim == 2:
            w = self.inits[ins[1]].shape
            return "linear", [n.acts[0]], dict(in_features=int(w[0]), out_features=int(w[1]), bias=False,
                                               mixes=False, **self.shared(ins[1:2]))
        return None

    def _bn(self, n: Onnx) -> Mapped | None:
        if n.x is None or len(n.x) not in (2, 4):
            return None
        a, ins = n.attrs, n.inputs
        # ONNX keeps the running statistics but not torch's num_batches_tracked counter: one buffer fewer
        return "bn", [n.acts[0]], dict(channels=n.x[1], eps=float(a.get("epsilon", 1e-5)),
                                       momentum=round(1 - float(a.get("momentum", 0.9)), 6), affine=True,
                                       track_running_stats=True, **self.shared(ins[1:3]),
                                       shared_buffers=1 + sum(int(self.inits[i].size) for i in ins[3:5]
                                                              if i in self.inits) - self.weights(ins[3:5]))

    def _act(self, n: Onnx) -> Mapped | None:
        if n.type != "Clip":
            return "act", [n.acts[0]], {"fn": ACT_OF_ONNX[n.type]}
        lo, hi = (self.inits.get(i) for i in (n.inputs[1:3] + ["", ""])[:2])
        if lo is not None and hi is not None and float(lo) == 0 and float(hi) == 6:
            return "act", [n.acts[0]], {"fn": "relu6"}
        return None

    def _pool(self, n: Onnx) -> Mapped | None:
        a, x = n.attrs, n.x
        if x is None or len(x) != 4:
            return None
        pads = list(a.get("pads", (0, 0, 0, 0)))
        if pads[0] != pads[2] or pads[1] != pads[3] or tuple(a.get("dilations", (1, 1))) != (1, 1):
            return None
        if n.type == "AveragePool" and any(pads) and not a.get("count_include_pad", 0):
            return None  # the IR's average pool counts the padding (torch's default)
        return ONNX_OPS[n.type], [n.acts[0]], dict(kernel=tuple(a["kernel_shape"]),
                                                   stride=tuple(a.get("strides", (1, 1))),
                                                   padding=(pads[0], pads[1]), ceil_mode=bool(a.get("ceil_mode", 0)))

    def _global_pool(self, n: Onnx) -> Mapped | None:
        if n.type != "ReduceMean":
            return ONNX_OPS[n.type], [n.acts[0]], {"output": (1, 1)}
        if n.x is None or len(n.x) != 4 or not n.attrs.get("keepdims", 1):
            return None
        axes = n.attrs.get("axes")
        if axes is None and len(n.inputs) > 1 and n.inputs[1] in self.inits:
            axes = self.inits[n.inputs[1]].tolist()
        if axes is not None and sorted(int(v) % 4 for v in axes) == [2, 3]:
            return "adaptive_avgpool", [n.acts[0]], {"output": (1, 1)}
        return None

    def _view(self, n: Onnx) -> Mapped | None:
        """Flatten and Reshape to (N, C·H·W) are a flatten; other views only move values."""
        if n.type in ("Flatten", "Reshape") and len(n.shape) == 2 and n.x is not None and prod(n.x[1:]) == n.shape[1]:
            return "flatten", [n.acts[0]], {}
        return "reshape", [n.acts[0]], {"mixes": len(n.shape) != len(n.x or ()) and len(n.shape) < 3}

    def _merge(self, n: Onnx) -> Mapped | None:
        if len(n.inputs) != 2:
            return None
        operands = [self.operand(i) for i in n.inputs]
        if any(o is None for o in operands):
            return None
        return ONNX_OPS[n.type], [o for o in operands if o is not None], {}

    def _concat(self, n: Onnx) -> Mapped | None:
        return ("concat", n.acts, {}) if int(n.attrs.get("axis", 1)) in (1, -3) and len(n.shape) == 4 else None

    def _lrn(self, n: Onnx) -> Mapped | None:
        a = n.attrs
        return "lrn", [n.acts[0]], {"size": int(a["size"]), "alpha": float(a.get("alpha", 1e-4)),
                                    "beta": float(a.get("beta", 0.75)), "k": float(a.get("bias", 1.0))}


class Onnx(NamedTuple):
    """One ONNX node as a reader of ``_ONNX_READERS`` sees it."""

    type: str  # op_type
    attrs: dict[str, Any]
    inputs: list[str]  # value names
    x: tuple[int, ...] | None  # the first input's shape (batch axis included)
    acts: list[str]  # the IR values among the inputs
    shape: tuple[int, ...]  # the output's shape
    output: str  # the output's value name


Mapped = tuple[str, list[str], dict[str, Any]]
ONNX_OPS = {t: e.op for e in OPS.values() for t in e.onnx}
ACT_OF_ONNX = {t: a.name for a in ACTIVATIONS for t in a.onnx}
_ONNX_READERS: dict[Op, Callable[[_Reader, Onnx], Mapped | None]] = {
    Op.CONV: _Reader._conv, Op.LINEAR: _Reader._linear, Op.BN: _Reader._bn, Op.ACT: _Reader._act,
    Op.MAXPOOL: _Reader._pool, Op.AVGPOOL: _Reader._pool, Op.ADAPTIVE_AVGPOOL: _Reader._global_pool,
    Op.ADAPTIVE_MAXPOOL: _Reader._global_pool, Op.FLATTEN: _Reader._view, Op.RESHAPE: _Reader._view,
    Op.ADD: _Reader._merge, Op.MUL: _Reader._merge, Op.MAX: _Reader._merge, Op.CONCAT: _Reader._concat,
    Op.LRN: _Reader._lrn,
}


def import_onnx(path: str | Path, input_shape: tuple[int, ...] | None = None) -> Graph:
    """The graph IR of an ONNX file, analysed at ``input_shape`` (C, H, W) or the file's own input size."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ConvSmithError("reading ONNX files needs the onnx package: pip install 'convsmith[onnx]'") from None
    model = _load(path, input_shape)
    return _Reader(model, Path(path).stem).run()
