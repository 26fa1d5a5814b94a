"""The house plan's layering (ARCHITECTURE.md) is a contract, so CI checks it: packages import only
downwards (gui -> search -> training -> analysis -> arch) and only gui touches Qt. The contracts live in
pyproject.toml ([tool.importlinter]); this runs them, and the project's ruff rules, on the real tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    tool = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(tool), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 2 kept, 0 broken." in r.stdout


def test_ruff_is_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
