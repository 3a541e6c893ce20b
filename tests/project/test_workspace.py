"""The Workspace edge: discovery and disk state become inputs; changes and overlays update them."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from holo.engine import Database, Durability, MemoryStore, query
from holo.inputs import (
    MacroOption,
    OtpInfo,
    auto_imported_bifs,
    external_module,
    file_text,
    otp_info,
    project_model,
    workspace_files,
)
from holo.project.discover import discover
from holo.project.workspace import ChangeSummary, Workspace

from .conftest import EXAMPLE_SHOP, write_tree

PRICING = "src/shop_pricing.erl"


@query(name="tests.project.text_length")
def text_length(db: Database, key: str) -> int:
    text = file_text(db, key)
    return -1 if text is None else len(text)


def durability_of(db: Database, key: str) -> Durability:
    """The durability a file's text was set with (the engine keeps it per input slot)."""
    return db._inputs[(file_text, (key,))].durability


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE_SHOP, tmp_path / "shop"))


@pytest.fixture
def ws(shop: Path, otp: OtpInfo, otp_store: MemoryStore) -> Workspace:
    return Workspace.open(shop, Database(), store=otp_store, otp=otp)


def test_open_sets_every_input(ws: Workspace, shop: Path, otp: OtpInfo) -> None:
    db = ws.db
    project = discover(shop)
    assert project_model(db) == project.model
    assert workspace_files(db) == project.files == ws.files
    for rel in project.files:
        assert file_text(db, rel) == (shop / rel).read_bytes()
        assert durability_of(db, rel) == Durability.LOW
    assert file_text(db, "src/shop.app.src") == (shop / "src/shop.app.src").read_bytes()
    assert durability_of(db, "src/shop.app.src") == Durability.MEDIUM
    assert "src/shop.app.src" not in workspace_files(db)
    assert otp_info(db) == otp
    assert ("map", 2) in external_module(db, "lists").exports
    assert external_module(db, "no_such_module") is None
    assert ("length", 1) in auto_imported_bifs(db)
    eunit_hrl = next(p for p in db.input_keys(file_text) if p[0].endswith("/eunit.hrl"))[0]
    assert eunit_hrl.startswith(otp.root + "/lib/eunit-")
    assert b"-define(assert" in file_text(db, eunit_hrl)
    assert durability_of(db, eunit_hrl) == Durability.HIGH


def test_open_without_a_cached_table_builds_and_stores_it(shop: Path, otp: OtpInfo) -> None:
    store = MemoryStore()
    db = Database(store=store)
    Workspace.open(shop, db, otp=otp)  # the database's store is the default
    assert len(store.entries) == 1
    assert external_module(db, "gen_server").callbacks


def test_editing_a_file_changes_only_its_text(ws: Workspace, shop: Path) -> None:
    db = ws.db
    assert text_length(db, PRICING) == len((shop / PRICING).read_bytes())
    assert text_length(db, "src/shop_cart.erl") > 0
    new = (shop / PRICING).read_bytes().replace(b"Subtotal div 10", b"Subtotal div 5")
    (shop / PRICING).write_bytes(new)
    summary = ws.apply_changes([shop / PRICING])
    assert summary == ChangeSummary(changed_files=(PRICING,))
    assert file_text(db, PRICING) == new
    assert text_length(db, PRICING) == len(new)
    assert text_length(db, "src/shop_cart.erl") > 0
    assert db.stats.executed["tests.project.text_length"] == 1  # the cart's length was reused


def test_a_change_report_without_a_change_changes_nothing(ws: Workspace, shop: Path) -> None:
    (shop / PRICING).touch()
    summary = ws.apply_changes([shop / PRICING, "README.md", shop / "nowhere" / "x.erl"])
    assert summary == ChangeSummary() and not summary
    assert ws.apply_changes(["/somewhere/else/entirely.erl"]) == ChangeSummary()


def test_adding_and_deleting_files(ws: Workspace, shop: Path) -> None:
    db = ws.db
    write_tree(shop, {"src/shop_tax.erl": "-module(shop_tax).\n"})
    added = ws.apply_changes(["src/shop_tax.erl"])
    assert added.added == ("src/shop_tax.erl",) and added.files_changed
    assert added.changed_files == ("src/shop_tax.erl",)
    assert "src/shop_tax.erl" in workspace_files(db)
    assert file_text(db, "src/shop_tax.erl") == b"-module(shop_tax).\n"

    (shop / PRICING).unlink()
    removed = ws.apply_changes([shop / PRICING])
    assert removed.removed == (PRICING,) and removed.changed_files == (PRICING,)
    assert PRICING not in workspace_files(db)
    assert file_text(db, PRICING) is None


def test_files_outside_the_source_dirs_are_not_project_files(ws: Workspace, shop: Path) -> None:
    write_tree(
        shop,
        {
            "scripts/tool.erl": "-module(tool).\n",
            "test/data/fixture.erl": "not erlang",  # test/ is not searched recursively
            "src/notes.txt": "",
        },
    )
    assert ws.apply_changes(["scripts/tool.erl", "src/notes.txt"]) == ChangeSummary()
    assert file_text(ws.db, "scripts/tool.erl") is None
    # Under test/ (not searched recursively for sources) it is one of the app's data files.
    summary = ws.apply_changes(["test/data/fixture.erl", "test/data"])
    assert summary == ChangeSummary(data_changed=("shop",))
    assert file_text(ws.db, "test/data/fixture.erl") is None


def test_directories_added_or_removed_at_once(ws: Workspace, shop: Path, tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "staging", {"a.erl": "-module(a).", "deep/b.hrl": ""})
    shutil.move(str(outside), str(shop / "src" / "extra"))
    summary = ws.apply_changes([shop / "src" / "extra"])  # a move reports only the directory
    assert summary.added == ("src/extra/a.erl", "src/extra/deep/b.hrl")
    shutil.rmtree(shop / "src" / "extra")
    summary = ws.apply_changes([shop / "src" / "extra"])
    assert summary.removed == ("src/extra/a.erl", "src/extra/deep/b.hrl")
    assert file_text(ws.db, "src/extra/a.erl") is None


def test_rebar_config_change_rediscovers(ws: Workspace, shop: Path) -> None:
    db = ws.db
    config = (shop / "rebar.config").read_text()
    write_tree(
        shop,
        {
            "rebar.config": config.replace("debug_info,", "debug_info, {d, 'NEW'},")
            + '\n{extra_src_dirs, ["bench"]}.\n',
            "bench/shop_bench.erl": "-module(shop_bench).\n",
        },
    )
    summary = ws.apply_changes([shop / "rebar.config"])
    assert summary.project_changed and summary.added == ("bench/shop_bench.erl",)
    assert summary.changed_files == ("bench/shop_bench.erl",)
    model = project_model(db)
    assert MacroOption("NEW", None) in model.erl_opts.macros
    assert model.extra_src_dirs == ("bench",)
    assert file_text(db, "bench/shop_bench.erl") == b"-module(shop_bench).\n"

    (shop / "rebar.config").write_text("{erl_opts, [debug_info,}.\n")
    summary = ws.apply_changes([shop / "rebar.config"])
    assert summary.project_changed and summary.removed == ("bench/shop_bench.erl",)
    [diag] = project_model(db).diagnostics
    assert (diag.code, diag.line, diag.column) == ("H0001", 0, 23)
    assert PRICING in workspace_files(db)  # the sources are still there


def test_app_src_edits_update_its_text_and_the_model(ws: Workspace, shop: Path) -> None:
    app_src = shop / "src" / "shop.app.src"
    app_src.write_text(app_src.read_text().replace('"0.1.0"', '"0.2.0"'))
    summary = ws.apply_changes([app_src])
    assert summary == ChangeSummary(changed_files=("src/shop.app.src",))
    assert b'"0.2.0"' in file_text(ws.db, "src/shop.app.src")

    app_src.rename(shop / "src" / "store.app.src")
    summary = ws.apply_changes([app_src, shop / "src" / "store.app.src"])
    assert summary.project_changed and not summary.files_changed
    assert summary.changed_files == ("src/shop.app.src", "src/store.app.src")
    assert project_model(ws.db).apps[0].app_src == "src/store.app.src"
    assert project_model(ws.db).apps[0].name == "shop"  # still {application, shop, ...}
    assert file_text(ws.db, "src/shop.app.src") is None


def test_new_app_in_an_umbrella_is_found_through_its_app_src(
    tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    root = write_tree(
        tmp_path / "umbrella",
        {
            "rebar.config": "{erl_opts, [debug_info]}.",
            "apps/a/src/a.app.src": "{application, a, []}.",
            "apps/a/src/a.erl": "-module(a).",
        },
    )
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    write_tree(
        root,
        {"apps/b/src/b.app.src": "{application, b, []}.", "apps/b/src/b.erl": "-module(b)."},
    )
    summary = ws.apply_changes([root / "apps/b/src/b.app.src", root / "apps/b/src/b.erl"])
    assert summary.project_changed and summary.added == ("apps/b/src/b.erl",)
    assert [a.name for a in project_model(ws.db).apps] == ["a", "b"]


def test_overlays_win_over_the_disk_until_cleared(ws: Workspace, shop: Path) -> None:
    db = ws.db
    disk = (shop / PRICING).read_bytes()
    summary = ws.set_overlay(PRICING, b"-module(shop_pricing). % unsaved")
    assert summary == ChangeSummary(changed_files=(PRICING,))
    assert file_text(db, PRICING) == b"-module(shop_pricing). % unsaved"

    (shop / PRICING).write_bytes(disk + b"\n% saved elsewhere\n")
    assert ws.apply_changes([shop / PRICING]) == ChangeSummary()
    assert file_text(db, PRICING) == b"-module(shop_pricing). % unsaved"
    (shop / PRICING).unlink()
    assert ws.apply_changes([shop / PRICING]) == ChangeSummary()
    assert PRICING in workspace_files(db)

    summary = ws.set_overlay(shop / PRICING, None)  # an absolute path works too
    assert summary.removed == (PRICING,) and file_text(db, PRICING) is None


def test_overlay_of_an_unsaved_new_file(ws: Workspace) -> None:
    db = ws.db
    summary = ws.set_overlay("src/scratch.erl", b"-module(scratch).")
    assert summary.added == ("src/scratch.erl",)
    assert file_text(db, "src/scratch.erl") == b"-module(scratch)."
    assert durability_of(db, "src/scratch.erl") == Durability.LOW
    summary = ws.set_overlay("src/scratch.erl", None)
    assert summary.removed == ("src/scratch.erl",)
    assert file_text(db, "src/scratch.erl") is None and ws.overlays == {}


def test_overlay_outside_the_project_uses_an_absolute_key(ws: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.erl"
    summary = ws.set_overlay(outside, b"-module(elsewhere).")
    assert summary.changed_files == (outside.as_posix(),) and not summary.files_changed
    assert file_text(ws.db, outside.as_posix()) == b"-module(elsewhere)."


def test_unreadable_and_non_utf8_files(
    ws: Workspace, shop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = ws.db
    (shop / "src" / "latin1.erl").write_bytes(b"-module(latin1).\n% caf\xe9\n")
    os.symlink("loop.erl", shop / "src" / "loop.erl")  # reading it fails with ELOOP
    with caplog.at_level(logging.WARNING, logger="holo.project.workspace"):
        summary = ws.apply_changes([shop / "src" / "latin1.erl", shop / "src" / "loop.erl"])
    assert summary.added == ("src/latin1.erl",)
    assert file_text(db, "src/latin1.erl") == b"-module(latin1).\n% caf\xe9\n"
    assert file_text(db, "src/loop.erl") is None
    assert "cannot read" in caplog.text and "loop.erl" in caplog.text


def test_a_file_that_becomes_unreadable_leaves_the_workspace(
    ws: Workspace, shop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (shop / PRICING).unlink()
    os.symlink(PRICING.split("/")[1], shop / PRICING)  # now a symlink to itself
    with caplog.at_level(logging.WARNING, logger="holo.project.workspace"):
        summary = ws.apply_changes([shop / PRICING])
    assert summary.removed == (PRICING,) and file_text(ws.db, PRICING) is None
    assert "cannot read" in caplog.text


def test_dependency_sources_are_high_durability(
    tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    root = write_tree(
        tmp_path / "proj",
        {
            "rebar.config": "{deps, [dep]}.",
            "src/p.erl": "-module(p).",
            "_build/default/lib/dep/src/dep.erl": "-module(dep).",
        },
    )
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    assert durability_of(ws.db, "_build/default/lib/dep/src/dep.erl") == Durability.HIGH
    assert durability_of(ws.db, "src/p.erl") == Durability.LOW
    assert workspace_files(ws.db) == ("_build/default/lib/dep/src/dep.erl", "src/p.erl")


def test_paths_through_a_symlinked_root(
    shop: Path, tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    link = tmp_path / "link"
    os.symlink(shop, link)
    ws = Workspace.open(link, Database(), store=otp_store, otp=otp)
    assert ws.root == shop.resolve()
    (shop / PRICING).unlink()
    summary = ws.apply_changes([link / PRICING])  # reported under the path the user gave
    assert summary.removed == (PRICING,)
