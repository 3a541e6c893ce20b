"""Running one test in the runtime node (holo_test_runner.erl) and reading what came back.

The node may die under a test (``halt()``, a killed VM): BeamNode restarts
it, puts its code back and sends the request again; the runner's marker file
makes that second delivery answer ``replayed`` rather than run the test
twice, and the test is reported as crashed. A node that stops answering
altogether (a test wedged in a NIF) is killed once the timeout and a margin
have passed; its supervisor starts a fresh one for the next test.

Tests are isolated from each other: after each one the runner puts back
the application environment, persistent terms, OS environment and code
path it changed, unloads the applications it loaded and deletes the modules
it loaded from binaries (see holo_test_runner.erl for the exact rules), so
a test gives the same outcome alone as after any other. Project code a test
replaced (meck, cover, ``code:load_binary``) comes back as ``reloaded``:
the session loads the build's code again before the next test, and the
test's record counts every function of those modules as executed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holo.beam.errors import BeamError
from holo.beam.node import BeamNode
from holo.testing.discovery import TestCase
from holo.testing.results import TestStatus

log = logging.getLogger(__name__)

# The runner enforces the timeout itself; this much later the node is presumed wedged.
UNRESPONSIVE_MARGIN_S = 30.0

CRASH_MESSAGE = (
    "the node died during the test (it called halt(), or something killed the VM); "
    "holo restarted it"
)

_STATUSES = {
    "passed": TestStatus.PASSED,
    "failed": TestStatus.FAILED,
    "error": TestStatus.ERROR,
    "timeout": TestStatus.TIMEOUT,
}


@dataclass(frozen=True)
class Failure:
    """An exception or failed assertion, as the runner described it."""

    kind: str | None  # the assertion ("assertEqual"), None for other exceptions
    message: str
    details: str
    assert_module: str | None
    assert_line: int | None  # 1-based, as Erlang reports it
    frames: tuple[tuple[str, str, int, int | None], ...]  # (module, function, arity, line)

    @classmethod
    def from_agent(cls, value: Any) -> Failure | None:
        if not isinstance(value, dict):
            return None
        return cls(
            kind=value.get("kind"),
            message=_text(value.get("message")),
            details=_text(value.get("details")),
            assert_module=value.get("assert_module"),
            assert_line=value.get("assert_line"),
            frames=tuple(
                (m, f, a, line if isinstance(line, int) else None)
                for m, f, a, line in value.get("frames") or ()
            ),
        )


@dataclass(frozen=True)
class Case:
    description: str
    line: int | None  # 1-based
    status: TestStatus
    failure: Failure | None


@dataclass(frozen=True)
class Outcome:
    """What running one test gave: its status and what it executed."""

    status: TestStatus
    time_us: int
    executed: tuple[tuple[str, str, int], ...]  # (module, compiled function name, arity)
    failure: Failure | None = None
    # Project modules whose code was replaced during the test (meck, cover,
    # code:load_binary): their calls were not all counted.
    reloaded: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()  # state the test changed that the runner put back
    cases: tuple[Case, ...] = ()
    leaked: int = 0
    output: str = ""
    message: str = ""  # set when the runner itself could not say (a crash)
    counted: bool = True  # False when the node died: what it executed is unknown

    @property
    def summary(self) -> str:
        if self.message:
            return self.message
        if self.failure is not None:
            return self.failure.message
        if self.status is TestStatus.TIMEOUT:
            return "timed out"
        return ""


@dataclass
class Setup:
    """What every test of one run shares: the modules to count calls in, the
    directory tests run in (the project root, as under rebar3) and the code
    path (the build's ebin directories, for .app files and priv dirs)."""

    trace: list[str]
    cwd: str
    code_paths: list[str]

    def to_agent(self) -> dict[str, Any]:
        return {
            "trace": self.trace,
            "cwd": self.cwd.encode(),
            "code_paths": [p.encode() for p in self.code_paths],
        }


@dataclass
class NodeRunner:
    """Sends tests to the runtime node, one at a time."""

    node: BeamNode
    marker_prefix: Path  # marker files are this path plus a number
    unresponsive_margin_s: float = UNRESPONSIVE_MARGIN_S
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _setup: Setup | None = None

    def setup(self, setup: Setup) -> None:
        """Tell the node what the coming tests share (sent again if the node restarts)."""
        self._setup = setup
        self.node.call("test_setup", setup.to_agent())

    def run(self, test: TestCase, *, timeout_s: float) -> Outcome:
        for _ in range(2):
            outcome = self._run_once(test, timeout_s)
            if outcome is not None:
                return outcome
            if self._setup is not None:  # a new VM since the setup: send it again
                self.setup(self._setup)
        return Outcome(TestStatus.ERROR, 0, (), message="the node lost the test setup twice")

    def _run_once(self, test: TestCase, timeout_s: float) -> Outcome | None:
        marker = self.marker_prefix.with_name(f"{self.marker_prefix.name}-{next(self._ids)}")
        args = {
            "module": test.module,
            "function": test.function,
            "kind": "generator" if test.generator else "test",
            "timeout": max(1, round(timeout_s * 1000)),
            "marker": str(marker).encode(),
        }
        try:
            reply = self.node.call(
                "run_test", args, timeout=timeout_s + self.unresponsive_margin_s
            )
        except TimeoutError:
            log.warning("%s: the node stopped answering; killing it", test.id)
            self._kill_node()
            return Outcome(
                TestStatus.TIMEOUT, round(timeout_s * 1e6), (), counted=False,
                message="timed out, and the node stopped answering: holo restarted it",
            )
        except BeamError as e:
            message = f"{CRASH_MESSAGE}: {e}"
            return Outcome(TestStatus.CRASHED, 0, (), message=message, counted=False)
        finally:
            with contextlib.suppress(OSError):
                marker.unlink()
        if isinstance(reply, dict) and reply.get("status") == "needs_setup":
            return None
        return _outcome(reply)

    def _kill_node(self) -> None:
        with contextlib.suppress(BeamError, OSError, AssertionError):
            os.kill(self.node.os_pid, signal.SIGKILL)


def _outcome(reply: Any) -> Outcome:
    if not isinstance(reply, dict):
        return Outcome(TestStatus.ERROR, 0, (), message=f"unexpected reply: {reply!r}")
    if reply.get("status") == "replayed":
        return Outcome(TestStatus.CRASHED, 0, (), message=CRASH_MESSAGE, counted=False)
    status = _STATUSES.get(reply.get("status", ""), TestStatus.ERROR)
    cases = tuple(
        Case(
            _text(case.get("desc")),
            case.get("line"),
            _case_status(case.get("status")),
            Failure.from_agent(case.get("failure")),
        )
        for case in reply.get("cases") or ()
    )
    return Outcome(
        status=status,
        time_us=int(reply.get("time_us", 0)),
        executed=tuple((m, f, a) for m, f, a in reply.get("executed") or ()),
        failure=Failure.from_agent(reply.get("failure")),
        reloaded=tuple(reply.get("reloaded") or ()),
        restored=tuple(_text(line) for line in reply.get("restored") or ()),
        cases=cases,
        leaked=int(reply.get("leaked", 0)),
        output=_text(reply.get("output")),
    )


def _case_status(value: Any) -> TestStatus:
    if value == "cancelled":
        return TestStatus.ERROR
    return _STATUSES.get(value, TestStatus.ERROR)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None:
        return ""
    return str(value)
