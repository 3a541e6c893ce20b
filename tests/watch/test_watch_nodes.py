"""The user's nodes `holo watch` loads into: named on the command line or in rebar.config,
checked before the first build, and handed only what changed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.user_nodes import UserNode
from tests.watch.helpers import COOKIE, REPO, HoloWatch, discount, edit

# Loads a shop_cart of the user's own into the node: one line for the node's eval loop.
USERS_OWN_CART = (
    "begin "
    "Form = fun(S) -> {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end, "
    "{ok, shop_cart, B} = compile:forms([Form(\"-module(shop_cart).\"), "
    "Form(\"-export([whose/0]).\"), Form(\"whose() -> users.\")]), "
    "code:purge(shop_cart), code:load_binary(shop_cart, \"users\", B) end"
)


def test_a_node_is_handed_only_the_modules_that_changed_since_it_was_last_given(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    # Someone loads their own shop_cart into the node: holo's build did not change it,
    # so holo does not hand it over again (it would replace theirs).
    assert user_node.eval(USERS_OWN_CART) == "{module,shop_cart}"
    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 10;", "Subtotal div 4;")
    saved = watch.cycle()
    assert saved["loaded"] == ["shop_pricing", f"{user_node.name}:shop_pricing"]
    assert discount(user_node) == "250"
    assert user_node.eval("shop_cart:whose()") == "users"

    # A change to shop_cart itself is handed over, and replaces theirs.
    cart_file = shop / "src" / "shop_cart.erl"
    cart_file.write_text(
        cart_file.read_text().replace("-module(shop_cart).", "-module(shop_cart).\n"
                                      "-export([whose/0]).") + "\nwhose() -> holo.\n"
    )
    cart = watch.cycle()
    assert cart["loaded"] == ["shop_cart", f"{user_node.name}:shop_cart"]
    assert user_node.eval("shop_cart:whose()") == "holo"


def holo_section(node: str) -> str:
    return f"\n{{holo, [{{nodes, ['{node}']}}, {{cookie, '{COOKIE}'}}]}}.\n"


def test_nodes_and_cookie_come_from_rebar_config_and_are_read_again_when_it_changes(
    shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]
) -> None:
    config = shop / "rebar.config"
    plain = config.read_text()
    config.write_text(plain + holo_section(user_node.name))
    watch = start_watch(shop)  # no --node, no --cookie
    watch.ready()
    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 10;", "Subtotal div 4;")
    assert watch.cycle()["loaded"] == ["shop_pricing", f"{user_node.name}:shop_pricing"]
    assert discount(user_node) == "250"

    config.write_text(plain)  # the node is no longer named
    assert watch.cycle()["changed"] == ["rebar.config"]
    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 4;", "Subtotal div 5;")
    assert watch.cycle()["loaded"] == ["shop_pricing"]
    assert discount(user_node) == "250"  # not loaded there any more

    config.write_text(plain + holo_section("not a node"))
    refused = watch.cycle()
    (problem,) = refused["load_problems"]
    assert "'not a node' is not an Erlang node name" in problem
    assert "still loading into no node" in problem


def run_watch(shop: Path, cache: Path, *args: str, home: Path | None = None,
              ) -> subprocess.CompletedProcess[str]:
    env = None if home is None else {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "holo.cli", "watch", str(shop), "--json", "--no-tests",
         "--cache-dir", str(cache), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--node", "shop"), "'shop' is not an Erlang node name (name@host)"),
        (("--node", "a@b@c", "--cookie", "x"), "'a@b@c' is not an Erlang node name"),
        (("--node", "shop@host", "--cookie", "two words"), "the cookie holds spaces"),
        (("--node", "shop@host", "--cookie", ""), "the cookie is empty"),
        (("--node", "shop@host"), "no cookie given and cannot read"),
    ],
)
def test_bad_nodes_or_cookies_stop_holo_watch_before_its_first_build(
    shop: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    home = tmp_path / "home"  # no ~/.erlang.cookie here
    home.mkdir()
    done = run_watch(shop, tmp_path / "cache", *args, home=home)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("holo watch: ") and message in line
    assert not (shop / "_build").exists()  # nothing was built
