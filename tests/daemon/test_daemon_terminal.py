"""The progress bar of a long build reaches the client's terminal, and only a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

from benchmarks.genproject import generate

from .helpers import NEUTRAL_CWD, Holo, run_holo

COLUMNS = 97


def build_on_a_terminal(root: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """`holo build` with stderr on a pseudo-terminal COLUMNS wide: (code, stdout, terminal)."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR",
                                                   "NO_COLOR", "TERM")}
    env["TERM"] = "xterm"
    seen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the last writer closed the terminal
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "holo.cli", "build", str(root)], env=env, cwd=NEUTRAL_CWD,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=side, text=True,
            timeout=300,
        )  # fmt: skip
    finally:
        os.close(side)
        reader.join(timeout=30)
        os.close(main)
    return process.returncode, process.stdout, b"".join(seen).decode("utf-8", "replace")


def test_a_long_build_shows_its_bar_on_the_clients_terminal_and_nowhere_else(
    holo: Holo, tmp_path: Path
) -> None:
    served_root = generate(tmp_path / "served", 70).root
    local_root = generate(tmp_path / "local", 70).root
    holo.daemon("check", str(served_root))  # a daemon, and the project's analysis cached

    code, out, terminal = build_on_a_terminal(served_root, {**holo.env, "HOLO_DAEMON": "1"})
    assert code == 0, terminal
    assert holo.requests() == 2  # the daemon built it
    assert "compiling" in terminal and "\x1b[" in terminal  # rich drew its bar there
    assert out.startswith("72 modules: 72 compiled, ")
    assert "Traceback" not in terminal

    local = build_on_a_terminal(local_root, {**holo.env, "HOLO_DAEMON": "0",
                                             "HOLO_CACHE_DIR": str(tmp_path / "local-cache")})
    assert local[0] == 0 and "compiling" in local[2]

    for root in (served_root, local_root):
        (root / "include" / "shared.hrl").write_text(
            (root / "include" / "shared.hrl").read_text() + "-define(USED_NOWHERE, 1).\n"
        )
    piped = run_holo(["build", str(served_root)], {**holo.env, "HOLO_DAEMON": "1"})
    assert piped.returncode == 0 and piped.stderr == ""  # no terminal, no bar
    assert holo.requests() == 3
