"""The ``item_tree`` query: each file's declarations, persisted across runs."""

from __future__ import annotations

from typing import Any

from holo.diagnostics import Diagnostic
from holo.inputs import file_text
from holo.queries import codes
from holo.queries.items import ItemTree, unpack
from holo.queries.lower import lower
from holo.queries.lowered_forms import LoweredForms
from holo.queries.reparse import RecentTrees
from holo.queries.stored import stored
from holo.queries.syntax import ParsedFile

# Per process, so an edit re-parses and re-lowers only what it changed: the
# files' last syntax trees, and the forms lowered recently.
RECENT_TREES = RecentTrees()
LOWERED_FORMS = LoweredForms()


@stored(version=3)
def item_tree(db: Any, path: str) -> ItemTree | None:
    """What ``path`` (an .erl or .hrl file) declares; None when there is no such file."""
    raw = file_text(db, path)
    if raw is None:
        return None
    return lower(ParsedFile(path, raw, RECENT_TREES), LOWERED_FORMS)


@stored(version=1)
def syntax_diagnostics(db: Any, path: str) -> tuple[Diagnostic, ...]:
    """Encoding problems and syntax errors: every ERROR and MISSING node, with its position."""
    tree = item_tree(db, path)
    if tree is None:
        return ()
    return codes.sorted_unique(
        [
            codes.diagnostic(path, unpack(where), code, message)
            for code, where, message in tree.syntax
        ]
    )
