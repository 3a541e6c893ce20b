"""erlang.mk projects: is a directory one, and what its Makefile says.

holo does not run make. It reads the two variables that matter to it from
the Makefile with simple assignments (``=``, ``:=``, ``?=``, ``+=``, with
``\\`` continuations): ``PROJECT`` (the application's name) and
``ERLC_OPTS`` (erlc flags, turned into erl_opts terms). Anything computed
with ``$(...)`` is left out.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from holo.project.erlang_terms import Atom, Term, TermSyntaxError, parse_term

# erlang.mk's own default, applied when the Makefile does not define ERLC_OPTS.
DEFAULT_ERLC_OPTS = "-Werror +debug_info +warn_export_vars +warn_shadow_vars +warn_obsolete_guard"

_ASSIGNMENT = re.compile(
    r"^\s*(?:override\s+|export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*([:?+]?=)\s*(.*)$"
)
_INCLUDES_ERLANG_MK = re.compile(r"^\s*-?include\b.*erlang\.mk", re.MULTILINE)


def read_makefile(directory: Path) -> str | None:
    try:
        return (directory / "Makefile").read_text("utf-8", errors="replace")
    except OSError:
        return None


def is_erlang_mk(directory: Path, makefile: str | None) -> bool:
    if (directory / "erlang.mk").is_file():
        return True
    return makefile is not None and _INCLUDES_ERLANG_MK.search(makefile) is not None


def makefile_variables(text: str) -> dict[str, str]:
    """Simple variable assignments, evaluated in order as make would for these operators."""
    lines = text.replace("\\\n", " ").splitlines()
    values: dict[str, str] = {}
    for line in lines:
        if line.startswith("\t"):
            continue  # recipe lines
        m = _ASSIGNMENT.match(line.split("#", 1)[0])
        if m is None:
            continue
        name, op, value = m.group(1), m.group(2), m.group(3).strip()
        if op == "?=":
            values.setdefault(name, value)
        elif op == "+=":
            values[name] = f"{values[name]} {value}".strip() if name in values else value
        else:
            values[name] = value
    return values


def erlc_flags_to_erl_opts(flags: str) -> list[Term]:
    """erlc command-line flags (``-Werror +debug_info -DX=1 -I inc``) as erl_opts terms."""
    try:
        words = shlex.split(flags)
    except ValueError:
        words = flags.split()
    opts: list[Term] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if "$(" in word or "${" in word:
            continue
        if word.startswith("+"):
            try:
                opts.append(parse_term(word[1:]))
            except TermSyntaxError:
                continue
        elif word == "-Werror":
            opts.append(Atom("warnings_as_errors"))
        elif word.startswith("-D") and len(word) > 2:
            name, eq, value = word[2:].partition("=")
            if not eq:
                opts.append((Atom("d"), Atom(name)))
                continue
            try:
                opts.append((Atom("d"), Atom(name), parse_term(value)))
            except TermSyntaxError:
                opts.append((Atom("d"), Atom(name), Atom(value)))
        elif word == "-I" and i < len(words):
            opts.append((Atom("i"), words[i]))
            i += 1
        elif word.startswith("-I") and len(word) > 2:
            opts.append((Atom("i"), word[2:]))
    return opts


def erlang_mk_erl_opts(variables: dict[str, str]) -> list[Term]:
    return erlc_flags_to_erl_opts(variables.get("ERLC_OPTS", DEFAULT_ERLC_OPTS))
