"""The inputs of the query graph: everything a query may know about the world.

Architecture invariant: queries never read files, clocks or the environment.
The CLI, the watcher and the language server read those and set the inputs
below; every derived fact is a query over them. Durabilities: workspace files
LOW, project configuration MEDIUM, OTP and dependency facts HIGH.

File keys are project-relative POSIX paths for files under the project root
("src/shop.erl", "include/shop.hrl") and absolute paths for anything outside
it (OTP's headers), so results computed in one checkout are valid in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.diagnostics import Diagnostic
from holo.engine import Input, record


@record("holo.Macro")
@dataclass(frozen=True)
class MacroOption:
    """A macro given on the command line or in erl_opts: ``{d, Name}`` or ``{d, Name, Value}``."""

    name: str
    value: str | None  # the value as Erlang source text, None for {d, Name}


@record("holo.ErlOpts")
@dataclass(frozen=True)
class ErlOpts:
    # {i, Dir}: relative to the project root, or absolute for a directory outside it
    include_dirs: tuple[str, ...] = ()
    macros: tuple[MacroOption, ...] = ()
    parse_transforms: tuple[str, ...] = ()
    debug_info: bool = True
    warnings: tuple[str, ...] = ()  # warn_* / nowarn_* / warnings_as_errors, as atoms
    # The whole erl_opts list as Erlang source text ("[debug_info, {i, \"inc\"}]"),
    # handed to OTP's compiler as it is. "[]" when there is none.
    source: str = "[]"
    # Every bare atom of the list, in order, once (export_all, debug_info, report, ...).
    flags: tuple[str, ...] = ()
    # {nowarn_unused_function, [{F, A}, ...]}: the functions the compiler does not
    # report as unused, sorted.
    nowarn_unused: tuple[tuple[str, int], ...] = ()


@record("holo.App")
@dataclass(frozen=True)
class AppModel:
    name: str
    dir: str  # relative to the project root; "" for a single-app project
    src_dirs: tuple[str, ...]  # relative to the project root
    include_dirs: tuple[str, ...]
    test_dirs: tuple[str, ...]
    app_src: str | None  # path of the .app.src, if any
    is_dependency: bool  # fetched under _build/*/lib (not _checkouts, which are the user's)
    erl_opts: ErlOpts  # the default profile's
    # The erl_opts of each other profile holo compiles with ("test") that the
    # configuration changes: the default ones with the profile's merged in, as
    # rebar3 merges them (holo.project.rebar_config.apply_profile_erl_opts). A
    # profile not listed compiles with erl_opts; read them with erl_opts_for.
    profile_erl_opts: tuple[tuple[str, ErlOpts], ...] = ()
    # The profiles that see this app: a dependency fetched only under
    # _build/test/lib is ("test",); every other app is in both.
    profiles: tuple[str, ...] = ("default", "test")

    def erl_opts_for(self, profile: str) -> ErlOpts:
        return _for_profile(self.erl_opts, self.profile_erl_opts, profile)

    def in_profile(self, profile: str) -> bool:
        return profile in self.profiles


def _for_profile(
    default: ErlOpts, others: tuple[tuple[str, ErlOpts], ...], profile: str
) -> ErlOpts:
    return next((opts for name, opts in others if name == profile), default)


@record("holo.Settings")
@dataclass(frozen=True)
class HoloSettings:
    """The ``{holo, [...]}`` section of rebar.config: what holo does beyond compiling.

    ``nodes``: running nodes that `holo watch` and the language server load
    changed code into (``{nodes, ['app@host', ...]}``), besides holo's own;
    ``cookie``: the cookie to reach them with (``{cookie, secret}``), else
    ``~/.erlang.cookie``.
    """

    nodes: tuple[str, ...] = ()
    cookie: str | None = None


@record("holo.ProjectModel")
@dataclass(frozen=True)
class ProjectModel:
    kind: str  # "rebar3" | "erlang.mk" | "plain"
    apps: tuple[AppModel, ...]
    erl_opts: ErlOpts  # the top-level erl_opts; each app's own are in AppModel.erl_opts
    # The default profile's and the test profile's (test code is compiled with "test").
    extra_src_dirs: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]  # rebar.config that does not parse, and the like
    settings: HoloSettings = HoloSettings()  # from the top-level rebar.config
    # The top-level erl_opts of the other profiles, as AppModel.profile_erl_opts.
    profile_erl_opts: tuple[tuple[str, ErlOpts], ...] = ()

    def erl_opts_for(self, profile: str) -> ErlOpts:
        return _for_profile(self.erl_opts, self.profile_erl_opts, profile)


@record("holo.AppData")
@dataclass(frozen=True)
class AppData:
    """The data files of an app (under its test dirs and priv/): what tests read besides code.

    Which files count, and the size limit: holo.project.data_files.
    """

    digest: bytes  # over every file's path and digest: equal digests, equal data
    files: tuple[tuple[str, bytes], ...] = ()  # (project-relative path, its digest), sorted
    by_size: tuple[str, ...] = ()  # files too large to read, digested by their size alone


@record("holo.OtpInfo")
@dataclass(frozen=True)
class OtpInfo:
    version: str  # "25.2.3"
    release: str  # "25"
    root: str  # absolute: /usr/lib/erlang
    lib_dirs: tuple[tuple[str, str], ...]  # (app name, absolute lib dir), sorted by name


@record("holo.ExternalModule")
@dataclass(frozen=True)
class ExternalModule:
    """What holo knows of a module it does not analyse from source (OTP's)."""

    name: str
    app: str
    exports: frozenset[tuple[str, int]]
    callbacks: frozenset[tuple[str, int]]  # non-empty when the module is a behaviour
    optional_callbacks: frozenset[tuple[str, int]]
    # (name, arity, the -spec form's text as written, final dot included) of each
    # exported function that has a spec in OTP's source, sorted.
    specs: tuple[tuple[str, int, str], ...] = ()

    def spec(self, name: str, arity: int) -> str | None:
        """The ``-spec`` of an exported function, as its source writes it."""
        return next((text for n, a, text in self.specs if n == name and a == arity), None)


# The text of a file, or None where there is no such file. Workspace files are
# LOW durability; OTP and dependency files HIGH.
file_text: Input[bytes | None] = Input("file_text", default=None)

# Every .erl and .hrl path of the project (apps, checkouts and fetched
# dependencies), as a sorted tuple. Adding or deleting a file changes it.
workspace_files: Input[tuple[str, ...]] = Input("workspace_files", default=())

# The project's shape and options, from rebar.config and the directory layout.
project_model: Input[ProjectModel] = Input("project_model")

# Where OTP is and which version: a fact of the machine, HIGH durability.
otp_info: Input[OtpInfo] = Input("otp_info")

# OTP's modules by name, with their exports and behaviour callbacks; None for
# a module OTP does not have. HIGH durability, cached per OTP version.
external_module: Input[ExternalModule | None] = Input("external_module", default=None)

# Per app name: its data files (AppData), for the project's own apps; the
# default for any other name. LOW durability, like the sources.
app_data: Input[AppData | None] = Input("app_data", default=None)


def data_digest(db: Any, app: str) -> bytes:
    """A digest of app ``app``'s data files (fixtures under test/, priv/): it changes
    exactly when one of them is added, removed or edited. b"" for an app without any
    data dir holo knows of. Reading it from a query makes the query depend on it."""
    data = app_data(db, app)
    return data.digest if data is not None else b""


# The (name, arity) pairs OTP auto-imports from `erlang` into every module
# (erl_internal:bif/2), so `length(L)` is not an undefined local call.
auto_imported_bifs: Input[frozenset[tuple[str, int]]] = Input(
    "auto_imported_bifs", default=frozenset()
)
