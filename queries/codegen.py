"""Code generation: the compile job of a module, the key of its output, and the output.

``compile_job`` gathers every byte OTP's compiler will see for a module: its
source and the project headers it includes, exactly as the engine holds them
(never a fresh read of the user's files), plus its include path, macros and
options, and the code of the project's parse transforms and behaviours it
needs loaded first.

``compile_key`` names the output. It covers the module's own source, its
options and the OTP version, but of its headers only what the module can
observe: the definitions its functions actually use (through ``resolve``,
whose function fingerprints cover the macros and records they expand) and
the headers' other forms (functions, attributes, conditionals, includes).
Adding a macro that no function uses to a header included by sixty modules
changes no key, so nothing recompiles. Another module's body never enters a
key: a parse transform enters by its BEAM, a behaviour by its callbacks.

Headers outside both the project and OTP (``{i, "../shared"}``) are handed
over too, under ``_holo_external/`` followed by their absolute path (a job
holds project-relative paths only), with their include directories renamed
the same way: the compiler reads exactly the bytes the key covers. Only
OTP's own headers are read where they are: they change with OTP's version,
which is in every key.

``codegen`` asks the compiler service (``db.services["compiler"]``, a pure
function memoised by key in the persistent cache) for the output.
"""

from __future__ import annotations

import posixpath
from typing import Any

from holo.beam.compile_job import CompileJob, CompileResult
from holo.diagnostics import Diagnostic, Severity
from holo.engine import codec, query
from holo.inputs import external_module, file_text, otp_info
from holo.queries.interface import module_interface
from holo.queries.item_tree import item_tree
from holo.queries.project_index import compile_env, module_path
from holo.queries.resolve import resolve

KEY_FORMAT = b"holo.compile-key/1"

# Where a compile job puts headers from outside the project and OTP.
EXTERNAL_HEADERS = "_holo_external"


def _is_project_path(path: str) -> bool:
    return not path.startswith("/")


def external_job_path(path: str) -> str:
    """The name in a compile job of an absolute path outside the project and OTP."""
    return EXTERNAL_HEADERS + posixpath.normpath(path)


def original_path(job_path: str) -> str:
    """The file a path in a compile job (or in the compiler's diagnostics) stands for."""
    if job_path.startswith(EXTERNAL_HEADERS + "/"):
        return job_path[len(EXTERNAL_HEADERS) :]
    return job_path


def _is_otp_path(path: str, otp_root: str) -> bool:
    return path == otp_root or path.startswith(otp_root.rstrip("/") + "/")


def _job_dir(directory: str, otp_root: str) -> str:
    if not directory:
        return "."
    if _is_project_path(directory) or _is_otp_path(directory, otp_root):
        return directory
    return external_job_path(directory)


@query(persist=True, version=1)
def compile_time_modules(db: Any, path: str, profile: str) -> tuple[str, ...]:
    """Project modules that must be compiled and loaded before this one: its parse
    transforms (from the module and from erl_opts) and the behaviours it implements."""
    resolved = resolve(db, path, profile)
    env = compile_env(db, path, profile)
    names: list[str] = list(env.parse_transforms)
    if resolved is not None:
        names.extend(resolved.compile.parse_transforms)
        names.extend(behaviour for behaviour, _, _ in resolved.behaviours)
    own = posixpath.basename(path)[:-4]
    return tuple(sorted({n for n in names if n != own and module_path(db, n) is not None}))


@query
def compile_cycle(db: Any, path: str, profile: str) -> tuple[str, ...]:
    """A cycle of compile-time dependencies through this module, or () if there is none."""
    start = posixpath.basename(path)[:-4]
    stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
    seen: set[str] = set()
    while stack:
        module, trail = stack.pop()
        module_source = module_path(db, module)
        if module_source is None:
            continue
        for dep in compile_time_modules(db, module_source, profile):
            if dep == start:
                return (*trail, dep)
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, (*trail, dep)))
    return ()


@query(persist=True, version=1)
def header_shape(db: Any, header: str) -> bytes:
    """What a module can observe of a header besides the macro and record definitions it uses."""
    tree = item_tree(db, header)
    if tree is None:
        return b"absent"
    return codec.encode(
        (
            tuple(clause.fingerprint for clause in tree.clauses),
            tuple((a.kind, a.name, a.arity, a.text) for a in tree.attributes),
            tuple((c.kind, c.name, codec.fingerprint(c.expr)) for c in tree.conditionals),
            tuple((i.lib, i.file) for i in tree.includes),
            tuple(u.name for u in tree.undefs),
        )
    )


@query
def compile_job(db: Any, path: str, profile: str) -> CompileJob | None:
    source = file_text(db, path)
    if source is None:
        return None
    resolved = resolve(db, path, profile)
    env = compile_env(db, path, profile)
    otp_root = otp_info(db).root
    headers = []
    for header in resolved.includes if resolved is not None else ():
        if _is_project_path(header):
            name = header
        elif not _is_otp_path(header, otp_root):
            name = external_job_path(header)
        else:
            continue
        text = file_text(db, header)
        if text is not None:
            headers.append((name, text))
    extra_code = []
    if not compile_cycle(db, path, profile):
        for module in compile_time_modules(db, path, profile):
            if external_module(db, module) is not None:
                # OTP has it (the project is OTP's own source): the agent already
                # runs OTP's copy, and a sticky OTP module is never replaced.
                continue
            dep_path = module_path(db, module)
            result = codegen(db, dep_path, profile) if dep_path is not None else None
            if result is not None and result.binary is not None:
                extra_code.append((module, result.binary))
    # erl_opts' own {d, ...} reach the compiler through its text; only the
    # profile's (TEST) come on top.
    macros = tuple(m for m in env.macros if m.name not in env.erl_opts_macros)
    return CompileJob(
        path=path,
        source=source,
        headers=tuple(headers),
        include_dirs=tuple(_job_dir(d, otp_root) for d in env.include_dirs),
        lib_dirs=env.lib_dirs,
        macros=macros,
        erl_opts=env.erl_opts,
        extra_code=tuple(extra_code),
    )


@query(persist=True, version=1)
def compile_key(db: Any, path: str, profile: str) -> bytes | None:
    job = compile_job(db, path, profile)
    if job is None:
        return None
    resolved = resolve(db, path, profile)
    parts: list[Any] = [
        otp_info(db).version,
        job.path,
        job.source,
        job.include_dirs,
        job.lib_dirs,
        job.macros,
        job.erl_opts,
        codec.fingerprint(resolved),  # decoded once per process, cached by its encoding
        tuple((h, header_shape(db, h)) for h in (resolved.includes if resolved else ())),
    ]
    for module in compile_time_modules(db, path, profile):
        dep_path = module_path(db, module)
        if dep_path is None:
            continue
        if module in (resolved.compile.parse_transforms if resolved else ()) or module in (
            compile_env(db, path, profile).parse_transforms
        ):
            # A parse transform rewrites this module: its code is part of the input.
            dep_job = codegen(db, dep_path, profile)
            parts.append((module, codec.fingerprint(dep_job.binary)))
        else:
            interface = module_interface(db, module, profile)
            parts.append((module, codec.fingerprint(interface.callbacks if interface else None)))
    return codec.digest(KEY_FORMAT, codec.encode(tuple(parts)))


@query
def codegen(db: Any, path: str, profile: str) -> CompileResult:
    cycle = compile_cycle(db, path, profile)
    if cycle:
        return _failed(
            path,
            "compile_cycle",
            (
                "compile-time dependency cycle: "
                + " -> ".join(cycle)
                + "; a parse transform or behaviour cannot depend on the module it compiles"
            ),
        )
    key = compile_key(db, path, profile)
    if key is None:
        return _failed(path, "no_source", f"{path} has no text")
    compiler = db.services["compiler"]
    # The output is a function of the key alone: when it is cached, the job
    # (every byte the compiler would see) need not even be assembled.
    cached = compiler.cached(key)
    if cached is not None:
        return cached
    job = compile_job(db, path, profile)
    if job is None:
        return _failed(path, "no_source", f"{path} has no text")
    return compiler.result(key, job)


def _failed(path: str, tag: str, message: str) -> CompileResult:
    diagnostic = Diagnostic(path, 0, 0, 0, 0, Severity.ERROR, "C" + tag, "holo", message)
    return CompileResult(False, None, None, (diagnostic,))
