"""Canonical encoding of query keys and values, and fingerprints over it.

The same value always encodes to the same bytes, in any process and under any
``PYTHONHASHSEED``: sets and dicts are written sorted by their encoded members,
records by field order. That makes the encoding fit for two jobs:

* fingerprints (blake2b-128 of the encoding), which key the persistent cache
  and compare results across processes and checkouts;
* persistence itself: ``decode`` rebuilds only the types listed here and the
  record classes registered with :func:`record`. Nothing is ever unpickled,
  so a cache entry written by someone else can at worst be a wrong value under
  its own key (and the key is a content hash), never code that runs.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

FINGERPRINT_SIZE = 16

_RECORDS: dict[str, type] = {}
_RECORD_TAGS: dict[type, str] = {}


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that are not a valid encoding."""


def record(tag: str, *, remember: bool = False) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass or Enum so it can be encoded and decoded.

    The tag is part of the encoding: keep it stable, and change it (or the
    owning query's version) when the fields change meaning.

    ``remember``: keep the encodings of recently encoded instances, by
    identity, and reuse them when the same object is encoded again (values
    handed on unchanged from one revision to the next). Only for frozen
    dataclasses whose fields hold nothing mutable (no lists, dicts or
    non-frozen records, at any depth): the instance's encoding never changes.
    """

    def register(cls: type[T]) -> type[T]:
        if tag in _RECORDS and _RECORDS[tag] is not cls:
            raise ValueError(f"codec tag {tag!r} is registered twice")
        if not (dataclasses.is_dataclass(cls) or issubclass(cls, enum.Enum)):
            raise TypeError(f"{cls.__name__} must be a dataclass or an Enum to be a record")
        if remember:
            params = getattr(cls, "__dataclass_params__", None)
            if params is None or not params.frozen:
                raise TypeError(f"{cls.__name__} must be a frozen dataclass to remember encodings")
            _REMEMBERED.add(cls)
        _RECORDS[tag] = cls
        _RECORD_TAGS[cls] = tag
        return cls

    return register


# Encodings of instances of the ``remember`` records, by id(). Each entry holds
# the object itself, so its id cannot be reused while the entry lives. Bounded:
# an evicted object is encoded again when next seen.
REMEMBERED_ENCODINGS = 5_000

_REMEMBERED: set[type] = set()
_remembered_lock = threading.Lock()
_remembered: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()


def _remembered_encoding(value: Any) -> bytes:
    key = id(value)
    with _remembered_lock:
        entry = _remembered.get(key)
        if entry is not None:
            _remembered.move_to_end(key)
            return entry[1]
    out: list[bytes] = []
    _encode_record(value, out)
    data = b"".join(out)
    with _remembered_lock:
        _remembered[key] = (value, data)
        while len(_remembered) > REMEMBERED_ENCODINGS:
            _remembered.popitem(last=False)
    return data


def _layout(cls: type) -> tuple[bytes, tuple[str, ...]]:
    """A dataclass record's encoding header and field names, worked out once per class."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        tag = _RECORD_TAGS[cls].encode()
        names = tuple(field.name for field in dataclasses.fields(cls))
        layout = _LAYOUTS[cls] = (b"r%d:" % len(tag) + tag + b"%d:" % len(names), names)
    return layout


_LAYOUTS: dict[type, tuple[bytes, tuple[str, ...]]] = {}


def _encode_record(value: Any, out: list[bytes]) -> None:
    header, names = _layout(type(value))
    out.append(header)
    for name in names:
        _encode(getattr(value, name), out)


def _length(n: int) -> bytes:
    return b"%d:" % n


def _encode(value: Any, out: list[bytes]) -> None:
    # The commonest types first. Exact type checks: bool is a subclass of int,
    # an IntEnum record too; neither is ``int``.
    cls = type(value)
    if cls is int:
        out.append(b"i%d;" % value)
    elif cls is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data) + data)
    elif cls is tuple:
        out.append(b"t%d:" % len(value))
        for item in value:
            # Scalars inline: most items of the large values are ints and strings.
            kind = type(item)
            if kind is int:
                out.append(b"i%d;" % item)
            elif kind is str:
                data = item.encode("utf-8", "surrogatepass")
                out.append(b"s%d:" % len(data) + data)
            else:
                _encode(item, out)
    elif value is None:
        out.append(b"N")
    elif value is True:
        out.append(b"T")
    elif value is False:
        out.append(b"F")
    elif cls is bytes:
        out.append(b"b%d:" % len(value) + value)
    elif cls in _RECORD_TAGS:
        if cls in _REMEMBERED:
            out.append(_remembered_encoding(value))
        elif isinstance(value, enum.Enum):
            tag = _RECORD_TAGS[cls].encode()
            out.append(b"e" + _length(len(tag)) + tag)
            _encode(value.value, out)
        else:
            _encode_record(value, out)
    elif cls is float:
        out.append(b"f" + struct.pack(">d", value))
    elif cls is frozenset:
        out.append(b"z" + _length(len(value)))
        out.extend(sorted(encode(item) for item in value))
    elif cls is dict:
        out.append(b"d" + _length(len(value)))
        out.extend(sorted(encode(k) + encode(v) for k, v in value.items()))
    elif cls is list:
        out.append(b"l" + _length(len(value)))
        for item in value:
            _encode(item, out)
    else:
        raise CodecError(f"cannot encode a value of type {cls.__module__}.{cls.__qualname__}")


def encode(value: Any) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def fingerprint(value: Any) -> bytes:
    """blake2b-128 of the canonical encoding, or of what ``__fingerprint__`` returns.

    Values that hold something the codec cannot encode (a syntax tree) define
    ``__fingerprint__`` over what determines them (the source bytes).
    """
    custom = getattr(value, "__fingerprint__", None)
    data = custom() if custom is not None else encode(value)
    return hashlib.blake2b(data, digest_size=FINGERPRINT_SIZE).digest()


def digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=FINGERPRINT_SIZE)
    for part in parts:
        h.update(_length(len(part)))
        h.update(part)
    return h.digest()


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise CodecError("truncated encoding")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def until(self, stop: int, longest: int = 20) -> bytes:
        end = self.data.find(bytes((stop,)), self.pos)
        if end < 0 or end - self.pos > longest:
            raise CodecError("malformed number in encoding")
        chunk = self.data[self.pos : end]
        self.pos = end + 1
        return chunk

    def length(self) -> int:
        chunk = self.until(ord(":"))
        if not chunk.isdigit():
            raise CodecError("malformed length in encoding")
        return int(chunk)

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CodecError("truncated encoding")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def value(self) -> Any:  # noqa: C901 - one branch per tag reads clearest
        tag = self.byte()
        if tag == ord("N"):
            return None
        if tag == ord("T"):
            return True
        if tag == ord("F"):
            return False
        if tag == ord("i"):
            chunk = self.until(ord(";"), longest=4300)  # CPython's int-from-text limit
            try:
                return int(chunk)
            except ValueError as e:
                raise CodecError("malformed integer in encoding") from e
        if tag == ord("s"):
            try:
                return self.take(self.length()).decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as e:
                raise CodecError("malformed string in encoding") from e
        if tag == ord("b"):
            return self.take(self.length())
        if tag == ord("t"):
            return tuple(self.value() for _ in range(self.length()))
        if tag == ord("l"):
            return [self.value() for _ in range(self.length())]
        if tag == ord("f"):
            return struct.unpack(">d", self.take(8))[0]
        if tag == ord("z"):
            return frozenset(self.value() for _ in range(self.length()))
        if tag == ord("d"):
            n = self.length()
            result = {}
            for _ in range(n):
                k = self.value()
                result[k] = self.value()
            return result
        if tag in (ord("r"), ord("e")):
            name = self.take(self.length()).decode("utf-8", "replace")
            cls = _RECORDS.get(name)
            if cls is None:
                raise CodecError(f"unknown record tag {name!r}")
            if tag == ord("e"):
                try:
                    return cls(self.value())
                except ValueError as e:
                    raise CodecError(f"bad value for {name}") from e
            n = self.length()
            fields = dataclasses.fields(cls)
            if n != len(fields):
                raise CodecError(f"record {name} has {len(fields)} fields, encoding has {n}")
            args = [self.value() for _ in range(n)]
            try:
                return cls(*args)
            except (TypeError, ValueError) as e:
                raise CodecError(f"cannot rebuild {name}: {e}") from e
        raise CodecError(f"unknown tag byte {tag!r}")


def decode(data: bytes) -> Any:
    reader = _Reader(data)
    try:
        value = reader.value()
    except RecursionError as e:
        raise CodecError("encoding nests too deeply") from e
    if reader.pos != len(data):
        raise CodecError("trailing bytes after encoding")
    return value
