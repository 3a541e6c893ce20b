"""Test impact records: what each test executed, kept in holo's persistent cache.

A record says, for one test's last run, which project functions it executed
(with the fingerprints they had), the module keys (:func:`module_key`) of the
modules it touched, its own module's key, and how it ended. Selection
compares them with the current code. Beyond what call counting saw:

* a module it touched counts even when only ``module_info/0,1`` ran (EUnit's
  ``{module, M}`` lists M's tests that way);
* every function of a module whose code the test replaced (meck, cover,
  ``code:load_binary``: their calls were not all counted) counts as
  executed, and the record names those modules;
* for every ``-on_load`` module it touched, the functions loading that
  module runs (:mod:`holo.testing.load_time`), with their fingerprints;
* the digest of the data files (under test/ and priv/) of its own
  application and of every application whose modules it touched: which
  files it read is not known, so any edit there selects it.

Key: ``digest(salt, "holo.test-impact/2", project identity, test id)``:

* the session's salt (holo and OTP versions): another holo or OTP starts
  afresh, since fingerprints and outcomes may differ;
* the project identity: the names of the project's own applications (for a
  project without one, the root directory's name), never its path or mtimes,
  so a CI job that restores the cache into another checkout, or a copy of the
  project elsewhere, finds the same records;
* the test id, ``module:function``.

Two different projects with the same application names in one cache share
records; that can only make them rerun more tests, or trust a pass that the
other project recorded for identical code.

Records are codec-encoded (never pickled) and read once per process: later
runs use the in-memory copy and write back what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.engine import Store, codec, record
from holo.inputs import ProjectModel
from holo.testing.discovery import TestCase
from holo.testing.results import TestStatus
from holo.testing.runner import Outcome
from holo.testing.snapshot import Snapshot, source_function

KEY_FORMAT = b"holo.test-impact/2"

# (module, function, arity, fingerprint)
ExecutedFunction = tuple[str, str, int, bytes]
# (the -on_load module, module, function, arity, fingerprint)
LoadTimeFunction = tuple[str, str, str, int, bytes]


@record("holo.testing.TestImpact")
@dataclass(frozen=True)
class TestImpact:
    __test__ = False  # not a pytest test class

    test: str  # "module:function"
    outcome: str  # a TestStatus value
    own_key: bytes  # module_key of the test's module when it ran
    functions: tuple[ExecutedFunction, ...]  # sorted
    modules: tuple[tuple[str, bytes], ...]  # (module, module_key) of every module touched
    time_us: int
    load_time: tuple[LoadTimeFunction, ...] = ()  # sorted: what touched -on_load modules run
    reloaded: tuple[str, ...] = ()  # modules whose code it replaced: all of them counts
    data: tuple[tuple[str, bytes], ...] = ()  # (app, digest of its data files), sorted


def project_identity(model: ProjectModel, root_name: str) -> str:
    """The project's name for its records: its own applications', sorted."""
    apps = sorted(app.name for app in model.apps if not app.is_dependency)
    return "apps:" + ",".join(apps) if apps else f"dir:{root_name}"


class ImpactStore:
    """The records of one project in a Store, with an in-memory copy."""

    def __init__(self, store: Store, salt: bytes, identity: str) -> None:
        self.store = store
        self.salt = salt
        self.identity = identity
        self._cache: dict[str, TestImpact | None] = {}
        self._dirty: dict[str, TestImpact] = {}

    def key(self, test_id: str) -> bytes:
        return codec.digest(self.salt, KEY_FORMAT, self.identity.encode(), test_id.encode())

    def get(self, test_id: str) -> TestImpact | None:
        if test_id in self._cache:
            return self._cache[test_id]
        found = self._read(test_id)
        self._cache[test_id] = found
        return found

    def _read(self, test_id: str) -> TestImpact | None:
        payload = self.store.get(self.key(test_id))
        if payload is None:
            return None
        try:
            value: Any = codec.decode(payload)
        except codec.CodecError:
            return None  # a record of an older format, or damaged: as if none
        if not isinstance(value, TestImpact) or value.test != test_id:
            return None
        return value

    def put(self, impact: TestImpact) -> None:
        self._cache[impact.test] = impact
        self._dirty[impact.test] = impact

    def flush(self) -> int:
        """Write the records changed since the last flush; returns how many."""
        if not self._dirty:
            return 0
        items = [(self.key(t), codec.encode(impact)) for t, impact in sorted(self._dirty.items())]
        self.store.set_many(items)
        written = len(items)
        self._dirty.clear()
        return written

    def forget_cached(self) -> None:
        """Read from the store again next time (another process may have run tests)."""
        self.flush()
        self._cache.clear()


def impact_of(test: TestCase, outcome: Outcome, snapshot: Snapshot) -> TestImpact:
    """The record of a test that just ran: what it executed, with the fingerprints the
    snapshot (taken before it ran) gives that code."""
    functions: set[ExecutedFunction] = set()
    touched: set[str] = {test.module}

    def executed(module: str, function: tuple[str, int]) -> None:
        fingerprint = snapshot.recorded_fingerprint(module, function)
        if fingerprint is None:
            return  # module_info/0,1 and other code the source does not show
        functions.add((module, *function, fingerprint))
        touched.update(snapshot.referenced_modules(module, function))

    for module, name, arity in outcome.executed:
        if module in snapshot.modules:
            touched.add(module)
        executed(module, source_function(name, arity))
    reloaded = tuple(sorted(m for m in outcome.reloaded if m in snapshot.modules))
    for module in reloaded:
        touched.add(module)
        for function in snapshot.functions.get(module, {}):
            executed(module, function)
    load_time: set[LoadTimeFunction] = set()
    for module in sorted(touched):
        for target, name, arity in snapshot.load_time_reach(module):
            fingerprint = snapshot.recorded_fingerprint(target, (name, arity))
            if fingerprint is not None:
                load_time.add((module, target, name, arity, fingerprint))
    # Their module keys too (an -import changed in them changes what runs).
    touched.update(target for _, target, _, _, _ in load_time)
    apps = {app for m in touched if (app := snapshot.app_of(m)) is not None}
    status = outcome.status if outcome.counted else TestStatus.CRASHED
    return TestImpact(
        test=test.id,
        outcome=status.value,
        own_key=snapshot.recorded_key(test.module),
        functions=tuple(sorted(functions)),
        modules=tuple(sorted((m, snapshot.recorded_key(m)) for m in touched)),
        time_us=outcome.time_us,
        load_time=tuple(sorted(load_time)),
        reloaded=reloaded,
        data=tuple((app, snapshot.data(app)) for app in sorted(apps)),
    )
