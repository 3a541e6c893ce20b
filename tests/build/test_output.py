"""Writing ebin: a file is left alone only while it holds the build's bytes.

A process that builds again and again takes a file whose stat it has seen
with the same bytes without reading it; whatever happens to the file on disk
in between (deleted, rewritten, rewritten and its time put back) must still
be repaired by the next build.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from holo.build.driver import build
from holo.build.output import _known, ebin_dir, sync_ebin, write_atomically
from holo.session import Session

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"
HOUR_NS = 3600 * 10**9


def age(path: Path) -> None:
    """Make a file look an hour old, as it would be at the next build of a day's work."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns - HOUR_NS, st.st_mtime_ns - HOUR_NS))


def synced(root: Path, beams: dict[str, bytes]) -> list[str]:
    return sync_ebin(root, "default", "app", beams, None).written


def test_a_file_seen_with_the_same_bytes_is_left_alone_and_a_fresh_write_is_not_trusted(
    tmp_path: Path,
) -> None:
    target = tmp_path / "m.beam"
    assert write_atomically(target, b"first") is True
    # Written just now: a rewrite in the same timestamp tick could keep its stat.
    assert not _known.holds(os.path.abspath(target), b"first")
    age(target)
    assert write_atomically(target, b"first") is False  # read once, and remembered
    assert _known.holds(os.path.abspath(target), b"first")
    assert not _known.holds(os.path.abspath(target), b"other")
    assert write_atomically(target, b"other") is True
    assert target.read_bytes() == b"other"


def test_a_beam_deleted_or_changed_on_disk_is_written_again(tmp_path: Path) -> None:
    beams = {"a": b"beam of a", "b": b"beam of b", "c": b"beam of c"}
    assert synced(tmp_path, beams) == ["a.beam", "b.beam", "c.beam"]
    ebin = ebin_dir(tmp_path, "default", "app")
    for name in beams:
        age(ebin / f"{name}.beam")
    assert synced(tmp_path, beams) == []  # read and remembered
    assert synced(tmp_path, beams) == []  # taken on their stat

    (ebin / "a.beam").unlink()
    (ebin / "b.beam").write_bytes(b"beam of B")  # same size, new time
    c = ebin / "c.beam"
    before = c.stat()
    c.write_bytes(b"beam of C")  # same size, and its times put back
    os.utime(c, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert c.stat().st_mtime_ns == before.st_mtime_ns

    assert synced(tmp_path, beams) == ["a.beam", "b.beam", "c.beam"]
    assert {p.stem: p.read_bytes() for p in ebin.glob("*.beam")} == beams


def test_a_stray_beam_is_removed_even_after_its_bytes_were_remembered(tmp_path: Path) -> None:
    beams = {"a": b"beam of a", "gone": b"beam of gone"}
    synced(tmp_path, beams)
    ebin = ebin_dir(tmp_path, "default", "app")
    age(ebin / "gone.beam")
    synced(tmp_path, beams)
    changes = sync_ebin(tmp_path, "default", "app", {"a": beams["a"]}, None)
    assert changes.removed == ["gone.beam"]
    assert not (ebin / "gone.beam").exists()
    # Back again with the very bytes it had: written, not taken from memory.
    assert synced(tmp_path, beams) == ["gone.beam"]
    assert (ebin / "gone.beam").read_bytes() == beams["gone"]


def test_a_warm_session_rebuilds_a_beam_removed_or_damaged_between_no_op_builds(
    tmp_path: Path,
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("_build"))
    with Session(root, tmp_path / "cache") as session:
        first = build(session.workspace, session.compiler)
        ebin = ebin_dir(root, "default", "shop")
        for beam in ebin.glob("*.beam"):
            age(beam)
        build(session.workspace, session.compiler)  # reads them, remembers them
        assert build(session.workspace, session.compiler).ebin["shop"].written == []

        (ebin / "shop_pricing.beam").unlink()
        damaged = ebin / "shop_inventory.beam"
        damaged.write_bytes(bytes(len(damaged.read_bytes())))
        report = build(session.workspace, session.compiler)
    assert report.compiled == []
    assert report.ebin["shop"].written == ["shop_inventory.beam", "shop_pricing.beam"]
    for name in ("shop_pricing", "shop_inventory"):
        assert (ebin / f"{name}.beam").read_bytes() == first.binaries[name]
