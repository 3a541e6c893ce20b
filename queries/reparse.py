"""Parsing a file again after an edit, from the tree of its previous text.

tree-sitter re-parses incrementally: told which bytes changed, it reuses the
subtrees the change does not touch, so re-parsing a 2000-line module after a
keystroke costs a millisecond instead of twenty. A :class:`RecentTrees` keeps
the last tree of the few files parsed most recently, with the bytes it was
parsed from; the edit is whatever differs between those bytes and the new
ones (the common prefix and suffix are unchanged).

Only error-free trees are kept and only an error-free result is taken: how
the parser recovers from a syntax error can depend on which old subtrees it
reuses, so a text with an error is parsed again from scratch, exactly as a
first parse would. While an edit leaves an error, the next one starts from the
last error-free tree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from tree_sitter import Parser, Point, Tree

# Trees are large (50 to 150 times their source): keep a few files' worth, the
# ones being edited. A file larger than the whole budget is not kept.
CAPACITY = 8
SOURCE_BUDGET = 256 * 1024  # bytes of source, over all the trees kept


def common_prefix(a: bytes, b: bytes) -> int:
    """The length of the longest common prefix of ``a`` and ``b``."""
    low, high = 0, min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    while low < high:  # a[:low] == b[:low] and a[:high] != b[:high]
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """The length of the longest common suffix of ``a`` and ``b``, at most ``limit``."""
    low, high = 0, limit
    if a[len(a) - high :] == b[len(b) - high :]:
        return high
    while low < high:  # the last ``low`` bytes agree, the last ``high`` do not
        middle = (low + high + 1) // 2
        if a[len(a) - middle : len(a) - low] == b[len(b) - middle : len(b) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _point(data: bytes, offset: int) -> Point:
    row = data.count(b"\n", 0, offset)
    return Point(row, offset - (data.rfind(b"\n", 0, offset) + 1))


class RecentTrees:
    """The last syntax tree of the most recently parsed files, by path."""

    def __init__(self, capacity: int = CAPACITY, budget: int = SOURCE_BUDGET) -> None:
        self.capacity = capacity
        self.budget = budget
        self._lock = threading.Lock()
        self._trees: OrderedDict[str, tuple[bytes, Tree]] = OrderedDict()
        self._kept = 0  # bytes of source of the trees kept

    def parse(self, parser: Parser, path: str, source: bytes) -> Tree | None:
        """``source`` parsed from the previous tree of ``path``, or None when there is
        no previous tree or the result has a syntax error (then parse from scratch)."""
        with self._lock:
            entry = self._trees.get(path)
        if entry is None:
            return None
        old, tree = entry
        if old == source:
            return tree
        start = common_prefix(old, source)
        same_end = common_suffix(old, source, min(len(old), len(source)) - start)
        old_end, new_end = len(old) - same_end, len(source) - same_end
        edited = tree.copy()
        edited.edit(
            start_byte=start,
            old_end_byte=old_end,
            new_end_byte=new_end,
            start_point=_point(source, start),
            old_end_point=_point(old, old_end),
            new_end_point=_point(source, new_end),
        )
        result = parser.parse(source, edited)
        return None if result.root_node.has_error else result

    def keep(self, path: str, source: bytes, tree: Tree) -> None:
        with self._lock:
            old = self._trees.pop(path, None)
            if old is not None:
                self._kept -= len(old[0])
            if len(source) > self.budget:
                return
            self._trees[path] = (source, tree)
            self._kept += len(source)
            while len(self._trees) > self.capacity or self._kept > self.budget:
                _, (dropped, _) = self._trees.popitem(last=False)
                self._kept -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()
            self._kept = 0
