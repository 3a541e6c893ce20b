"""Facts about the installed Erlang/OTP, read from its files without starting a node.

These are inputs of the query graph (HIGH durability), set by the Workspace:

* :func:`locate_otp` -- where OTP is, its version, its applications;
* :func:`otp_modules` -- every OTP module's exports (from the .beam files),
  the specs of its exported functions (from its source, see
  holo.project.otp_specs) and, for behaviours, their callbacks (from the
  source, via tree-sitter);
* :func:`otp_auto_imported_bifs` -- what every module may call without ``erlang:``;
* :func:`otp_header_paths` -- the ``lib/*/include/*.hrl`` files ``-include_lib`` reaches.

Reading ~1,250 .beam files and the specs in their 37 MB of sources takes a
second or two, so the module table is built once per OTP install and cached
in holo's store, keyed by OTP's version, root and application directories.
Without OTP's sources (no erlang-src) the modules simply have no specs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tree_sitter import Node, Parser
from tree_sitter_language_pack import get_parser

from holo.engine import Store
from holo.engine.codec import digest, encode
from holo.errors import UserError
from holo.inputs import ExternalModule, OtpInfo
from holo.project.beam_file import BeamFormatError, read_beam_exports
from holo.project.erlang_terms import TermSyntaxError, parse_term
from holo.project.otp_specs import decode_source, source_specs

log = logging.getLogger(__name__)

# Bump when what otp_modules computes changes, so old cache entries are misses.
OTP_FACTS_FORMAT = b"3"  # the text table below, with specs

_INSTALL_HINT = (
    "install Erlang/OTP (on Debian/Ubuntu: `apt-get install erlang-nox`) "
    "or put its bin directory on PATH"
)


# ------------------------------------------------------------------ locating


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _split_app_dir(name: str) -> tuple[str, str]:
    """``stdlib-4.2`` -> ("stdlib", "4.2"); a directory without a version keeps its name."""
    m = re.fullmatch(r"(.+?)-(\d[\w.\-]*)", name)
    return (m.group(1), m.group(2)) if m else (name, "")


def _root_from_erl(erl: Path) -> Path | None:
    """OTP's root for an ``erl`` executable: the directory above its real ``bin``."""
    real = Path(os.path.realpath(erl))
    candidate = real.parent.parent
    if (candidate / "releases").is_dir() and (candidate / "lib").is_dir():
        return candidate
    # erl is a wrapper script elsewhere (kerl, asdf): OTP's own script names its root.
    try:
        script = real.read_text("utf-8", errors="replace")[:20000]
    except OSError:
        return None
    m = re.search(r'^\s*ROOTDIR="?([^"\n]+)"?\s*$', script, re.MULTILINE)
    if m and "$" not in m.group(1):
        root = Path(m.group(1))
        if (root / "releases").is_dir():
            return root
    return None


def _root_by_asking_erl(erl: Path) -> Path | None:
    """Last resort for unusual installs: ask the runtime itself (one short erl run)."""
    try:
        out = subprocess.run(
            [str(erl), "-noshell", "-eval", "io:put_chars(code:root_dir()), halt()."],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    root = Path(out.decode("utf-8", "replace").strip())
    return root if (root / "releases").is_dir() else None


def _release(root: Path) -> tuple[str, str]:
    """(OTP version, release) from ``releases/<rel>/OTP_VERSION``."""
    releases = root / "releases"
    preferred: list[str] = []
    # start_erl.data is "<erts version> <release>": the release erl boots.
    with contextlib.suppress(OSError, IndexError):
        preferred.append((releases / "start_erl.data").read_text().split()[1])
    try:
        others = sorted(
            (d.name for d in releases.iterdir() if d.is_dir()), key=_version_key, reverse=True
        )
    except OSError:
        others = []
    for release in [*preferred, *others]:
        try:
            version = (releases / release / "OTP_VERSION").read_text().strip()
        except OSError:
            continue
        if version:
            return version.rstrip("*").strip(), release
    raise UserError(f"cannot tell the OTP version: no releases/*/OTP_VERSION under {root}")


def _lib_dirs(root: Path) -> tuple[tuple[str, str], ...]:
    newest: dict[str, tuple[tuple[int, ...], str]] = {}
    try:
        entries = sorted((root / "lib").iterdir())
    except OSError as e:
        raise UserError(f"cannot list OTP's applications in {root / 'lib'}: {e}") from None
    for entry in entries:
        if not entry.is_dir():
            continue
        name, version = _split_app_dir(entry.name)
        key = _version_key(version)
        if name not in newest or key > newest[name][0]:
            newest[name] = (key, str(entry))
    return tuple(sorted((name, path) for name, (_, path) in newest.items()))


def locate_otp(erl: str | None = None) -> OtpInfo:
    """Where the ``erl`` on PATH (or the one given) lives, and what OTP it is."""
    found = erl or shutil.which("erl")
    if found is None:
        raise UserError(f"Erlang/OTP not found: there is no `erl` on PATH; {_INSTALL_HINT}")
    erl_path = Path(found)
    root = _root_from_erl(erl_path) or _root_by_asking_erl(erl_path)
    if root is None:
        raise UserError(
            f"cannot find OTP's root directory from {erl_path} "
            f"(no releases/ and lib/ above its bin/); {_INSTALL_HINT}"
        )
    version, release = _release(root)
    return OtpInfo(version=version, release=release, root=str(root), lib_dirs=_lib_dirs(root))


def otp_header_paths(otp: OtpInfo) -> list[Path]:
    """Every ``lib/<app>/include/*.hrl`` of OTP: what ``-include_lib`` can reach there."""
    paths: list[Path] = []
    for _, lib_dir in otp.lib_dirs:
        include = Path(lib_dir) / "include"
        if include.is_dir():
            paths.extend(sorted(include.glob("*.hrl")))
    return paths


# ------------------------------------------------------------- behaviours


def _erlang_parser() -> Parser:
    # A fresh parser per file costs microseconds and is never shared between threads.
    return get_parser("erlang")


def _top_level_forms(node: Node, types: frozenset[str]) -> Iterator[Node]:
    # tree-sitter-erlang keeps forms flat under source_file, preprocessor branches included.
    for child in node.children:
        if child.type in types:
            yield child


def _atom_name(node: Node) -> str | None:
    if node.type != "atom" or node.text is None:
        return None
    text = node.text.decode("utf-8", "replace")
    if not text.startswith("'"):
        return text
    try:
        return str(parse_term(text))
    except TermSyntaxError:
        return None


def _arity(type_sig: Node) -> int | None:
    for child in type_sig.children:
        if child.type == "expr_args":
            return sum(1 for a in child.named_children if a.type != "comment")
    return None


_BEHAVIOUR_FORMS = frozenset({"callback", "optional_callbacks_attribute"})


def behaviour_callbacks(
    source: bytes,
) -> tuple[frozenset[tuple[str, int]], frozenset[tuple[str, int]]]:
    """(callbacks, optional callbacks) declared by a behaviour module's source.

    ``-callback`` attributes in every preprocessor branch count: OTP declares
    the same callbacks in both branches when it declares them conditionally.
    """
    tree = _erlang_parser().parse(source)
    callbacks: set[tuple[str, int]] = set()
    optional: set[tuple[str, int]] = set()
    for form in _top_level_forms(tree.root_node, _BEHAVIOUR_FORMS):
        if form.type == "callback":
            atoms = [c for c in form.children if c.type == "atom"]
            name = _atom_name(atoms[0]) if atoms else None
            if name is None:
                continue
            for sig in form.children:
                if sig.type == "type_sig":
                    arity = _arity(sig)
                    if arity is not None:
                        callbacks.add((name, arity))
        else:
            for fa in form.named_children:
                if fa.type != "fa":
                    continue
                fa_atoms = [c for c in fa.children if c.type == "atom"]
                arities = [c for c in fa.children if c.type == "arity"]
                name = _atom_name(fa_atoms[0]) if fa_atoms else None
                digits = [c for c in arities[0].children if c.type == "integer"] if arities else []
                if name is not None and digits and digits[0].text is not None:
                    optional.add((name, int(digits[0].text)))
    return frozenset(callbacks), frozenset(optional)


def _module_sources(lib_dir: Path) -> dict[str, Path]:
    """Every module source under ``lib_dir/src`` by module name; src/ itself wins."""
    sources: dict[str, Path] = {}
    src = lib_dir / "src"
    # A few applications keep sources in subdirectories of src/.
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".erl"):
                path = Path(dirpath) / name
                if name[:-4] not in sources or path.parent == src:
                    sources[name[:-4]] = path
    return sources


def _exported_specs(
    source: bytes, exports: frozenset[tuple[str, int]]
) -> tuple[tuple[str, int, str], ...]:
    specs = source_specs(decode_source(source))
    return tuple(sorted((n, a, text) for (n, a), text in specs.items() if (n, a) in exports))


# ---------------------------------------------------------------- modules


def _scan_modules(otp: OtpInfo) -> dict[str, ExternalModule]:
    modules: dict[str, ExternalModule] = {}
    for app, lib_dir_text in otp.lib_dirs:
        lib_dir = Path(lib_dir_text)
        ebin = lib_dir / "ebin"
        try:
            beams = sorted(ebin.glob("*.beam"))
        except OSError as e:
            log.warning("cannot list %s: %s", ebin, e)
            continue
        sources = _module_sources(lib_dir)
        for beam in beams:
            try:
                facts = read_beam_exports(beam.read_bytes())
            except (OSError, BeamFormatError) as e:
                log.warning("skipping OTP module %s: %s", beam, e)
                continue
            path = sources.get(facts.module)
            try:
                source = path.read_bytes() if path is not None else None
            except OSError as e:
                log.warning("cannot read %s: %s", path, e)
                source = None
            callbacks: frozenset[tuple[str, int]] = frozenset()
            optional: frozenset[tuple[str, int]] = frozenset()
            if ("behaviour_info", 1) in facts.exports:
                if source is None:
                    log.warning("behaviour %s has no source in %s/src", facts.module, lib_dir)
                else:
                    callbacks, optional = behaviour_callbacks(source)
            modules[facts.module] = ExternalModule(
                name=facts.module,
                app=app,
                exports=facts.exports,
                callbacks=callbacks,
                optional_callbacks=optional,
                specs=_exported_specs(source, facts.exports) if source is not None else (),
            )
    return modules


def _cache_key(otp: OtpInfo, kind: bytes) -> bytes:
    return digest(kind, otp.version.encode(), otp.root.encode(), encode(otp.lib_dirs),
                  OTP_FACTS_FORMAT)  # fmt: skip


def otp_modules(otp: OtpInfo, store: Store | None = None) -> dict[str, ExternalModule]:
    """Every OTP module by name, with its exports and behaviour callbacks.

    Cached in ``store`` as one entry; an entry that does not decode to what
    this function writes is a miss, and is rewritten.
    """
    key = _cache_key(otp, b"otp-modules")
    if store is not None:
        payload = store.get(key)
        if payload is not None:
            cached = _decode_modules(payload)
            if cached is not None:
                return cached
            log.warning("the cached OTP module table is unreadable; rebuilding it")
    modules = _scan_modules(otp)
    if store is not None:
        store.set_many([(key, _encode_modules(modules))])
    return modules


# The table is read on every start of every holo command, so it is stored as
# lines of text that split apart in milliseconds, not through the generic
# codec (0.2 s for its 31,000 export tuples):
#     module <TAB> app <TAB> f/1 g/2 <TAB> callbacks <TAB> optional callbacks <TAB> specs
# where specs are "f/1" US text RS "g/2" US text ..., the text's newlines written
# as GS and its tabs as FS (ASCII separators no Erlang source contains; a spec
# that does is left out).
_RS, _US, _GS, _FS = "\x1e", "\x1f", "\x1d", "\x1c"
_SEPARATORS = frozenset((_RS, _US, _GS, _FS))


def _functions_text(functions: frozenset[tuple[str, int]]) -> str:
    return " ".join(f"{name}/{arity}" for name, arity in sorted(functions))


def _functions(text: str) -> frozenset[tuple[str, int]]:
    result = set()
    for entry in text.split(" ") if text else ():
        name, _, arity = entry.rpartition("/")
        result.add((name, int(arity)))
    return frozenset(result)


def _specs_text(specs: tuple[tuple[str, int, str], ...]) -> str:
    return _RS.join(
        f"{name}/{arity}{_US}" + text.replace("\n", _GS).replace("\t", _FS)
        for name, arity, text in specs
        if not _SEPARATORS.intersection(text)
    )


def _specs(text: str) -> tuple[tuple[str, int, str], ...]:
    if not text:
        return ()
    specs = []
    for entry in text.replace(_GS, "\n").replace(_FS, "\t").split(_RS):
        function, spec = entry.split(_US)
        name, _, arity = function.rpartition("/")
        specs.append((name, int(arity), spec))
    return tuple(specs)


def _encode_modules(modules: dict[str, ExternalModule]) -> bytes:
    lines = [
        "\t".join(
            (
                m.name,
                m.app,
                _functions_text(m.exports),
                _functions_text(m.callbacks),
                _functions_text(m.optional_callbacks),
                _specs_text(m.specs),
            )
        )
        for m in (modules[name] for name in sorted(modules))
    ]
    return "\n".join(lines).encode("utf-8")


def _decode_modules(payload: bytes) -> dict[str, ExternalModule] | None:
    modules = {}
    try:
        for line in payload.decode("utf-8").split("\n"):
            name, app, exports, callbacks, optional, specs = line.split("\t")
            modules[name] = ExternalModule(
                name,
                app,
                _functions(exports),
                _functions(callbacks),
                _functions(optional),
                _specs(specs),
            )
    except ValueError:  # a wrong field count, a bad arity, bytes that are not UTF-8
        return None
    return modules or None


# ------------------------------------------------------------ auto-imports


def otp_auto_imported_bifs(otp: OtpInfo) -> frozenset[tuple[str, int]]:
    """The ``erlang`` functions every module calls unqualified: ``erl_internal:bif/2``'s table.

    Read from stdlib's ``erl_internal.erl``: the clauses ``bif(Name, Arity) -> true``.
    """
    lib_dirs = dict(otp.lib_dirs)
    if "stdlib" not in lib_dirs:
        raise UserError(f"OTP at {otp.root} has no stdlib application")
    source = Path(lib_dirs["stdlib"]) / "src" / "erl_internal.erl"
    try:
        text = source.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {source}: {e}; holo needs OTP's sources") from None
    bifs: set[tuple[str, int]] = set()
    tree = _erlang_parser().parse(text)
    for fun in _top_level_forms(tree.root_node, frozenset({"fun_decl"})):
        for clause in fun.named_children:
            entry = _bif_clause(clause)
            if entry is not None:
                bifs.add(entry)
    if not bifs:
        raise UserError(f"found no bif/2 table in {source}")
    return frozenset(bifs)


def _bif_clause(clause: Node) -> tuple[str, int] | None:
    """("abs", 1) for the clause ``bif(abs, 1) -> true``; None for any other clause."""
    if clause.type != "function_clause":
        return None
    name = clause.child_by_field_name("name")
    args = clause.child_by_field_name("args")
    body = clause.child_by_field_name("body")
    if name is None or args is None or body is None or name.text != b"bif":
        return None
    params = [a for a in args.named_children if a.type != "comment"]
    if len(params) != 2 or params[0].type != "atom" or params[1].type != "integer":
        return None
    exprs = body.children_by_field_name("exprs")
    if clause.child_by_field_name("guard") is not None or [e.text for e in exprs] != [b"true"]:
        return None
    bif = _atom_name(params[0])
    if bif is None or params[1].text is None:
        return None
    return bif, int(params[1].text)
