"""Measured speed and memory of a network on this machine, for the comparative report.

Latency: ``torch.utils.benchmark.Timer`` on the PyTorch model (eval mode, no grad) and on an ONNX Runtime
session of its ONNX export; warm-up calls are made and discarded first, then blocks of calls are timed
(each block long enough to dwarf the timer) and the per-call time of each block is one sample: the
median and the interquartile range of those samples are reported. On CUDA every call is synchronised.

Memory: the peak of live activation storage during one inference forward. On the CPU, torch has no
allocator statistics, so every tensor an op returns is tracked (a TorchDispatchMode; storages shared by
views counted once, parameters and buffers excluded, the input included) and freed when its last tensor
dies; that is the quantity the analysis predicts. On CUDA it is the allocator's own peak
(``torch.cuda.max_memory_allocated``) over the forward, minus what was allocated before it.
"""

from __future__ import annotations

import statistics
import time
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils import benchmark
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from analysis.report_model import MemoryPeak, Timing
from arch.errors import ConvSmithError

CPU_HOW = ("Measured on the CPU: every tensor the forward's ops return, tracked until its last reference dies "
           "(views counted once, weights excluded, the input included); predicted: the analysis's peak live "
           "activations at that batch.")
CUDA_HOW = ("Measured on CUDA: torch.cuda.max_memory_allocated over the forward minus the memory allocated before "
            "it; predicted: the analysis's peak live activations at that batch.")


def check_device(device: str) -> torch.device:
    """``cpu`` or ``cuda``; CUDA only where torch sees a GPU (a clear error otherwise)."""
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConvSmithError("--device cuda: torch sees no CUDA GPU on this machine (use --device cpu)")
        return torch.device("cuda")
    if device != "cpu":
        raise ConvSmithError(f"device must be cpu or cuda (got {device!r})")
    return torch.device("cpu")


def _sync(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def time_call(call: Callable[[], Any], engine: str, device: torch.device, batch: int, warmup: int = 3,
              blocks: int = 9, block_s: float = 0.05, max_s: float = 6.0) -> Timing:
    """Per-call times of ``call`` in ``blocks`` timed blocks after ``warmup`` discarded calls (fewer blocks, at
    least 3, when ``max_s`` would be passed)."""
    sync = _sync(device)
    timer = benchmark.Timer("call(); sync()", globals={"call": call, "sync": sync},
                            num_threads=torch.get_num_threads())
    start = time.perf_counter()
    for _ in range(warmup):
        call()
    sync()
    once = timer.timeit(1).median
    number = max(1, int(block_s / max(once, 1e-9)))
    samples: list[float] = []
    while len(samples) < blocks and (len(samples) < 3 or time.perf_counter() - start < max_s):
        samples.append(timer.timeit(number).median)
    q = statistics.quantiles(samples, n=4, method="inclusive")
    return Timing(engine, device.type, batch, 1000 * statistics.median(samples), 1000 * q[0], 1000 * q[2],
                  1000 * min(samples), 1000 * max(samples), len(samples))


def torch_timing(model: nn.Module, input_shape: tuple[int, ...], batch: int, device: torch.device,
                 **options: Any) -> Timing:
    model = model.to(device).eval()
    x = torch.randn(batch, *input_shape, device=device)

    def call() -> None:
        with torch.no_grad():
            model(x)

    return time_call(call, "PyTorch", device, batch, **options)


def ort_session(onnx_bytes: bytes, device: torch.device) -> Any:
    """An ONNX Runtime session on ``device``; a clear error when onnxruntime (or its CUDA provider) is missing."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConvSmithError("ONNX Runtime timings need the onnxruntime package: pip install onnxruntime") from None
    provider = "CUDAExecutionProvider" if device.type == "cuda" else "CPUExecutionProvider"
    if provider not in ort.get_available_providers():
        raise ConvSmithError(f"onnxruntime has no {provider} here (install onnxruntime-gpu for CUDA)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, options, providers=[provider])


def ort_timing(session: Any, input_shape: tuple[int, ...], batch: int, device: torch.device,
               **options: Any) -> Timing:
    import numpy as np

    feed = {session.get_inputs()[0].name: np.random.default_rng(0).standard_normal(
        (batch, *input_shape)).astype(np.float32)}
    return time_call(lambda: session.run(None, feed), "ONNX Runtime", device, batch, **options)


class _LiveStorage(TorchDispatchMode):
    """Tracks the storages of every tensor an op returns; ``peak``: the most bytes alive at once."""

    def __init__(self, ignore: set[int]) -> None:
        super().__init__()
        self.ignore, self.refs, self.size = ignore, {}, {}
        self.live = self.peak = 0

    def track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr in self.ignore or storage.nbytes() == 0:
            return
        if ptr not in self.refs:
            self.refs[ptr], self.size[ptr] = 0, storage.nbytes()
            self.live += storage.nbytes()
            self.peak = max(self.peak, self.live)
        self.refs[ptr] += 1
        weakref.finalize(t, self._drop, ptr)

    def _drop(self, ptr: int) -> None:
        self.refs[ptr] -= 1
        if not self.refs[ptr]:
            del self.refs[ptr]
            self.live -= self.size.pop(ptr)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out


def memory_peak(model: nn.Module, input_shape: tuple[int, ...], batch: int, device: torch.device,
                predicted: int) -> MemoryPeak:
    """Peak activation bytes of one no-grad forward at ``batch`` (see the module docstring)."""
    model = model.to(device).eval()
    if device.type == "cuda":
        x = torch.randn(batch, *input_shape, device=device)
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated() - x.untyped_storage().nbytes()
        torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            out = model(x)
        torch.cuda.synchronize()
        measured = torch.cuda.max_memory_allocated() - before
        del out
        return MemoryPeak("cuda", batch, int(measured), predicted, CUDA_HOW)
    weights = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    mode = _LiveStorage(weights)
    x = torch.randn(batch, *input_shape)
    with torch.no_grad(), mode:
        mode.track(x)
        out = model(x)
    del out, x
    return MemoryPeak("cpu", batch, int(mode.peak), predicted, CPU_HOW)
