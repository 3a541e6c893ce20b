"""A user's running node for the tests that load into one: `erl -sname ... -setcookie ...`
evaluating the expressions written to its stdin, one per line, so checking what it runs
costs a line, not a new VM."""

from __future__ import annotations

import queue
import secrets
import socket
import subprocess
import threading
import time
from typing import IO

# Read an expression per line, print "=> " and its value on one line.
EVAL_LOOP = """
Loop = fun Loop() ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            Result = try
                {ok, Tokens, _} = erl_scan:string(Line),
                {ok, Exprs} = erl_parse:parse_exprs(Tokens),
                {value, Value, _} = erl_eval:exprs(Exprs, []),
                Value
            catch Class:Reason -> {Class, Reason}
            end,
            io:put_chars(["=> ", io_lib:print(Result, 1, 1000000, -1), "\\n"]),
            Loop()
    end
end,
Loop().
"""


def short_host() -> str:
    return socket.gethostname().split(".")[0]


def lines_into(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Put each line of ``stream`` on ``lines``, then None when it ends."""
    for line in stream:
        lines.put(line)
    lines.put(None)


class UserNode:
    """A named node with a cookie, as a user's application runs; up when constructed."""

    def __init__(self, cookie: str, prefix: str = "holo_user_", *, name: str = "") -> None:
        """A new node named ``prefix`` and a random part, or ``name`` (its part before "@")."""
        name = name or prefix + secrets.token_hex(4)
        self.name = f"{name}@{short_host()}"
        self.process = subprocess.Popen(
            ["erl", "-sname", name, "-setcookie", cookie, "-noshell", "-eval", EVAL_LOOP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(
            target=lines_into, args=(self.process.stdout, self.lines), daemon=True
        ).start()
        try:
            # Distribution is registered with epmd before -eval runs.
            assert self.eval("node()").strip("'") == self.name
        except BaseException:
            self.close()
            raise

    def eval(self, expression: str, timeout: float = 30) -> str:
        """What the node answers to an Erlang expression (no trailing dot), printed flat."""
        assert self.process.stdin is not None
        self.process.stdin.write(expression + ".\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the user node did not answer {expression}") from None
            assert line is not None, "the user node exited"
            if line.startswith("=> "):
                return line[3:].rstrip("\n")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
