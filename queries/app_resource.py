"""The `.app` resource file of an application, from its `.app.src` and its modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from holo.diagnostics import Diagnostic, Severity
from holo.engine import query, record
from holo.inputs import AppModel, file_text, project_model, workspace_files
from holo.project.erlang_terms import Atom, TermSyntaxError, consult, format_term

# rebar3 fills `{vsn, git}` from `git describe`; holo does not read the
# repository from a query, so a non-string version is written as this.
UNVERSIONED = "0.0.0+holo"


@record("holo.AppResource")
@dataclass(frozen=True)
class AppResource:
    app: str
    text: bytes | None  # the .app file's bytes; None when the .app.src is unusable
    diagnostics: tuple[Diagnostic, ...]


def app_modules(app: AppModel, files: tuple[str, ...]) -> tuple[str, ...]:
    """Module names of an application's source (not test) directories and their subdirectories."""
    modules = set()
    for path in files:
        p = PurePosixPath(path)
        if p.suffix == ".erl" and any(_within(p, d) for d in app.src_dirs):
            modules.add(p.stem)
    return tuple(sorted(modules))


def _within(path: PurePosixPath, directory: str) -> bool:
    return directory == "" or PurePosixPath(directory) in path.parents


def _find_app(name: str, apps: tuple[AppModel, ...]) -> AppModel | None:
    return next((a for a in apps if a.name == name), None)


def _is_property(term: object, name: str) -> bool:
    return isinstance(term, tuple) and len(term) == 2 and term[0] == Atom(name)


def _app_term(terms: list[object]) -> tuple[object, list[object]] | None:
    """(Name, Properties) of `{application, Name, [Properties]}.`, or None."""
    if len(terms) != 1:
        return None
    term = terms[0]
    if (
        isinstance(term, tuple)
        and len(term) == 3
        and term[0] == Atom("application")
        and isinstance(term[2], list)
    ):
        return term[1], term[2]
    return None


@query(name="app_resource")
def app_resource(db: object, app_name: str) -> AppResource:
    app = _find_app(app_name, project_model(db).apps)
    if app is None or app.app_src is None:
        return AppResource(app_name, None, ())
    raw = file_text(db, app.app_src)
    if raw is None:
        return AppResource(app_name, None, ())
    try:
        parsed = _app_term(consult(raw))
    except TermSyntaxError as e:
        message = f"this .app.src does not parse: {e.message}"
        problem = _problem(app.app_src, e.line - 1, e.column - 1, message)
        return AppResource(app_name, None, (problem,))
    if parsed is None:
        message = "an .app.src holds one term: {application, Name, [Properties]}"
        return AppResource(app_name, None, (_problem(app.app_src, 0, 0, message),))
    name, props = parsed
    kept = [p for p in props if not _is_property(p, "modules")]
    kept = [
        (Atom("vsn"), UNVERSIONED) if _is_property(p, "vsn") and not isinstance(p[1], str) else p
        for p in kept
    ]
    modules = app_modules(app, workspace_files(db))
    kept.append((Atom("modules"), [Atom(m) for m in modules]))
    text = format_term((Atom("application"), name, kept)) + ".\n"
    return AppResource(app_name, text.encode("utf-8"), ())


def _problem(path: str, line: int, column: int, message: str) -> Diagnostic:
    return Diagnostic(
        path, line, column, line, column + 1, Severity.ERROR, "H0002", "holo", message
    )
