"""Where and how a run executes: device choice, mixed precision, process-wide torch settings, OOM."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from training.errors import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda > mps > cpu; an explicit device that this machine lacks is a ConfigError."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r} (auto, cpu, cuda, cuda:N or mps)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            built = "with" if torch.version.cuda else "without"
            raise ConfigError(f"device {name!r}: CUDA is not available here (torch {torch.__version__} built "
                              f"{built} CUDA, {torch.cuda.device_count()} GPUs visible)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not has_mps:
        raise ConfigError(f"device {name!r}: Apple MPS is not available here")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unsupported device {name!r} (auto, cpu, cuda, cuda:N or mps)")
    return dev


def amp_dtype(device: torch.device, amp: bool | None) -> torch.dtype | None:
    """Autocast dtype: CUDA only, bf16 where the GPU supports it, else fp16 (which needs a GradScaler)."""
    if amp is None:
        amp = device.type == "cuda"
    if not amp:
        return None
    if device.type != "cuda":
        raise ConfigError(f"mixed precision (amp) is supported on CUDA only, not on {device.type}")
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def is_oom(exc: BaseException) -> bool:
    """A CUDA / MPS out-of-memory error (torch raises OutOfMemoryError or a RuntimeError saying so)."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def sync(device: torch.device) -> None:
    """Wait for queued GPU work: only for timings (the loop itself never needs it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contextlib.contextmanager
def torch_settings(device: torch.device, threads: int | None, deterministic: bool) -> Iterator[None]:
    """Process-wide settings for one run, restored afterwards (the GUI and search run many in one process)."""
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
             torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    saved_env = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        if threads:
            torch.set_num_threads(threads)
        if deterministic:
            if device.type == "cuda" and saved_env is None:
                os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"  # deterministic cuBLAS needs it
            torch.use_deterministic_algorithms(True, warn_only=True)  # warns on ops with no deterministic kernel
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        elif device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick the fastest kernels
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2], saved[3]
        if saved_env is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
