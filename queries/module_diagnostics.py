"""Everything holo reports for one module file: syntax, local checks and the type checker."""

from __future__ import annotations

import posixpath
from typing import Any

from holo.diagnostics import Diagnostic
from holo.queries import codes
from holo.queries.item_tree import syntax_diagnostics
from holo.queries.local_checks import local_diagnostics
from holo.queries.project_index import module_path
from holo.queries.stored import stored
from holo.queries.typecheck import typecheck


@stored(version=1)
def module_diagnostics(db: Any, path: str, profile: str) -> tuple[Diagnostic, ...]:
    """All diagnostics of the module in ``path`` under ``profile``, sorted, each once.

    Diagnostics located in headers the module includes carry the header's path.
    """
    found = list(syntax_diagnostics(db, path))
    found.extend(local_diagnostics(db, path, profile))
    module = posixpath.basename(path).rsplit(".", 1)[0]
    if path.endswith(".erl") and module_path(db, module) == path:
        found.extend(typecheck(db, module, profile))
    return codes.sorted_unique(found)
