"""From a directory to a :class:`holo.inputs.ProjectModel`: which apps, which dirs, which options.

Three layouts are recognised, in this order:

* **rebar3** -- a ``rebar.config``, or ``src/*.app.src`` without any build file.
  Project apps are found where rebar3 looks (``project_app_dirs``, default
  ``apps/*``, ``lib/*`` and the root); ``_checkouts/*`` are the user's own
  apps; dependencies already fetched into ``_build/default/lib/*`` are apps
  with ``is_dependency=True``, and those fetched for the test profile alone
  into ``_build/test/lib/*`` are dependency apps only the test profile sees
  (``profiles=("test",)``). Nothing else under ``_build`` is a source. The
  test profile's ``erl_opts`` (top-level and per app) are merged into the
  default ones as rebar3 merges them, and its ``extra_src_dirs`` join the
  default profile's (holo compiles both as test code).
* **erlang.mk** -- an ``erlang.mk`` file or a Makefile including it; deps in ``deps/*``.
* **plain** -- a directory of ``.erl`` files (at the top or in ``src/``).

Conventional directories (``src``, ``include``, ``test``) are listed even
when missing, so a file created there later belongs to the project. All paths
in the model are project-relative POSIX strings. Discovery never fails on a
broken configuration file: it reports a diagnostic and uses defaults.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from holo.diagnostics import Diagnostic
from holo.errors import UserError
from holo.inputs import AppModel, ErlOpts, HoloSettings, ProjectModel
from holo.project import data_files, erlang_mk
from holo.project.erlang_terms import Term
from holo.project.rebar_config import (
    ERL_OPTS,
    EXTRA_SRC_DIRS,
    PROJECT_APP_DIRS,
    SRC_DIRS,
    RebarConfig,
    app_name_from_app_src,
    apply_profile_erl_opts,
    dir_entries,
    erl_opts_model,
    holo_settings,
    join_rel,
    merge_erl_opts,
    profile_options,
    read_rebar_config,
    rebase_erl_opts,
)

SOURCE_SUFFIXES = (".erl", ".hrl")
DEPENDENCY_LIB = "_build/default/lib"
TEST_DEPENDENCY_LIB = "_build/test/lib"
_DEPENDENCY_LIBS = (DEPENDENCY_LIB, TEST_DEPENDENCY_LIB)
# Directories never entered while looking for sources.
_SKIPPED_DIRS = frozenset({"_build", "_checkouts", "deps", "node_modules"})


@dataclass(frozen=True)
class SourceRoot:
    """A directory whose .erl/.hrl files belong to the project."""

    dir: str  # project-relative; "" is the root
    recursive: bool
    suffixes: tuple[str, ...] = SOURCE_SUFFIXES

    def contains(self, rel: str) -> bool:
        if not rel.endswith(self.suffixes):
            return False
        parent = posixpath.dirname(rel)
        if parent == self.dir:
            return True
        if not self.recursive or not (self.dir == "" or parent.startswith(self.dir + "/")):
            return False
        inner = parent[len(self.dir) + 1 :] if self.dir else parent
        return not any(_skipped(part) for part in inner.split("/"))


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED_DIRS


@dataclass(frozen=True)
class DiscoveredProject:
    """A project on disk: its root, its model, and every source file it holds."""

    root: Path  # absolute
    model: ProjectModel
    files: tuple[str, ...]  # every .erl/.hrl in the source roots, project-relative, sorted
    source_roots: tuple[SourceRoot, ...] = field(default=(), repr=False)

    def rel(self, path: Path | str) -> str:
        """A path (absolute, or relative to the root) as a project-relative POSIX string."""
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            try:
                rel = Path(os.path.realpath(p)).relative_to(self.root)
            except ValueError:
                raise ValueError(f"{path} is outside the project at {self.root}") from None
        text = posixpath.normpath(rel.as_posix())
        if text == ".." or text.startswith("../"):
            raise ValueError(f"{path} is outside the project at {self.root}")
        return "" if text == "." else text

    def abs(self, rel: str) -> Path:
        """The absolute path of a project-relative one."""
        return self.root / rel

    def is_source(self, rel: str) -> bool:
        """Whether an .erl/.hrl at ``rel`` would be one of the project's files."""
        return any(root.contains(rel) for root in self.source_roots)

    @cached_property
    def app_src_files(self) -> tuple[str, ...]:
        """Every app's .app.src (the ``app_resource`` query reads their texts)."""
        return tuple(a.app_src for a in self.model.apps if a.app_src is not None)

    def is_tracked(self, rel: str) -> bool:
        """Whether the Workspace mirrors ``rel``'s text: a source file or an .app.src."""
        return self.is_source(rel) or rel in self.app_src_files

    def app_of(self, rel: str) -> AppModel | None:
        """The app whose directory holds ``rel`` (the innermost one)."""
        best: AppModel | None = None
        for app in self.model.apps:
            inside = app.dir == "" or rel == app.dir or rel.startswith(app.dir + "/")
            if inside and (best is None or len(app.dir) > len(best.dir)):
                best = app
        return best

    def data_app_of(self, rel: str) -> AppModel | None:
        """The app ``rel`` would be a data file of (holo.project.data_files), if any."""
        for app in self.model.apps:
            if data_files.is_data_path(app, rel, self.is_source):
                return app
        return None

    def is_data_file(self, rel: str) -> bool:
        """Whether a change to ``rel`` can change an app's ``app_data`` (the watcher's filter)."""
        return self.data_app_of(rel) is not None

    def is_dependency_file(self, rel: str) -> bool:
        app = self.app_of(rel)
        return app is not None and app.is_dependency

    def is_config(self, rel: str) -> bool:
        """Whether a change to ``rel`` can change the model (so discovery must run again)."""
        name = posixpath.basename(rel)
        parent = posixpath.dirname(rel)
        if rel.startswith("_build/"):
            lib = next((d for d in _DEPENDENCY_LIBS if rel.startswith(d + "/")), None)
            if lib is None:
                return False
            entry = rel[len(lib) + 1 :].split("/", 1)[0]
            own = {a.name for a in self.model.apps if not a.is_dependency}
            if _strip_version(entry) in own:
                return False  # rebar3's copy of one of the project's own apps
        if name.endswith((".app.src", ".app.src.script")):
            return True
        if name in ("rebar.config", "rebar.config.script"):
            return True
        if name in ("Makefile", "erlang.mk"):
            return parent == "" or any(app.dir == parent for app in self.model.apps)
        return False


# ------------------------------------------------------------------ helpers


def _list_dir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _has_files(path: Path, suffix: str) -> bool:
    return any(e.name.endswith(suffix) and not _is_dir(e) for e in _list_dir(path))


def _app_src(root: Path, app_dir: str, src_dirs: Iterable[str]) -> str | None:
    for src in src_dirs:
        for entry in _list_dir(root / src if src else root):
            if entry.name.endswith(".app.src") and not _is_dir(entry):
                return join_rel(src, entry.name)
    return None


def _strip_version(name: str) -> str:
    base, sep, version = name.rpartition("-")
    return base if sep and version[:1].isdigit() else name


def _scan(root: Path, source_roots: Iterable[SourceRoot]) -> tuple[str, ...]:
    found: set[str] = set()
    for source_root in source_roots:
        if source_root.dir.startswith("/") or source_root.dir.startswith(".."):
            continue  # outside the project
        _scan_dir(root, source_root.dir, source_root, found)
    return tuple(sorted(found))


def _scan_dir(root: Path, rel: str, source_root: SourceRoot, found: set[str]) -> None:
    for entry in _list_dir(root / rel if rel else root):
        child = f"{rel}/{entry.name}" if rel else entry.name
        if _is_dir(entry):
            if source_root.recursive and not _skipped(entry.name) and not entry.is_symlink():
                _scan_dir(root, child, source_root, found)
        elif entry.name.endswith(source_root.suffixes):
            found.add(child)


# ------------------------------------------------------------------ the apps


TEST_PROFILE = "test"


@dataclass
class _Context:
    root: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    extra_src_dirs: list[tuple[str, bool]] = field(default_factory=list)

    def erl_opts(self, terms: list[Term] | None, config_dir: str) -> list[Term]:
        return rebase_erl_opts(terms or [], config_dir, self.root)

    def add_extra_src_dirs(self, config: RebarConfig, config_dir: str) -> None:
        """The default profile's extra_src_dirs and the test profile's: both hold test code."""
        extras = config.list_option(EXTRA_SRC_DIRS, self.diagnostics) or []
        extras += profile_options(config, TEST_PROFILE, self.diagnostics).get(EXTRA_SRC_DIRS, [])
        for d, recursive in dir_entries(extras, default_recursive=False):
            self.extra_src_dirs.append((join_rel(config_dir, d), recursive))


def _test_erl_opts(ctx: _Context, configs: list[tuple[RebarConfig, str]]) -> list[Term] | None:
    """The test profile's erl_opts of these configs, outermost first (None when none sets them).

    rebar3 merges an app's profiles over the top-level ones option by option,
    erl_opts with the same rule as a profile's over the defaults.
    """
    merged: list[Term] | None = None
    for config, config_dir in configs:
        options = profile_options(config, TEST_PROFILE, ctx.diagnostics)
        if ERL_OPTS in options:
            terms = ctx.erl_opts(options[ERL_OPTS], config_dir)
            merged = apply_profile_erl_opts(merged or [], terms)
    return merged


def _profile_erl_opts(
    default: list[Term], test: list[Term] | None
) -> tuple[tuple[str, ErlOpts], ...]:
    if test is None:
        return ()
    return ((TEST_PROFILE, erl_opts_model(apply_profile_erl_opts(default, test))),)


def _rebar_app(
    ctx: _Context,
    app_dir: str,
    top: RebarConfig | None,
    is_dependency: bool,
    fallback_name: str,
    profiles: tuple[str, ...] = ("default", TEST_PROFILE),
) -> AppModel:
    """An app in ``app_dir`` with its own rebar.config (if any) over the top-level one.

    A dependency is compiled as it is fetched: its own default profile, no other.
    """
    own = (
        read_rebar_config(ctx.root, join_rel(app_dir, "rebar.config"), ctx.diagnostics)
        if top is None or app_dir != ""
        else top
    )
    own_opts = ctx.erl_opts(own.list_option(ERL_OPTS, ctx.diagnostics), app_dir)
    if top is not None and own is not top:
        top_opts = ctx.erl_opts(top.list_option(ERL_OPTS, ctx.diagnostics), "")
        opts = merge_erl_opts(own_opts, top_opts)
    else:
        opts = own_opts
    src_option = own.list_option(SRC_DIRS, ctx.diagnostics)
    if src_option is None and top is not None and own is not top:
        src_option = top.list_option(SRC_DIRS, ctx.diagnostics)
    src_entries = dir_entries(src_option, default_recursive=True) if src_option else []
    src_dirs = [join_rel(app_dir, d) for d, _ in src_entries] or [join_rel(app_dir, "src")]
    if not is_dependency and (own is not top or app_dir == ""):
        ctx.add_extra_src_dirs(own, app_dir)
    configs = [(own, app_dir)]
    if top is not None and own is not top:
        configs.insert(0, (top, ""))
    test_opts = None if is_dependency else _test_erl_opts(ctx, configs)
    app_src = _app_src(ctx.root, app_dir, src_dirs)
    name = app_name_from_app_src(ctx.root, app_src) if app_src else fallback_name
    return AppModel(
        name=name,
        dir=app_dir,
        src_dirs=tuple(src_dirs),
        include_dirs=(join_rel(app_dir, "include"),),
        test_dirs=() if is_dependency else (join_rel(app_dir, "test"),),
        app_src=app_src,
        is_dependency=is_dependency,
        erl_opts=erl_opts_model(opts),
        profile_erl_opts=_profile_erl_opts(opts, test_opts),
        profiles=profiles,
    )


def _looks_like_app(root: Path, app_dir: str) -> bool:
    src = root / app_dir / "src"
    return _has_files(src, ".app.src") or _has_files(src, ".erl")


def _project_app_dirs(ctx: _Context, top: RebarConfig) -> list[str]:
    patterns = top.list_option(PROJECT_APP_DIRS, ctx.diagnostics)
    texts = [p for p in (patterns or []) if isinstance(p, str)] or ["apps/*", "lib/*", "."]
    dirs: list[str] = []
    for pattern in texts:
        if pattern in (".", ""):
            dirs.append("")
            continue
        base, _, star = pattern.rpartition("/")
        if star == "*":
            dirs.extend(
                join_rel(base, e.name)
                for e in _list_dir(ctx.root / base)
                if _is_dir(e) and not e.name.startswith(".")
            )
        else:
            dirs.append(join_rel("", pattern))
    return [d for d in dict.fromkeys(dirs) if not d.startswith("_build")]


def _checkout_apps(ctx: _Context, project_names: set[str]) -> list[AppModel]:
    apps: list[AppModel] = []
    for entry in _list_dir(ctx.root / "_checkouts"):
        if _is_dir(entry) and not entry.name.startswith("."):
            app = _rebar_app(ctx, f"_checkouts/{entry.name}", None, False, entry.name)
            if app.name not in project_names:
                apps.append(app)
                project_names.add(app.name)
    return apps


def _dependency_apps(
    ctx: _Context, project_names: set[str], taken: set[str], deps_dir: str,
    profiles: tuple[str, ...],
) -> list[AppModel]:  # fmt: skip
    """The apps fetched into ``deps_dir``, except the project's own and those in ``taken``."""
    apps: list[AppModel] = []
    for entry in _list_dir(ctx.root / deps_dir):
        if not _is_dir(entry) or entry.name.startswith("."):
            continue
        if entry.is_symlink():
            # rebar3 links the project's own apps into _build/<profile>/lib.
            target = Path(os.path.realpath(entry.path))
            if target.is_relative_to(ctx.root) and not target.is_relative_to(ctx.root / "_build"):
                continue
        name = _strip_version(entry.name)
        if name in project_names or name in taken:
            continue
        app = _rebar_app(ctx, f"{deps_dir}/{entry.name}", None, True, name, profiles)
        if app.name not in project_names and app.name not in taken:
            apps.append(app)
            taken.add(app.name)
    return apps


@dataclass
class _Rebar3Project:
    apps: list[AppModel]
    erl_opts: ErlOpts
    profile_erl_opts: tuple[tuple[str, ErlOpts], ...]
    settings: HoloSettings


def _rebar3_project(ctx: _Context) -> _Rebar3Project:
    top = read_rebar_config(ctx.root, "rebar.config", ctx.diagnostics)
    top_opts = ctx.erl_opts(top.list_option(ERL_OPTS, ctx.diagnostics), "")
    apps: list[AppModel] = []
    for app_dir in _project_app_dirs(ctx, top):
        if app_dir == "":
            if _looks_like_app(ctx.root, ""):
                apps.append(_rebar_app(ctx, "", top, False, ctx.root.name))
        elif _looks_like_app(ctx.root, app_dir):
            apps.append(_rebar_app(ctx, app_dir, top, False, posixpath.basename(app_dir)))
    if not apps:
        # A project being started: its files will go in the conventional places.
        apps.append(_rebar_app(ctx, "", top, False, ctx.root.name))
    elif not any(a.dir == "" for a in apps):
        ctx.add_extra_src_dirs(top, "")
    names = {a.name for a in apps}
    apps += _checkout_apps(ctx, names)
    taken: set[str] = set()
    apps += _dependency_apps(ctx, names, taken, DEPENDENCY_LIB, ("default", TEST_PROFILE))
    # rebar3 fetches the test profile's own dependencies here; the default's stay above.
    apps += _dependency_apps(ctx, names, taken, TEST_DEPENDENCY_LIB, (TEST_PROFILE,))
    return _Rebar3Project(
        apps,
        erl_opts_model(top_opts),
        _profile_erl_opts(top_opts, _test_erl_opts(ctx, [(top, "")])),
        holo_settings(top, ctx.diagnostics),
    )


def _erlang_mk_app(
    ctx: _Context, app_dir: str, is_dependency: bool, fallback_name: str
) -> AppModel:
    makefile = erlang_mk.read_makefile(ctx.root / app_dir)
    rebar_config = ctx.root / app_dir / "rebar.config"
    if makefile is None and rebar_config.is_file():
        return _rebar_app(ctx, app_dir, None, is_dependency, fallback_name)
    variables = erlang_mk.makefile_variables(makefile or "")
    opts = ctx.erl_opts(erlang_mk.erlang_mk_erl_opts(variables), app_dir)
    src_dirs = [join_rel(app_dir, "src")]
    app_src = _app_src(ctx.root, app_dir, src_dirs)
    name = variables.get("PROJECT", "").strip()
    if not name or "$" in name:
        name = app_name_from_app_src(ctx.root, app_src) if app_src else fallback_name
    return AppModel(
        name=name,
        dir=app_dir,
        src_dirs=tuple(src_dirs),
        include_dirs=(join_rel(app_dir, "include"),),
        test_dirs=() if is_dependency else (join_rel(app_dir, "test"),),
        app_src=app_src,
        is_dependency=is_dependency,
        erl_opts=erl_opts_model(opts),
    )


def _erlang_mk_project(ctx: _Context) -> tuple[list[AppModel], ErlOpts]:
    root_app = _erlang_mk_app(ctx, "", False, ctx.root.name)
    apps = [root_app]
    names = {root_app.name}
    for entry in _list_dir(ctx.root / "apps"):
        if _is_dir(entry) and _looks_like_app(ctx.root, f"apps/{entry.name}"):
            app = _erlang_mk_app(ctx, f"apps/{entry.name}", False, entry.name)
            apps.append(app)
            names.add(app.name)
    for entry in _list_dir(ctx.root / "deps"):
        if _is_dir(entry) and not entry.name.startswith("."):
            app = _erlang_mk_app(ctx, f"deps/{entry.name}", True, entry.name)
            if app.name not in names:
                apps.append(app)
    return apps, root_app.erl_opts


def _plain_project(ctx: _Context) -> tuple[list[AppModel], ErlOpts]:
    app = AppModel(
        name=ctx.root.name,
        dir="",
        src_dirs=("", "src"),
        include_dirs=("include",),
        test_dirs=("test",),
        app_src=None,
        is_dependency=False,
        erl_opts=ErlOpts(),
    )
    return [app], ErlOpts()


def _kind(root: Path, makefile: str | None) -> str:
    if (root / "rebar.config").is_file() or (root / "rebar.config.script").is_file():
        return "rebar3"
    if erlang_mk.is_erlang_mk(root, makefile):
        return "erlang.mk"
    if _has_files(root / "src", ".app.src") or any(
        _is_dir(e) and _has_files(Path(e.path) / "src", ".app.src")
        for parent in ("apps", "lib")
        for e in _list_dir(root / parent)
    ):
        return "rebar3"
    return "plain"


def _source_roots(model: ProjectModel) -> tuple[SourceRoot, ...]:
    roots: list[SourceRoot] = []
    for app in model.apps:
        roots += [SourceRoot(d, recursive=d != "") for d in app.src_dirs]
        roots += [SourceRoot(d, recursive=True) for d in app.include_dirs]
        roots += [SourceRoot(d, recursive=False) for d in app.test_dirs]
        # Headers reached through {i, Dir} inside the project count too, in any profile.
        options = (app.erl_opts, *(opts for _, opts in app.profile_erl_opts))
        roots += [
            SourceRoot("" if d == "." else d, recursive=False, suffixes=(".hrl",))
            for opts in options
            for d in opts.include_dirs
            if not d.startswith(("/", "..", "_build"))
        ]
    return tuple(dict.fromkeys(roots))


def discover(root: Path | str) -> DiscoveredProject:
    """Discover the project at ``root``: never fails on bad configuration, only on a bad root."""
    path = Path(root)
    if not path.is_dir():
        raise UserError(f"{root} is not a directory: holo needs a project directory")
    ctx = _Context(path.resolve())
    makefile = erlang_mk.read_makefile(ctx.root)
    kind = _kind(ctx.root, makefile)
    profile_erl_opts: tuple[tuple[str, ErlOpts], ...] = ()
    settings = HoloSettings()
    if kind == "rebar3":
        rebar3 = _rebar3_project(ctx)
        apps, erl_opts = rebar3.apps, rebar3.erl_opts
        profile_erl_opts, settings = rebar3.profile_erl_opts, rebar3.settings
    elif kind == "erlang.mk":
        apps, erl_opts = _erlang_mk_project(ctx)
    else:
        apps, erl_opts = _plain_project(ctx)
    apps.sort(key=lambda a: (a.is_dependency, a.dir))
    extra = tuple(dict.fromkeys(ctx.extra_src_dirs))
    model = ProjectModel(
        kind=kind,
        apps=tuple(apps),
        erl_opts=erl_opts,
        extra_src_dirs=tuple(d for d, _ in extra),
        diagnostics=tuple(sorted(dict.fromkeys(ctx.diagnostics), key=Diagnostic.sort_key)),
        settings=settings,
        profile_erl_opts=profile_erl_opts,
    )
    roots = _source_roots(model) + tuple(SourceRoot(d, recursive=r) for d, r in extra)
    return DiscoveredProject(ctx.root, model, _scan(ctx.root, roots), roots)
