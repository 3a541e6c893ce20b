"""Real file events on a real directory, changed the way editors and git change files."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.watch.changes import ChangeBatch, ProjectFilter, change_batches


class Watcher:
    def __init__(self, root: Path, ignored: tuple[Path, ...] = ()) -> None:
        self.batches: queue.Queue[ChangeBatch] = queue.Queue()
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(root, ignored), daemon=True)
        self.thread.start()
        time.sleep(0.3)  # let the OS watch be registered before the test writes

    def _run(self, root: Path, ignored: tuple[Path, ...]) -> None:
        for batch in change_batches(root, ignored=ignored, stop=self.stop):
            self.batches.put(batch)

    def next(self, timeout: float = 10) -> ChangeBatch:
        return self.batches.get(timeout=timeout)

    def quiet_for(self, seconds: float) -> bool:
        try:
            self.batches.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for d in ("src", "include", "_build/default/lib/app/ebin", ".git"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "src" / "a.erl").write_text("-module(a).\n")
    (tmp_path / "rebar.config").write_text("{erl_opts, []}.\n")
    return tmp_path


@pytest.fixture
def watcher(project: Path) -> Iterator[Watcher]:
    w = Watcher(project, ignored=(project / ".cache",))
    yield w
    w.close()


def test_a_plain_write_is_one_batch_naming_the_file(project: Path, watcher: Watcher) -> None:
    (project / "src" / "a.erl").write_text("-module(a).\n-export([]).\n")
    assert watcher.next().paths == {project / "src" / "a.erl"}


def test_an_atomic_save_through_a_temporary_file_names_only_the_target(
    project: Path, watcher: Watcher
) -> None:
    tmp = project / "src" / "a.erl___jb_tmp___"
    tmp.write_text("-module(a).\n% saved\n")
    os.replace(tmp, project / "src" / "a.erl")
    (project / "src" / ".a.erl.swp").write_text("vim swap")
    (project / "src" / "a.erl~").write_text("backup")
    (project / "src" / "4913").write_text("")
    assert watcher.next().paths == {project / "src" / "a.erl"}
    assert watcher.quiet_for(0.5)


def test_build_output_vcs_and_the_cache_are_ignored(project: Path, watcher: Watcher) -> None:
    (project / "_build" / "default" / "lib" / "app" / "ebin" / "x.erl").write_text("")
    (project / ".git" / "x.hrl").write_text("")
    (project / ".cache").mkdir()
    (project / ".cache" / "y.erl").write_text("")
    (project / "notes.txt").write_text("not Erlang")
    assert watcher.quiet_for(0.6)
    (project / "include" / "h.hrl").write_text("-define(X, 1).\n")
    assert watcher.next().paths == {project / "include" / "h.hrl"}


def test_new_deleted_and_renamed_files_and_config_changes_are_reported(
    project: Path, watcher: Watcher
) -> None:
    (project / "src" / "b.erl").write_text("-module(b).\n")
    assert watcher.next().paths == {project / "src" / "b.erl"}
    os.rename(project / "src" / "b.erl", project / "src" / "c.erl")
    assert watcher.next().paths == {project / "src" / "b.erl", project / "src" / "c.erl"}
    (project / "src" / "c.erl").unlink()
    assert watcher.next().paths == {project / "src" / "c.erl"}
    (project / "rebar.config").write_text("{erl_opts, [debug_info]}.\n")
    assert watcher.next().paths == {project / "rebar.config"}


def test_a_directory_moved_into_the_project_is_reported(
    project: Path, watcher: Watcher, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "lib"
    outside.mkdir()
    (outside / "moved.erl").write_text("-module(moved).\n")
    os.rename(outside, project / "src" / "lib")
    assert project / "src" / "lib" in watcher.next().paths


def test_a_burst_like_a_checkout_is_one_batch(project: Path, watcher: Watcher) -> None:
    written = set()
    for i in range(200):
        path = project / "src" / f"m{i}.erl"
        path.write_text(f"-module(m{i}).\n")
        written.add(path)
    assert watcher.next().paths == written


def test_the_filter_keeps_only_relevant_project_files(tmp_path: Path) -> None:
    f = ProjectFilter(tmp_path)
    assert f.is_relevant(tmp_path / "apps" / "x" / "src" / "x.app.src")
    assert f.is_relevant(tmp_path / "rebar.config")
    assert not f.is_relevant(tmp_path / "src" / "#a.erl#")
    assert not f.is_relevant(tmp_path / "src" / ".#a.erl")
    assert not f.is_relevant(tmp_path.parent / "elsewhere.erl")
    assert not f.is_relevant(tmp_path / "apps" / "x" / "_build" / "y.erl")


def test_data_files_and_outside_headers_are_relevant(tmp_path: Path) -> None:
    root, shared = tmp_path / "proj", tmp_path / "shared"
    root.mkdir()
    shared.mkdir()
    f = ProjectFilter(root, is_data=lambda rel: rel.startswith("test/fixtures/"),
                      header_dirs=(shared,))
    assert f.is_relevant(root / "test" / "fixtures" / "order.json")
    assert not f.is_relevant(root / "docs" / "notes.txt")
    assert not f.is_relevant(root / "test" / "fixtures" / "order.json~")
    assert f.is_relevant(shared / "defs.hrl")
    assert not f.is_relevant(shared / "nested" / "defs.hrl")
    assert not f.is_relevant(shared / "defs.erl")


def test_a_changed_header_outside_the_project_is_reported(tmp_path: Path) -> None:
    root, shared = tmp_path / "proj", tmp_path / "shared"
    (root / "src").mkdir(parents=True)
    shared.mkdir()
    header = shared / "defs.hrl"
    header.write_text("-define(X, 1).\n")
    batches: queue.Queue[ChangeBatch] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        for batch in change_batches(root, header_dirs=(shared,), stop=stop):
            batches.put(batch)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.3)
    try:
        header.write_text("-define(X, 2).\n")
        assert header in batches.get(timeout=10).paths
    finally:
        stop.set()
        thread.join(5)
