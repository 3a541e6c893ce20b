"""The build's progress callback moves while the compiler works, not once per layer."""

from __future__ import annotations

from pathlib import Path

from holo.build.driver import build
from holo.session import Session

MODULES = 12


def flat_project(root: Path) -> Path:
    """Modules that need nothing of each other: one compile-time layer."""
    (root / "src").mkdir(parents=True)
    for i in range(MODULES):
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
