"""Resolution: what a module is once its includes, macros and conditionals are applied.

``resolve(db, path, profile)`` walks the module's forms in order, as epp
does: it follows ``-include``/``-include_lib`` into headers, keeps the macros
in effect (predefined, erl_opts ``{d, ...}``, ``-define``/``-undef``), and
keeps only the forms ``-ifdef``/``-ifndef``/``-if``/``-elif``/``-else`` leave
active. For each function it records what it really depends on: the macro
definitions it expands (transitively) and the record definitions it uses,
each by identity and content fingerprint.

The result holds no positions. It refers to forms by (file, index) into
their item trees, so editing a header in a way no function of the module
uses (a new macro, a comment, moved lines) gives an equal result and stops
there. Diagnostics map references back to ranges (:mod:`holo.queries.locate`).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from holo.engine import record
from holo.inputs import OtpInfo, otp_info
from holo.queries import codes
from holo.queries.conditions import Atom, Unknown, is_true, literal_value
from holo.queries.item_tree import item_tree
from holo.queries.items import Attribute, Clause, Include, ItemTree, Refs
from holo.queries.project_index import CompileEnv, compile_env
from holo.queries.recent import Recent
from holo.queries.stored import stored

MAX_INCLUDE_DEPTH = 32  # epp's limit is similar; deeper is a cycle in practice

PREDEFINED = "<predefined>"
ERL_OPTS = "<erl_opts>"

# (file, name, arity or -1, fingerprint): one macro definition, by identity and content.
MacroRef = tuple[str, str, int, bytes]
# (file, name, fingerprint): one record definition.
RecordRef = tuple[str, str, bytes]
# (file, form kind, index): a form of an item tree.
FormAt = tuple[str, str, int]


@record("holo.Problem")
@dataclass(frozen=True)
class Problem:
    """A mistake resolve found, located by reference (see :mod:`holo.queries.locate`).

    ``part`` says which range of the form: "form" (the whole form), "head"
    (a clause's name), "macro" / "record" (the ``sub``-th macro or record use
    of the form), "field" (field ``sub2`` of record use ``sub``), "entry" (the
    ``sub``-th name/arity of an attribute).
    """

    code: str
    file: str
    kind: str
    index: int
    part: str
    sub: int
    sub2: int
    message: str


@record("holo.ResolvedFunction", remember=True)
@dataclass(frozen=True)
class ResolvedFunction:
    name: str
    arity: int
    clauses: tuple[int, ...]  # indices into ResolvedModule.clauses
    fingerprint: bytes  # its clauses' tokens + the macro and record definitions they use
    local_calls: tuple[tuple[str, int], ...]  # sorted; calls and fun references, via macros too
    # sorted (module, function, arity): ``m:f(...)``, ``fun m:f/N``, and the calls of
    # functions ``-import``ed from m (``f(...)`` calls m:f)
    remote_calls: tuple[tuple[str, str, int], ...]
    macros: tuple[MacroRef, ...]  # sorted: every definition it expands, transitively
    records: tuple[RecordRef, ...]  # sorted


# The functions of recent resolutions, one object per distinct value: a function
# an edit left alone is the same object as before, so the codec reuses its
# encoding. Keyed by the field values (strings, ints, bytes and tuples of them:
# no bools or floats, whose equal values encode differently). Bounded.
_INTERNED_FUNCTIONS: Recent[tuple[Any, ...], ResolvedFunction] = Recent(5_000)


def _interned_function(fields: tuple[Any, ...]) -> ResolvedFunction:
    found = _INTERNED_FUNCTIONS.get(fields)
    if found is None:
        found = _INTERNED_FUNCTIONS.setdefault(fields, ResolvedFunction(*fields))
    return found


@record("holo.ClauseExtra")
@dataclass(frozen=True)
class ClauseExtra:
    """What resolution adds to one active clause, stored only when there is something."""

    position: int  # into ResolvedModule.clause_at
    # (remote call index, module): calls whose module is not the atom written,
    # after macro expansion (``?SERVER:f()``); None when it is not an atom or
    # the call is in an argument its macro drops.
    remote_overrides: tuple[tuple[int, str | None], ...]
    dropped_calls: tuple[int, ...]  # local calls (indices) in arguments their macro drops
    # Calls that a macro use expands to: (macro use index, name, arity) and
    # (macro use index, module, function, arity).
    macro_calls: tuple[tuple[int, str, int], ...]
    macro_remote_calls: tuple[tuple[int, str, str, int], ...]
    unbound: tuple[int, ...]  # indices into the clause's unbound candidates that stand


_NO_EXTRA = ClauseExtra(-1, (), (), (), (), ())


@dataclass(frozen=True)
class ResolvedClause:
    """One active clause, as the checks read it (built from ResolvedModule, not stored)."""

    file: str
    index: int  # into item_tree(file).clauses
    extra: ClauseExtra

    @property
    def dropped_calls(self) -> tuple[int, ...]:
        return self.extra.dropped_calls

    @property
    def macro_calls(self) -> tuple[tuple[int, str, int], ...]:
        return self.extra.macro_calls

    @property
    def macro_remote_calls(self) -> tuple[tuple[int, str, str, int], ...]:
        return self.extra.macro_remote_calls

    @property
    def unbound(self) -> tuple[int, ...]:
        return self.extra.unbound

    def module_of(self, call: int, remote: tuple[Any, ...]) -> str | None:
        """The module of the clause's ``call``-th remote call, ``remote``."""
        for index, module in self.extra.remote_overrides:
            if index == call:
                return module
        return None if remote[1] else remote[0]


@record("holo.CompileFlags")
@dataclass(frozen=True)
class CompileFlags:
    flags: tuple[str, ...]  # atom options: export_all, nowarn_unused_function, ...
    parse_transforms: tuple[str, ...]
    nowarn_unused: tuple[tuple[str, int], ...]
    no_auto_import: tuple[tuple[str, int], ...]
    no_auto_import_all: bool
    digest: bytes  # over all of the above and the options' text


@record("holo.ResolvedModule")
@dataclass(frozen=True)
class ResolvedModule:
    path: str
    profile: str
    module: str | None
    module_at: FormAt | None
    includes: tuple[str, ...]  # every header read, in order of first inclusion
    exports: tuple[tuple[str, int, str, int, int], ...]  # name, arity, file, attr index, entry
    imports: tuple[tuple[str, str, int], ...]  # module, function, arity
    export_types: tuple[tuple[str, int], ...]
    # name, arity, digest of its definition and of the local types it names, transitively
    types: tuple[tuple[str, int, bytes], ...]
    specs: tuple[tuple[str, int, bytes, str, int], ...]  # name, arity, digest, file, attr index
    callbacks: tuple[tuple[str, int, bytes], ...]
    optional_callbacks: tuple[tuple[str, int], ...]
    behaviours: tuple[tuple[str, str, int], ...]  # behaviour, file, attr index
    compile: CompileFlags
    on_load: tuple[tuple[str, int, str, int, int], ...]
    nifs: tuple[tuple[str, int], ...]
    # The other attributes that reach the BEAM file (-vsn, -dialyzer, user attributes...)
    # or change how it compiles (-file, -feature), in order: (name, digest of the value).
    attributes: tuple[tuple[str, bytes], ...]
    functions: tuple[ResolvedFunction, ...]
    files: tuple[str, ...]  # the files active clauses are in (the module's own first)
    clause_at: tuple[int, ...]  # active clauses in order: file index << 32 | clause index
    clause_extras: tuple[ClauseExtra, ...]  # sorted by position
    problems: tuple[Problem, ...]

    @cached_property
    def clauses(self) -> tuple[ResolvedClause, ...]:
        extras = {extra.position: extra for extra in self.clause_extras}
        return tuple(
            ResolvedClause(self.files[packed >> 32], packed & 0xFFFFFFFF, extras.get(i, _NO_EXTRA))
            for i, packed in enumerate(self.clause_at)
        )

    def function(self, name: str, arity: int) -> ResolvedFunction | None:
        for f in self.functions:
            if f.name == name and f.arity == arity:
                return f
        return None

    @property
    def defined(self) -> frozenset[tuple[str, int]]:
        return frozenset((f.name, f.arity) for f in self.functions)

    def imported(self) -> dict[tuple[str, int], str]:
        """The module each ``-import``ed function the module does not define comes from."""
        return imported_from(self.imports, self.defined)


def imported_from(
    imports: Iterable[tuple[str, str, int]], defined: Collection[tuple[str, int]]
) -> dict[tuple[str, int], str]:
    """(name, arity) -> module, for each import no local definition clashes with.

    erlc rejects a function both imported and defined, or imported twice; holo
    takes the definition, or the first import, and lets the local checks speak.
    """
    found: dict[tuple[str, int], str] = {}
    for module, name, arity in imports:
        if (name, arity) not in defined:
            found.setdefault((name, arity), module)
    return found


def _digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(b"%d:" % len(part))
        h.update(part)
    return h.digest()


def _unevaluated(unknown: Unknown) -> str:
    """What H0204 tells the user: why holo could not evaluate a condition, and what to do."""
    name = unknown.undefined
    if name is not None:
        return (
            f"holo cannot evaluate this condition and treats it as false: ?{name} is not "
            f"defined here; define it before this line (in the module, a header, or erl_opts "
            f"{{d, '{name}', Value}}), or test it with -ifdef({name})"
        )
    return (
        f"holo cannot evaluate this condition and treats it as false ({unknown.reason}): "
        "if the code it guards matters, write the condition with literals, one-literal "
        "macros, defined(Name), comparisons and boolean operators, or use -ifdef with a "
        "macro set in erl_opts"
    )


def _release(release: str) -> int:
    """OTP's major release as a number ("25" -> 25; 0 when it is not one)."""
    digits = release.strip("'\"").split(".")[0]
    return int(digits) if digits.isdigit() else 0


@dataclass
class _Macro:
    file: str
    name: str
    arity: int | None
    fingerprint: bytes
    literal: str | None
    free_vars: tuple[str, ...]
    refs: Refs
    index: int  # into item_tree(file).defines; -1 for predefined and erl_opts macros
    used_params: tuple[int, ...] = ()
    param_uses: tuple[tuple[int, int, int], ...] = ()
    param_calls: tuple[tuple[int, int], ...] = ()
    function_heads: tuple[tuple[str, int, int], ...] = ()

    @property
    def ref(self) -> MacroRef:
        return (self.file, self.name, -1 if self.arity is None else self.arity, self.fingerprint)


@dataclass
class _Record:
    file: str
    name: str
    fingerprint: bytes  # the declaration's tokens and what its own macro/record uses resolve to
    fields: frozenset[str]
    calls: frozenset[tuple[str, int]]  # local calls in field defaults

    @property
    def ref(self) -> RecordRef:
        return (self.file, self.name, self.fingerprint)


@dataclass
class _Expansion:
    """What expanding one macro use brings in, transitively."""

    macros: set[MacroRef] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)  # messages
    calls: set[tuple[str, int]] = field(default_factory=set)
    remotes: set[tuple[str, str, int]] = field(default_factory=set)
    records: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    free_vars: set[str] = field(default_factory=set)


@dataclass
class _Frame:
    active: bool  # this branch is being compiled
    taken: bool  # some branch of this conditional was (or is) active
    parent: bool  # the enclosing region is active
    file: str
    index: int  # the opening directive


@dataclass
class _Active:
    """An active clause while resolving."""

    file: str
    index: int
    name: str | None
    arity: int
    extra: tuple[Any, ...]  # ClauseExtra's fields after its position


@dataclass
class _Uses:
    macros: set[MacroRef] = field(default_factory=set)
    records: set[RecordRef] = field(default_factory=set)
    calls: set[tuple[str, int]] = field(default_factory=set)  # from record defaults
    # A clause's calls that are applications, not ``fun f/N`` references: those
    # of an imported function call the module it is imported from.
    applied: set[tuple[str, int]] = field(default_factory=set)


class _ClauseResolution:
    """What resolving one clause found, without its file, index or positions (kept
    across runs).

    Never changed once made: the grouping into functions only reads it.
    """

    # Tuples, not sets: thousands are kept, and a set takes several times the memory.
    __slots__ = (
        "macros",
        "records",
        "calls",
        "applied",
        "remotes",
        "heads",
        "extra",
        "problems",
    )

    def __init__(
        self,
        uses: _Uses,
        calls: set[tuple[str, int]],
        remotes: set[tuple[str, str, int]],
        heads: tuple[tuple[str | None, int], ...],
        extra: tuple[Any, ...],
        problems: tuple[tuple[str, str, int, int, str], ...],  # code, part, sub, sub2, message
    ) -> None:
        self.macros = tuple(uses.macros)
        self.records = tuple(uses.records)
        self.calls = tuple(calls)
        self.applied = tuple(uses.applied)  # calls that are applications (see _Uses)
        self.remotes = tuple(remotes)
        self.heads = heads
        self.extra = extra
        self.problems = problems


# Per process, so an edit re-resolves only the clauses it changed: a clause
# with the same content (wherever it is) in macro and record environments
# with the same history resolves the same; a function grouped from the same
# clause resolutions (the objects: each entry holds them, so their ids are
# not reused while it lives) and clauses' fingerprints, with the same
# imports, is the same function.
_RESOLVED_CLAUSES: Recent[tuple[Any, ...], _ClauseResolution] = Recent(5_000)
_GROUPED_FUNCTIONS: Recent[
    tuple[Any, ...], tuple[tuple[_ClauseResolution, ...], ResolvedFunction]
] = Recent(5_000)


def _digest_uses(attr: Attribute, uses: _Uses) -> bytes:
    """An attribute's text with the macro and record definitions it uses: no positions."""
    return _digest(
        attr.text.encode(),
        *sorted(m[3] for m in uses.macros),
        *sorted(r[2] for r in uses.records),
    )


def _macros_of(path: str, tree: ItemTree) -> list[_Macro]:
    """The tree's definitions as macros, made once per tree (headers are walked per module)."""
    macros: list[_Macro] | None = tree.memo.get("macros")
    if macros is None:
        macros = tree.memo["macros"] = [
            _Macro(
                path,
                d.name,
                d.arity,
                d.fingerprint,
                d.literal,
                d.free_vars,
                d.refs,
                index,
                d.used_params,
                d.param_uses,
                d.param_calls,
                d.function_heads,
            )
            for index, d in enumerate(tree.defines)
        ]
    return macros


class _Resolver:
    def __init__(self, db: Any, path: str, profile: str) -> None:
        self.db = db
        self.path = path
        self.profile = profile
        self.env: CompileEnv = compile_env(db, path, profile)
        self.otp: OtpInfo = otp_info(db)
        self.macros: dict[tuple[str, int | None], _Macro] = {}
        self.env_version = 0
        self.expansions: dict[tuple[str, int | None, int], _Expansion] = {}
        self.records: dict[str, _Record] = {}
        self.module: str | None = None
        self.module_at: FormAt | None = None
        self.includes: list[str] = []
        self.include_stack: list[str] = []
        self.exports: list[tuple[str, int, str, int, int]] = []
        self.imports: list[tuple[str, str, int]] = []
        self.export_types: list[tuple[str, int]] = []
        self.types: list[tuple[str, int, bytes, tuple[tuple[str, int], ...]]] = []
        self.attributes: list[tuple[str, bytes]] = []
        self.docs_in_chunk = _release(self.otp.release) >= 27
        self.specs: list[tuple[str, int, bytes, str, int]] = []
        self.callbacks: list[tuple[str, int, bytes]] = []
        self.optional_callbacks: list[tuple[str, int]] = []
        self.behaviours: list[tuple[str, str, int]] = []
        self.compile_attrs: list[Attribute] = []
        self.on_load: list[tuple[str, int, str, int, int]] = []
        self.nifs: list[tuple[str, int]] = []
        self.clauses: list[tuple[_Active, Clause, _ClauseResolution]] = []
        self.problems: list[Problem] = []
        # Digests of how the macros and records in effect came to be (each define,
        # undef and record declaration in order): equal digests, equal environments.
        self.macros_digest = b""
        self.records_digest = b""
        self._predefine()

    # ------------------------------------------------------------ macros

    def _define(self, macro: _Macro) -> None:
        self.macros[(macro.name, macro.arity)] = macro
        self.env_version += 1
        # The fingerprint covers the replacement, so all a use of the macro reads.
        self.macros_digest = _digest(
            self.macros_digest,
            b"define",
            macro.file.encode(),
            macro.name.encode(),
            b"%d" % (-1 if macro.arity is None else macro.arity),
            macro.fingerprint,
        )

    def _undefine(self, name: str) -> None:
        for key in [k for k in self.macros if k[0] == name]:
            del self.macros[key]
        self.env_version += 1
        self.macros_digest = _digest(self.macros_digest, b"undef", name.encode())

    def _predefine(self) -> None:
        predefined: list[tuple[str, int | None, str | None]] = [
            ("FILE", None, f'"{self.path}"'),
            ("LINE", None, "0"),
            ("MACHINE", None, "'BEAM'"),
            ("OTP_RELEASE", None, self.otp.release),
            ("FUNCTION_NAME", None, None),
            ("FUNCTION_ARITY", None, None),
            ("FEATURE_AVAILABLE", 1, None),
            ("FEATURE_ENABLED", 1, None),
        ]
        for name, arity, literal in predefined:
            # ?LINE's value is left out of every fingerprint on purpose: moving
            # code changes it, and that alone is no change of behaviour.
            value = (
                b""
                if name in ("LINE", "FUNCTION_NAME", "FUNCTION_ARITY")
                else (literal or "").encode()
            )
            fp = _digest(PREDEFINED.encode(), name.encode(), value)
            self._define(_Macro(PREDEFINED, name, arity, fp, literal, (), Refs(), -1))
        for option in self.env.macros:
            literal = option.value if option.value is not None else "true"
            fp = _digest(ERL_OPTS.encode(), option.name.encode(), literal.encode())
            self._define(_Macro(ERL_OPTS, option.name, None, fp, literal, (), Refs(), -1))

    def _define_module(self, name: str) -> None:
        for macro, literal in (("MODULE", f"'{name}'"), ("MODULE_STRING", f'"{name}"')):
            fp = _digest(PREDEFINED.encode(), macro.encode(), name.encode())
            self._define(_Macro(PREDEFINED, macro, None, fp, literal, (), Refs(), -1))

    def _literal(self, name: str) -> str | None:
        """For conditions: a defined no-argument macro's one-token replacement."""
        macro = self.macros.get((name, None))
        if macro is None:
            raise Unknown(f"?{name} is not defined", undefined=name)
        return macro.literal

    def _defined(self, name: str) -> bool:
        return any(key[0] == name for key in self.macros)

    def _atom_of_macro(self, name: str) -> str | None:
        """The atom a no-argument macro stands for (``?SERVER``, ``?MODULE``), if it is one."""
        macro = self.macros.get((name, None))
        if macro is None or macro.literal is None:
            return None
        try:
            value = literal_value(
                macro.literal,
                lambda n: self.macros[(n, None)].literal if (n, None) in self.macros else None,
            )
        except Unknown:
            return None
        return value.name if isinstance(value, Atom) else None

    def _lookup(self, name: str, arity: int | None) -> _Macro | None:
        macro = self.macros.get((name, arity))
        if macro is None and arity is not None:
            # ?F(X) with only ?F defined: F's replacement is applied to (X).
            macro = self.macros.get((name, None))
        return macro

    def expand(self, name: str, arity: int | None, applied: bool = True) -> _Expansion:
        """What a use ``?name`` or ``?name(...)`` brings in; ``applied``: ``?F(X)`` with only
        ``?F`` defined calls F's replacement (False for ``M:?F(X)``)."""
        key = (name, arity, applied, self.env_version)
        cached = self.expansions.get(key)
        if cached is None:
            cached = self.expansions[key] = _Expansion()
            self._expand_into(name, arity, cached, [], 0, applied)
        return cached

    def uses_argument(self, macro: _Macro, arg: int, depth: int = 0) -> bool:
        """Whether a use of ``macro`` keeps its ``arg``-th argument (``?ASSERT(E)`` may not)."""
        if macro.arity is None or arg in macro.used_params or depth > 20:
            return True
        for param, use, inner_arg in macro.param_uses:
            if param != arg:
                continue
            inner_use = macro.refs.macro_uses[use]
            inner = self._lookup(inner_use[0], inner_use[1])
            if inner is None or self.uses_argument(inner, inner_arg, depth + 1):
                return True
        return False

    def function_heads(self, macro: _Macro, use: Any, depth: int = 0) -> list[tuple[str, int]]:
        """The functions a top-level ``?M(...).`` form defines."""
        heads: list[tuple[str, int]] = []
        for name, arity, param in macro.function_heads:
            if param >= 0:
                atoms = use[3]
                name = atoms[param] if param < len(atoms) and atoms[param] is not None else ""
            if name:
                heads.append((name, arity))
        if not heads and macro.refs.macro_uses and depth < 10:
            inner_use = macro.refs.macro_uses[0]
            inner = self._lookup(inner_use[0], inner_use[1])
            if inner is not None:
                # Arguments pass through by position when they are the outer parameters.
                heads = self.function_heads(inner, (*inner_use[:3], use[3], False), depth + 1)
        return heads

    def _expand_into(
        self,
        name: str,
        arity: int | None,
        out: _Expansion,
        chain: list[str],
        depth: int,
        applied: bool = True,
    ) -> None:
        macro = self._lookup(name, arity)
        if macro is None:
            shown = f"?{name}" if arity is None else f"?{name}/{arity}"
            other = sorted(a for (n, a) in self.macros if n == name and a is not None)
            if arity is None and other:
                detail = (
                    f"macro ?{name} is defined only with arguments ({other[0]}); "
                    f"call it as ?{name}(...)"
                )
            elif other:
                known = ", ".join(map(str, other))
                detail = f"macro ?{name} is not defined with {arity} argument(s) (only {known})"
            else:
                detail = f"undefined macro {shown}"
            if chain:
                detail += f" (used by ?{chain[-1]})"
            out.missing.append(detail + ": define it, or include the header that does")
            return
        if macro.ref in out.macros or depth > 50:
            return
        out.macros.add(macro.ref)
        refs = macro.refs
        if (
            applied
            and macro.arity is None
            and arity is not None
            and macro.literal
            and macro.literal[0] == "'"
        ):
            out.calls.add((macro.literal[1:-1], arity))
        out.free_vars.update(macro.free_vars)
        for call in refs.local_calls:
            out.calls.add((call[0], call[1]))
        for remote in refs.remote_calls:
            resolved = self._atom_of_macro(remote[0]) if remote[1] else remote[0]
            if resolved is not None:
                out.remotes.add((resolved, remote[2], remote[3]))
        for use in refs.record_uses:
            out.records.append((use[0], tuple(f for f, _ in use[2])))
        for use in refs.macro_uses:
            self._expand_into(use[0], use[1], out, [*chain, name], depth + 1)

    # --------------------------------------------------------- includes

    def find_include(self, including: str, include: Include) -> str | None:
        name = include.file
        if not name:
            return None
        candidates: list[str] = []
        if posixpath.isabs(name):
            candidates.append(name)
        else:
            candidates.append(posixpath.join(posixpath.dirname(including), name))
            candidates.extend(posixpath.join(d, name) for d in self.env.include_dirs)
        for candidate in candidates:
            found = self._existing(candidate)
            if found is not None:
                return found
        if include.lib and not posixpath.isabs(name):
            app, _, rest = name.partition("/")
            if rest:
                for app_name, directory in self.env.lib_dirs:
                    if app_name == app:
                        found = self._existing(posixpath.join(directory, rest))
                        if found is not None:
                            return found
                for app_name, directory in self.otp.lib_dirs:
                    if app_name == app or app_name == app.split("-")[0]:
                        found = self._existing(posixpath.join(directory, rest))
                        if found is not None:
                            return found
        return None

    def _existing(self, candidate: str) -> str | None:
        path = posixpath.normpath(candidate) if candidate else candidate
        if not path or path == "." or path.startswith("../"):
            return None
        return path if item_tree(self.db, path) is not None else None

    # ------------------------------------------------------------- walk

    def walk(self, path: str, tree: ItemTree) -> None:
        self.include_stack.append(path)
        frames: list[_Frame] = []
        for kind, index in tree.forms:
            active = not frames or frames[-1].active
            if kind == "cond":
                self._conditional(path, tree, index, frames)
            elif not active:
                continue
            elif kind == "clause":
                self._clause(path, index, tree.clauses[index])
            elif kind == "define":
                self._define(_macros_of(path, tree)[index])
            elif kind == "undef":
                self._undefine(tree.undefs[index].name)
            elif kind == "include":
                self._include(path, index, tree.includes[index])
            elif kind == "record":
                self._record(path, index, tree)
            elif kind == "attr":
                self._attribute(path, index, tree.attributes[index])
        for frame in frames:
            self.problems.append(
                Problem(
                    codes.UNBALANCED_CONDITIONAL,
                    frame.file,
                    "cond",
                    frame.index,
                    "form",
                    -1,
                    -1,
                    "this conditional is not closed: add '-endif.' before the end of the file",
                )
            )
        self.include_stack.pop()

    def _conditional(self, path: str, tree: ItemTree, index: int, frames: list[_Frame]) -> None:
        cond = tree.conditionals[index]
        kind = cond.kind
        outer = not frames or frames[-1].active
        if kind in ("ifdef", "ifndef", "if"):
            if not outer:
                frames.append(_Frame(False, True, False, path, index))
                return
            if kind == "if":
                value = self._evaluate(path, index, cond.expr)
            else:
                value = self._defined(cond.name or "") == (kind == "ifdef")
            frames.append(_Frame(value, value, True, path, index))
            return
        if not frames:
            self.problems.append(
                Problem(
                    codes.UNBALANCED_CONDITIONAL,
                    path,
                    "cond",
                    index,
                    "form",
                    -1,
                    -1,
                    f"'-{kind}' without a matching '-ifdef', '-ifndef' or '-if' in this file",
                )
            )
            return
        frame = frames[-1]
        if kind == "endif":
            frames.pop()
        elif kind == "else":
            frame.active = frame.parent and not frame.taken
            frame.taken = True
        elif kind == "elif":
            if frame.taken or not frame.parent:
                frame.active = False
            else:
                frame.active = self._evaluate(path, index, cond.expr)
                frame.taken = frame.active

    def _evaluate(self, path: str, index: int, expr: Any) -> bool:
        try:
            return is_true(expr, self._literal, self._defined)
        except Unknown as unknown:
            self.problems.append(
                Problem(
                    codes.UNEVALUATED_CONDITION,
                    path,
                    "cond",
                    index,
                    "form",
                    -1,
                    -1,
                    _unevaluated(unknown),
                )
            )
            return False

    def _include(self, path: str, index: int, include: Include) -> None:
        found = self.find_include(path, include)
        if found is None:
            what = "-include_lib" if include.lib else "-include"
            if include.file is None:
                message = f"{what} needs a plain string naming the file"
            else:
                message = f'can\'t find include file "{include.file}"'
                message += (
                    ": is the app in the project, its dependencies or OTP?"
                    if include.lib
                    else ": check the path, or add its directory to erl_opts {i, Dir}"
                )
            self.problems.append(
                Problem(codes.UNRESOLVED_INCLUDE, path, "include", index, "form", -1, -1, message)
            )
            return
        if found in self.include_stack or len(self.include_stack) >= MAX_INCLUDE_DEPTH:
            return
        if found not in self.includes:
            self.includes.append(found)
        tree = item_tree(self.db, found)
        if tree is not None:
            self.walk(found, tree)

    # ----------------------------------------------------------- records

    def _resolve_refs(
        self, path: str, kind: str, index: int, refs: Refs, uses: _Uses, own: str = ""
    ) -> None:
        """Resolve a non-clause form's macro and record uses at its position.

        ``own``: the record being declared, which its own field types may name.
        """
        for i, use in enumerate(refs.macro_uses):
            expansion = self.expand(use[0], use[1])
            uses.macros |= expansion.macros
            for message in expansion.missing:
                self.problems.append(
                    Problem(codes.UNDEFINED_MACRO, path, kind, index, "macro", i, -1, message)
                )
            for record_name, fields in expansion.records:
                self._use_record(path, kind, index, "macro", i, record_name, fields, None, uses)
        for i, record_use in enumerate(refs.record_uses):
            if record_use[0] == own:
                continue
            fields = tuple(f for f, _ in record_use[2])
            self._use_record(path, kind, index, "record", i, record_use[0], fields, i, uses)

    def _use_record(
        self,
        path: str,
        kind: str,
        index: int,
        part: str,
        sub: int,
        name: str,
        fields: tuple[str, ...],
        use_index: int | None,
        uses: _Uses,
    ) -> None:
        definition = self.records.get(name)
        if definition is None:
            message = (
                f"record #{name} is undefined: define it before this use, or include its header"
            )
            self.problems.append(
                Problem(codes.UNDEFINED_RECORD, path, kind, index, part, sub, -1, message)
            )
            return
        uses.records.add(definition.ref)
        uses.calls |= definition.calls
        for j, field_name in enumerate(fields):
            if field_name not in definition.fields:
                known = ", ".join(sorted(definition.fields)) or "none"
                message = f"record #{name} has no field '{field_name}' (its fields: {known})"
                if use_index is None:
                    self.problems.append(
                        Problem(
                            codes.UNDEFINED_RECORD_FIELD, path, kind, index, part, sub, -1, message
                        )
                    )
                else:
                    self.problems.append(
                        Problem(
                            codes.UNDEFINED_RECORD_FIELD,
                            path,
                            kind,
                            index,
                            "field",
                            use_index,
                            j,
                            message,
                        )
                    )

    def _record(self, path: str, index: int, tree: ItemTree) -> None:
        decl = tree.records[index]
        uses = _Uses()
        self._resolve_refs(path, "record", index, decl.refs, uses, own=decl.name)
        fingerprint = _digest(
            decl.fingerprint,
            *sorted(m[3] for m in uses.macros),
            *sorted(r[2] for r in uses.records),
        )
        self.records[decl.name] = _Record(
            path,
            decl.name,
            fingerprint,
            frozenset(f for f, _ in decl.fields),
            frozenset((c[0], c[1]) for c in decl.refs.local_calls),
        )
        # The fingerprint covers the declaration's tokens: its fields and defaults.
        self.records_digest = _digest(
            self.records_digest, path.encode(), decl.name.encode(), fingerprint
        )

    # -------------------------------------------------------- attributes

    def _attribute(self, path: str, index: int, attr: Attribute) -> None:
        kind = attr.kind
        if kind == "module":
            name = attr.name
            if name is None and attr.text:
                name = self._atom_of_macro(attr.text)
            if name is not None and self.module is None:
                self.module = name
                self.module_at = (path, "attr", index)
                self._define_module(name)
            return
        uses = _Uses()
        if attr.refs.macro_uses or attr.refs.record_uses:
            self._resolve_refs(path, "attr", index, attr.refs, uses)
        if kind == "export":
            self.exports.extend((n, a, path, index, j) for j, (n, a, _) in enumerate(attr.entries))
        elif kind == "import" and attr.name is not None:
            self.imports.extend((attr.name, n, a) for n, a, _ in attr.entries)
        elif kind == "export_type":
            self.export_types.extend((n, a) for n, a, _ in attr.entries)
        elif kind == "type" and attr.name is not None and attr.arity is not None:
            named = tuple((n, a) for n, a, _ in attr.entries)
            self.types.append((attr.name, attr.arity, _digest_uses(attr, uses), named))
        elif kind == "other" and attr.name is not None:
            # From OTP 27 the documentation goes to its own chunk, not to the attributes.
            if not (self.docs_in_chunk and attr.name in ("doc", "moduledoc")):
                self.attributes.append((attr.name, _digest_uses(attr, uses)))
        elif kind in ("spec", "callback") and attr.name is not None and attr.arity is not None:
            digest = _digest_uses(attr, uses)
            if kind == "spec":
                self.specs.append((attr.name, attr.arity, digest, path, index))
            else:
                self.callbacks.append((attr.name, attr.arity, digest))
        elif kind == "optional_callbacks":
            self.optional_callbacks.extend((n, a) for n, a, _ in attr.entries)
        elif kind == "behaviour" and attr.name is not None:
            self.behaviours.append((attr.name, path, index))
        elif kind == "compile":
            self.compile_attrs.append(attr)
        elif kind == "on_load":
            self.on_load.extend((n, a, path, index, j) for j, (n, a, _) in enumerate(attr.entries))
        elif kind == "nifs":
            self.nifs.extend((n, a) for n, a, _ in attr.entries)

    def type_digests(self) -> tuple[tuple[str, int, bytes], ...]:
        """Each type's digest, covering the local types it names (a changed ``-type
        inner()`` changes every type that names it, directly or not)."""
        by_key = {(n, a): (digest, named) for n, a, digest, named in self.types}
        found: list[tuple[str, int, bytes]] = []
        for name, arity, digest, _ in self.types:
            reached: set[tuple[str, int]] = set()
            stack = [(name, arity)]
            while stack:
                key = stack.pop()
                if key in reached or key not in by_key:
                    continue
                reached.add(key)
                stack.extend(by_key[key][1])
            reached.discard((name, arity))
            found.append((name, arity, _digest(digest, *sorted(by_key[k][0] for k in reached))))
        return tuple(found)

    def compile_flags(self) -> CompileFlags:
        flags: list[str] = list(self.env.warnings)
        transforms: list[str] = list(self.env.parse_transforms)
        nowarn: list[tuple[str, int]] = list(self.env.nowarn_unused)
        no_auto: list[tuple[str, int]] = []
        no_auto_all = False
        texts: list[str] = []
        for attr in self.compile_attrs:
            option = attr.name or ""
            texts.append(f"{option}:{attr.text}:{[(n, a) for n, a, _ in attr.entries]}")
            if option == "parse_transform" and attr.text:
                transforms.append(attr.text)
            elif option == "nowarn_unused_function" and attr.entries:
                nowarn.extend((n, a) for n, a, _ in attr.entries)
            elif option == "no_auto_import" and attr.entries:
                no_auto.extend((n, a) for n, a, _ in attr.entries)
            elif option == "no_auto_import":
                no_auto_all = True
            elif not attr.entries and not attr.text:
                flags.append(option)
        return CompileFlags(
            tuple(flags),
            tuple(transforms),
            tuple(sorted(set(nowarn))),
            tuple(sorted(set(no_auto))),
            no_auto_all,
            _digest(*(t.encode() for t in (*flags, *transforms, *texts))),
        )

    # ----------------------------------------------------------- clauses

    def _clause(self, path: str, index: int, clause: Clause) -> None:
        key = (clause.without_positions, self.macros_digest, self.records_digest)
        found = _RESOLVED_CLAUSES.get(key)
        if found is None:
            found = self._resolve_clause(path, index, clause)
            _RESOLVED_CLAUSES.put(key, found)
        for code, part, sub, sub2, message in found.problems:
            self.problems.append(Problem(code, path, "clause", index, part, sub, sub2, message))
        for name, arity in found.heads:
            self.clauses.append((_Active(path, index, name, arity, found.extra), clause, found))

    def _resolve_clause(self, path: str, index: int, clause: Clause) -> _ClauseResolution:
        first_problem = len(self.problems)
        refs = clause.refs
        uses = _Uses()
        direct = [self._lookup(use[0], use[1]) for use in refs.macro_uses]

        def dropped(use: int, arg: int) -> bool:
            macro = direct[use] if use >= 0 else None
            return macro is not None and not self.uses_argument(macro, arg)

        dropped_calls = tuple(
            i for i, call in enumerate(refs.local_calls) if dropped(call[3], call[4])
        )
        calls: set[tuple[str, int]] = {
            (call[0], call[1]) for i, call in enumerate(refs.local_calls) if i not in dropped_calls
        }
        funs = set(refs.local_funs)
        uses.applied = {
            (call[0], call[1])
            for i, call in enumerate(refs.local_calls)
            if i not in dropped_calls and i not in funs
        }
        remotes: set[tuple[str, str, int]] = set()
        macro_calls: list[tuple[int, str, int]] = []
        macro_remotes: list[tuple[int, str, str, int]] = []
        free_vars: set[str] = set()
        uncertain = clause.has_error
        for i, use in enumerate(refs.macro_uses):
            expansion = self.expand(use[0], use[1], not use[4])
            uses.macros |= expansion.macros
            if expansion.missing:
                uncertain = True
                for message in expansion.missing:
                    self.problems.append(
                        Problem(
                            codes.UNDEFINED_MACRO, path, "clause", index, "macro", i, -1, message
                        )
                    )
            found_calls = set(expansion.calls)
            macro = direct[i]
            if macro is not None:
                for param, arity in macro.param_calls:
                    atom = use[3][param] if param < len(use[3]) else None
                    if atom is not None:
                        found_calls.add((atom, arity))
            for call in sorted(found_calls):
                macro_calls.append((i, *call))
                calls.add(call)
                uses.applied.add(call)
            for remote in sorted(expansion.remotes):
                macro_remotes.append((i, *remote))
                remotes.add(remote)
            for record_name, fields in expansion.records:
                self._use_record(path, "clause", index, "macro", i, record_name, fields, None, uses)
            free_vars |= expansion.free_vars
        modules: list[str | None] = []
        for remote in refs.remote_calls:
            resolved = self._atom_of_macro(remote[0]) if remote[1] else remote[0]
            if dropped(remote[5], remote[6]):
                resolved = None
            modules.append(resolved)
            if resolved is not None:
                remotes.add((resolved, remote[2], remote[3]))
        for i, record_use in enumerate(refs.record_uses):
            if dropped(record_use[3], record_use[4]):
                continue
            fields = tuple(f for f, _ in record_use[2])
            self._use_record(path, "clause", index, "record", i, record_use[0], fields, i, uses)
        calls |= uses.calls
        uses.applied |= uses.calls
        unbound: tuple[int, ...] = ()
        if not uncertain and clause.unbound:
            unbound = tuple(i for i, (var, _) in enumerate(clause.unbound) if var not in free_vars)
        heads: list[tuple[str | None, int]] = [(clause.name, clause.arity)]
        if clause.name is None and refs.macro_uses:
            macro = direct[0]
            if clause.arity == -1:
                # A form that is one macro call: its replacement's clauses.
                heads = list(self.function_heads(macro, refs.macro_uses[0])) if macro else []
            else:
                heads = [(self._atom_of_macro(refs.macro_uses[0][0]), clause.arity)]
        overrides = tuple(
            (i, module)
            for i, (remote, module) in enumerate(zip(refs.remote_calls, modules, strict=True))
            if module != (None if remote[1] else remote[0])
        )
        extra = (overrides, dropped_calls, tuple(macro_calls), tuple(macro_remotes), unbound)
        problems = []
        for problem in self.problems[first_problem:]:
            assert (problem.file, problem.kind, problem.index) == (path, "clause", index)
            problems.append(
                (problem.code, problem.part, problem.sub, problem.sub2, problem.message)
            )
        del self.problems[first_problem:]
        return _ClauseResolution(uses, calls, remotes, tuple(heads), extra, tuple(problems))

    def functions(self) -> list[ResolvedFunction]:
        """Group the active clauses into definitions; report mismatched heads and duplicates."""
        groups: list[tuple[str, int, list[int]]] = []
        open_group = False
        for position, (rc, clause, _) in enumerate(self.clauses):
            name, arity = rc.name, rc.arity
            if name is None:
                open_group = not clause.ends
                continue
            if open_group and groups:
                last_name, last_arity, members = groups[-1]
                if (last_name, last_arity) == (name, arity):
                    members.append(position)
                    open_group = not clause.ends
                    continue
                self.problems.append(
                    Problem(
                        codes.HEAD_MISMATCH,
                        rc.file,
                        "clause",
                        rc.index,
                        "head",
                        -1,
                        -1,
                        f"this clause of {name}/{arity} follows a clause of "
                        f"{last_name}/{last_arity} ended by ';': end that one with '.'",
                    )
                )
            groups.append((name, arity, [position]))
            open_group = not clause.ends
        seen: set[tuple[str, int]] = set()
        result: list[ResolvedFunction] = []
        imported = imported_from(self.imports, {(name, arity) for name, arity, _ in groups})
        imports = (tuple(self.imports), tuple(sorted(imported.items())))
        for name, arity, members in groups:
            if (name, arity) in seen:
                first = self.clauses[members[0]][0]
                self.problems.append(
                    Problem(
                        codes.DUPLICATE_FUNCTION,
                        first.file,
                        "clause",
                        first.index,
                        "head",
                        -1,
                        -1,
                        f"function {name}/{arity} is already defined above: merge the two "
                        "definitions or rename one",
                    )
                )
            seen.add((name, arity))
            result.append(self._function(name, arity, members, imported, imports))
        return result

    def _function(
        self,
        name: str,
        arity: int,
        members: list[int],
        import_sources: dict[tuple[str, int], str],
        imports: tuple[Any, ...],
    ) -> ResolvedFunction:
        """``imports``: the module's imports and ``import_sources``, as a key."""
        resolutions = tuple(self.clauses[position][2] for position in members)
        fingerprints = tuple(self.clauses[position][1].fingerprint for position in members)
        key = (name, arity, tuple(members), tuple(map(id, resolutions)), fingerprints, imports)
        known = _GROUPED_FUNCTIONS.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], resolutions, strict=True)):
            return known[1]
        function = self._group(name, arity, members, import_sources)
        _GROUPED_FUNCTIONS.put(key, (resolutions, function))
        return function

    def _group(
        self,
        name: str,
        arity: int,
        members: list[int],
        import_sources: dict[tuple[str, int], str],
    ) -> ResolvedFunction:
        macros: set[MacroRef] = set()
        records: set[RecordRef] = set()
        calls: set[tuple[str, int]] = set()
        applied: set[tuple[str, int]] = set()
        remotes: set[tuple[str, str, int]] = set()
        fingerprints: list[bytes] = []
        for position in members:
            _, clause, resolution = self.clauses[position]
            macros.update(resolution.macros)
            records.update(resolution.records)
            calls.update(resolution.calls)
            applied.update(resolution.applied)
            remotes.update(resolution.remotes)
            fingerprints.append(clause.fingerprint)
        imported = sorted(f"{m}:{f}/{a}".encode() for m, f, a in self.imports if (f, a) in calls)
        # A call of an imported function is a call of that module's function.
        remotes |= {(import_sources[c], *c) for c in applied if c in import_sources}
        fingerprint = _digest(
            *fingerprints,
            b"macros",
            *sorted(m[3] + m[1].encode() for m in macros),
            b"records",
            *sorted(r[2] for r in records),
            b"imports",
            *imported,
        )
        return _interned_function(
            (
                name,
                arity,
                tuple(members),
                fingerprint,
                tuple(sorted(calls)),
                tuple(sorted(remotes)),
                tuple(sorted(macros)),
                tuple(sorted(records)),
            )
        )

    def result(self) -> ResolvedModule:
        functions = self.functions()
        files: dict[str, int] = {self.path: 0}
        clause_at: list[int] = []
        extras: list[ClauseExtra] = []
        for position, (active, _, _) in enumerate(self.clauses):
            file_index = files.setdefault(active.file, len(files))
            clause_at.append(file_index << 32 | active.index)
            if any(active.extra):
                extras.append(ClauseExtra(position, *active.extra))
        return ResolvedModule(
            self.path,
            self.profile,
            self.module,
            self.module_at,
            tuple(self.includes),
            tuple(self.exports),
            tuple(self.imports),
            tuple(self.export_types),
            self.type_digests(),
            tuple(self.specs),
            tuple(self.callbacks),
            tuple(self.optional_callbacks),
            tuple(self.behaviours),
            self.compile_flags(),
            tuple(self.on_load),
            tuple(self.nifs),
            tuple(self.attributes),
            tuple(functions),
            tuple(files),
            tuple(clause_at),
            tuple(extras),
            tuple(self.problems),
        )


@stored(version=3)
def resolve(db: Any, path: str, profile: str) -> ResolvedModule | None:
    """``path`` (an .erl file) as the compiler sees it under ``profile`` ("default" or "test")."""
    tree = item_tree(db, path)
    if tree is None:
        return None
    resolver = _Resolver(db, path, profile)
    resolver.walk(path, tree)
    return resolver.result()


@stored(version=1)
def function_fingerprints(
    db: Any, path: str, profile: str
) -> tuple[tuple[tuple[str, int], bytes], ...]:
    """((name, arity), fingerprint) of every function of the module, sorted.

    A function's fingerprint changes when its clauses' tokens change or when a
    macro or record definition it uses changes (wherever it is defined), and
    only then: test selection reruns what uses a changed function.
    """
    resolved = resolve(db, path, profile)
    if resolved is None:
        return ()
    return tuple(sorted(((f.name, f.arity), f.fingerprint) for f in resolved.functions))


@stored(version=2)
def module_level_fingerprint(db: Any, path: str, profile: str) -> bytes:
    """What changes the module's behaviour without changing any function's fingerprint.

    Covered: the module name, exports and imports, ``-compile`` options
    (parse transforms, export_all, inlining...) and erl_opts, ``-on_load``,
    ``-nifs``, ``-behaviour`` and callbacks, every other attribute that reaches
    the BEAM file (``-vsn``, ``-dialyzer``, user attributes: what
    ``module_info(attributes)`` returns) or changes how it compiles (``-file``,
    ``-feature``), and the EUnit tests the module defines (eunit's autoexport
    exports them, and ``{module, M}`` generators elsewhere run them). Not
    covered: records and types used only in specs, and ``-export_type`` (they
    do not change compiled code).
    """
    resolved = resolve(db, path, profile)
    if resolved is None:
        return b""
    tests = sorted(
        f.name
        for f in resolved.functions
        if f.arity == 0 and (f.name.endswith("_test") or f.name.endswith("_test_"))
    )
    return _digest(
        (resolved.module or "").encode(),
        repr(sorted((n, a) for n, a, *_ in resolved.exports)).encode(),
        repr(sorted(resolved.imports)).encode(),
        resolved.compile.digest,
        repr(sorted((n, a) for n, a, *_ in resolved.on_load)).encode(),
        repr(sorted(resolved.nifs)).encode(),
        repr(sorted(b for b, _, _ in resolved.behaviours)).encode(),
        repr(sorted((n, a) for n, a, _ in resolved.callbacks)).encode(),
        b"attributes",
        *(name.encode() + b"=" + digest for name, digest in resolved.attributes),
        b"tests",
        *(name.encode() for name in tests),
    )
