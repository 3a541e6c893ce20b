"""What `holo watch` shows a person: plain lines when its output is not a terminal, a
live status line through rich when it is. A real process each time, over a real
project; the terminal is a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.watch.helpers import (
    IS_BIG,
    LOCAL_CALL_IN_GUARD,
    REPO,
    TENOFF,
    WAIT_S,
    HoloWatch,
    edit,
)

ANSI = re.compile(r"\x1b\[")


def test_plain_output_shows_a_block_per_cycle_with_errors_loads_and_failures(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    watch = start_watch(shop, json_output=False, tests=True)
    first = watch.block()
    assert first[0].startswith("compiled 7: shop_app shop_cart shop_cart_tests")
    assert first[-1].startswith("ok in ")
    assert "tests: 10 selected, 10 passed, 0 failed" in first
    assert watch.next_line().startswith(f"watching 5 modules under {shop}")
    time.sleep(0.2)

    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text().replace(TENOFF, LOCAL_CALL_IN_GUARD) + IS_BIG)
    broken = watch.block()
    guard_line = pricing.read_text().splitlines().index(LOCAL_CALL_IN_GUARD.splitlines()[0])
    error_head = (
        f"src/shop_pricing.erl:{guard_line + 1}:39: error: call to local/imported function "
        "is_big/1 is illegal in guard [Cillegal_guard_local_call]"
    )
    assert broken[0] == "changed src/shop_pricing.erl"
    at = broken.index(error_head)
    assert broken[at + 1] == '    discount(Subtotal, <<"TENOFF">>) when is_big(Subtotal) ->'
    assert broken[at + 2] == "    " + " " * 38 + "^"
    assert "compiled 1: shop_pricing" in broken
    assert not any(line.startswith("loaded") for line in broken)
    # Its tests cannot run on code that did not compile: said by name, with why.
    assert any(
        "shop_pricing_tests:discount_test_ not run: shop_pricing did not compile or load" in line
        for line in broken
    )
    assert broken[-2] == "1 error outstanding: src/shop_pricing.erl (1)"
    assert broken[-1].startswith("errors in ")

    edit(shop / "src" / "shop_cart.erl", "%%", "%% (edited)")
    elsewhere = watch.block()
    assert elsewhere[:2] == ["changed src/shop_cart.erl", "compiled 1: shop_cart"]
    assert error_head not in elsewhere  # shown once; reminded of below
    assert elsewhere[-2] == "1 error outstanding: src/shop_pricing.erl (1)"

    edit(pricing, " when is_big(Subtotal)", "")
    fixed = watch.block()
    assert fixed[0] == "changed src/shop_pricing.erl"
    assert "compiled 1: shop_pricing" in fixed and "loaded 1: shop_pricing" in fixed
    assert not any("outstanding" in line for line in fixed)
    # The edit (div 4) breaks two tests: each with where, what was expected and what came.
    failure = next(line for line in fixed if "discount_test_ failed" in line)
    assert failure.startswith("test/shop_pricing_tests.erl:21:")
    assert failure.endswith("expected 100, got 250 [eunit.failed]")
    assert "      expected: 100" in fixed and "      got: 250" in fixed
    assert any("shop_pricing_tests:totals_test failed" in line for line in fixed)
    assert "tests: 3 selected, 1 passed, 2 failed" in fixed
    assert fixed[-1].startswith("tests failed in ")
    assert re.fullmatch(
        r"tests failed in \d+ ms \(detect \d+ analyse \d+ compile \d+ load \d+ tests \d+ ms\)",
        fixed[-1],
    )
    assert not any(ANSI.search(line) for line in first + broken + elsewhere + fixed)


def test_changed_files_and_loaded_modules_are_named_up_to_a_bound(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    watch = start_watch(shop, json_output=False)
    watch.block()
    watch.next_line()
    time.sleep(0.2)
    names = [f"many_{i:02d}" for i in range(15)]
    for name in names:
        (shop / "src" / f"{name}.erl").write_text(f"-module({name}).\n")
    block = watch.block()
    first_five = ", ".join(f"src/{name}.erl" for name in names[:5])
    assert block[0] == f"changed 15 files: {first_five} (and 10 more)"
    loaded = next(line for line in block if line.startswith("loaded "))
    assert loaded == f"loaded 15: {' '.join(names[:12])} (and 3 more)"


def test_on_a_terminal_a_live_status_line_says_what_holo_is_doing(
    shop: Path, tmp_path: Path
) -> None:
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "holo.cli", "watch", str(shop), "--no-tests",
               "--cache-dir", str(tmp_path / "cache")]
    process = subprocess.Popen(
        command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm-256color"},
    )
    os.close(terminal)
    seen = b""

    def read_until(text: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + WAIT_S
        while text not in _plain(seen):
            assert time.monotonic() < deadline, f"{text!r} never shown; got {seen[-2000:]!r}"
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(controller, 65536)
                except OSError:  # the process closed the terminal
                    raise AssertionError(f"holo watch exited; got {seen[-2000:]!r}") from None

    try:
        read_until("watching 5 modules under")
        read_until("watching 5 modules")  # the status line, below the block
        assert ANSI.search(seen.decode(errors="replace"))  # colours and cursor control
        time.sleep(0.2)
        mark = len(seen)
        edit(shop / "src" / "shop_pricing.erl", "-spec vat(", "broken((\n-spec vat(")
        read_until("outstanding: src/shop_pricing.erl")
        found = re.search(r"(\d+ errors?) outstanding", _plain(seen[mark:]))
        assert found is not None
        read_until(f"watching 5 modules · {found.group(1)}")
        shown = _plain(seen[mark:])
        assert "watching 5 modules · building 1 change…" in shown  # while the cycle ran
        assert "src/shop_pricing.erl ──" in shown  # the block's title rule
    finally:
        process.terminate()
        process.wait(30)
        os.close(controller)


def _plain(data: bytes) -> str:
    """Terminal output without its escape sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", data.decode(errors="replace"))
