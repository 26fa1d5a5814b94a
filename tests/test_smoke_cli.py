"""The CLI contract: --help everywhere, exit 1 with a message for user errors, 2 for usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from main import build_parser, main
from tests.conftest import ROOT


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_user_error_exits_1_without_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "convsmith/1", "name": "x", "input": [3, 8, 8], "num_classes": 2, '
                   '"body": [{"block": "convv"}]}')
    r = subprocess.run([sys.executable, "main.py", "validate", str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1
    assert "body[0]: unknown block 'convv' (did you mean 'conv'?)" in r.stderr
    assert "Traceback" not in r.stderr


def test_usage_error_exits_2() -> None:
    r = subprocess.run([sys.executable, "main.py", "build", "template:lenet5", "--input", "3x"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "CxHxW" in r.stderr
