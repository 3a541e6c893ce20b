"""Writing a build's results under `_build/holo/<profile>/lib/<app>/ebin`.

An edge: the only place a build writes files. Each file is written to a
temporary name and renamed over the target, so a reader (a running node, a
`rebar3 shell`, an editor) never sees half a BEAM file; files whose bytes are
already right are left alone, and the `.beam` of a module that no longer
exists is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BUILD_DIR = Path("_build") / "holo"


@dataclass
class EbinChanges:
    written: list[str] = field(default_factory=list)  # file names
    removed: list[str] = field(default_factory=list)


def ebin_dir(root: Path, profile: str, app: str) -> Path:
    return root / BUILD_DIR / profile / "lib" / app / "ebin"


def write_atomically(path: Path, data: bytes, *, parent_exists: bool = False) -> bool:
    """Write unless the file already holds exactly these bytes; returns whether it wrote."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    if not parent_exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def sync_ebin(
    root: Path,
    profile: str,
    app: str,
    beams: dict[str, bytes],
    app_file: bytes | None,
    keep: set[str] | frozenset[str] = frozenset(),
) -> EbinChanges:
    """Make an application's ebin hold exactly these modules (and its .app).

    Modules in ``keep`` (those that failed to compile this time) keep whatever
    .beam they had, as they keep their loaded code.
    """
    ebin = ebin_dir(root, profile, app)
    changes = EbinChanges()
    if beams or app_file is not None:
        ebin.mkdir(parents=True, exist_ok=True)
    for module, binary in sorted(beams.items()):
        if write_atomically(ebin / f"{module}.beam", binary, parent_exists=True):
            changes.written.append(f"{module}.beam")
    if app_file is not None and write_atomically(ebin / f"{app}.app", app_file):
        changes.written.append(f"{app}.app")
    if ebin.is_dir():
        for stale in sorted(ebin.glob("*.beam")):
            if stale.stem not in beams and stale.stem not in keep:
                with contextlib.suppress(OSError):
                    stale.unlink()
                    changes.removed.append(stale.name)
    return changes
