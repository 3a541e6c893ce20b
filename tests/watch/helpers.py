"""A real `holo watch` process, for the end-to-end tests.

Each test starts `holo watch` on its own copy of examples/shop, with its own
cache, and reads what it prints (one JSON object per line with --json, plain
lines without) from a reader thread. The user's node it loads into is a
tests.user_nodes.UserNode with COOKIE.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.beam.helpers import children_of, is_running
from tests.user_nodes import UserNode, lines_into

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "shop"
COOKIE = "holo_watch_" + secrets.token_hex(8)
EBIN = Path("_build", "holo", "default", "lib", "shop", "ebin")
PHASES = {"detect", "analyse", "compile", "load", "tests", "total"}
WAIT_S = 60.0  # generous bound for waits on a loaded machine; never a measured figure

Event = dict[str, Any]

TENOFF = "discount(Subtotal, <<\"TENOFF\">>) ->\n    Subtotal div 10;"
# holo check accepts a call to a local function in a guard; OTP's compiler does not.
LOCAL_CALL_IN_GUARD = (
    "discount(Subtotal, <<\"TENOFF\">>) when is_big(Subtotal) ->\n    Subtotal div 4;"
)
IS_BIG = "\nis_big(Amount) -> Amount > 0.\n"

class HoloWatch:
    """A `holo watch` process and what it prints: JSON events, or plain lines."""

    def __init__(
        self,
        root: Path,
        cache: Path,
        *,
        nodes: tuple[str, ...] = (),
        tests: bool = False,
        own_process_group: bool = False,
        json_output: bool = True,
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        command = [sys.executable, "-m", "holo.cli", "watch", str(root),
                   "--cache-dir", str(cache), *extra]
        if json_output:
            command.append("--json")
        for node in nodes:
            command += ["--node", node, "--cookie", COOKIE]
        if not tests:
            command.append("--no-tests")
        self.cache = cache
        self.stderr_path = cache.parent / f"{cache.name}-watch-stderr-{time.time_ns()}.txt"
        self.stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            start_new_session=own_process_group, env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(
            target=lines_into, args=(self.process.stdout, self.lines), daemon=True
        ).start()

    # --- JSON events --------------------------------------------------------

    def next_event(self, timeout: float = WAIT_S) -> Event:
        event: Event = json.loads(self.next_line(timeout))
        return event

    def ready(self) -> Event:
        event = self.next_event()
        assert event["event"] == "ready", event
        # The watcher registers its OS watches as the first build starts; give it a moment.
        time.sleep(0.2)
        return event

    def cycle(self) -> Event:
        event = self.next_event()
        assert event["event"] == "cycle", event
        return event

    def event_within(self, seconds: float) -> Event | None:
        """The next event if one comes within ``seconds``."""
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return None
        return json.loads(line) if line is not None else None

    # --- plain lines ----------------------------------------------------------

    def next_line(self, timeout: float = WAIT_S) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing from holo watch in {timeout} s{self.tail()}") from None
        assert line is not None, f"holo watch exited{self.tail()}"
        return line.rstrip("\n")

    def block(self) -> list[str]:
        """The lines of the next block, up to its last ("ok in ...", "errors in ...",
        "tests failed in ...")."""
        lines = []
        while True:
            lines.append(self.next_line())
            if lines[-1].startswith(("ok in ", "errors in ", "tests failed in ")):
                return lines

    # --- the process ----------------------------------------------------------

    def beam_children(self) -> list[int]:
        return [pid for pid in children_of(self.process.pid) if is_beam(pid)]

    def tail(self) -> str:
        self.stderr.flush()
        text = self.stderr_path.read_text()
        return f"; stderr:\n{text[-3000:]}" if text else ""

    def stderr_text(self) -> str:
        self.stderr.flush()
        return self.stderr_path.read_text()

    def close(self) -> None:
        """Stop holo (its nodes die with it, even when it is killed)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        self.stderr.close()


def is_beam(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/exe").resolve().name == "beam.smp"
    except OSError:
        return False


def beams_running_from(cache: Path) -> list[int]:
    """Every BEAM whose command line names this cache (holo's nodes load their code from
    it), whoever its parent is now: a node that outlived holo was re-parented."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_beam(int(entry)) and is_running(int(entry)):
            with contextlib.suppress(OSError):
                if str(cache).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return sorted(found)


def edit(path: Path, old: str, new: str, *, atomic: bool = False) -> None:
    """Replace text in a file: written in place, or saved atomically as many editors do
    (a temporary file renamed over the original)."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    text = text.replace(old, new, 1)
    if atomic:
        temporary = path.with_name(path.name + "___jb_tmp___")
        temporary.write_text(text)
        os.replace(temporary, path)
    else:
        path.write_text(text)


def discount(node: UserNode) -> str:
    return node.eval('shop_pricing:discount(1000, <<"TENOFF">>)')


def errors_in(event: Event, file: str) -> list[Event]:
    return [d for d in event["diagnostics"] if d["file"] == file and d["severity"] == "error"]
