"""Each app's data files (fixtures under test/, files under priv/) digested into app_data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from holo.engine import Database, MemoryStore, query
from holo.inputs import OtpInfo, app_data, data_digest, file_text
from holo.project import data_files
from holo.project.workspace import ChangeSummary, Workspace

from .conftest import EXAMPLE_SHOP, write_tree

FIXTURES = {
    "test/fixtures/order.json": '{"items": [1, 2]}',
    "test/fixtures/nested/deep.txt": "deep",
    "test/data/broken_on_purpose.erl": "not erlang: a fixture, not a source",
    "priv/prices.csv": "apple,1\n",
    "test/.orders.json.swp": "editor swap file",
    "test/fixtures/order.json~": "editor backup",
    "test/.cache/x.bin": "hidden directory",
}


@query(name="tests.project.shop_data")
def shop_data(db: Database) -> bytes:
    return data_digest(db, "shop")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = Path(
        shutil.copytree(EXAMPLE_SHOP, tmp_path / "shop", ignore=shutil.ignore_patterns("_build"))
    )
    return write_tree(root, FIXTURES)


@pytest.fixture
def ws(shop: Path, otp: OtpInfo, otp_store: MemoryStore) -> Workspace:
    return Workspace.open(shop, Database(), store=otp_store, otp=otp)


def test_open_digests_the_data_files_of_each_app(ws: Workspace) -> None:
    data = app_data(ws.db, "shop")
    assert data is not None
    assert [path for path, _ in data.files] == [
        "priv/prices.csv",
        "test/data/broken_on_purpose.erl",
        "test/fixtures/nested/deep.txt",
        "test/fixtures/order.json",
    ]
    assert data.by_size == () and data_digest(ws.db, "shop") == data.digest
    assert data_digest(ws.db, "no_such_app") == b""
    assert file_text(ws.db, "test/fixtures/order.json") is None  # data, not a source
    # What the watcher asks before reporting a path.
    project = ws.project
    assert project.is_data_file("test/fixtures/order.json")
    assert project.is_data_file("priv/later/added.bin")
    assert not project.is_data_file("test/shop_cart_tests.erl")  # a source
    assert not project.is_data_file("test/fixtures/order.json~")
    assert not project.is_data_file("src/notes.txt")


def test_editing_a_fixture_changes_the_digest_and_only_it(ws: Workspace, shop: Path) -> None:
    db = ws.db
    before = shop_data(db)
    fixture = shop / "test/fixtures/order.json"
    fixture.write_text('{"items": [1, 2, 3]}')
    summary = ws.apply_changes([fixture])
    assert summary == ChangeSummary(data_changed=("shop",))
    assert shop_data(db) != before
    assert db.stats.executed["tests.project.shop_data"] == 1

    fixture.touch()
    assert ws.apply_changes([fixture]) == ChangeSummary()
    fixture.write_text('{"items": [1, 2]}')  # back as it was: the digest is too
    assert ws.apply_changes([fixture]).data_changed == ("shop",)
    assert shop_data(db) == before


def test_files_that_are_not_data_change_nothing(ws: Workspace, shop: Path) -> None:
    (shop / "test/fixtures/order.json~").write_text("another backup")
    (shop / "README.md").write_text("changed")
    (shop / "src/notes.txt").write_text("not under test/ or priv/")
    paths = ["test/fixtures/order.json~", "README.md", "src/notes.txt", "test/.cache/x.bin"]
    assert ws.apply_changes(paths) == ChangeSummary()


def test_added_and_removed_directories_of_data(ws: Workspace, shop: Path) -> None:
    shutil.rmtree(shop / "test/fixtures")
    assert ws.apply_changes([shop / "test/fixtures"]).data_changed == ("shop",)
    data = app_data(ws.db, "shop")
    assert data is not None
    assert [p for p, _ in data.files] == ["priv/prices.csv", "test/data/broken_on_purpose.erl"]
    write_tree(shop, {"priv/new/table.tsv": "a\tb\n"})
    assert ws.apply_changes([shop / "priv/new"]).data_changed == ("shop",)
    data = app_data(ws.db, "shop")
    assert data is not None and "priv/new/table.tsv" in dict(data.files)


def test_a_large_file_is_digested_by_its_size(
    ws: Workspace, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_files, "LARGE_FILE", 10)
    big = shop / "priv/big.bin"
    big.write_bytes(b"x" * 20)
    assert ws.apply_changes([big]).data_changed == ("shop",)
    data = app_data(ws.db, "shop")
    assert data is not None and data.by_size == ("priv/big.bin",)
    big.write_bytes(b"y" * 20)  # same size: not seen, as documented
    assert ws.apply_changes([big]) == ChangeSummary()
    big.write_bytes(b"y" * 21)
    assert ws.apply_changes([big]).data_changed == ("shop",)


def test_each_app_of_an_umbrella_has_its_own_digest_and_a_clone_the_same(
    tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    files = {
        "rebar.config": "{erl_opts, []}.",
        "apps/a/src/a.app.src": "{application, a, []}.",
        "apps/a/src/a.erl": "-module(a).",
        "apps/a/test/a.json": "{}",
        "apps/b/src/b.app.src": "{application, b, []}.",
        "apps/b/src/b.erl": "-module(b).",
        "apps/b/priv/b.txt": "b",
        "_build/default/lib/dep/src/dep.erl": "-module(dep).",
        "_build/default/lib/dep/priv/dep.txt": "a dependency's data is not the project's",
    }
    root = write_tree(tmp_path / "one", files)
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    b_before = data_digest(ws.db, "b")
    (root / "apps/a/test/a.json").write_text('{"changed": true}')
    assert ws.apply_changes([root / "apps/a/test/a.json"]).data_changed == ("a",)
    assert data_digest(ws.db, "b") == b_before
    assert app_data(ws.db, "dep") is None

    clone = write_tree(tmp_path / "elsewhere" / "two", files)
    (clone / "apps/a/test/a.json").write_text('{"changed": true}')
    other = Workspace.open(clone, Database(), store=otp_store, otp=otp)
    assert data_digest(other.db, "a") == data_digest(ws.db, "a")
    assert data_digest(other.db, "b") == b_before
