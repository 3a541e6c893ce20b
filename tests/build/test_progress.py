"""The build moves while the compiler works: jobs leave as they are known, progress
is reported as results come back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from holo.beam.node import CallFuture
from holo.build.driver import build
from holo.session import Session

MODULES = 12


def flat_project(root: Path, modules: int = MODULES) -> Path:
    """Modules that need nothing of each other: one compile-time layer."""
    (root / "src").mkdir(parents=True)
    for i in range(modules):
        (root / "src" / f"m{i:02}.erl").write_text(
            f"-module(m{i:02}).\n-export([f/1]).\nf(X) -> lists:reverse([X, {i}]).\n"
        )
    return root


def test_progress_is_reported_as_results_come_back_and_counts_cache_hits(
    tmp_path: Path,
) -> None:
    root = flat_project(tmp_path / "flat")
    with Session(root, tmp_path / "cache") as s:
        calls: list[tuple[int, int, int]] = []  # (done, total, modules compiled by then)

        def progress(done: int, total: int) -> None:
            calls.append((done, total, len(s.compiler.compiled)))

        report = build(s.workspace, s.compiler, progress=progress)
        assert report.ok and len(report.compiled) == MODULES
        assert [(done, total) for done, total, _ in calls] == [
            (n, MODULES) for n in range(1, MODULES + 1)
        ]
        compiled_by_then = [compiled for _, _, compiled in calls]
        assert compiled_by_then == sorted(compiled_by_then)
        # Reported during the layer's compiles: some calls came while modules
        # of the same layer were still compiling.
        assert compiled_by_then[0] < MODULES

        calls.clear()
        warm = build(s.workspace, s.compiler, progress=progress)
        assert warm.compiled == [] and len(warm.cached) == MODULES
        assert calls == [(n, MODULES, 0) for n in range(1, MODULES + 1)]


def test_each_job_goes_to_the_agent_as_soon_as_its_module_is_analysed(tmp_path: Path) -> None:
    modules = 40
    root = flat_project(tmp_path / "streamed", modules)
    with Session(root, tmp_path / "cache") as s:
        s.compiler.max_in_flight = 2
        node = s.agent
        real_submit = node.submit
        analysed: list[int] = []  # modules analysed when each compile was sent

        def submit(kind: str, args: Any = None, **options: Any) -> CallFuture:
            if kind == "compile":
                analysed.append(s.db.stats.executed["compile_time_modules"])
            return real_submit(kind, args, **options)

        node.submit = submit  # type: ignore[method-assign]
        report = build(s.workspace, s.compiler)
        assert report.ok and len(analysed) == modules
        # The first jobs left while the other modules were still to be looked at,
        # not once all of them had been.
        assert analysed[0] < modules // 2
        assert analysed == sorted(analysed)
