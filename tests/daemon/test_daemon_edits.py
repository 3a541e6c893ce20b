"""After any edits, a build through the daemon is the build a process of its own would make.

Two copies of the project get the same edits: one is built through the
daemon, its twin one-shot with a cache of its own. After each step both
report the same compiled modules and diagnostics and write the same ebin
bytes; at the end a clean build (a new copy, an empty cache) writes the same
bytes too.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from .helpers import Holo, copy_shop, ebin_bytes, without_timings

Edit = Callable[[Path], None]


def body_edit(root: Path) -> None:
    path = root / "src" / "shop_pricing.erl"
    path.write_text(path.read_text() + "\nextra() -> 1.\n")


def rename_over(root: Path) -> None:
    """An editor's atomic save: a new file, renamed over the old one."""
    path = root / "src" / "shop_inventory.erl"
    tmp = root / "src" / ".shop_inventory.erl.swp"
    tmp.write_text(path.read_text() + "\n%% saved\n")
    os.replace(tmp, path)


def add_module(root: Path) -> None:
    (root / "src" / "shop_extra.erl").write_text(
        "-module(shop_extra).\n-export([f/0]).\nf() -> shop_pricing:extra().\n"
    )


def break_module(root: Path) -> None:
    (root / "src" / "shop_extra.erl").write_text("-module(shop_extra).\nf( -> .\n")


def delete_module(root: Path) -> None:
    (root / "src" / "shop_extra.erl").unlink()


def header_edit(root: Path) -> None:
    path = root / "include" / "shop.hrl"
    path.write_text(path.read_text().replace("-define(", "-define(UNUSED_MACRO, 1).\n-define(", 1))


def config_edit(root: Path) -> None:
    (root / "rebar.config").write_text("{erl_opts, [debug_info, {d, 'SHOP_EDITED'}]}.\n")


STEPS: list[tuple[str, Edit]] = [
    ("body edit", body_edit),
    ("rename over", rename_over),
    ("add", add_module),
    ("syntax error", break_module),
    ("delete", delete_module),
    ("header edit", header_edit),
    ("rebar.config edit", config_edit),
]


def test_after_each_edit_the_daemon_builds_what_a_fresh_process_builds(
    holo: Holo, tmp_path: Path
) -> None:
    served_root = copy_shop(tmp_path / "served")
    twin_root = copy_shop(tmp_path / "twin")
    twin_cache = tmp_path / "twin-cache"
    for requests, (name, edit) in enumerate([("nothing", lambda root: None), *STEPS], 1):
        edit(served_root)
        edit(twin_root)
        served = holo.daemon("build", str(served_root), "--json")
        twin = holo.one_shot("build", str(twin_root), "--json", cache=twin_cache)
        assert served.returncode == twin.returncode, (name, served.stderr)
        s, t = holo.json(served), holo.json(twin)
        assert (s["compiled"], s["diagnostics"]) == (t["compiled"], t["diagnostics"]), name
        assert without_timings(s) == without_timings(t), name
        assert ebin_bytes(served_root) == ebin_bytes(twin_root), name
        assert holo.requests() == requests, name
    assert len(s["compiled"]) == 5  # new options: every module again
    assert not any(name.endswith("/shop_extra.beam") for name in ebin_bytes(served_root))

    clean_root = copy_shop(tmp_path / "clean")
    shutil.copytree(served_root / "src", clean_root / "src", dirs_exist_ok=True)
    shutil.copy(served_root / "include" / "shop.hrl", clean_root / "include" / "shop.hrl")
    shutil.copy(served_root / "rebar.config", clean_root / "rebar.config")
    clean = holo.json(holo.one_shot("build", str(clean_root), "--json",
                                    cache=tmp_path / "clean-cache"))
    assert clean["diagnostics"] == s["diagnostics"]
    assert ebin_bytes(clean_root) == ebin_bytes(served_root)


def test_an_edit_in_the_same_second_with_the_same_size_is_seen(
    holo: Holo, tmp_path: Path
) -> None:
    """As on a file system whose timestamps count whole seconds: the bytes change, the
    size, inode and mtime do not."""
    root = copy_shop(tmp_path / "shop")
    cart = root / "src" / "shop_cart.erl"
    holo.daemon("build", str(root), "--json")
    cart.write_text(cart.read_text() + "\nversion() -> 1.\n")
    written = cart.stat()
    first = holo.json(holo.daemon("build", str(root), "--json"))
    assert first["compiled"] == ["shop_cart"]

    cart.write_text(cart.read_text().replace("version() -> 1.", "version() -> 2."))
    os.utime(cart, ns=(written.st_atime_ns, written.st_mtime_ns))
    after = cart.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (
        written.st_size, written.st_ino, written.st_mtime_ns
    )
    assert time.time_ns() - written.st_mtime_ns < 60 * 10**9
    second = holo.json(holo.daemon("build", str(root), "--json"))
    assert second["compiled"] == ["shop_cart"]
    assert holo.requests() == 3

    # The same bytes again: nothing to compile, and the node runs the build.
    third = holo.json(holo.daemon("build", str(root), "--json"))
    assert third["compiled"] == [] and "shop_cart" in third["loaded"]
