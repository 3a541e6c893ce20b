"""Run every benchmark in turn, each in its own process, and print their figures.

    .venv/bin/python benchmarks/run_all.py [--only engine,check,build,mutation,watch,lsp]

They run one after another, never side by side: on a 2-core machine two
benchmarks at once would measure each other. Each script's own output is
passed through as it comes; the figures to record are described in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("engine", "check", "build", "mutation", "watch", "lsp")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    failed = []
    for name in chosen:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"== {name}: exit {code} after {time.perf_counter() - started:.0f} s ==\n",
              flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
