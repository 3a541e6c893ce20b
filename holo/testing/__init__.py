"""holo.testing: EUnit tests that run themselves.

Discovery (:mod:`.discovery`), a runner in the runtime node
(``holo/beam/agent/holo_test_runner.erl``, :mod:`.runner`) that records what
each test executed and isolates tests from each other, impact records in the
persistent cache (:mod:`.impact`), the code ``-on_load`` functions run
(:mod:`.load_time`), and selection of the tests an edit can affect
(:mod:`.selection`), put together by :class:`TestSession` for `holo test`,
the watcher and the language server (which load test builds into the
runtime node through :meth:`TestSession.load`).
"""

from holo.testing.discovery import TestCase, discover, module_tests
from holo.testing.impact import ImpactStore, TestImpact, project_identity
from holo.testing.results import (
    CaseResult,
    TestReport,
    TestResult,
    TestStatus,
    failure_diagnostics,
    result_diagnostic,
)
from holo.testing.session import (
    DEFAULT_TIMEOUT_S,
    TestSession,
    diagnostics_of,
    run_affected,
    session_tests,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "CaseResult",
    "ImpactStore",
    "TestCase",
    "TestImpact",
    "TestReport",
    "TestResult",
    "TestSession",
    "TestStatus",
    "diagnostics_of",
    "discover",
    "failure_diagnostics",
    "result_diagnostic",
    "module_tests",
    "project_identity",
    "run_affected",
    "session_tests",
]
