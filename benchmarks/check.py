"""How fast is `holo check`? Prints figures; asserts nothing (run it on a quiet machine).

    python benchmarks/check.py [--skip-full-otp] [--modules 1000] [--edits 20]

1. Cold `holo check` (empty cache) of OTP's stdlib, then of the full OTP
   source tree (every lib/*/src, laid out as one rebar3 project), each in a
   fresh process, with the same run warm (the cache from the cold run).
2. A warm process on a generated project (1000 modules): edit one function
   body, apply the change through the Workspace, re-check the whole project;
   repeated, with the median and worst time. Target: <= 50 ms per re-check.

Wall times are perf_counter; peak memory is the process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.genproject import generate, layout_otp  # noqa: E402

OTP_LIB = Path("/usr/lib/erlang/lib")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_check(root: str, cache: str) -> None:
    """In a fresh process: one `holo check --json`, reporting its own time and memory."""
    from holo.cli import main

    started = time.perf_counter()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives for the process
    real_stdout, sys.stdout = sys.stdout, devnull
    try:
        code = main(["check", root, "--json", "--cache-dir", cache])
    finally:
        sys.stdout = real_stdout
    wall = time.perf_counter() - started
    print(json.dumps({"exit": code, "wall_s": wall, "peak_mb": _peak_mb()}))


def _run_child(root: Path, cache: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root), str(cache)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _modules(root: Path) -> int:
    return sum(1 for _ in root.rglob("*.erl"))


def bench_cold(name: str, root: Path, work: Path) -> None:
    cache = work / f"cache-{name}"
    cold = _run_child(root, cache)
    warm = _run_child(root, cache)
    print(
        f"{name:<22} {_modules(root):>5} modules   cold {cold['wall_s']:6.2f} s "
        f"({cold['peak_mb']:5.0f} MB peak)   warm {warm['wall_s']:6.2f} s "
        f"({warm['peak_mb']:5.0f} MB peak)   exit {int(cold['exit'])}"
    )


def bench_edits(work: Path, modules: int, edits: int) -> None:
    from holo.engine import Database
    from holo.project.workspace import Workspace
    from holo.queries.project_check import project_diagnostics

    project = generate(work / f"gen-{modules}", modules, seed=0)
    db = Database()
    started = time.perf_counter()
    workspace = Workspace.open(project.root, db)
    opened = time.perf_counter()
    result = project_diagnostics(db)
    checked = time.perf_counter()
    print(
        f"generated project      {result.modules:>5} modules   open {opened - started:5.2f} s   "
        f"first check {checked - opened:5.2f} s   {len(result.diagnostics)} diagnostics"
    )
    times: list[float] = []
    for i in range(edits):
        module = project.modules[(i * 37) % modules]
        path = project.edit_body(module)  # written before the clock starts: the editor's save
        begin = time.perf_counter()
        workspace.apply_changes([path])
        result = project_diagnostics(db)
        times.append((time.perf_counter() - begin) * 1000)
        assert result.diagnostics == (), result.diagnostics[:3]
    stats = db.stats
    median, p90 = statistics.median(times), sorted(times)[int(len(times) * 0.9) - 1]
    print(
        f"one-body edit, warm    {result.modules:>5} modules   median {median:5.1f} ms"
        f"   p90 {p90:5.1f} ms   max {max(times):5.1f} ms"
        f"   (last edit ran item_tree x{stats.executed['item_tree']}, "
        f"resolve x{stats.executed['resolve']}, typecheck x{stats.executed['typecheck']})"
        f"   peak {_peak_mb():.0f} MB"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child_check(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-full-otp", action="store_true")
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="holo-bench-") as tmp:
        work = Path(tmp)
        stdlib = layout_otp(work / "otp-stdlib", ("stdlib",), headers_of=("kernel",))
        bench_cold("OTP stdlib", stdlib, work)
        if not args.skip_full_otp:
            apps = tuple(
                sorted({p.name.split("-")[0] for p in OTP_LIB.iterdir() if (p / "src").is_dir()})
            )
            full = layout_otp(work / "otp-full", apps)
            bench_cold("OTP, all of lib/*/src", full, work)
        bench_edits(work, args.modules, args.edits)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
