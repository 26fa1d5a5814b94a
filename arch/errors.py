"""User-facing errors: everything a person can cause and fix, reported without a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class ConvSmithError(Exception):
    """Base of every error that is the user's to fix (bad spec, file, dataset, flag)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (a spec path such as ``body[3].kernel``) and why."""

    path: str
    message: str
    subject: str = ""  # e.g. "pool 2x2/2", printed between path and message

    def __str__(self) -> str:
        where = f"{self.path} {self.subject}".strip() if self.subject else self.path
        return f"{where}: {self.message}" if where else self.message


class SpecError(ConvSmithError):
    """A spec that cannot be used, with every problem found (not only the first)."""

    def __init__(self, problems: list[Problem] | Problem, source: str = "") -> None:
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else list(problems)
        self.source = source
        super().__init__(self._text())

    def _text(self) -> str:
        head = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return head + str(self.problems[0])
        lines = [f"{head}{len(self.problems)} problems:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    def at(self, path_prefix: str) -> list[Problem]:
        """Problems located at or below a spec path (the GUI marks them on that block)."""
        return [p for p in self.problems if p.path == path_prefix or p.path.startswith(path_prefix + ".")
                or p.path.startswith(path_prefix + "[")]
