"""The element-wise activations, declared once: the spec's choices, the builder's and the py export's
torch.nn class, the counting rule, what autograd saves, the diagram label and the names the fx and ONNX
importers map to each (``act`` ops of the graph IR carry the name in ``attrs["fn"]``)."""

from __future__ import annotations

from typing import NamedTuple


class Activation(NamedTuple):
    name: str  # as the spec and the IR write it
    module: str  # its torch.nn class
    label: str  # in the diagram
    flops: int  # per value (elementary functions count 1; see arch.op_counts)
    saves_output: bool  # autograd keeps the output for backward (else the input)
    rectifier: bool  # zero for negative inputs, a unit "fires" above it (NASWOT's codes, search.proxies)
    functions: tuple[str, ...]  # fx call targets: dotted torch functions and ``Tensor.method`` names
    onnx: tuple[str, ...] = ()  # ONNX op types (relu6 arrives as Clip(0, 6): arch.onnx_import)


# FLOPs per value: relu max(x,0); relu6 min and max; leaky_relu compare + multiply; sigmoid exp, add,
# divide; silu sigmoid * x; gelu divide, erf, add, 2 multiplies; hardsigmoid add, min, max, divide;
# hardswish hardsigmoid * x; tanh one elementary function.
ACTIVATIONS: tuple[Activation, ...] = (
    Activation("relu", "ReLU", "relu", 1, True, True,
               ("torch.nn.functional.relu", "torch.relu", "Tensor.relu", "Tensor.relu_"), ("Relu",)),
    Activation("relu6", "ReLU6", "relu6", 2, False, True, ("torch.nn.functional.relu6",)),
    Activation("leaky_relu", "LeakyReLU", "leaky relu", 2, False, True, ("torch.nn.functional.leaky_relu",),
               ("LeakyRelu",)),
    Activation("silu", "SiLU", "silu", 4, False, True, ("torch.nn.functional.silu",)),
    Activation("gelu", "GELU", "gelu", 5, False, True, ("torch.nn.functional.gelu",), ("Gelu",)),
    Activation("hardswish", "Hardswish", "hardswish", 5, False, True, ("torch.nn.functional.hardswish",),
               ("HardSwish",)),
    Activation("hardsigmoid", "Hardsigmoid", "hardsigmoid", 4, False, False, ("torch.nn.functional.hardsigmoid",),
               ("HardSigmoid",)),
    Activation("sigmoid", "Sigmoid", "sigmoid", 3, True, False,
               ("torch.sigmoid", "torch.nn.functional.sigmoid", "Tensor.sigmoid", "Tensor.sigmoid_"), ("Sigmoid",)),
    Activation("tanh", "Tanh", "tanh", 1, True, False, ("torch.tanh", "torch.nn.functional.tanh", "Tensor.tanh"),
               ("Tanh",)),
)
BY_NAME = {a.name: a for a in ACTIVATIONS}
NAMES = tuple(a.name for a in ACTIVATIONS)
