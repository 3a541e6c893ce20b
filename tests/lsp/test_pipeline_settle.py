"""A save waits for file changes the editor reported before it, not only for edits."""

from __future__ import annotations

import threading
from pathlib import Path

from holo.errors import UserError
from holo.lsp.pipeline import Pipeline


def _no_workspace() -> object:
    raise UserError("no workspace in this test")


def test_waiting_for_applied_changes_includes_files_changed_on_disk(tmp_path: Path) -> None:
    pipeline = Pipeline(_no_workspace, deliver=lambda result: None)  # type: ignore[arg-type]
    pipeline.start()
    try:
        pipeline.files_changed([tmp_path / "src" / "gone.erl"])  # never applied: no workspace
        waiter = threading.Thread(target=pipeline.wait_applied, kwargs={"timeout": 60})
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive(), "returned while a deletion was still to be applied"
    finally:
        pipeline.stop()
    waiter.join(10)
    assert not waiter.is_alive()
