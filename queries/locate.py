"""From references (file, form kind, index, part) back to ranges in item trees."""

from __future__ import annotations

import logging
from typing import Any

from holo.diagnostics import Diagnostic
from holo.queries import codes
from holo.queries.item_tree import item_tree
from holo.queries.items import ItemTree, unpack
from holo.queries.resolve import Problem
from holo.queries.source import Range

log = logging.getLogger(__name__)

_KIND_FIELD = {
    "clause": "clauses",
    "define": "defines",
    "undef": "undefs",
    "cond": "conditionals",
    "include": "includes",
    "record": "records",
    "attr": "attributes",
}


def locate(
    tree: ItemTree, kind: str, index: int, part: str, sub: int = -1, sub2: int = -1
) -> Range:
    """The range of part of a form (see :class:`holo.queries.resolve.Problem`)."""
    form: Any = getattr(tree, _KIND_FIELD[kind])[index]
    if part == "head":
        return unpack(form.head)
    if part == "macro":
        return unpack(form.refs.macro_uses[sub][2])
    if part == "record":
        return unpack(form.refs.record_uses[sub][1])
    if part == "field":
        return unpack(form.refs.record_uses[sub][2][sub2][1])
    if part == "entry":
        return unpack(form.entries[sub][2])
    if part == "local":
        return unpack(form.refs.local_calls[sub][2])
    if part == "remote":
        return unpack(form.refs.remote_calls[sub][4])
    if part == "unbound":
        return unpack(form.unbound[sub][1])
    return unpack(form.range)


class Trees:
    """The item trees a check reads, fetched once each."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._trees: dict[str, ItemTree | None] = {}

    def get(self, path: str) -> ItemTree | None:
        if path not in self._trees:
            self._trees[path] = item_tree(self.db, path)
        return self._trees[path]

    def at(
        self, path: str, kind: str, index: int, part: str, sub: int = -1, sub2: int = -1
    ) -> Range:
        tree = self.get(path)
        try:
            if tree is None:
                raise LookupError(f"{path} has no item tree")
            return locate(tree, kind, index, part, sub, sub2)
        except (LookupError, AttributeError) as e:
            # The diagnostic still reaches the user, at the start of the file;
            # a reference that does not match its tree is a bug of holo's.
            log.warning(
                "bad reference %s %s[%d].%s(%d, %d): %s; reported at 1:1",
                path,
                kind,
                index,
                part,
                sub,
                sub2,
                e,
            )
            return (0, 0, 0, 0)

    def problem(self, problem: Problem) -> Diagnostic:
        where = self.at(
            problem.file, problem.kind, problem.index, problem.part, problem.sub, problem.sub2
        )
        return codes.diagnostic(problem.file, where, problem.code, problem.message)
