"""Workspace.refresh: after any edits on disk, the inputs equal those of a fresh Workspace.open.

Real files under tmp_path, a real Database; the fresh Workspace is opened in
a Database of its own and every input is compared, durability included.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holo.engine import Database, MemoryStore
from holo.inputs import OtpInfo, app_data, file_text, project_model, workspace_files
from holo.project.workspace import Workspace

from .conftest import EXAMPLE_SHOP


def inputs_of(ws: Workspace) -> dict[str, Any]:
    """Every input a Workspace sets for the project (OTP's are the same in every process)."""
    db = ws.db
    otp_root = ws.otp.root.rstrip("/") + "/"
    texts = {}
    for (key,) in db.input_keys(file_text):
        if key.startswith(otp_root):
            continue
        value = file_text(db, key)
        if value is not None:
            texts[key] = (value, db._inputs[(file_text, (key,))].durability)
    model = project_model(db)
    return {
        "model": model,
        "files": workspace_files(db),
        "texts": texts,
        "data": {app.name: app_data(db, app.name) for app in model.apps},
    }


def fresh_inputs(root: Path, otp: OtpInfo, store: MemoryStore) -> dict[str, Any]:
    return inputs_of(Workspace.open(root, Database(), store=store, otp=otp))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = Path(shutil.copytree(EXAMPLE_SHOP, tmp_path / "shop",
                                ignore=shutil.ignore_patterns("_build")))
    (root / "test" / "fixtures").mkdir()
    (root / "test" / "fixtures" / "prices.json").write_text('{"apple": 3}\n')
    return root


def module_text(name: str, value: int) -> str:
    return f"-module({name}).\n-export([f/0]).\nf() -> {value}.\n"


# Each edit is what an editor, a formatter, git or the user does to a project.
def edit_body(root: Path, n: int) -> None:
    path = root / "src" / "shop_pricing.erl"
    path.write_text(path.read_text() + f"\n%% edit {n}\n")


def same_size_edit(root: Path, n: int, *, keep_mtime: bool | None = None) -> None:
    """New bytes, the same length and inode; as on a file system with one-second
    timestamps, a write within a second of the last one keeps the mtime, and
    then only the racy rule sees it."""
    path = root / "src" / "shop_cart.erl"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-2] = ord("0") + n % 10 if data[-2] != ord("0") + n % 10 else ord("x")
    with open(path, "r+b") as f:
        f.write(bytes(data))
    if keep_mtime is None:
        keep_mtime = time.time_ns() - before.st_mtime_ns < 10**9
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def rename_over(root: Path, n: int) -> None:
    path = root / "src" / "shop_inventory.erl"
    tmp = root / "src" / ".shop_inventory.erl.tmp"
    tmp.write_text(path.read_text().replace("\n", f"\n%% saved {n}\n", 1))
    os.replace(tmp, path)


def add_module(root: Path, n: int) -> None:
    (root / "src" / f"extra_{n % 3}.erl").write_text(module_text(f"extra_{n % 3}", n))


def delete_module(root: Path, n: int) -> None:
    for path in sorted((root / "src").glob("extra_*.erl"))[:1]:
        path.unlink()


def header_edit(root: Path, n: int) -> None:
    path = root / "include" / "shop.hrl"
    path.write_text(path.read_text() + f"-define(EDIT_{n}, {n}).\n")


def config_edit(root: Path, n: int) -> None:
    macros = "" if n % 2 else ", {d, 'EDITED'}"
    (root / "rebar.config").write_text(f"{{erl_opts, [debug_info{macros}]}}.\n")


def data_edit(root: Path, n: int) -> None:
    (root / "test" / "fixtures" / "prices.json").write_text(f'{{"apple": {n}}}\n')


def new_include_dir(root: Path, n: int) -> None:
    """A header in a directory that is not a source root until rebar.config names it."""
    (root / "extra_inc").mkdir(exist_ok=True)
    (root / "extra_inc" / "more.hrl").write_text(f"-define(MORE, {n}).\n")
    (root / "rebar.config").write_text('{erl_opts, [debug_info, {i, "extra_inc"}]}.\n')


EDITS = [edit_body, same_size_edit, rename_over, add_module, delete_module, header_edit,
         config_edit, data_edit, new_include_dir]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(EDITS), st.booleans()), min_size=1, max_size=8))
def test_after_any_edits_refresh_equals_a_fresh_open(
    edits: list[tuple[Any, bool]], tmp_path_factory: pytest.TempPathFactory, otp: OtpInfo,
    otp_store: MemoryStore,
) -> None:
    root = Path(shutil.copytree(EXAMPLE_SHOP, tmp_path_factory.mktemp("p") / "shop",
                                ignore=shutil.ignore_patterns("_build")))
    (root / "test" / "fixtures").mkdir()
    (root / "test" / "fixtures" / "prices.json").write_text("{}\n")
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    ws.refresh()
    for n, (edit, refresh_now) in enumerate(edits):
        edit(root, n)
        if refresh_now:  # several edits between two refreshes, or one
            ws.refresh()
            assert inputs_of(ws) == fresh_inputs(root, otp, otp_store), edit.__name__
    ws.refresh()
    assert inputs_of(ws) == fresh_inputs(root, otp, otp_store)


def test_a_refresh_with_nothing_changed_starts_no_revision(
    shop: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    ws = Workspace.open(shop, Database(), store=otp_store, otp=otp)
    ws.refresh()
    revision = ws.db.revision
    assert not ws.refresh()
    assert ws.db.revision == revision


def test_what_refresh_reports_changed(shop: Path, otp: OtpInfo, otp_store: MemoryStore) -> None:
    ws = Workspace.open(shop, Database(), store=otp_store, otp=otp)
    ws.refresh()
    edit_body(shop, 1)
    add_module(shop, 1)
    (shop / "src" / "shop_sup.erl").unlink()
    data_edit(shop, 7)
    summary = ws.refresh()
    assert summary.changed_files == ("src/extra_1.erl", "src/shop_pricing.erl", "src/shop_sup.erl")
    assert summary.added == ("src/extra_1.erl",)
    assert summary.removed == ("src/shop_sup.erl",)
    assert summary.data_changed == ("shop",)
    assert not summary.project_changed
    config_edit(shop, 0)
    assert ws.refresh().project_changed


def test_a_same_size_edit_that_keeps_the_mtime_is_seen_while_the_file_is_racy(
    shop: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    """Written in the same tick as the scan that read it: the stat alone cannot tell."""
    ws = Workspace.open(shop, Database(), store=otp_store, otp=otp)
    path = shop / "src" / "shop_cart.erl"
    path.write_bytes(path.read_bytes())  # an mtime of now: racy for the next scans
    ws.refresh()
    same_size_edit(shop, 1, keep_mtime=True)
    assert ws.refresh().changed_files == ("src/shop_cart.erl",)
    assert file_text(ws.db, "src/shop_cart.erl") == path.read_bytes()


def test_a_file_whose_stat_is_unchanged_and_old_is_not_read_again(
    shop: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    """The prefilter at work: an old mtime, the same size and inode mean the same bytes.

    (Bytes changed behind a restored mtime are the one edit this does not see.)
    """
    path = shop / "src" / "shop_cart.erl"
    hour_ago = path.stat().st_mtime_ns - 3600 * 10**9
    os.utime(path, ns=(hour_ago, hour_ago))
    ws = Workspace.open(shop, Database(), store=otp_store, otp=otp)
    ws.refresh()
    ws.refresh()  # the first scan's start is now well after the mtime: not racy
    before = file_text(ws.db, "src/shop_cart.erl")
    same_size_edit(shop, 1, keep_mtime=True)
    assert not ws.refresh()
    assert file_text(ws.db, "src/shop_cart.erl") == before != path.read_bytes()
    os.utime(path)  # any new mtime and it is read
    assert ws.refresh().changed_files == ("src/shop_cart.erl",)
