"""File events from watchfiles, filtered to what matters to an Erlang project and batched.

A batch holds the events up to a pause of ``step_ms``: an editor's atomic save
(write a temporary file, rename it over the original) is one. The watch loop
(holo.watch.loop) puts the batches of a longer burst together (a formatter
touching ten files, a `git checkout` touching five hundred). A batch says which
paths may have changed; the Workspace re-reads them and decides what really did.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import watchfiles

# Files whose change can change a build: sources, headers, and the configuration
# the project model is read from.
RELEVANT_SUFFIXES = (".erl", ".hrl", ".app.src")
RELEVANT_NAMES = frozenset(
    {"rebar.config", "rebar.config.script", "rebar.lock", "erlang.mk", "Makefile"}
)

IGNORED_DIRS = frozenset({"_build", ".git", ".hg", ".svn", "node_modules", ".venv", ".holo"})

# Editors' swap, backup, lock and temporary files.
EDITOR_DEBRIS = re.compile(
    r"""(
        ^\.\#              # emacs lock files
      | ^\#.*\#$           # emacs auto-save
      | ~$                 # backups of many editors
      | \.sw[a-p]$         # vim swap files
      | ^4913$             # vim's write-permission probe
      | ___jb_\w+___$      # JetBrains safe-write temporaries
      | \.kate-swp$
      | \.(tmp|bak|orig)$
    )""",
    re.VERBOSE,
)

# A burst ends when no new event arrives for STEP_MS; no batch waits longer than DEBOUNCE_MS.
STEP_MS = 50
DEBOUNCE_MS = 1600


@dataclass(frozen=True)
class ChangeBatch:
    paths: frozenset[Path]  # absolute; added, modified and deleted alike

    def __len__(self) -> int:
        return len(self.paths)


class ProjectFilter:
    """watchfiles filter: the project's relevant files, minus build output, VCS, editor debris.

    Relevant: sources, headers and configuration under the root; the data files
    tests read (``is_data``, asked of a project-relative path: fixtures under
    test/, priv/ files); and the headers directly in ``header_dirs``, include
    directories outside the project whose headers are inputs too.
    """

    def __init__(
        self,
        root: Path,
        ignored: tuple[Path, ...] = (),
        *,
        is_data: Callable[[str], bool] | None = None,
        header_dirs: tuple[Path, ...] = (),
    ) -> None:
        self.root = root.resolve()
        self.ignored = tuple(p.resolve() for p in ignored)
        self.is_data = is_data
        self.header_dirs = tuple(p.resolve() for p in header_dirs)

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        return self.is_relevant(Path(path))

    def is_relevant(self, path: Path) -> bool:
        name = path.name
        if EDITOR_DEBRIS.search(name):
            return False
        if name.endswith(".hrl") and path.parent in self.header_dirs:
            return True
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return False
        if any(part in IGNORED_DIRS for part in relative.parts[:-1]):
            return False
        if any(path == p or p in path.parents for p in self.ignored):
            return False
        # A directory moved in or out holds sources too; a deleted one can only
        # be told by its lack of a suffix. The Workspace sorts out the rest.
        maybe_directory = "." not in name and not path.is_file()
        if name in RELEVANT_NAMES or name.endswith(RELEVANT_SUFFIXES) or maybe_directory:
            return True
        return self.is_data is not None and self.is_data(relative.as_posix())


def change_batches(
    root: Path,
    *,
    ignored: tuple[Path, ...] = (),
    is_data: Callable[[str], bool] | None = None,
    header_dirs: tuple[Path, ...] = (),
    stop: threading.Event | None = None,
    step_ms: int = STEP_MS,
    debounce_ms: int = DEBOUNCE_MS,
) -> Iterator[ChangeBatch]:
    """Yield one batch per burst of relevant changes under root (and in ``header_dirs``,
    not recursively), until ``stop`` is set."""
    header_dirs = tuple(d for d in header_dirs if d.is_dir())
    project_filter = ProjectFilter(root, ignored, is_data=is_data, header_dirs=header_dirs)
    for changes in watchfiles.watch(
        root,
        *header_dirs,
        watch_filter=project_filter,
        step=step_ms,
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
        rust_timeout=500,
        yield_on_timeout=False,
    ):
        paths = frozenset(Path(p) for _, p in changes)
        if paths:
            yield ChangeBatch(paths)
