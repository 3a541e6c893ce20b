"""The persistent cache is untrusted input: canonical bytes in, sealed; anything odd is a miss."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import diskcache
import pytest

from holo.engine import Database, DiskStore, Input, MemoryStore, Query, codec, record
from holo.engine.store import seal, unseal


@record("test.Point")
@dataclass(frozen=True)
class Point:
    x: int
    label: str


def test_codec_round_trips_every_supported_shape() -> None:
    value = (
        None, True, False, -12, 2**200, -(3**90), 3.5, "héllo", b"\x00\xff", ("t",), [1, 2],
        frozenset({"a", "b"}), {"k": (1, 2)}, Point(1, "p"),
    )
    assert codec.decode(codec.encode(value)) == value


def test_codec_bytes_stay_those_the_cache_was_written_with() -> None:
    # Persisted entries are these bytes: a change of format is a new cache.
    value = (Point(7, "é"), None, True, b"\x01", 2.5, [1], frozenset({"b", "a"}), {"k": -1})
    assert codec.encode(value) == (
        b"t8:r10:test.Point2:i7;s2:\xc3\xa9NTb1:\x01f@\x04\x00\x00\x00\x00\x00\x00"
        b"l1:i1;z2:s1:as1:bd1:s1:ki-1;"
    )


def test_codec_is_canonical_across_hash_seeds() -> None:
    script = (
        "from holo.engine import codec;"
        "import sys; sys.stdout.buffer.write(codec.encode("
        "(frozenset({'alpha','beta','gamma','delta'}), {'x': 1, 'y': 2, 'z': frozenset({3, 4})})))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(outputs) == 1


@pytest.mark.parametrize(
    "data", [b"", b"t3:i1;", b"i12", b"s5:ab", b"rX", b"r9:test.Nope0:", b"i1;extra", b"q"]
)
def test_codec_rejects_malformed_bytes_with_a_codec_error(data: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode(data)


@record("test.Remembered", remember=True)
@dataclass(frozen=True)
class Remembered:
    x: int
    inner: tuple[Point, ...]


def test_remembered_encodings_stay_those_of_their_own_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A small capacity evicts entries, and CPython reuses a freed object's id:
    # an encoding must never be taken for another object that got the same id.
    monkeypatch.setattr(codec, "REMEMBERED_ENCODINGS", 8)
    for generation in range(5):
        values = [Remembered(i * generation, (Point(i, str(generation)),)) for i in range(30)]
        for value in values:
            first = codec.encode(value)
            assert codec.encode(value) == first  # the remembered one
            assert codec.decode(first) == value
            assert first == codec.encode(Remembered(value.x, value.inner))  # a fresh equal one
        assert codec.decode(codec.encode(tuple(values))) == tuple(values)
        del values


def test_only_frozen_dataclasses_may_remember_encodings() -> None:
    @dataclass
    class Mutable:
        x: int

    with pytest.raises(TypeError, match="frozen"):
        record("test.Mutable", remember=True)(Mutable)


def test_codec_refuses_types_it_cannot_rebuild() -> None:
    with pytest.raises(codec.CodecError, match="cannot encode"):
        codec.encode(object())


def test_sealed_entries_reject_truncation_bit_flips_and_foreign_bytes() -> None:
    entry = seal(b"payload")
    assert unseal(entry) == b"payload"
    assert unseal(entry[:-1]) is None
    assert unseal(entry[:-1] + bytes([entry[-1] ^ 1])) is None
    assert unseal(b"holo" + b"\x00\x63" + entry[6:]) is None  # another format version
    assert unseal(pickle.dumps(b"payload")) is None
    assert unseal(None) is None


def test_cache_directory_is_private(tmp_path: Path) -> None:
    store = DiskStore(tmp_path / "cache")
    assert stat.S_IMODE(os.stat(tmp_path / "cache").st_mode) == 0o700
    store.close()


def test_a_pickled_entry_planted_in_the_cache_is_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    store = DiskStore(tmp_path / "cache")
    key = b"k" * 16
    # Someone with write access uses diskcache's default (pickling) Disk.
    attacker = diskcache.Cache(str(tmp_path / "cache" / "data"))
    attacker.set(key, Exploit())
    attacker.close()
    assert store.get(key) is None
    assert not marker.exists()
    store.close()


def test_large_values_round_trip_and_a_tampered_value_file_is_a_miss(tmp_path: Path) -> None:
    store = DiskStore(tmp_path / "cache")
    big = os.urandom(200_000)  # stored in a file beside the index
    store.set_many([(b"big", big)])
    assert store.get(b"big") == big
    value_files = [p for p in (tmp_path / "cache" / "data").rglob("*.val")]
    assert value_files
    value_files[0].write_bytes(value_files[0].read_bytes()[:1000])
    assert store.get(b"big") is None
    store.close()


def test_an_unreadable_index_is_moved_aside_and_the_cache_starts_afresh(tmp_path: Path) -> None:
    store = DiskStore(tmp_path / "cache")
    store.set_many([(b"a", b"1")])
    store.close()
    (tmp_path / "cache" / "data" / "cache.db").write_bytes(b"this is not sqlite" * 100)
    reopened = DiskStore(tmp_path / "cache")
    assert reopened.get(b"a") is None
    reopened.set_many([(b"a", b"2")])
    assert reopened.get(b"a") == b"2"
    assert any(p.name.startswith("data.broken-") for p in (tmp_path / "cache").iterdir())
    reopened.close()


WRITER = """
import sys
from holo.engine import DiskStore
store = DiskStore(sys.argv[1])
tag = sys.argv[2].encode()
for i in range(300):
    store.set_many([(b"shared%d" % (i % 20), tag + b"%d" % i), (tag + b"%d" % i, b"x" * (i * 50))])
store.close()
"""


def test_two_processes_sharing_a_cache_leave_it_consistent(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    DiskStore(cache).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(cache), tag]) for tag in ("a", "b")
    ]
    assert [w.wait(120) for w in writers] == [0, 0]
    store = DiskStore(cache)
    for tag in (b"a", b"b"):
        for i in range(300):
            assert store.get(tag + b"%d" % i) == b"x" * (i * 50)
    for i in range(20):
        value = store.get(b"shared%d" % i)
        assert value is not None and value[:1] in (b"a", b"b")
    store.close()


def test_a_database_over_a_corrupted_disk_cache_still_computes_the_right_answer(
    tmp_path: Path,
) -> None:
    text: Input[str] = Input("store_test_text")
    upper = Query(lambda db: text(db).upper(), "store_test_upper", persist=True)
    store = DiskStore(tmp_path / "cache")
    db = Database(store=store)
    text.set(db, value="abc")
    assert upper(db) == "ABC"
    db.persist()
    store.close()
    index = tmp_path / "cache" / "data" / "cache.db"
    data = bytearray(index.read_bytes())
    for offset in range(200, len(data), 97):
        data[offset] ^= 0x5A
    index.write_bytes(bytes(data))
    store = DiskStore(tmp_path / "cache")
    db = Database(store=store)
    text.set(db, value="abc")
    assert upper(db) == "ABC"
    store.close()


def test_memory_store_seals_like_the_disk_store() -> None:
    store = MemoryStore()
    store.set_many([(b"k", b"v")])
    assert store.get(b"k") == b"v"
    store.entries[b"k"] = store.entries[b"k"][:-2]
    assert store.get(b"k") is None
