"""Writing a build's results under `_build/holo/<profile>/lib/<app>/ebin`.

An edge: the only place a build writes files. Each file is written to a
temporary name and renamed over the target, so a reader (a running node, a
`rebar3 shell`, an editor) never sees half a BEAM file; files whose bytes are
already right are left alone, and the `.beam` of a module that no longer
exists is removed.

During a build, :class:`EbinWriter` writes each BEAM as soon as it is known,
on a thread of its own, so the files are on disk when the last compile ends;
:func:`sync_ebin` then writes only what is left and removes what is stale.

Telling that a file already holds the right bytes costs a read of it; a
process that builds again and again (the daemon, `holo watch`) remembers what
it wrote or read in each file, with the file's stat then, and takes a file
whose stat is unchanged for those bytes without reading it. A stat is only
trusted once the file's modification time is older than a filesystem's
timestamp can tell apart from the moment it was taken: a rewrite in the same
tick could otherwise keep size and time.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BUILD_DIR = Path("_build") / "holo"

# A file modified less than this long before its stat was taken may change
# again without its stat showing it (filesystems with 1 s timestamps).
_RACY_NS = 2_000_000_000

# The stat fields that change when a file is replaced or rewritten.
StatSignature = tuple[int, int, int, int, int]


def _signature(st: os.stat_result) -> StatSignature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class _KnownFiles:
    """What this process last saw in the files it writes: path -> (bytes, stat then).

    Only stats taken when the file was already old enough to be trusted are
    kept (see the module's docstring).
    """

    def __init__(self) -> None:
        # Single dict operations: atomic between threads, no lock needed.
        self._files: dict[str, tuple[bytes, StatSignature]] = {}

    def holds(self, path: str, data: bytes) -> bool:
        """Whether the file at ``path`` (absolute) holds ``data`` as far as its stat tells."""
        known = self._files.get(path)
        if known is None or known[0] != data:
            return False
        try:
            return _signature(os.stat(path)) == known[1]
        except OSError:
            return False

    def saw(self, path: str, data: bytes, st: os.stat_result) -> None:
        """The file held ``data`` when its stat was ``st`` (taken before it was read)."""
        if time.time_ns() - st.st_mtime_ns < _RACY_NS:
            self.forget(path)
        else:
            self._files[path] = (data, _signature(st))

    def forget(self, path: str) -> None:
        self._files.pop(path, None)


_known = _KnownFiles()


@dataclass
class EbinChanges:
    written: list[str] = field(default_factory=list)  # file names
    removed: list[str] = field(default_factory=list)


def ebin_dir(root: Path, profile: str, app: str) -> Path:
    return root / BUILD_DIR / profile / "lib" / app / "ebin"


def write_atomically(path: Path, data: bytes, *, parent_exists: bool = False) -> bool:
    """Write unless the file already holds exactly these bytes; returns whether it wrote."""
    return _write(os.path.abspath(path), data, parent_exists=parent_exists)


def _write(name: str, data: bytes, *, parent_exists: bool = False) -> bool:
    """:func:`write_atomically` for an absolute path given as text."""
    if _known.holds(name, data):
        return False
    try:
        st = os.stat(name)
        if st.st_size == len(data) and _read(name) == data:
            _known.saw(name, data, st)
            return False
    except OSError:
        pass
    _known.forget(name)
    if not parent_exists:
        os.makedirs(os.path.dirname(name), exist_ok=True)
    fd, tmp = _temporary_beside(name)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Not remembered: its modification time is now, too recent to trust (the next
    # build reads it once, and remembers it then).
    return True


def _read(name: str) -> bytes:
    with open(name, "rb", buffering=0) as f:
        return f.read()


def _temporary_beside(name: str) -> tuple[int, str]:
    """A new private file next to the file ``name``, open for writing: (descriptor, name).

    A name of this process first, with the fewest system calls (a build
    writes a thousand of them); a random one if that is taken.
    """
    parent, base = os.path.split(name)
    tmp = f"{parent}/.{base}.{os.getpid()}.tmp"
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp
    except FileExistsError:
        return tempfile.mkstemp(dir=parent, prefix=f".{base}.", suffix=".tmp")


@dataclass(frozen=True)
class Written:
    binary: bytes  # what the file holds now
    wrote: bool  # whether it was written (not already those bytes)


class EbinWriter:
    """Writes BEAM files into their application's ebin as a build's results come in.

    Writes happen in order on one thread (file operations let holo's
    analysis go on meanwhile); :meth:`finish` waits for them and says what
    each file holds, or raises the first error a write met.
    """

    def __init__(self, root: Path, profile: str) -> None:
        self._root = root
        self._profile = profile
        self._queue: queue.SimpleQueue[tuple[str, str, bytes] | None] = queue.SimpleQueue()
        self._done: dict[str, dict[str, Written]] = {}  # app -> module -> what it holds
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None

    def put(self, app: str, module: str, binary: bytes) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="holo-ebin-writer", daemon=True)
            self._thread.start()
        self._queue.put((app, module, binary))

    def finish(self) -> dict[str, dict[str, Written]]:
        """Wait for every write; app -> module -> what its file holds now."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self._done

    def _run(self) -> None:
        made: dict[str, str] = {}  # app -> its ebin, created
        while (item := self._queue.get()) is not None:
            app, module, binary = item
            if self._error is not None:
                continue
            try:
                ebin = made.get(app)
                if ebin is None:
                    ebin = os.path.abspath(ebin_dir(self._root, self._profile, app))
                    os.makedirs(ebin, exist_ok=True)
                    made[app] = ebin
                wrote = _write(f"{ebin}/{module}.beam", binary, parent_exists=True)
            except OSError as e:
                self._error = e
                continue
            self._done.setdefault(app, {})[module] = Written(binary, wrote)


def sync_ebin(
    root: Path,
    profile: str,
    app: str,
    beams: dict[str, bytes],
    app_file: bytes | None,
    keep: set[str] | frozenset[str] = frozenset(),
    written: Mapping[str, Written] | None = None,
) -> EbinChanges:
    """Make an application's ebin hold exactly these modules (and its .app).

    Modules in ``keep`` (those that failed to compile this time) keep whatever
    .beam they had, as they keep their loaded code. ``written`` says what an
    :class:`EbinWriter` already put there during the build.
    """
    ebin = os.path.abspath(ebin_dir(root, profile, app))
    changes = EbinChanges()
    present = _beams_in(ebin)
    if present is None and (beams or app_file is not None):
        os.makedirs(ebin, exist_ok=True)
    written = written or {}
    for module, binary in sorted(beams.items()):
        early = written.get(module)
        if early is not None and early.binary == binary:
            wrote = early.wrote
        else:
            wrote = _write(f"{ebin}/{module}.beam", binary, parent_exists=True)
        if wrote:
            changes.written.append(f"{module}.beam")
    if app_file is not None and _write(f"{ebin}/{app}.app", app_file, parent_exists=True):
        changes.written.append(f"{app}.app")
    for name in sorted(present or ()):
        module = name[: -len(".beam")]
        if module not in beams and module not in keep:
            stale = f"{ebin}/{name}"
            _known.forget(stale)
            with contextlib.suppress(OSError):
                os.unlink(stale)
                changes.removed.append(name)
    return changes


def _beams_in(ebin: str) -> list[str] | None:
    """The names of the .beam files in ``ebin``; None if it is not a directory."""
    try:
        with os.scandir(ebin) as entries:
            return [e.name for e in entries if e.name.endswith(".beam") and e.name != ".beam"]
    except (FileNotFoundError, NotADirectoryError):
        return None
