"""Shared test setup: headless Qt, small thread counts, paths to shared data and artifacts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MNIST_DIR = ROOT.parent / "shared" / "datasets" / "mnist-test"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST test set (10k images) that CI provides beside the repo; never copied in."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST test set not found at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and reports a person should look at (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on 127.0.0.1 (tests/pgserver.py): the one .ci/run started, else a fresh one
    for this session. Skipped where PostgreSQL is not installed, but a failure under CI=true."""
    from tests.pgserver import DIR_ENV, PgServer

    if os.environ.get(DIR_ENV):
        yield PgServer.attach(os.environ[DIR_ENV])
        return
    server = PgServer()
    try:
        server.start()
    except (RuntimeError, OSError, KeyError) as e:
        server.stop()
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs a PostgreSQL server for the distributed-search tests: {e}")
        pytest.skip(f"no PostgreSQL server: {e}")
    yield server
    server.stop()
