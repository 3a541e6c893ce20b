"""Everything ``holo check`` reports for a whole project, as one query over the per-module ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.diagnostics import Diagnostic
from holo.engine import query, record
from holo.inputs import project_model, workspace_files
from holo.queries import codes
from holo.queries.item_tree import item_tree, syntax_diagnostics
from holo.queries.items import unpack
from holo.queries.module_diagnostics import module_diagnostics
from holo.queries.project_index import file_app_of, module_files, module_index
from holo.queries.source import Range


@record("holo.ProjectDiagnostics")
@dataclass(frozen=True)
class ProjectDiagnostics:
    modules: int  # modules checked (the project's own, not its dependencies')
    diagnostics: tuple[Diagnostic, ...]


def profile_of(is_test: bool) -> str:
    """Test code (test dirs, extra_src_dirs) is checked as rebar3's test profile compiles it."""
    return "test" if is_test else "default"


@query
def project_diagnostics(db: Any) -> ProjectDiagnostics:
    """The project model's diagnostics, every own module's, and its own headers' syntax errors."""
    model = project_model(db)
    found: list[Diagnostic] = list(model.diagnostics)
    checked = 0
    for entry in module_index(db):
        if entry.is_dependency:
            continue
        checked += 1
        found.extend(module_diagnostics(db, entry.path, profile_of(entry.is_test)))
    chosen = {entry.module: entry.path for entry in module_index(db)}
    for entry in module_files(db):
        if not entry.is_dependency and chosen.get(entry.module) != entry.path:
            found.append(
                codes.diagnostic(
                    entry.path,
                    _module_attribute(db, entry.path),
                    codes.DUPLICATE_MODULE,
                    f"module {entry.module} is also defined in {chosen[entry.module]}: "
                    "rename one (rebar3 refuses to build duplicate modules)",
                )
            )
    for path in workspace_files(db):
        if path.endswith(".hrl"):
            app = file_app_of(model, path)
            if app is None or not app.is_dependency:
                found.extend(syntax_diagnostics(db, path))
    return ProjectDiagnostics(checked, codes.sorted_unique(found))


def _module_attribute(db: Any, path: str) -> Range:
    """Where the file's ``-module`` is; the start of the file when it has none."""
    tree = item_tree(db, path)
    for attr in tree.attributes if tree is not None else ():
        if attr.kind == "module":
            return unpack(attr.range)
    return (0, 0, 0, 0)
