"""The cache salt follows holo's code: an edited source file is another holo."""

from __future__ import annotations

from pathlib import Path

from holo.code_digest import code_digest
from holo.daemon.fingerprint import source_dirs


def _tree(root: Path, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return str(root)


def test_the_same_sources_at_two_paths_have_one_digest(tmp_path: Path) -> None:
    files = {"holo/a.py": b"x = 1\n", "holo/beam/agent/a.erl": b"-module(a).\n"}
    one = _tree(tmp_path / "one", files)
    two = _tree(tmp_path / "two", files)
    assert code_digest([one + "/holo"]) == code_digest([two + "/holo"])


def test_an_edited_or_added_source_changes_the_digest(tmp_path: Path) -> None:
    top = _tree(tmp_path, {"holo/a.py": b"x = 1\n", "holo/b.erl": b"-module(b).\n"})
    before = code_digest([top + "/holo"])
    (tmp_path / "holo/b.erl").write_bytes(b"-module(b).\n-export([]).\n")
    edited = code_digest([top + "/holo"])
    (tmp_path / "holo/c.py").write_bytes(b"")
    added = code_digest([top + "/holo"])
    assert len({before, edited, added}) == 3


def test_byte_code_caches_do_not_count(tmp_path: Path) -> None:
    top = _tree(tmp_path, {"holo/a.py": b"x = 1\n"})
    before = code_digest([top + "/holo"])
    _tree(tmp_path, {"holo/__pycache__/a.cpython-311.pyc": b"\0junk", "holo/a.py~": b"old"})
    assert code_digest([top + "/holo"]) == before


def test_holo_itself_is_found_and_digested() -> None:
    dirs = source_dirs()
    assert any(Path(d, "code_digest.py").is_file() for d in dirs)
    assert any(Path(d, "syntax.py").is_file() for d in dirs)  # holo.queries
    assert code_digest() == code_digest(dirs)
