"""Small queries the language server asks about a file: its profile, what it sees, its module.

They read only inputs and holo.queries, so they are memoised like any other
query and recomputed only when what they read changes.
"""

from __future__ import annotations

import posixpath
from typing import Any

from holo.engine import query
from holo.inputs import external_module, otp_info, project_model
from holo.queries.item_tree import item_tree
from holo.queries.items import unpack
from holo.queries.project_check import profile_of
from holo.queries.project_index import module_index, module_path
from holo.queries.resolve import resolve
from holo.queries.source import Range

NOWHERE: Range = (0, 0, 0, 0)

# Larger documents are not analysed as they are typed (parsing one takes seconds, and
# one query runs at a time); OTP's largest source file is 0.7 MB.
MAX_ANALYSED_BYTES = 2 * 2**20


def _under(path: str, directory: str) -> bool:
    return directory in ("", ".") or path.startswith(directory.rstrip("/") + "/")


@query(name="lsp_profile")
def file_profile(db: Any, path: str) -> str:
    """The profile holo checks ``path`` with: "test" for test code, else "default"."""
    for entry in module_index(db):
        if entry.path == path:
            return profile_of(entry.is_test)
    tests = (d for app in project_model(db).apps for d in app.test_dirs)
    return profile_of(any(_under(path, d) for d in tests))


@query(name="lsp_visible_files")
def visible_files(db: Any, path: str) -> tuple[str, ...]:
    """``path`` and every header it includes (transitively), in order of inclusion."""
    resolved = resolve(db, path, file_profile(db, path))
    if resolved is None:
        return ()
    return (path, *resolved.includes)


@query(name="lsp_module_name")
def module_name(db: Any, path: str) -> str | None:
    """The module a file defines: its ``-module`` attribute, else its file name's stem."""
    if not path.endswith(".erl"):
        return None
    resolved = resolve(db, path, file_profile(db, path))
    if resolved is not None and resolved.module is not None:
        return resolved.module
    return posixpath.basename(path)[:-4]


@query(name="lsp_module_site")
def module_site(db: Any, module: str) -> tuple[str, Range] | None:
    """Where a project module is defined: its file and its ``-module`` attribute."""
    path = module_path(db, module)
    if path is None:
        return None
    tree = item_tree(db, path)
    attributes = tree.attributes_of("module") if tree is not None else []
    return path, unpack(attributes[0].range) if attributes else NOWHERE


@query(name="lsp_otp_source")
def otp_source(db: Any, module: str) -> str | None:
    """The conventional path of an OTP module's source (``<lib dir>/src/<module>.erl``).

    holo does not read OTP's sources into the graph; the server opens the
    file itself when it needs a position in it.
    """
    found = external_module(db, module)
    if found is None:
        return None
    for app, directory in otp_info(db).lib_dirs:
        if app == found.app:
            return posixpath.join(directory, "src", f"{module}.erl")
    return None
