"""`holo daemon status|stop`: the process that keeps projects warm for build, check and test.

There is one daemon per cache directory (``--cache-dir``, ``HOLO_CACHE_DIR``
or the default); see holo.daemon. ``status`` exits 0 when one runs and 1
when none does; ``stop`` waits until the daemon and its BEAM nodes are gone.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from holo.daemon import client
from holo.errors import UserError

EXIT_OK, EXIT_NONE = 0, 1
STOP_WAIT_S = 60.0  # a running request finishes first


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("status", "stop"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--cache-dir", metavar="DIR",
        help="the daemon of this cache directory (default: $HOLO_CACHE_DIR or ~/.cache/holo)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from holo.session import resolve_cache_dir

    cache_dir = os.path.abspath(resolve_cache_dir(args.cache_dir))
    status = client.ask(cache_dir, "status")
    if args.action == "status":
        return _print_status(cache_dir, status, args.json)
    if status is None:
        _say(args.json, {"stopped": None}, f"no holo daemon was running for {cache_dir}")
        return EXIT_OK
    pid = int(status["pid"])
    client.ask(cache_dir, "stop")
    deadline = time.monotonic() + STOP_WAIT_S
    while _running(pid):
        if time.monotonic() > deadline:
            raise UserError(f"the holo daemon (pid {pid}) did not stop in {STOP_WAIT_S:g} s")
        time.sleep(0.02)
    _say(args.json, {"stopped": pid}, f"stopped the holo daemon (pid {pid}) of {cache_dir}")
    return EXIT_OK


def _print_status(cache_dir: str, status: dict[str, Any] | None, as_json: bool) -> int:
    if status is None:
        _say(as_json, {"running": False, "cache_dir": cache_dir},
             f"no holo daemon is running for {cache_dir}")
        return EXIT_NONE
    if as_json:
        print(json.dumps({"running": True, **status}, separators=(",", ":")))
        return EXIT_OK
    state = (
        f"busy for {status['busy_s']:.1f} s" if status.get("busy_s") is not None
        else f"idle for {status['idle_s']:.0f} s of {status['idle_limit_s']:.0f}"
    )  # fmt: skip
    print(f"holo daemon pid {status['pid']} for {cache_dir}: {state}, "
          f"{status['requests']} requests served")
    for root, cache in status.get("sessions", []):
        print(f"  warm: {root}" + ("" if cache == cache_dir else f" (cache {cache})"))
    return EXIT_OK


def _say(as_json: bool, value: dict[str, Any], text: str) -> None:
    print(json.dumps(value, separators=(",", ":")) if as_json else text)


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie nobody has reaped yet has stopped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in (b"Z", b"X")
