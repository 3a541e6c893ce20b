"""rebar.config and .app.src as holo reads them: options, erl_opts, profiles, diagnostics.

A rebar.config that does not parse is reported as a :class:`Diagnostic` on
that file (code ``H0001``) and discovery carries on with rebar3's defaults: a
typo in rebar.config must show up in the editor, not stop holo. An option
with the wrong shape is a diagnostic at that term (the reader keeps every
term's position) and is left out; holo's own section, ``{holo, [{nodes,
[...]}, {cookie, C}]}``, is read here too, its problems being warnings. Problems in an
.app.src are the ``app_resource`` query's to report (it reads the file's text
as an input); discovery only takes the application's name from it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from holo.diagnostics import Diagnostic, Severity
from holo.inputs import ErlOpts, HoloSettings, MacroOption
from holo.project.erlang_terms import (
    Atom,
    Positions,
    Term,
    TermSyntaxError,
    consult_located,
    decode_text,
    format_term,
)

# queries/codes.py: "rebar.config (or another project file) is malformed": it does
# not parse, cannot be read, or an option holo uses has the wrong shape.
CONFIG_SYNTAX = "H0001"

ERL_OPTS = Atom("erl_opts")
SRC_DIRS = Atom("src_dirs")
EXTRA_SRC_DIRS = Atom("extra_src_dirs")
PROJECT_APP_DIRS = Atom("project_app_dirs")
PROFILES = Atom("profiles")
HOLO = Atom("holo")
RECURSIVE = Atom("recursive")


def file_diagnostic(
    path: str, message: str, code: str, line: int = 0, column: int = 0,
    severity: Severity = Severity.ERROR,
) -> Diagnostic:  # fmt: skip
    """A holo diagnostic at one 0-based position of a configuration file."""
    return Diagnostic(
        path=path, line=line, column=column, end_line=line, end_column=column + 1,
        severity=severity, code=code, source="holo", message=message,
    )  # fmt: skip


def read_term_file(
    root: Path, rel: str, code: str, diagnostics: list[Diagnostic]
) -> tuple[list[Term], str, Positions] | None:
    """The terms, text and term positions of ``root/rel``; None (and a diagnostic)
    when unreadable or unparsable."""
    name = posixpath.basename(rel)
    try:
        text = decode_text((root / rel).read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        diagnostics.append(file_diagnostic(rel, f"cannot read {name}: {e.strerror or e}", code))
        return None
    try:
        terms, positions = consult_located(text)
    except TermSyntaxError as e:
        diagnostics.append(
            file_diagnostic(
                rel, f"{name} does not parse: {e.message}", code, e.line - 1, e.column - 1
            )
        )
        return None
    return terms, text, positions


@dataclass
class RebarConfig:
    """The options of one rebar.config that holo uses; a missing file is all defaults."""

    path: str  # project-relative
    options: dict[Atom, Term] = field(default_factory=dict)
    text: str = ""
    positions: Positions = field(default_factory=dict)
    option_forms: dict[Atom, int] = field(default_factory=dict)  # option -> its form's index

    def list_option(self, name: Atom, diagnostics: list[Diagnostic]) -> list[Term] | None:
        if name not in self.options:
            return None
        value = self.options[name]
        if isinstance(value, list):
            return value
        line, column = self.position(name)
        message = f"{name} should be a list, not {format_term(value)}; ignored"
        diagnostics.append(file_diagnostic(self.path, message, CONFIG_SYNTAX, line, column))
        return None

    def position(self, name: Atom, *inside: int) -> tuple[int, int]:
        """0-based position of option ``name``'s ``{`` or, given ``inside``, of the term at
        that path in the option's tuple: ``(1,)`` is its value, ``(1, 2)`` the value's
        third element."""
        form = self.option_forms.get(name)
        found = self.positions.get((form, *inside)) if form is not None else None
        if found is None:
            return self._position_of(name)
        return found[0] - 1, found[1] - 1

    def _position_of(self, name: Atom) -> tuple[int, int]:
        """0-based position of ``{name`` in the file, for options without recorded positions."""
        m = re.search(r"\{\s*" + re.escape(str(name)) + r"\b", self.text)
        if m is None:
            return 0, 0
        line = self.text.count("\n", 0, m.start())
        return line, m.start() - (self.text.rfind("\n", 0, m.start()) + 1)


def read_rebar_config(root: Path, rel: str, diagnostics: list[Diagnostic]) -> RebarConfig:
    read = read_term_file(root, rel, CONFIG_SYNTAX, diagnostics)
    if read is None:
        return RebarConfig(rel)
    terms, text, positions = read
    options: dict[Atom, Term] = {}
    forms: dict[Atom, int] = {}
    for index, term in enumerate(terms):
        # rebar3 reads options with proplists: the first occurrence wins.
        shaped = isinstance(term, tuple) and len(term) == 2 and isinstance(term[0], Atom)
        if shaped and term[0] not in options:
            options[term[0]] = term[1]
            forms[term[0]] = index
    return RebarConfig(rel, options, text, positions, forms)


def app_name_from_app_src(root: Path, rel: str) -> str:
    """The application's name: ``{application, Name, _}`` or, failing that, the file name."""
    read = read_term_file(root, rel, CONFIG_SYNTAX, [])
    terms = read[0] if read is not None else []
    if terms and isinstance(terms[0], tuple) and len(terms[0]) == 3:
        tag, name, _ = terms[0]
        if tag == Atom("application") and isinstance(name, Atom):
            return str(name)
    return posixpath.basename(rel).removesuffix(".app.src")


def dir_entries(entries: list[Term], default_recursive: bool) -> list[tuple[str, bool]]:
    """``["dir"]`` and ``[{"dir", [{recursive, Bool}]}]`` forms, as (dir, recursive)."""
    out: list[tuple[str, bool]] = []
    for entry in entries:
        opts: Term = []
        if isinstance(entry, tuple) and len(entry) == 2:
            entry, opts = entry
        if isinstance(entry, Atom | bytes):
            entry = entry.decode() if isinstance(entry, bytes) else str(entry)
        if not isinstance(entry, str) or not entry:
            continue
        recursive = default_recursive
        if isinstance(opts, list):
            for opt in opts:
                if isinstance(opt, tuple) and len(opt) == 2 and opt[0] == RECURSIVE:
                    recursive = opt[1] == Atom("true")
        out.append((entry, recursive))
    return out


def join_rel(base: str, path: str) -> str:
    """``path`` (relative to the project-relative dir ``base``) as a project-relative path.

    Absolute paths stay absolute; "." is the project root.
    """
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    joined = posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)
    return "" if joined == "." else joined


# ---------------------------------------------------------------- erl_opts


def _text(value: Term) -> str | None:
    if isinstance(value, str):  # Atom is a str too
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None


def include_dir(root: Path, config_dir: str, directory: str) -> str:
    """An ``{i, Dir}`` of the rebar.config in ``config_dir`` as holo names directories:
    relative to the project root inside it ("." for the root itself), absolute outside."""
    joined = join_rel(config_dir, directory)
    if joined == ".." or joined.startswith("../"):
        return posixpath.normpath(posixpath.join(root.as_posix(), joined))
    if posixpath.isabs(joined):
        base = root.as_posix()
        if joined == base or joined.startswith(base.rstrip("/") + "/"):
            return posixpath.relpath(joined, base)
    return joined or "."


def rebase_erl_opts(terms: list[Term], config_dir: str, root: Path) -> list[Term]:
    """erl_opts with every ``{i, Dir}`` rewritten as :func:`include_dir` names it."""
    out: list[Term] = []
    for term in terms:
        if isinstance(term, tuple) and len(term) == 2 and term[0] == Atom("i"):
            directory = _text(term[1])
            if directory is not None:
                term = (term[0], include_dir(root, config_dir, directory))
        out.append(term)
    return out


def _option_key(term: Term) -> Term:
    """What makes two erl_opts the same option: ``{d, 'X', 1}`` and ``{d, 'X'}`` are."""
    if isinstance(term, tuple) and term and term[0] == Atom("d") and len(term) >= 2:
        return ("d", term[1])
    return format_term(term)


def merge_erl_opts(own: list[Term], inherited: list[Term]) -> list[Term]:
    """An umbrella app's erl_opts over the top-level ones: the app's own win."""
    seen = {_option_key(t) for t in own}
    return [*own, *(t for t in inherited if _option_key(t) not in seen)]


def apply_profile_erl_opts(default: list[Term], profile: list[Term]) -> list[Term]:
    """A profile's erl_opts merged into the default ones, as rebar3 merges them.

    rebar3 (``rebar_opts:merge_opt(erl_opts, New, Old)`` calling
    ``merge_erl_opts(lists:reverse(Old), New)``) keeps the profile's options
    as they are, at the end, where the compiler gives them precedence, and
    puts before them each default option that the profile does not repeat
    exactly, once, at the place of its last occurrence.

    One difference: a macro the profile defines (``{d, 'X', 2}``) replaces the
    default's definition of it (``{d, 'X', 1}``). rebar3 keeps both and OTP's
    preprocessor then stops with "redefine"; holo compiles with the profile's.
    """
    profile_macros = {_option_key(t) for t in profile if _is_macro_option(t)}
    kept: list[Term] = []
    for term in reversed(default):
        if term in profile or term in kept:
            continue
        if _is_macro_option(term) and _option_key(term) in profile_macros:
            continue
        kept.append(term)
    return [*reversed(kept), *profile]


def _is_macro_option(term: Term) -> bool:
    return isinstance(term, tuple) and len(term) in (2, 3) and term[0] == Atom("d")


def _function_list(value: Term) -> list[tuple[str, int]]:
    """``[{f, 1}, {g, 2}]`` or ``{f, 1}`` (the compiler flattens the option's value)."""
    entries = value if isinstance(value, list) else [value]
    return [
        (str(e[0]), e[1])
        for e in entries
        if isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], Atom)
        and isinstance(e[1], int) and not isinstance(e[1], bool)
    ]  # fmt: skip


def erl_opts_model(terms: list[Term]) -> ErlOpts:
    """The :class:`ErlOpts` record of an erl_opts list (``{i, Dir}`` already rebased)."""
    include_dirs: list[str] = []
    macros: list[MacroOption] = []
    transforms: list[str] = []
    warnings: list[str] = []
    flags: list[str] = []
    nowarn_unused: set[tuple[str, int]] = set()
    debug_info = True  # rebar3 adds debug_info unless told no_debug_info
    for term in terms:
        if isinstance(term, Atom):
            name = str(term)
            if name not in flags:
                flags.append(name)
            if name == "no_debug_info":
                debug_info = False
            elif name == "debug_info":
                debug_info = True
            elif name == "warnings_as_errors" or name.startswith(("warn_", "nowarn_")):
                warnings.append(name)
            continue
        if not (isinstance(term, tuple) and term and isinstance(term[0], Atom)):
            continue
        tag = str(term[0])
        if tag == "i" and len(term) == 2 and _text(term[1]) is not None:
            include_dirs.append(_text(term[1]) or ".")
        elif tag == "d" and len(term) in (2, 3) and isinstance(term[1], Atom):
            value = format_term(term[2]) if len(term) == 3 else None
            macros.append(MacroOption(str(term[1]), value))
        elif tag == "parse_transform" and len(term) == 2 and isinstance(term[1], Atom):
            transforms.append(str(term[1]))
        elif tag == "debug_info" and len(term) == 2:  # {debug_info, Backend}
            debug_info = True
        elif tag == "nowarn_unused_function" and len(term) == 2:
            nowarn_unused.update(_function_list(term[1]))
    return ErlOpts(
        include_dirs=tuple(include_dirs),
        macros=tuple(macros),
        parse_transforms=tuple(transforms),
        debug_info=debug_info,
        warnings=tuple(warnings),
        source=format_term(terms),
        flags=tuple(flags),
        nowarn_unused=tuple(sorted(nowarn_unused)),
    )


# ---------------------------------------------------------------- profiles


def profile_options(
    config: RebarConfig, profile: str, diagnostics: list[Diagnostic]
) -> dict[Atom, Term]:
    """The options of ``{profiles, [{Profile, [...]}]}``; the first occurrence of each wins."""
    entries = config.list_option(PROFILES, diagnostics) or []
    for index, entry in enumerate(entries):
        shaped = isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], Atom)
        if not shaped or not isinstance(entry[1], list):
            line, column = config.position(PROFILES, 1, index)
            message = (
                f"each profile should be {{Name, [Option, ...]}} like {{test, [{{erl_opts, "
                f"[...]}}]}}, not {format_term(entry)}; ignored"
            )
            diagnostics.append(file_diagnostic(config.path, message, CONFIG_SYNTAX, line, column))
            continue
        if str(entry[0]) != profile:
            continue
        options: dict[Atom, Term] = {}
        for option in entry[1]:
            if isinstance(option, tuple) and len(option) == 2 and isinstance(option[0], Atom):
                options.setdefault(option[0], option[1])
        for name in (ERL_OPTS, EXTRA_SRC_DIRS):
            if name in options and not isinstance(options[name], list):
                line, column = config.position(PROFILES, 1, index)
                message = (
                    f"{name} in profile {profile} should be a list, "
                    f"not {format_term(options[name])}; ignored"
                )
                diagnostics.append(
                    file_diagnostic(config.path, message, CONFIG_SYNTAX, line, column)
                )
                del options[name]
        return options
    return {}


# ------------------------------------------------------------ holo's own


_SETTINGS_SHAPE = "[{nodes, ['app@host', ...]}, {cookie, Cookie}]"


def holo_settings(config: RebarConfig, diagnostics: list[Diagnostic]) -> HoloSettings:
    """The ``{holo, [{nodes, ['app@host', ...]}, {cookie, secret}]}`` section.

    A part with the wrong shape is a warning at that term, and is left out;
    everything else still applies.
    """
    if HOLO not in config.options:
        return HoloSettings()

    def warn(message: str, *inside: int) -> None:
        line, column = config.position(HOLO, 1, *inside)
        diagnostics.append(
            file_diagnostic(config.path, message, CONFIG_SYNTAX, line, column, Severity.WARNING)
        )

    section = config.options[HOLO]
    if not isinstance(section, list):
        warn(f"the holo section should be a list {_SETTINGS_SHAPE}, "
             f"not {format_term(section)}; ignored")  # fmt: skip
        return HoloSettings()
    nodes: list[str] = []
    cookie: str | None = None
    seen: set[Atom] = set()
    for index, entry in enumerate(section):
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], Atom)):
            warn(f"each holo option should be {{nodes, [...]}} or {{cookie, ...}} as in "
                 f"{_SETTINGS_SHAPE}, not {format_term(entry)}; ignored", index)  # fmt: skip
            continue
        key, value = entry
        if key in seen:
            continue  # as proplists reads it: the first one wins
        seen.add(key)
        if key == Atom("nodes"):
            nodes = _node_names(value, index, warn)
        elif key == Atom("cookie"):
            if isinstance(value, str) and value:  # an atom or a (non-empty) string
                cookie = str(value)
            else:
                warn(f"cookie should be an atom or a string, like secret or \"secret\", "
                     f"not {format_term(value)}; ignored", index, 1)  # fmt: skip
        else:
            warn(f"unknown holo option {format_term(key)}: holo reads {_SETTINGS_SHAPE}; "
                 "ignored", index)  # fmt: skip
    return HoloSettings(nodes=tuple(nodes), cookie=cookie)


def _node_names(value: Term, index: int, warn: Callable[..., None]) -> list[str]:
    if not isinstance(value, list):
        warn(f"nodes should be a list of node names, like ['app@host'], "
             f"not {format_term(value)}; ignored", index, 1)  # fmt: skip
        return []
    names: list[str] = []
    for position, node in enumerate(value):
        if isinstance(node, Atom):
            if str(node) not in names:
                names.append(str(node))
        else:
            warn(f"a node name should be an atom, like 'app@host', "
                 f"not {format_term(node)}; ignored", index, 1, position)  # fmt: skip
    return names
