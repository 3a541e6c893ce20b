"""What `holo watch` shows: one compact block per cycle, or one JSON object per line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Protocol, TextIO

from rich.console import Console

from holo.cli_commands.common import excerpt
from holo.watch.cycle import CycleResult


class Display(Protocol):
    def ready(self, modules: int, first: CycleResult) -> None: ...

    def cycle(self, result: CycleResult) -> None: ...


def _tests_json(result: CycleResult) -> dict[str, object]:
    tests = result.tests
    if tests is None:
        return {"selected": [], "passed": 0, "failed": []}
    return {"selected": tests.selected, "passed": tests.passed, "failed": tests.failed}


class JsonDisplay:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def _emit(self, event: dict[str, object]) -> None:
        self.out.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.out.flush()

    def ready(self, modules: int, first: CycleResult) -> None:
        self._emit({
            "event": "ready",
            "modules": modules,
            "compiled": first.compiled,
            "errors": first.errors,
            "tests": _tests_json(first),
            "timings_ms": first.timings_ms,
        })

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
            "tests": _tests_json(result),
            "superseded": result.superseded,
            "timings_ms": result.timings_ms,
        })


class HumanDisplay:
    """Colours and a status line on a terminal (rich), plain lines otherwise."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.console = Console(highlight=False)

    def ready(self, modules: int, first: CycleResult) -> None:
        self._block("start", first)
        self.console.print(
            f"[bold]watching[/bold] {modules} modules under {self.root} "
            f"(ready in {first.timings_ms['total'] / 1e3:.2f} s; Ctrl-C to stop)"
        )

    def cycle(self, result: CycleResult) -> None:
        self._block(", ".join(result.changed) or "no change", result)

    def _block(self, title: str, r: CycleResult) -> None:
        c = self.console
        c.rule(f"[bold]{title}", align="left")
        for d in r.diagnostics:
            style = "red" if d.severity.value == "error" else "yellow"
            c.print(excerpt(self.root, d), style=style, markup=False)
        if r.compiled:
            c.print(f"compiled {len(r.compiled)}: {' '.join(r.compiled[:12])}"
                    + (" ..." if len(r.compiled) > 12 else ""))
        if r.loaded:
            c.print(f"loaded {len(r.loaded)}")
        if r.unloaded:
            c.print(f"unloaded {' '.join(r.unloaded)}")
        for problem in r.load_problems:
            c.print(f"load: {problem}", style="yellow", markup=False)
        if r.tests is not None:
            for failure in r.tests.failures:
                c.print(excerpt(self.root, failure), style="red", markup=False)
            failed = len(r.tests.failed)
            style = "red" if failed else "green"
            c.print(f"tests: {len(r.tests.selected)} selected, {r.tests.passed} passed, "
                    f"{failed} failed", style=style)
        if r.superseded:
            c.print("newer changes arrived: skipping to them", style="dim")
        phases = " ".join(f"{k} {v:.0f}" for k, v in r.timings_ms.items() if k != "total")
        status = "[red]errors[/red]" if r.errors else "[green]ok[/green]"
        c.print(f"{status} in {r.timings_ms['total']:.0f} ms [dim]({phases} ms)[/dim]")
