"""Headers in include directories outside the project and OTP: inputs, compile keys, bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.engine import Database, Durability, MemoryStore
from holo.inputs import OtpInfo, file_text
from holo.project.discover import discover
from holo.project.workspace import Workspace
from holo.queries.codegen import codegen, compile_job, compile_key
from holo.queries.resolve import resolve
from holo.session import Session

from .conftest import write_tree

HEADER = "-define(RATE, 3).\n-define(UNUSED, 1).\n"
MODULE = '-module(a).\n-export([rate/0]).\n-include("common.hrl").\nrate() -> ?RATE.\n'


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose erl_opts reach ../shared, and an absolute dir elsewhere."""
    shared = write_tree(tmp_path / "shared", {"common.hrl": HEADER, "notes.txt": ""})
    root = write_tree(
        tmp_path / "proj",
        {
            "rebar.config": '{erl_opts, [{i, "../shared"}]}.',
            "src/proj.app.src": "{application, proj, []}.",
            "src/a.erl": MODULE,
        },
    )
    return root, shared.resolve() / "common.hrl"


def durability_of(db: Database, key: str) -> Durability:
    return db._inputs[(file_text, (key,))].durability


def test_outside_include_dirs_are_absolute_in_the_model(tmp_path: Path) -> None:
    inside = (tmp_path.resolve() / "proj" / "inc").as_posix()  # absolute, but in the project
    config = f'{{erl_opts, [{{i, "../shared"}}, {{i, "/opt/inc"}}, {{i, "{inside}"}}]}}.'
    root = write_tree(tmp_path / "proj", {"rebar.config": config, "src/a.erl": "-module(a)."})
    opts = discover(root).model.erl_opts
    assert opts.include_dirs == ((tmp_path.resolve() / "shared").as_posix(), "/opt/inc", "inc")


def test_an_outside_header_is_an_input_and_its_macros_enter_the_compile_key(
    layout: tuple[Path, Path], otp: OtpInfo, otp_store: MemoryStore
) -> None:
    root, header = layout
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    db, key = ws.db, header.as_posix()
    assert ws.external_include_dirs == (header.parent,)
    assert file_text(db, key) == HEADER.encode()
    assert durability_of(db, key) == Durability.HIGH
    assert key not in ws.files  # not one of the project's own files
    assert resolve(db, "src/a.erl", "default").includes == (key,)
    before = compile_key(db, "src/a.erl", "default")

    header.write_text(HEADER.replace("UNUSED, 1", "UNUSED, 2"))
    assert ws.apply_changes([header]).changed_files == (key,)
    assert compile_key(db, "src/a.erl", "default") == before  # no function uses UNUSED

    header.write_text(HEADER.replace("RATE, 3", "RATE, 4"))
    assert ws.apply_changes([header]).changed_files == (key,)
    after = compile_key(db, "src/a.erl", "default")
    assert after != before
    # A command run later reads the header afresh and agrees.
    fresh = Workspace.open(root, Database(), store=otp_store, otp=otp)
    assert compile_key(fresh.db, "src/a.erl", "default") == after


def test_headers_added_to_or_removed_from_an_outside_dir(
    layout: tuple[Path, Path], otp: OtpInfo, otp_store: MemoryStore
) -> None:
    root, header = layout
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    extra = header.parent / "extra.hrl"
    extra.write_text("-define(E, 1).\n")
    assert ws.apply_changes([extra]).changed_files == (extra.as_posix(),)
    header.unlink()
    assert ws.apply_changes([header.parent]).changed_files == (header.as_posix(),)
    assert file_text(ws.db, header.as_posix()) is None
    assert not ws.apply_changes([header.parent.parent / "elsewhere.hrl"])  # in no include dir


@pytest.fixture
def session(layout: tuple[Path, Path], tmp_path: Path) -> Iterator[Session]:
    with Session(layout[0], tmp_path / "cache") as s:
        yield s


def test_the_compiler_reads_the_bytes_of_the_input_not_the_disk(
    session: Session, layout: tuple[Path, Path]
) -> None:
    _, header = layout
    db = session.db
    session.compiler  # noqa: B018 - registers the compiler service
    job = compile_job(db, "src/a.erl", "default")
    [(name, text)] = job.headers
    assert name == "_holo_external" + header.as_posix() and text == HEADER.encode()
    assert "_holo_external" + header.parent.as_posix() in job.include_dirs
    # A save the workspace has not been told of must not reach this compile.
    header.write_text("this is not erlang\n")
    result = codegen(db, "src/a.erl", "default")
    assert result.ok, result.diagnostics
    assert result.module == "a"
