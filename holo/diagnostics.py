"""Diagnostics: what every layer (parser, resolver, type checker, compiler, tests) reports.

Positions are 0-based lines and 0-based columns counted in Unicode code points.
The edges convert: the CLI prints 1-based lines and columns, the language
server converts columns to UTF-16 units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from holo.engine import record


@record("holo.Severity")
class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@record("holo.Diagnostic")
@dataclass(frozen=True)
class Diagnostic:
    path: str  # project-relative for workspace files, absolute for OTP and outside files
    line: int
    column: int
    end_line: int
    end_column: int
    severity: Severity
    code: str  # stable: "H0xxx" for holo's own, "C" + erl_lint/epp tag for the compiler's
    source: str  # "holo" or "erlc" or "eunit"
    message: str

    def to_json(self, root_relative_path: str | None = None) -> dict[str, object]:
        return {
            "file": root_relative_path if root_relative_path is not None else self.path,
            "line": self.line + 1,
            "column": self.column + 1,
            "end_line": self.end_line + 1,
            "end_column": self.end_column + 1,
            "severity": self.severity.value,
            "code": self.code,
            "source": self.source,
            "message": self.message,
        }

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)
