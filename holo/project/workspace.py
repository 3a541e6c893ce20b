"""The edge between the file system and the query graph: the only place project inputs are set.

Architecture invariant: queries never read files, clocks or the environment.
The :class:`Workspace` reads them -- the project's layout and configuration,
its source files, OTP's modules and headers -- and sets the inputs of
:mod:`holo.inputs`; the watcher calls :meth:`Workspace.apply_changes` with the
paths that changed on disk, and the language server calls
:meth:`Workspace.set_overlay` for buffers the editor has not saved.

Texts are set for every source file and every app's ``.app.src``, and for
the headers (``*.hrl``) of include directories outside the project
(``{i, "../shared"}``, ``{i, "/opt/inc"}``), under their absolute paths.
Durabilities: project sources LOW, project configuration (the model, the
.app.src texts) MEDIUM, fetched dependencies' files, outside headers and
everything about OTP HIGH (an edit in the project then confirms every
OTP-derived fact with one comparison).

The watcher only watches the project's directory, so it reports no change to
an outside header: :meth:`Workspace.apply_changes` takes their absolute
paths from whoever watches them (:attr:`Workspace.external_include_dirs`),
and every ``holo`` command reads them afresh when it opens the project.

Each app's data files (holo.project.data_files) are digested into the
``app_data`` input at open and re-digested when :meth:`apply_changes` is told
one of them (or a directory holding them) changed.

Two invariants hold after every public call:

* ``workspace_files`` is exactly the project's source paths whose text is not
  None (a file that cannot be read is, for holo, not there);
* an overlay wins over the disk for its path until it is cleared.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from holo.engine import Database, Durability, Store
from holo.inputs import (
    AppModel,
    OtpInfo,
    app_data,
    auto_imported_bifs,
    external_module,
    file_text,
    otp_info,
    project_model,
    workspace_files,
)
from holo.project import data_files
from holo.project.discover import DiscoveredProject, discover
from holo.project.file_stats import FileStats
from holo.project.otp import (
    locate_otp,
    otp_auto_imported_bifs,
    otp_header_paths,
    otp_modules,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeSummary:
    """Which inputs a call actually changed (an equal value is no change)."""

    changed_files: tuple[str, ...] = ()  # file_text keys whose text changed, sorted
    added: tuple[str, ...] = ()  # paths that joined workspace_files
    removed: tuple[str, ...] = ()  # paths that left workspace_files
    project_changed: bool = False  # project_model changed
    files_changed: bool = False  # workspace_files changed
    data_changed: tuple[str, ...] = ()  # apps whose app_data changed, sorted

    def __bool__(self) -> bool:
        return (
            bool(self.changed_files) or self.project_changed or self.files_changed
            or bool(self.data_changed)
        )  # fmt: skip


class _Changes:
    def __init__(self) -> None:
        self.texts: set[str] = set()
        self.project = False
        self.data: set[str] = set()

    def summary(self, before: set[str], after: set[str]) -> ChangeSummary:
        return ChangeSummary(
            changed_files=tuple(sorted(self.texts)),
            added=tuple(sorted(after - before)),
            removed=tuple(sorted(before - after)),
            project_changed=self.project,
            files_changed=before != after,
            data_changed=tuple(sorted(self.data)),
        )


def read_file(path: Path) -> bytes | None:
    """A file's bytes, or None when there is no readable file there (a warning if it exists)."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as e:
        log.warning("cannot read %s (%s); treating it as absent", path, e.strerror or e)
        return None


class Workspace:
    """A project on disk mirrored into a :class:`Database`'s inputs."""

    def __init__(self, db: Database, project: DiscoveredProject, otp: OtpInfo) -> None:
        self.db = db
        self._project = project
        self.otp = otp
        self._lock = threading.RLock()
        self._overlays: dict[str, bytes] = {}
        self._texts: set[str] = set()  # file_text keys this workspace has set
        self._files: set[str] = set()  # what workspace_files holds
        self._otp_headers: set[str] = set()
        self._external_headers: set[str] = set()  # absolute keys, outside project and OTP
        # Per app name: its data files, path -> (digest, digested by size alone).
        self._data: dict[str, dict[str, tuple[bytes, bool]]] = {}
        self._stats = FileStats()  # what refresh() saw of each file

    # ------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        root: Path | str,
        db: Database,
        store: Store | None = None,
        otp: OtpInfo | None = None,
    ) -> Workspace:
        """Discover the project at ``root`` and set every input of :mod:`holo.inputs`.

        ``store`` (default: the database's) caches OTP's module table across runs.
        """
        project = discover(root)
        otp = otp or locate_otp()
        ws = cls(db, project, otp)
        ws._set_otp_inputs(store if store is not None else db.store)
        with ws._lock:
            project_model.set(db, value=project.model, durability=Durability.MEDIUM)
            changes = _Changes()
            for rel in (*project.files, *project.app_src_files):
                ws._sync(rel, changes)
            ws._sync_external_headers(changes)
            ws._sync_all_data(changes)
            ws._publish_files()
        return ws

    def _set_otp_inputs(self, store: Store | None) -> None:
        db, high = self.db, Durability.HIGH
        otp_info.set(db, value=self.otp, durability=high)
        for name, module in otp_modules(self.otp, store).items():
            external_module.set(db, name, value=module, durability=high)
        auto_imported_bifs.set(db, value=otp_auto_imported_bifs(self.otp), durability=high)
        for header in otp_header_paths(self.otp):
            text = read_file(header)
            if text is not None:
                key = header.as_posix()
                file_text.set(db, key, value=text, durability=high)
                self._otp_headers.add(key)
                self._texts.add(key)

    # ------------------------------------------------------------- state

    @property
    def project(self) -> DiscoveredProject:
        return self._project

    @property
    def root(self) -> Path:
        return self._project.root

    @property
    def files(self) -> tuple[str, ...]:
        """The current value of ``workspace_files``."""
        with self._lock:
            return tuple(sorted(self._files))

    @property
    def external_include_dirs(self) -> tuple[Path, ...]:
        """Include directories outside the project and OTP, whose headers have inputs."""
        with self._lock:
            return tuple(Path(d) for d in self._external_dirs())

    @property
    def overlays(self) -> dict[str, bytes]:
        with self._lock:
            return dict(self._overlays)

    def key(self, path: Path | str) -> str:
        """The file_text key of a path: project-relative inside the project, absolute outside."""
        try:
            return self._project.rel(path)
        except ValueError:
            return Path(os.path.abspath(path)).as_posix()

    # ----------------------------------------------------------- changes

    def apply_changes(self, paths: Iterable[Path | str]) -> ChangeSummary:
        """Re-read exactly these paths (new, modified or deleted files, or directories).

        A changed rebar.config, .app.src or erlang.mk Makefile re-discovers the
        project first. Paths outside the project are ignored, except those in
        :attr:`external_include_dirs`.
        """
        with self._lock:
            before = set(self._files)
            changes = _Changes()
            keys: list[str] = []
            outside: list[str] = []
            for path in paths:
                try:
                    keys.append(self._project.rel(path))
                except ValueError:
                    outside.append(Path(os.path.abspath(path)).as_posix())
            if any(self._project.is_config(k) for k in keys):
                self._rediscover(changes)
            for key in dict.fromkeys(keys):
                for rel in self._affected(key):
                    self._sync(rel, changes)
                self._sync_data_under(key, changes)
            for key in dict.fromkeys(outside):
                if self._is_external(key):
                    self._sync_external_headers(changes)
                    break
                log.debug("ignoring %s: outside the project", key)
            self._publish_files()
            return changes.summary(before, self._files)

    def rediscover(self) -> ChangeSummary:
        """Discover the project again and bring every input in line with it."""
        with self._lock:
            before = set(self._files)
            changes = _Changes()
            self._rediscover(changes)
            self._publish_files()
            return changes.summary(before, self._files)

    def refresh(self) -> ChangeSummary:
        """Bring every input in line with the disk, reading only what may have changed.

        What a long-lived process (the daemon) calls before each request, so
        that it sees exactly what a fresh ``Workspace.open`` would. Discovery
        runs again (it lists the source directories and reads the
        configuration: a few milliseconds for a thousand modules), and a
        different model or file list re-discovers as :meth:`apply_changes`
        does for a configuration edit. Then every project file, outside
        header and data file is read again only if the stat prefilter of
        :mod:`holo.project.file_stats` says it may have changed (racy files
        included). The first call after :meth:`open` reads everything.
        """
        with self._lock:
            before = set(self._files)
            changes = _Changes()
            stats = self._stats
            stats.begin()
            fresh = discover(self.root)
            known = self._project
            if (fresh.model, fresh.files, fresh.source_roots) != (
                known.model, known.files, known.source_roots
            ):
                self._rediscover(changes)
            project = self._project
            keys = {k for k in self._texts if not k.startswith("/")}
            keys.update(project.files, project.app_src_files)
            base = f"{project.root}/"  # joined as text: a Path per file costs more than its stat
            for key in sorted(keys):
                if stats.changed(key, base + key):
                    self._sync(key, changes)
            self._refresh_external_headers(changes)
            self._refresh_data(changes)
            stats.finish()
            self._publish_files()
            return changes.summary(before, self._files)

    def _refresh_external_headers(self, changes: _Changes) -> None:
        found: set[str] = set()
        for directory in self._external_dirs():
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            found.update(
                Path(e.path).as_posix() for e in entries
                if e.name.endswith(".hrl") and not e.name.startswith(".")
            )  # fmt: skip
        if found != self._external_headers:
            self._sync_external_headers(changes)
        for key in sorted(self._external_headers):
            if self._stats.changed(key, key):
                self._sync(key, changes)

    def _refresh_data(self, changes: _Changes) -> None:
        """Re-digest the data files whose stat changed; publish the apps whose set changed."""
        base = f"{self.root}/"
        for app in self._data_apps():
            old = self._data.get(app.name, {})
            files: dict[str, tuple[bytes, bool]] = {}
            for rel in data_files.scan_data(self.root, app, self._project.is_source):
                changed = self._stats.changed(rel, base + rel)
                if rel in old and not changed:
                    files[rel] = old[rel]
                    continue
                digest = data_files.file_digest(self._project.abs(rel))
                if digest is not None:
                    files[rel] = digest
            if files != old or app.name not in self._data:
                self._data[app.name] = files
                self._publish_data(app.name, changes)

    def set_overlay(self, path: Path | str, text: bytes | None) -> ChangeSummary:
        """An editor buffer's unsaved text for ``path``; None clears it (the disk wins again)."""
        with self._lock:
            before = set(self._files)
            changes = _Changes()
            key = self.key(path)
            if text is None:
                self._overlays.pop(key, None)
            else:
                self._overlays[key] = bytes(text)
            self._sync(key, changes)
            self._publish_files()
            return changes.summary(before, self._files)

    # ---------------------------------------------------------- internals

    def _affected(self, key: str) -> list[str]:
        """The file keys a reported path stands for: itself, or what a directory held or holds."""
        directory = self._project.abs(key)
        if not directory.is_dir():
            prefix = f"{key}/"
            return [key, *sorted(k for k in self._texts if k.startswith(prefix))]
        prefix = f"{key}/" if key else ""
        found = {k for k in self._texts if k.startswith(prefix) and not k.startswith("/")}
        for dirpath, dirnames, filenames in os.walk(directory):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            base = self._project.rel(dirpath)
            found.update(
                rel
                for rel in (f"{base}/{name}" if base else name for name in filenames)
                if self._project.is_tracked(rel)
            )
        return sorted(found)

    def _rediscover(self, changes: _Changes) -> None:
        old = self._project
        new = discover(old.root)
        self._project = new
        if project_model.set(self.db, value=new.model, durability=Durability.MEDIUM):
            changes.project = True
        old_keys = {k for k in self._texts if not k.startswith("/")}
        new_keys = {*new.files, *new.app_src_files}
        for rel in sorted(old_keys | new_keys):
            unmoved = rel in old_keys and rel in new_keys and old.is_tracked(rel)
            if unmoved and self._durability(rel, old) == self._durability(rel, new):
                continue
            self._sync(rel, changes)
        self._sync_external_headers(changes)
        self._sync_all_data(changes)

    # ------------------------------------------------- outside headers

    def _external_dirs(self) -> list[str]:
        """Absolute include dirs of any app and profile that are outside the project and OTP."""
        model = self._project.model
        otp_root = self.otp.root.rstrip("/") + "/"
        dirs: list[str] = []
        options = [model.erl_opts, *(o for _, o in model.profile_erl_opts)]
        for app in model.apps:
            options += [app.erl_opts, *(o for _, o in app.profile_erl_opts)]
        for opts in options:
            for d in opts.include_dirs:
                if d.startswith("/") and not (d + "/").startswith(otp_root) and d not in dirs:
                    dirs.append(d)
        return dirs

    def _is_external(self, key: str) -> bool:
        return key in self._external_headers or any(
            key == d or key.startswith(d.rstrip("/") + "/") for d in self._external_dirs()
        )

    def _sync_external_headers(self, changes: _Changes) -> None:
        """Set the text of every header directly in an outside include dir; drop the rest."""
        found: set[str] = set()
        for directory in self._external_dirs():
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            found.update(
                Path(e.path).as_posix() for e in entries
                if e.name.endswith(".hrl") and not e.name.startswith(".")
            )  # fmt: skip
        gone = self._external_headers - found
        self._external_headers = found
        for key in sorted(found | gone):
            self._sync(key, changes)

    # ------------------------------------------------------ data files

    def _data_apps(self) -> list[AppModel]:
        return [app for app in self._project.model.apps if data_files.data_dirs(app)]

    def _publish_data(self, app: str, changes: _Changes) -> None:
        value = data_files.app_data(self._data[app])
        if app_data.set(self.db, app, value=value, durability=Durability.LOW):
            changes.data.add(app)

    def _sync_all_data(self, changes: _Changes) -> None:
        apps = self._data_apps()
        for name in sorted(set(self._data) - {a.name for a in apps}):
            del self._data[name]
            if app_data.remove(self.db, name):
                changes.data.add(name)
        for app in apps:
            files: dict[str, tuple[bytes, bool]] = {}
            for rel in data_files.scan_data(self.root, app, self._project.is_source):
                digest = data_files.file_digest(self._project.abs(rel))
                if digest is not None:
                    files[rel] = digest
            self._data[app.name] = files
            self._publish_data(app.name, changes)

    def _sync_data_under(self, key: str, changes: _Changes) -> None:
        """Re-digest the data files at or under ``key`` (a file or a directory)."""
        for app in self._data_apps():
            files = self._data.get(app.name)
            if files is None:
                continue
            prefix = f"{key}/" if key else ""
            stale = {rel for rel in files if rel == key or rel.startswith(prefix)}
            fresh: dict[str, tuple[bytes, bool]] = {}
            for rel in data_files.scan_data(self.root, app, self._project.is_source, key):
                digest = data_files.file_digest(self._project.abs(rel))
                if digest is not None:
                    fresh[rel] = digest
            if not stale and not fresh:
                continue
            for rel in stale - set(fresh):
                del files[rel]
            files.update(fresh)
            self._publish_data(app.name, changes)

    def _durability(self, key: str, project: DiscoveredProject | None = None) -> Durability:
        project = project or self._project
        if key in self._overlays:
            return Durability.LOW
        if key.startswith("/"):
            known = key in self._otp_headers or key in self._external_headers
            return Durability.HIGH if known else Durability.LOW
        if project.is_dependency_file(key):
            return Durability.HIGH
        return Durability.MEDIUM if key in project.app_src_files else Durability.LOW

    def _disk_text(self, key: str) -> bytes | None:
        if key.startswith("/"):
            known = key in self._otp_headers or key in self._external_headers
            return read_file(Path(key)) if known else None
        if not self._project.is_tracked(key):
            return None
        return read_file(self._project.abs(key))

    def _sync(self, key: str, changes: _Changes) -> None:
        """Bring file_text(key) and membership in workspace_files in line with disk and overlays."""
        text = self._overlays.get(key)
        if text is None:
            text = self._disk_text(key)
        if text is None:
            if key in self._texts:
                self._texts.discard(key)
                if file_text.remove(self.db, key):
                    changes.texts.add(key)
            self._files.discard(key)
            return
        if file_text.set(self.db, key, value=text, durability=self._durability(key)):
            changes.texts.add(key)
        self._texts.add(key)
        if not key.startswith("/") and self._project.is_source(key):
            self._files.add(key)
        else:
            self._files.discard(key)

    def _publish_files(self) -> None:
        workspace_files.set(self.db, value=tuple(sorted(self._files)), durability=Durability.LOW)
