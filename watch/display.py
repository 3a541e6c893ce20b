"""What `holo watch` shows: one compact block per cycle, or one JSON object per line.

On a terminal the block has colours and a live status line below it
("watching 5 modules · building… · 2 errors"), through rich; anywhere else
(a pipe, a file, a CI log) the same block is plain lines, one fact each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Protocol, TextIO

from rich.console import Console
from rich.status import Status

from holo.cli_commands.common import excerpt
from holo.diagnostics import Severity
from holo.watch.cycle import PHASES, CycleResult, TestOutcome

NAMES_SHOWN = 12  # modules named in a "compiled" or "loaded" line
FILES_SHOWN = 5  # files named in the reminder of outstanding errors
DETAIL_LINES = 8  # lines of a failing test's expected/actual values and stack


class Display(Protocol):
    def ready(self, result: CycleResult) -> None: ...

    def busy(self, paths: int) -> None: ...

    def cycle(self, result: CycleResult) -> None: ...

    def error(self, message: str, changed: list[str]) -> None: ...

    def close(self) -> None: ...


def _tests_json(tests: TestOutcome | None) -> dict[str, object]:
    if tests is None:
        return {"selected": [], "passed": 0, "failed": [], "failures": []}
    return {
        "selected": tests.selected,
        "passed": tests.passed,
        "failed": tests.failed,
        "failures": [
            {
                "id": f.id,
                "message": f.message,
                "details": f.details,
                "file": f.diagnostic.path if f.diagnostic else None,
                "line": f.diagnostic.line + 1 if f.diagnostic else None,
            }
            for f in tests.failures
        ],
    }


class JsonDisplay:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def _emit(self, event: dict[str, object]) -> None:
        self.out.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.out.flush()

    def ready(self, result: CycleResult) -> None:
        self._emit({
            "event": "ready",
            "modules": result.modules,
            "compiled": result.compiled,
            "errors": result.errors,
            "tests": _tests_json(result.tests),
            "timings_ms": result.timings_ms,
        })

    def busy(self, paths: int) -> None:
        pass

    def cycle(self, result: CycleResult) -> None:
        self._emit({
            "event": "cycle",
            "changed": result.changed,
            "compiled": result.compiled,
            "loaded": result.loaded,
            "unloaded": result.unloaded,
            "diagnostics": [d.to_json() for d in result.diagnostics],
            "errors": result.errors,
            "load_problems": result.load_problems,
            "tests": _tests_json(result.tests),
            "superseded": result.superseded,
            "timings_ms": result.timings_ms,
        })

    def error(self, message: str, changed: list[str]) -> None:
        self._emit({"event": "error", "message": message, "changed": changed})

    def close(self) -> None:
        pass


def _names(names: list[str]) -> str:
    shown = " ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} (and {more} more)" if more > 0 else shown


def _changed(paths: list[str]) -> str:
    if not paths:
        return "no change"
    if len(paths) <= FILES_SHOWN:
        return f"changed {', '.join(paths)}"
    shown = ", ".join(paths[:FILES_SHOWN])
    return f"changed {len(paths)} files: {shown} (and {len(paths) - FILES_SHOWN} more)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class HumanDisplay:
    """Colours and a live status line on a terminal (rich), plain lines otherwise."""

    def __init__(self, root: Path, out: TextIO = sys.stdout) -> None:
        self.root = root
        self.out = out
        self.console = Console(file=out, highlight=False, soft_wrap=True)
        self.live = self.console.is_terminal
        self.status: Status | None = None
        self.modules = 0
        self.errors = 0

    # --- the status line -------------------------------------------------

    def _status_text(self, doing: str | None) -> str:
        parts = [f"watching {_plural(self.modules, 'module')}"]
        if doing:
            parts.append(doing)
        if self.errors:
            parts.append(f"[red]{_plural(self.errors, 'error')}[/red]")
        return " · ".join(parts)

    def _set_status(self, doing: str | None = None) -> None:
        if not self.live:
            return
        text = self._status_text(doing)
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    # --- lines ------------------------------------------------------------

    def _line(self, text: str, style: str | None = None) -> None:
        if self.live:
            self.console.print(text, style=style, markup=False)
        else:
            self.out.write(text + "\n")

    # --- events -----------------------------------------------------------

    def ready(self, result: CycleResult) -> None:
        self._block(result, title=None)
        self._line(
            f"watching {_plural(result.modules, 'module')} under {self.root} "
            f"(ready in {result.timings_ms['total'] / 1e3:.2f} s; Ctrl-C to stop)",
            "bold",
        )
        self._flush()

    def busy(self, paths: int) -> None:
        self._set_status(f"building {_plural(paths, 'change')}…")

    def cycle(self, result: CycleResult) -> None:
        self._block(result, title=_changed(result.changed))
        self._flush()

    def error(self, message: str, changed: list[str]) -> None:
        if changed:
            self._line(_changed(changed))
        self._line(f"error: {message}", "bold red")
        self._flush()

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def _flush(self) -> None:
        self._set_status()
        if not self.live:
            self.out.flush()

    def _block(self, r: CycleResult, title: str | None) -> None:
        self.modules, self.errors = r.modules, r.errors
        if title is not None:
            if self.live:
                self.console.rule(f"[bold]{title}", align="left", characters="─")
            else:
                self._line(title)
        for d in r.diagnostics:
            self._line(excerpt(self.root, d), "red" if d.severity is Severity.ERROR else "yellow")
        if r.compiled:
            self._line(f"compiled {len(r.compiled)}: {_names(r.compiled)}")
        if r.loaded:
            self._line(f"loaded {len(r.loaded)}: {_names(r.loaded)}")
        if r.unloaded:
            self._line(f"unloaded {len(r.unloaded)}: {_names(r.unloaded)}")
        for problem in r.load_problems:
            self._line(f"load: {problem}", "yellow")
        if r.tests is not None:
            self._tests(r.tests)
        if r.errors:
            files = list(r.error_files.items())
            named = ", ".join(f"{path} ({count})" for path, count in files[:FILES_SHOWN])
            more = f" and {len(files) - FILES_SHOWN} more files" if len(files) > FILES_SHOWN else ""
            self._line(f"{_plural(r.errors, 'error')} outstanding: {named}{more}", "red")
        phases = " ".join(f"{p} {r.timings_ms[p]:.0f}" for p in PHASES if p != "total")
        failing = r.tests is not None and bool(r.tests.failed)
        verdict = "errors" if r.errors else "tests failed" if failing else "ok"
        self._line(f"{verdict} in {r.timings_ms['total']:.0f} ms ({phases} ms)",
                   "green" if verdict == "ok" else "red")

    def _tests(self, tests: TestOutcome) -> None:
        for failure in tests.failures:
            if failure.diagnostic is not None:
                self._line(excerpt(self.root, failure.diagnostic), "red")
            else:
                self._line(f"FAIL {failure.id}: {failure.message}", "red")
            for line in failure.details.splitlines()[:DETAIL_LINES]:
                self._line(f"    {line}", "dim")
        failed = len(tests.failed)
        self._line(
            f"tests: {len(tests.selected)} selected, {tests.passed} passed, {failed} failed",
            "red" if failed else "green",
        )
