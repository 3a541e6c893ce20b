"""Finding a project's EUnit tests, as EUnit itself would under the "test" profile.

A test is a function of arity 0 named ``*_test`` (run as is) or ``*_test_``
(a generator: EUnit runs what it returns, and its cases are reported inside
it), active under ``-ifdef(TEST)`` in the test profile and exported (by
``-export``, ``export_all`` or eunit.hrl's autoexport). They live in test
modules (``test/``) and in source modules. A module ``x_tests`` is paired
with ``x``: EUnit runs its tests as part of ``x``'s.

Discovery is a persisted query per module over ``resolve`` and the item tree, so a warm
run rediscovers nothing unless the module changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from holo.engine import query, record
from holo.queries.interface import exported_functions
from holo.queries.item_tree import item_tree
from holo.queries.items import unpack
from holo.queries.project_index import ModuleFile, module_path
from holo.queries.resolve import resolve

PROFILE = "test"


@record("holo.testing.TestCase")
@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class

    module: str
    function: str
    generator: bool  # a *_test_/0 generator
    path: str  # project-relative file of the definition
    line: int  # 0-based line of its first clause's name
    subject: str  # the module it tests: "x" for x_tests:..., else its own module

    @property
    def id(self) -> str:
        return f"{self.module}:{self.function}"


def is_test_name(name: str, arity: int) -> bool:
    return arity == 0 and (name.endswith("_test") or name.endswith("_test_"))


@query(name="holo.testing.module_tests", persist=True)
def module_tests(db: Any, path: str) -> tuple[TestCase, ...]:
    """The EUnit tests ``path`` defines under the test profile, in source order."""
    resolved = resolve(db, path, PROFILE)
    if resolved is None or resolved.module is None:
        return ()
    exports, _ = exported_functions(resolved)
    module = resolved.module
    subject = module
    if module.endswith("_tests") and module_path(db, module[: -len("_tests")]) is not None:
        subject = module[: -len("_tests")]
    tests = []
    for function in resolved.functions:
        if not is_test_name(function.name, function.arity):
            continue
        if (function.name, 0) not in exports:
            continue  # EUnit would not see it either
        first = resolved.clauses[function.clauses[0]]
        tree = item_tree(db, first.file)
        line = unpack(tree.clauses[first.index].head)[0] if tree is not None else 0
        tests.append(
            TestCase(
                module,
                function.name,
                function.name.endswith("_test_"),
                first.file,
                line,
                subject,
            )
        )
    return tuple(tests)


def discover(db: Any, modules: Iterable[ModuleFile]) -> list[TestCase]:
    """Every test of the project's own modules (not its dependencies'), by module then line."""
    found: list[TestCase] = []
    for entry in sorted(modules, key=lambda m: m.module):
        if entry.is_dependency:
            continue
        found.extend(module_tests(db, entry.path))
    return found
