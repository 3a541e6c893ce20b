"""Where things are in the project: modules by name, and the app a file belongs to.

Computed from the ``workspace_files`` and ``project_model`` inputs only, never
from file contents: a module's name is its file's stem, as erlc requires.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from holo.engine import query, record
from holo.inputs import AppModel, ErlOpts, MacroOption, ProjectModel, project_model, workspace_files

PROFILES = ("default", "test")


def _under(path: str, directory: str) -> bool:
    if directory in ("", "."):
        return True
    return path.startswith(directory.rstrip("/") + "/")


def _source_dirs(app: AppModel) -> tuple[str, ...]:
    return (*app.src_dirs, *app.test_dirs)


@record("holo.ModuleFile")
@dataclass(frozen=True)
class ModuleFile:
    module: str
    path: str
    app: str
    # Test code, compiled with the "test" profile only: under a test dir or an
    # extra_src_dir, or in a dependency fetched for the test profile alone.
    is_test: bool
    is_dependency: bool

    def in_profile(self, profile: str) -> bool:
        """Whether code compiled with ``profile`` sees this module."""
        return profile == "test" or not self.is_test


@query
def module_files(db: Any) -> tuple[ModuleFile, ...]:
    """Every module file of the project and its dependencies, by path."""
    model = project_model(db)
    found: list[ModuleFile] = []
    for path in workspace_files(db):
        if not path.endswith(".erl"):
            continue
        classified = _classify(model, path)
        if classified is None:
            continue
        app, is_test = classified
        is_test = is_test or (app is not None and not app.in_profile("default"))
        module = posixpath.basename(path)[:-4]
        is_dependency = bool(app and app.is_dependency)
        found.append(ModuleFile(module, path, app.name if app else "", is_test, is_dependency))
    return tuple(found)


@query
def module_index(db: Any) -> tuple[ModuleFile, ...]:
    """Every module of the project and its dependencies, sorted by module name.

    A module found twice (two apps, or src and test) is listed once: the
    project's own file wins over a dependency's, then the first path in order.
    """
    chosen: dict[str, ModuleFile] = {}
    for entry in module_files(db):
        old = chosen.get(entry.module)
        if old is None or (old.is_dependency and not entry.is_dependency):
            chosen[entry.module] = entry
    return tuple(chosen[m] for m in sorted(chosen))


def _classify(model: ProjectModel, path: str) -> tuple[AppModel | None, bool] | None:
    """The app of a module file and whether it is test code: the most specific directory wins."""
    best: tuple[AppModel | None, bool] | None = None
    best_length = -1
    candidates: list[tuple[AppModel | None, bool, str]] = []
    for app in model.apps:
        candidates.extend((app, False, d) for d in app.src_dirs)
        candidates.extend((app, True, d) for d in app.test_dirs)
    candidates.extend((None, True, d) for d in model.extra_src_dirs)
    for app, is_test, directory in candidates:
        if not _under(path, directory):
            continue
        if directory in ("", ".") and "/" in path[len(app.dir) + 1 if app and app.dir else 0 :]:
            continue  # a root source dir holds the files at its top only
        length = len(directory)
        if length > best_length:
            best, best_length = (app or file_app_of(model, path), is_test), length
    return best


def file_app_of(model: ProjectModel, path: str) -> AppModel | None:
    """The app whose directories hold ``path`` (the most specific one), if any."""
    best: AppModel | None = None
    best_length = -1
    for app in model.apps:
        for directory in (app.dir, *_source_dirs(app), *app.include_dirs):
            if _under(path, directory):
                length = 0 if directory in ("", ".") else len(directory)
                if length > best_length:
                    best, best_length = app, length
    return best


@query
def module_path(db: Any, module: str) -> str | None:
    """The file of a project (or dependency) module; None if the project has no such module."""
    for entry in module_index(db):
        if entry.module == module:
            return entry.path
    return None


@query
def module_file(db: Any, module: str) -> ModuleFile | None:
    for entry in module_index(db):
        if entry.module == module:
            return entry
    return None


@query
def profile_module_path(db: Any, module: str, profile: str) -> str | None:
    """:func:`module_path` as code compiled with ``profile`` sees it: the default
    profile sees no test code (test dirs, extra_src_dirs, test-only dependencies)."""
    entry = module_file(db, module)
    return entry.path if entry is not None and entry.in_profile(profile) else None


@record("holo.CompileEnv")
@dataclass(frozen=True)
class CompileEnv:
    """How a file is compiled: what erlc would be told for it, per profile."""

    app: str | None
    app_dir: str | None
    include_dirs: tuple[str, ...]  # searched after the including file's own directory
    macros: tuple[MacroOption, ...]
    parse_transforms: tuple[str, ...]
    warnings: tuple[str, ...]  # warn_*/nowarn_*/warnings_as_errors and export_all, from erl_opts
    # {nowarn_unused_function, [{F, A}, ...]} in erl_opts: not reported as unused, sorted
    nowarn_unused: tuple[tuple[str, int], ...] = ()
    # The erl_opts list handed to OTP's compiler, as Erlang source text: the
    # app's, with the profile's merged in.
    erl_opts: str = "[]"
    # The macros of that list ({d, ...}): they reach the compiler through its text.
    erl_opts_macros: tuple[str, ...] = ()
    # (app name, app dir) of the apps -include_lib reaches with this profile,
    # sorted: a dependency fetched for the test profile alone is not there for "default".
    lib_dirs: tuple[tuple[str, str], ...] = ()


# erl_opts flags that change what holo itself reports, besides warn_*/nowarn_*.
_REPORTED_FLAGS = ("export_all",)


def _app_options(model: ProjectModel, app: AppModel | None, profile: str) -> tuple[ErlOpts, ...]:
    """The erl_opts a file is compiled with: its app's (a project app's already hold the
    top-level ones), or the top-level ones for a file outside any app.

    The project's top-level options do not reach a dependency, as with rebar3.
    """
    if app is None:
        return (model.erl_opts_for(profile),)
    if app.is_dependency:
        return (app.erl_opts_for(profile),)
    return (model.erl_opts_for(profile), app.erl_opts_for(profile))


def _merged(
    *opts: ErlOpts,
) -> tuple[tuple[str, ...], tuple[MacroOption, ...], tuple[str, ...], tuple[str, ...]]:
    include_dirs: list[str] = []
    macros: dict[str, MacroOption] = {}
    transforms: list[str] = []
    warnings: list[str] = []
    for o in opts:
        include_dirs.extend(d for d in o.include_dirs if d not in include_dirs)
        for m in o.macros:
            macros[m.name] = m
        transforms.extend(t for t in o.parse_transforms if t not in transforms)
        warnings.extend(w for w in o.warnings if w not in warnings)
        warnings.extend(f for f in o.flags if f in _REPORTED_FLAGS and f not in warnings)
    return tuple(include_dirs), tuple(macros.values()), tuple(transforms), tuple(warnings)


@query
def compile_env(db: Any, path: str, profile: str) -> CompileEnv:
    """The include path, macros and options erlc would compile ``path`` with.

    The include path is the app's include dirs, erl_opts ``{i, Dir}``, the app
    directory and the project root (rebar3 passes the last two as well).
    The "test" profile compiles with the test profile's erl_opts merged into
    the default ones (see :class:`holo.inputs.AppModel`), and defines ``TEST``
    as rebar3's does.
    """
    model = project_model(db)
    app = file_app_of(model, path)
    options = _app_options(model, app, profile)
    dirs, macros, transforms, warnings = _merged(*options)
    compiled = options[-1]
    include_dirs: list[str] = []
    if app is not None:
        include_dirs.extend(app.include_dirs)
    include_dirs.extend(d for d in dirs if d not in include_dirs)
    if app is not None and app.dir not in include_dirs:
        include_dirs.append(app.dir)
    if "" not in include_dirs:
        include_dirs.append("")
    if profile == "test" and not any(m.name == "TEST" for m in macros):
        macros = (*macros, MacroOption("TEST", None))
    return CompileEnv(
        app.name if app is not None else None,
        app.dir if app is not None else None,
        tuple(include_dirs),
        macros,
        transforms,
        warnings,
        nowarn_unused=tuple(sorted({fa for o in options for fa in o.nowarn_unused})),
        erl_opts=compiled.source,
        erl_opts_macros=tuple(m.name for m in compiled.macros),
        lib_dirs=tuple(sorted((a.name, a.dir) for a in model.apps if a.in_profile(profile))),
    )


@query
def app_dirs(db: Any) -> tuple[tuple[str, str], ...]:
    """(app name, app directory) of the project's apps and dependencies, for include_lib."""
    return tuple((app.name, app.dir) for app in project_model(db).apps)
