"""What this machine can run: the search device, how many workers fit, and which GPU each worker uses.

Checked before anything heavy starts (no torch import for the common mistakes): ``--device cuda`` on a
machine without an NVIDIA driver is refused in milliseconds, instead of failing every trial.

Workers and GPUs: with G GPUs and ``--device auto`` or ``cuda``, the default is one worker per GPU and
worker ``i`` trains on ``cuda:(i mod G)``; more workers than GPUs share them round-robin (allowed: small
models leave a GPU idle between steps). ``cuda:N`` pins every worker to GPU N. Each worker process needs
its own copy of torch and the data (about ``WORKER_BYTES``), so the worker count is capped by the CPU
cores and the available memory unless forced.
"""

from __future__ import annotations

import glob
import os
import re

from search.config import SearchConfig, SearchError

WORKER_BYTES = 700 * 2**20  # resident memory of one trial process on CPU (torch + data + a small model)


def cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def driver_present() -> bool:
    """Whether an NVIDIA (or ROCm) driver is visible, without importing torch."""
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/proc/driver/nvidia/version")
                or os.path.exists("/dev/kfd"))


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_device(device: str, count: int | None = None) -> None:
    """Refuse a CUDA device this machine does not have (``count``: GPUs, looked up with torch when None)."""
    if not str(device).startswith("cuda"):
        return
    if count is None:
        if not driver_present():
            raise SearchError(f"--device {device}: no CUDA GPU on this machine (no NVIDIA driver found); "
                              "use --device cpu or auto")
        count = gpu_count()
    if count == 0:
        raise SearchError(f"--device {device}: torch sees no CUDA GPU on this machine (torch built without CUDA, "
                          "or CUDA_VISIBLE_DEVICES hides them); use --device cpu or auto")
    m = re.fullmatch(r"cuda:(\d+)", device)
    if m and int(m.group(1)) >= count:
        raise SearchError(f"--device {device}: this machine has {count} GPU(s) (cuda:0..cuda:{count - 1})")


def default_workers(device: str, gpus: int) -> int:
    """One worker per GPU when several are used, else one."""
    return gpus if device in ("auto", "cuda") and gpus > 1 else 1


def assign_devices(device: str, workers: int, gpus: int) -> list[str]:
    """The device of each worker slot (see the module docstring)."""
    if device in ("auto", "cuda") and gpus >= 1:
        return [f"cuda:{i % gpus}" for i in range(workers)]
    return [device] * workers


def cap_workers(config: SearchConfig, cores: int | None = None, memory: int | None = None) -> tuple[int, str | None]:
    """(workers to run, why fewer than asked or None): at most one per core and as many as memory holds."""
    asked = config.workers
    if config.force_workers:
        return asked, None
    cores = cpus() if cores is None else cores
    memory = available_memory() if memory is None else memory
    fit = cores if memory is None else max(1, min(cores, memory // WORKER_BYTES))
    if asked <= fit:
        return asked, None
    mem = "" if memory is None else f", {memory / 2**30:.1f} GiB available at ~{WORKER_BYTES / 2**30:.1f} GiB each"
    return fit, (f"--workers {asked} capped to {fit} ({cores} CPU core(s){mem}); --force-workers runs {asked} "
                 "anyway")
