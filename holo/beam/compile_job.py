"""What a compile asks of the agent, and what comes back.

A :class:`CompileJob` holds *everything* OTP's compiler will see: the source
bytes, the bytes of every project header it may include, the include and lib
directories, macros and erl_opts, and the code of parse transforms and
behaviours it needs loaded. The agent reads no project file, so the result is
a pure function of the job, and :meth:`CompileJob.key` can name it in the
persistent cache (the caller salts the key with the OTP version).

Paths are project-relative POSIX paths, as everywhere in holo. Include dirs
may also be absolute, for OTP's directories, which are high-durability facts.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from holo.diagnostics import Diagnostic, Severity
from holo.engine import record
from holo.engine.codec import digest, encode
from holo.inputs import MacroOption


def _check_relative(what: str, path: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or "\\" in path:
        raise ValueError(
            f"{what} {path!r} must be a project-relative POSIX path inside the project"
        )


def _normal_dir(directory: str) -> str:
    normal = posixpath.normpath(directory) if directory else ""
    return "" if normal == "." else normal


@record("holo.CompileJob")
@dataclass(frozen=True)
class CompileJob:
    path: str  # the module's source, project-relative ("src/shop.erl")
    source: bytes
    headers: tuple[tuple[str, bytes], ...] = ()  # (project-relative path, bytes)
    include_dirs: tuple[str, ...] = ()  # project-relative, or absolute for OTP's
    lib_dirs: tuple[tuple[str, str], ...] = ()  # (app name, project-relative app dir; "" = root)
    macros: tuple[MacroOption, ...] = ()
    erl_opts: str = "[]"  # the erl_opts list as Erlang source text
    extra_code: tuple[tuple[str, bytes], ...] = ()  # (module, BEAM) to load before compiling

    def __post_init__(self) -> None:
        _check_relative("the source path", self.path)
        for path, _ in self.headers:
            _check_relative("the header path", path)
        if len({path for path, _ in self.headers}) != len(self.headers):
            raise ValueError(f"a header path appears twice in the compile job of {self.path}")
        for directory in self.include_dirs:
            if not directory.startswith("/"):
                _check_relative("the include dir", directory)
        for app, directory in self.lib_dirs:
            if directory:
                _check_relative(f"the directory of app {app!r}", directory)
        # Order carries no meaning for these: sort them so equal jobs are equal.
        object.__setattr__(self, "headers", tuple(sorted(self.headers)))
        object.__setattr__(self, "lib_dirs", tuple(sorted(self.lib_dirs)))
        object.__setattr__(self, "extra_code", tuple(sorted(self.extra_code)))

    def key(self, salt: bytes | str = b"") -> bytes:
        """blake2b-128 naming this job's output; salt it with what else matters (OTP version)."""
        salt_bytes = salt.encode() if isinstance(salt, str) else salt
        return digest(b"holo.CompileJob/1", salt_bytes, encode(self))

    def to_agent(self) -> dict[str, Any]:
        """The job as the agent's compile request reads it (see holo_agent_compile.erl)."""
        return {
            "source": (self.path.encode(), self.source),
            "headers": [(path.encode(), data) for path, data in self.headers],
            "include_dirs": [_normal_dir(d).encode() for d in self.include_dirs],
            "lib_dirs": [
                (app.encode(), _normal_dir(directory).encode()) for app, directory in self.lib_dirs
            ],
            "macros": [
                (m.name, None if m.value is None else m.value.encode()) for m in self.macros
            ],
            "erl_opts": self.erl_opts.encode(),
            "extra_code": [(module, beam) for module, beam in self.extra_code],
        }


# Failures that say something about the agent at one moment, not about the
# job: the agent could not load a parse transform or behaviour (old code still
# in use), its VM died or could not start, the compile ran out of time. Such a
# result is not a function of the job, so it is never cached.
UNSETTLED_CODES = frozenset(
    {"Cextra_code", "Cnode_died", "Cagent_unavailable", "Cagent_crash", "Ctimeout"}
)


@record("holo.CompileResult")
@dataclass(frozen=True)
class CompileResult:
    ok: bool
    module: str | None  # the module's name, None when it did not compile
    binary: bytes | None  # the BEAM, None when it did not compile
    diagnostics: tuple[Diagnostic, ...] = field(default=())  # errors first, then warnings

    @classmethod
    def failure(cls, path: str, code: str, message: str) -> CompileResult:
        """A compile that gave no BEAM, with one error on the module's file."""
        error = Diagnostic(path, 0, 0, 0, 0, Severity.ERROR, "C" + code, "holo", message)
        return cls(False, None, None, (error,))

    @property
    def settled(self) -> bool:
        """Whether this is what the job compiles to, whenever it is compiled (cacheable)."""
        # What the agent could not answer never comes with a BEAM.
        return self.ok or not any(d.code in UNSETTLED_CODES for d in self.errors)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

    @classmethod
    def from_agent(cls, reply: Any) -> CompileResult:
        match reply:
            case ("ok", str(module), bytes(binary), list(warnings)):
                return cls(True, module, binary, tuple(map(_diagnostic, warnings)))
            case ("error", list(errors), list(warnings)):
                return cls(False, None, None, tuple(map(_diagnostic, errors + warnings)))
        raise ValueError(f"unexpected compile reply from the agent: {reply!r}")


def _diagnostic(entry: Any) -> Diagnostic:
    file, line, column, severity, tag, message = entry
    line0 = max(line - 1, 0)
    column0 = max(column - 1, 0)
    return Diagnostic(
        path=file.decode(),
        line=line0,
        column=column0,
        end_line=line0,
        end_column=column0,
        severity=Severity.ERROR if severity == "error" else Severity.WARNING,
        code="C" + tag.decode(),
        source="erlc",
        message=message.decode(),
    )


# What a new agent compiles first, so that OTP's compiler (epp, the passes,
# the BEAM assembler) is loaded before the first real job arrives.
WARM_UP_JOB = CompileJob(
    path="src/holo_warm_up.erl",
    source=(
        b"-module(holo_warm_up).\n-export([f/1]).\n-record(r, {a = 1}).\n-define(M(X), {X}).\n"
        b"f(X) when is_list(X) -> [?M(Y) || Y <- X, Y =/= #r{}];\n"
        b"f(<<X:8, _/binary>>) -> maps:get(X, #{1 => \"one\"}, 0.5);\n"
        b"f(X) -> try X() catch _:_ -> fun f/1 end.\n"
    ),
    erl_opts="[debug_info]",
)
