"""Projects held in a Database's inputs, set directly: the unit tests' edge.

The Workspace is the edge that reads a directory; these tests write a
project's files straight into ``file_text`` and the model into
``project_model``, with OTP's real facts (module table, auto-imported BIFs,
headers) read once per session by holo.project.otp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from holo.diagnostics import Diagnostic
from holo.engine import Database, Durability, Store
from holo.inputs import (
    AppModel,
    ErlOpts,
    ExternalModule,
    MacroOption,
    OtpInfo,
    ProjectModel,
    auto_imported_bifs,
    external_module,
    file_text,
    otp_info,
    project_model,
    workspace_files,
)
from holo.project.otp import otp_header_paths
from holo.queries import module_diagnostics


@dataclass(frozen=True)
class OtpFacts:
    info: OtpInfo
    modules: dict[str, ExternalModule]
    bifs: frozenset[tuple[str, int]]
    headers: dict[str, bytes]  # absolute path -> text


def app_model(
    name: str = "app",
    directory: str = "",
    include_dirs: tuple[str, ...] | None = None,
    macros: tuple[MacroOption, ...] = (),
    is_dependency: bool = False,
    i_dirs: tuple[str, ...] = (),
) -> AppModel:
    prefix = f"{directory}/" if directory else ""
    return AppModel(
        name=name,
        dir=directory,
        src_dirs=(f"{prefix}src",),
        include_dirs=include_dirs if include_dirs is not None else (f"{prefix}include",),
        test_dirs=(f"{prefix}test",),
        app_src=None,
        is_dependency=is_dependency,
        erl_opts=ErlOpts(include_dirs=i_dirs, macros=macros),
    )


class Project:
    """A project whose inputs are set directly; edit it with :meth:`write`."""

    def __init__(
        self,
        otp: OtpFacts,
        files: dict[str, str | bytes],
        apps: tuple[AppModel, ...] | None = None,
        store: Store | None = None,
    ) -> None:
        self.db = Database(store=store)
        self.files: dict[str, bytes] = {}
        db, high = self.db, Durability.HIGH
        otp_info.set(db, value=otp.info, durability=high)
        auto_imported_bifs.set(db, value=otp.bifs, durability=high)
        for name, module in otp.modules.items():
            external_module.set(db, name, value=module, durability=high)
        for path, text in otp.headers.items():
            file_text.set(db, path, value=text, durability=high)
        model = ProjectModel("rebar3", apps or (app_model(),), ErlOpts(), (), ())
        project_model.set(db, value=model, durability=Durability.MEDIUM)
        for path, text in files.items():
            self.write(path, text, publish=False)
        self._publish()

    def write(self, path: str, text: str | bytes | None, publish: bool = True) -> None:
        """Set (or with None, delete) a project file, as the Workspace would after a save."""
        if text is None:
            self.files.pop(path, None)
            file_text.remove(self.db, path)
        else:
            data = text.encode() if isinstance(text, str) else text
            self.files[path] = data
            file_text.set(self.db, path, value=data)
        if publish:
            self._publish()

    def _publish(self) -> None:
        workspace_files.set(self.db, value=tuple(sorted(self.files)))

    def diagnostics(self, path: str, profile: str = "default") -> tuple[Diagnostic, ...]:
        return module_diagnostics(self.db, path, profile)

    def found(self, path: str, profile: str = "default") -> set[tuple[str, int]]:
        """(code, 1-based line) of every diagnostic of ``path``'s module."""
        return {(d.code, d.line + 1) for d in self.diagnostics(path, profile)}


def read_otp_headers(info: OtpInfo) -> dict[str, bytes]:
    return {p.as_posix(): p.read_bytes() for p in otp_header_paths(info) if Path(p).is_file()}
