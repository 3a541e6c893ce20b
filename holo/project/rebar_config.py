"""rebar.config and .app.src as holo reads them: options, erl_opts, diagnostics.

A rebar.config that does not parse is reported as a :class:`Diagnostic` on
that file (code ``H0001``) and discovery carries on with rebar3's defaults: a
typo in rebar.config must show up in the editor, not stop holo. Problems in an
.app.src are the ``app_resource`` query's to report (it reads the file's text
as an input); discovery only takes the application's name from it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from holo.diagnostics import Diagnostic, Severity
from holo.inputs import ErlOpts, MacroOption
from holo.project.erlang_terms import (
    Atom,
    Term,
    TermSyntaxError,
    consult,
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
) -> tuple[list[Term], str] | None:
    """The terms and text of ``root/rel``; None (and a diagnostic) when unreadable or unparsable."""
    name = posixpath.basename(rel)
    try:
        text = decode_text((root / rel).read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        diagnostics.append(file_diagnostic(rel, f"cannot read {name}: {e.strerror or e}", code))
        return None
    try:
        return consult(text), text
    except TermSyntaxError as e:
        diagnostics.append(
            file_diagnostic(
                rel, f"{name} does not parse: {e.message}", code, e.line - 1, e.column - 1
            )
        )
        return None


@dataclass
class RebarConfig:
    """The options of one rebar.config that holo uses; a missing file is all defaults."""

    path: str  # project-relative
    options: dict[Atom, Term] = field(default_factory=dict)
    text: str = ""

    def list_option(self, name: Atom, diagnostics: list[Diagnostic]) -> list[Term] | None:
        if name not in self.options:
            return None
        value = self.options[name]
        if isinstance(value, list):
            return value
        line, column = self._position_of(name)
        message = f"{name} should be a list, not {format_term(value)}; ignored"
        diagnostics.append(file_diagnostic(self.path, message, CONFIG_SYNTAX, line, column))
        return None

    def _position_of(self, name: Atom) -> tuple[int, int]:
        """0-based position of ``{name`` in the file (the parser keeps no term positions)."""
        m = re.search(r"\{\s*" + re.escape(str(name)) + r"\b", self.text)
        if m is None:
            return 0, 0
        line = self.text.count("\n", 0, m.start())
        return line, m.start() - (self.text.rfind("\n", 0, m.start()) + 1)


def read_rebar_config(root: Path, rel: str, diagnostics: list[Diagnostic]) -> RebarConfig:
    read = read_term_file(root, rel, CONFIG_SYNTAX, diagnostics)
    if read is None:
        return RebarConfig(rel)
    terms, text = read
    options: dict[Atom, Term] = {}
    for term in terms:
        # rebar3 reads options with proplists: the first occurrence wins.
        if isinstance(term, tuple) and len(term) == 2 and isinstance(term[0], Atom):
            options.setdefault(term[0], term[1])
    return RebarConfig(rel, options, text)


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


def rebase_erl_opts(terms: list[Term], config_dir: str) -> list[Term]:
    """erl_opts with every ``{i, Dir}`` rewritten relative to the project root."""
    out: list[Term] = []
    for term in terms:
        if isinstance(term, tuple) and len(term) == 2 and term[0] == Atom("i"):
            directory = _text(term[1])
            if directory is not None:
                term = (term[0], join_rel(config_dir, directory) or ".")
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


def erl_opts_model(terms: list[Term]) -> ErlOpts:
    """The :class:`ErlOpts` record of an erl_opts list (``{i, Dir}`` already rebased)."""
    include_dirs: list[str] = []
    macros: list[MacroOption] = []
    transforms: list[str] = []
    warnings: list[str] = []
    debug_info = True  # rebar3 adds debug_info unless told no_debug_info
    for term in terms:
        if isinstance(term, Atom):
            name = str(term)
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
    return ErlOpts(
        include_dirs=tuple(include_dirs),
        macros=tuple(macros),
        parse_transforms=tuple(transforms),
        debug_info=debug_info,
        warnings=tuple(warnings),
        source=format_term(terms),
    )
