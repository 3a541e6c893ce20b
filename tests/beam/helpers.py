"""Helpers for the BEAM bridge tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from holo.beam import BeamNode, CompileJob, LoadStatus

PROBE_SOURCE = Path(__file__).with_name("holo_test_probe.erl")
DEADLINE = 60.0  # generous bound for waits on a loaded machine; never a measured figure


def wait_until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def compile_module(node: BeamNode, name: str, body: str, **job: Any) -> bytes:
    """The BEAM of ``-module(name).`` then ``body``; fails the test if it does not compile."""
    source = f"-module({name}).\n{body}".encode()
    result = node.compile(CompileJob(f"src/{name}.erl", source, **job))
    assert result.ok, result.diagnostics
    assert result.module == name
    assert result.binary is not None
    return result.binary


def load_probe(node: BeamNode) -> None:
    """Compile, load and register the test-only request handlers of holo_test_probe.erl."""
    job = CompileJob("tests/beam/holo_test_probe.erl", PROBE_SOURCE.read_bytes())
    result = node.compile(job)
    assert result.ok, result.diagnostics
    status = node.load({"holo_test_probe": result.binary}).status("holo_test_probe")
    assert status in (LoadStatus.LOADED, LoadStatus.UNCHANGED)
    assert set(node.register_handlers("holo_test_probe")) >= {"apply", "echo", "sleep"}


def apply(node: BeamNode, module: str, function: str, *args: Any) -> Any:
    """Run module:function(args...) in the agent's node, through the probe."""
    return node.call("apply", (module, function, list(args)))


def is_running(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    if state == "Z":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (the VM's helpers, like erl_child_setup)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found
