"""holo's diagnostic codes: stable identifiers users can search for and tools can filter on.

=====  ========  =====================================================================
Code   Severity  Meaning
=====  ========  =====================================================================
H0001  error     rebar.config (or another project file) is malformed (project model)
H0100  error     syntax error: an unexpected or a missing token
H0101  error     the file cannot be read as source: not UTF-8 and not declared
                 Latin-1, or too large to analyse
H0102  error     no module definition: the .erl file has no ``-module`` (empty files too)
H0103  warning   an open document too large to check as it is typed (the language
                 server checks the file on disk instead)
H0200  error     an ``-include``/``-include_lib`` file cannot be found
H0201  error     a macro is used that is not defined (or not with that many arguments)
H0202  error     a record is used that is not defined (before the use)
H0203  error     a record field is used that the record does not declare
H0204  info      an ``-if``/``-elif`` condition holo cannot evaluate; treated as false
H0205  error     unbalanced conditional compilation: ``-else``/``-endif`` without
                 ``-ifdef``, or an ``-ifdef`` never closed in its file
H0210  error     a local function is called that is not defined, imported or a BIF
                 (``fun f/N`` names a definition or a BIF, never an import)
H0211  warning   a local function is never used (not exported, not reachable)
H0212  error     a variable is used that no pattern in its clause binds
H0213  error     a function is defined twice (two separate definitions)
H0214  error     the module name does not match the file name
H0215  error     ``-export`` names a function the module does not define
H0216  error     ``-spec`` for a function the module does not define
H0217  error     a clause's name or arity differs from the previous clause's
H0218  error     two files of the project define the same module (rebar3 refuses to build),
                 reported at the ``-module`` of each file after the first
H0300  warning   a remote call, or a call of an ``-import``ed function, to a function the
                 module does not export
H0301  warning   a remote call (or ``-behaviour``, or ``-import``) names a module holo
                 cannot find
H0302  warning   a behaviour callback is not exported (missing, or another arity)
=====  ========  =====================================================================

Severities follow erlc where erlc reports the mistake (its errors are errors,
its warnings warnings). H0300/H0301 are what xref would report: erlc compiles
such calls, they fail at run time with ``undef``.
"""

from __future__ import annotations

from holo.diagnostics import Diagnostic, Severity
from holo.queries.source import Range

SYNTAX_ERROR = "H0100"
UNREADABLE = "H0101"
NO_MODULE = "H0102"
DOCUMENT_TOO_LARGE = "H0103"
UNRESOLVED_INCLUDE = "H0200"
UNDEFINED_MACRO = "H0201"
UNDEFINED_RECORD = "H0202"
UNDEFINED_RECORD_FIELD = "H0203"
UNEVALUATED_CONDITION = "H0204"
UNBALANCED_CONDITIONAL = "H0205"
UNDEFINED_FUNCTION = "H0210"
UNUSED_FUNCTION = "H0211"
UNBOUND_VARIABLE = "H0212"
DUPLICATE_FUNCTION = "H0213"
MODULE_NAME_MISMATCH = "H0214"
EXPORT_UNDEFINED = "H0215"
SPEC_UNDEFINED = "H0216"
HEAD_MISMATCH = "H0217"
DUPLICATE_MODULE = "H0218"
UNDEFINED_REMOTE = "H0300"
UNKNOWN_MODULE = "H0301"
MISSING_CALLBACK = "H0302"

SEVERITY: dict[str, Severity] = {
    SYNTAX_ERROR: Severity.ERROR,
    UNREADABLE: Severity.ERROR,
    NO_MODULE: Severity.ERROR,
    UNRESOLVED_INCLUDE: Severity.ERROR,
    UNDEFINED_MACRO: Severity.ERROR,
    UNDEFINED_RECORD: Severity.ERROR,
    UNDEFINED_RECORD_FIELD: Severity.ERROR,
    UNEVALUATED_CONDITION: Severity.INFO,
    UNBALANCED_CONDITIONAL: Severity.ERROR,
    UNDEFINED_FUNCTION: Severity.ERROR,
    UNUSED_FUNCTION: Severity.WARNING,
    UNBOUND_VARIABLE: Severity.ERROR,
    DUPLICATE_FUNCTION: Severity.ERROR,
    MODULE_NAME_MISMATCH: Severity.ERROR,
    EXPORT_UNDEFINED: Severity.ERROR,
    SPEC_UNDEFINED: Severity.ERROR,
    HEAD_MISMATCH: Severity.ERROR,
    DUPLICATE_MODULE: Severity.ERROR,
    UNDEFINED_REMOTE: Severity.WARNING,
    UNKNOWN_MODULE: Severity.WARNING,
    MISSING_CALLBACK: Severity.WARNING,
}


def diagnostic(path: str, where: Range, code: str, message: str) -> Diagnostic:
    """A holo diagnostic with the severity the table above gives ``code``."""
    line, column, end_line, end_column = where
    return Diagnostic(
        path, line, column, end_line, end_column, SEVERITY[code], code, "holo", message
    )


def sorted_unique(diagnostics: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Sorted by position, each distinct diagnostic once."""
    return tuple(
        sorted(set(diagnostics), key=lambda d: (*d.sort_key(), d.end_line, d.end_column, d.message))
    )
