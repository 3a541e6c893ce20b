"""Mutation harness: is test selection safe, and what does it save?

For each single mutation it runs

* `holo test` on a warm session reused across mutations, as a developer
  saving files would (session A), and
* the full suite (`--all`) on a second session with its own cache (B), the
  ground truth,

then reverts the mutation (A reruns what it selects, so its records follow).
A *missed failure* is a test that fails in the full run but was not
selected, a *mismatch* a selected test whose status differs from the full
run's: there must be none of either. It also reports the fraction of tests
selected and the time against running everything.

Mutations, by kind:

* ``body``: a constant, an operator or a branch of a function in src/;
* ``helper``: the same in a helper function (not a test) of a test module;
* ``header``: a macro's value or a record field's default in include/;
* ``record``: a field added to a record in include/ (one of them is used
  only in ``is_record`` guards);
* ``attribute``: a module attribute's value (``-vsn``, a custom one) that
  tests read through ``module_info(attributes)``.

``body`` and ``helper`` mutations change one function: for them the
selected fraction should stay small.

Projects: examples/shop, and a generated project with hundreds of tests
(benchmarks/genproject.py's modules, plus test modules and branchy "rules"
modules this script writes).

    .venv/bin/python benchmarks/mutation.py [--mutations 200] [--modules 60] [--seed 1]
        [--shop-mutations 60]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import genproject

from holo.session import Session
from holo.testing import TestReport, run_affected

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
RULES_EVERY = 3  # one rules module per this many generated modules
SINGLE_FUNCTION = ("body", "helper")
GUARDS_HEADER = """\
%% A record the rules modules use only in is_record/2 guards.
-record(tagged, {a = 0, b = 0}).
"""


# ----------------------------------------------------------------- projects


def _rules_text(name: str, callee: str) -> str:
    return f"""\
-module({name}).
-include("shared.hrl").
-include("guards.hrl").
-vsn("1.0").
-tier(1).
-export([classify/1, discount/2, valid/1, score/1, kind/1]).

classify(N) when N < 0 -> negative;
classify(0) -> zero;
classify(N) when N < 10 -> small;
classify(_) -> large.

discount(Total, gold) -> Total * 90 div 100;
discount(Total, silver) -> Total * 95 div 100;
discount(Total, _) -> Total.

valid(#item{{qty = Q}}) when Q > 0 -> true;
valid(_) -> false.

score(Items) ->
    case length(Items) of
        0 -> 0;
        N when N > 3 -> N * 2 + {callee}:helper_value(N);
        N -> N
    end.

kind(X) when is_record(X, tagged) -> tagged;
kind(_) -> other.
"""


def _rules_tests(name: str) -> str:
    return f"""\
-module({name}_tests).
-include_lib("eunit/include/eunit.hrl").
-include("shared.hrl").

classify_test() ->
    ?assertEqual([negative, zero, small, large], [{name}:classify(N) || N <- [-1, 0, 5, 50]]).

discount_test_() ->
    [?_assertEqual(Expected, {name}:discount(100, Kind))
     || {{Kind, Expected}} <- lists:zip([gold, silver, none], expected_discounts())].

expected_discounts() -> [90, 95, 100].

kind_test() ->
    ?assertEqual([tagged, other], [{name}:kind({{tagged, 0, 0}}), {name}:kind(x)]).

attributes_test() ->
    Attributes = {name}:module_info(attributes),
    ?assertEqual([1], proplists:get_value(tier, Attributes)),
    ?assertEqual("1.0", proplists:get_value(vsn, Attributes)).

valid_test() ->
    ?assert({name}:valid(#item{{qty = 1}})),
    ?assertNot({name}:valid(#item{{}})).

score_test() ->
    ?assertEqual(0, {name}:score([])),
    ?assertEqual(2, {name}:score([a, b])),
    ?assertEqual(10 + 3 * 5 + 1, {name}:score([a, b, c, d, e])).
"""


def _module_tests(project: genproject.GeneratedProject, module: str) -> str:
    return f"""\
-module({module}_more_tests).
-include_lib("eunit/include/eunit.hrl").
-include("shared.hrl").

compute_one_test() -> ?assertEqual({project.compute(module, 1)}, {module}:compute(1)).

compute_five_test() -> ?assertEqual({project.compute(module, 5)}, {module}:compute(5)).

helper_test() -> ?assertEqual(22, {module}:helper_value(7)).

describe_test() ->
    ?assertEqual({{3, <<"n">>, 5000, 0}}, {module}:describe(#item{{id = 3, name = <<"n">>}})).

total_test() -> ?assertEqual(6, {module}:total([#item{{qty = 1}}, #item{{qty = 5}}])).

order_test() ->
    ?assertMatch(#order{{id = 1, items = [#item{{id = 4}}]}}, {module}:make_order(1, [4])).
"""


def generate(root: Path, modules: int, seed: int) -> None:
    """genproject's modules and tests, a test module per module, and rules modules."""
    project = genproject.generate(root, modules, seed)
    (root / "include" / "guards.hrl").write_text(GUARDS_HEADER)
    for module in project.modules:
        (root / "test" / f"{module}_more_tests.erl").write_text(_module_tests(project, module))
    for i in range(0, modules, RULES_EVERY):
        name = f"bm_rules_{i:04d}"
        callee = project.modules[(i + 1) % modules]
        (root / "src" / f"{name}.erl").write_text(_rules_text(name, callee))
        (root / "test" / f"{name}_tests.erl").write_text(_rules_tests(name))


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    path: str  # project-relative
    kind: str  # "body", "helper", "header", "record" or "attribute"
    description: str
    line: int  # 0-based, first line touched
    remove: int  # lines replaced
    new_lines: tuple[str, ...]

    def apply(self, text: str) -> str:
        lines = text.split("\n")
        lines[self.line : self.line + self.remove] = list(self.new_lines)
        return "\n".join(lines)


_INTEGER = re.compile(r"(?<![\w.$#'\"])(\d+)(?![\w.])")
_OPERATORS = [
    (" + ", " - "), (" - ", " + "), (" * ", " + "), (" div ", " * "), (" rem ", " div "),
    (" < ", " > "), (" > ", " < "), (" =< ", " >= "), (" >= ", " =< "),
    ("=:=", "=/="), ("=/=", "=:="), (" andalso ", " orelse "),
]
_ATOMS = [("true", "false"), ("false", "true")]
_CLAUSE_HEAD = re.compile(r"^[a-z]\w*\(.*->")
_NESTED = re.compile(r"\b(case|receive|if|begin|try|fun)\b")


def _body_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines of function bodies outside -ifdef(TEST) sections (the code under test)."""
    in_test = in_attribute = False
    for number, line in enumerate(text.split("\n")):
        stripped = line.split("%", 1)[0].strip()
        if in_attribute:
            in_attribute = not stripped.endswith(".")
            continue
        if stripped.startswith("-"):
            if stripped.startswith("-ifdef(TEST)"):
                in_test = True
            elif stripped.startswith("-endif"):
                in_test = False
            in_attribute = not stripped.endswith(".")
            continue
        if in_test or not stripped:
            continue
        yield number, line


def body_mutations(path: str, text: str) -> list[Mutation]:
    found: list[Mutation] = []
    lines = text.split("\n")
    for number, line in _body_lines(text):
        for match in _INTEGER.finditer(line):
            new = line[: match.start()] + str(int(match.group(1)) + 1) + line[match.end() :]
            found.append(Mutation(path, "body", f"{match.group(1)}+1", number, 1, (new,)))
        for old, replacement in _OPERATORS:
            for match in re.finditer(re.escape(old), line):
                new = line[: match.start()] + replacement + line[match.end() :]
                found.append(Mutation(path, "body", f"{old.strip()}->{replacement.strip()}",
                                      number, 1, (new,)))
        for old, replacement in _ATOMS:
            for match in re.finditer(rf"\b{old}\b", line):
                new = line[: match.start()] + replacement + line[match.end() :]
                found.append(Mutation(path, "body", f"{old}->{replacement}", number, 1, (new,)))
        if line.rstrip().endswith(";") and "->" in line:
            if _CLAUSE_HEAD.match(line) or line.startswith((" ", "\t")):
                found.append(Mutation(path, "body", "drop a clause", number, 1, ()))
        elif _CLAUSE_HEAD.match(line) and line.rstrip().endswith("->"):
            end = number + 1
            while end < len(lines) and not lines[end].rstrip().endswith((";", ".")):
                end += 1
            nested = any(_NESTED.search(lines[i]) for i in range(number + 1, end + 1))
            if end < len(lines) and lines[end].rstrip().endswith(";") and not nested:
                found.append(Mutation(path, "body", "drop a clause", number, end - number + 1, ()))
    return found


_DEFINE = re.compile(r"^-define\((\w+)(\(.*?\))?,\s*(.*)\)\.\s*$")
_DEFAULT = re.compile(r"(\w+) = ([^,}:]+?)(\s*(::|,|\}))")


def header_mutations(path: str, text: str) -> list[Mutation]:
    found: list[Mutation] = []
    for number, line in enumerate(text.split("\n")):
        define = _DEFINE.match(line)
        if define:
            for match in _INTEGER.finditer(line):
                new = line[: match.start()] + str(int(match.group(1)) + 1) + line[match.end() :]
                found.append(Mutation(path, "header", f"?{define.group(1)} {match.group(1)}+1",
                                      number, 1, (new,)))
            if "0.20" in line:
                new = line.replace("0.20", "0.21")
                found.append(Mutation(path, "header", f"?{define.group(1)} 0.20->0.21",
                                      number, 1, (new,)))
        elif line.strip().startswith(("quantity =", "qty =", "items =", "coupon =", "name =")) or (
            line.startswith("-record(") and "=" in line
        ):
            for match in _DEFAULT.finditer(line):
                value = match.group(2).strip()
                replacement = {"0": "1", "1": "2", "[]": "[x]", "none": "nothing",
                               "<<>>": '<<"x">>'}.get(value)
                if replacement is None:
                    continue
                new = line[: match.start(2)] + replacement + line[match.end(2) :]
                found.append(Mutation(path, "header", f"#{match.group(1)} default {value}",
                                      number, 1, (new,)))
    return found


_RECORD = re.compile(r"^-record\((\w+),\s*\{.*\}\)\.\s*$")


def record_mutations(path: str, text: str) -> list[Mutation]:
    """A field added (with a default) to each one-line record declaration."""
    found: list[Mutation] = []
    for number, line in enumerate(text.split("\n")):
        match = _RECORD.match(line)
        if match is None:
            continue
        end = line.rindex("}")
        new = line[:end] + ", holo_added = 0" + line[end:]
        found.append(Mutation(path, "record", f"#{match.group(1)} field added", number, 1, (new,)))
    return found


_ATTRIBUTE = re.compile(r"^-(\w+)\((.*)\)\.\s*$")
_FORMS = {
    "module", "export", "import", "include", "include_lib", "define", "record", "type",
    "opaque", "spec", "callback", "behaviour", "behavior", "compile", "ifdef", "ifndef",
    "else", "endif", "if", "elif", "undef", "on_load", "nifs", "export_type", "file",
    "optional_callbacks", "feature", "dialyzer", "deprecated", "doc", "moduledoc",
}


def attribute_mutations(path: str, text: str) -> list[Mutation]:
    """``-vsn`` and custom attributes: a string gets a suffix, an integer +1."""
    found: list[Mutation] = []
    for number, line in enumerate(text.split("\n")):
        match = _ATTRIBUTE.match(line)
        if match is None or match.group(1) in _FORMS:
            continue
        name, value = match.groups()
        if value.startswith('"') and value.endswith('"'):
            new_value = value[:-1] + '.1"'
        elif value.isdigit():
            new_value = str(int(value) + 1)
        else:
            continue
        new = f"-{name}({new_value})."
        found.append(Mutation(path, "attribute", f"-{name} {value}->{new_value}", number, 1,
                              (new,)))
    return found


_FUNCTION_START = re.compile(r"^([a-z]\w*)\(")


def helper_mutations(path: str, text: str) -> list[Mutation]:
    """Body mutations of a test module's functions that are not tests themselves."""
    helper_lines: set[int] = set()
    current: str | None = None
    for number, line in enumerate(text.split("\n")):
        start = _FUNCTION_START.match(line)
        if start is not None:
            current = start.group(1)
        if current is not None and not current.endswith(("_test", "_test_")):
            helper_lines.add(number)
        if line.split("%", 1)[0].rstrip().endswith("."):
            current = None
    return [
        Mutation(m.path, "helper", m.description, m.line, m.remove, m.new_lines)
        for m in body_mutations(path, text)
        if all(line in helper_lines for line in range(m.line, m.line + max(m.remove, 1)))
    ]


def mutations_of(root: Path) -> list[Mutation]:
    found: list[Mutation] = []
    for source in sorted((root / "src").glob("*.erl")):
        rel = source.relative_to(root).as_posix()
        text = source.read_text()
        found.extend(body_mutations(rel, text))
        found.extend(attribute_mutations(rel, text))
    for header in sorted((root / "include").glob("*.hrl")):
        rel = header.relative_to(root).as_posix()
        text = header.read_text()
        found.extend(header_mutations(rel, text))
        found.extend(record_mutations(rel, text))
    for test in sorted((root / "test").glob("*.erl")):
        rel = test.relative_to(root).as_posix()
        found.extend(helper_mutations(rel, test.read_text()))
    return found


# ------------------------------------------------------------------ harness


@dataclass
class Measured:
    mutation: Mutation
    total: int
    selected: int
    full_failures: set[str]
    missed: set[str]
    mismatches: set[str]  # selected tests whose status differs from the full run's
    selective_ms: float  # holo test on the warm session: build + select + run
    full_ms: float  # the full suite on the same build
    selective_run_ms: float
    full_run_ms: float


@dataclass
class Harness:
    root: Path
    warm: Session  # A: `holo test`, reused across mutations
    full: Session  # B: runs everything, its own cache
    results: list[Measured] = field(default_factory=list)
    not_compiling: int = 0

    def measure(self, mutation: Mutation) -> Measured | None:
        path = self.root / mutation.path
        original = path.read_text()
        path.write_text(mutation.apply(original))
        try:
            self.warm.workspace.apply_changes([path])
            selective = run_affected(self.warm)
            if selective.compile_errors:
                self.not_compiling += 1
                return None
            self.full.workspace.apply_changes([path])
            full = run_affected(self.full, all=True)
        finally:
            path.write_text(original)
            self.warm.workspace.apply_changes([path])
            self.full.workspace.apply_changes([path])
            run_affected(self.warm)  # the developer undoes it; A's records follow
        failures = set(full.failed)
        full_status = {r.id: r.status for r in full.results}
        measured = Measured(
            mutation=mutation,
            total=selective.total,
            selected=len(selective.selected),
            full_failures=failures,
            missed=failures - set(selective.selected),
            mismatches={r.id for r in selective.results if full_status.get(r.id) is not r.status},
            selective_ms=selective.timings_ms["total"],
            full_ms=full.timings_ms["total"],
            selective_run_ms=selective.timings_ms["run"],
            full_run_ms=full.timings_ms["run"],
        )
        self.results.append(measured)
        return measured


def open_pair(root: Path, scratch: Path) -> tuple[Session, Session]:
    warm = Session(root, scratch / "cache-warm")
    full = Session(root, scratch / "cache-full")
    warm.start_nodes()
    full.start_nodes()
    return warm, full


def settle(session: Session) -> TestReport:
    report = run_affected(session, all=True)
    if not report.ok:
        raise SystemExit(f"the unmutated project does not pass: {report.failed}")
    return report


def run_project(
    name: str, root: Path, scratch: Path, mutations: list[Mutation], want: int
) -> Harness:
    warm, full = open_pair(root, scratch)
    harness = Harness(root, warm, full)
    try:
        baseline = settle(warm)
        settle(full)
        print(f"{name}: {baseline.total} tests, {len(mutations)} candidate mutations", flush=True)
        idle = [run_affected(warm) for _ in range(5)]
        print(f"  a warm run with nothing changed: median "
              f"{statistics.median(r.timings_ms['total'] for r in idle):.1f} ms (selection "
              f"{statistics.median(r.timings_ms['select'] for r in idle):.1f} ms)", flush=True)
        for mutation in mutations:
            if len(harness.results) >= want:
                break
            measured = harness.measure(mutation)
            if measured is not None and measured.missed:
                print(f"  MISSED {sorted(measured.missed)} after {mutation}", flush=True)
            if measured is not None and measured.mismatches:
                print(f"  MISMATCH {sorted(measured.mismatches)} after {mutation}", flush=True)
            done = len(harness.results)
            if done and done % 50 == 0 and measured is not None:
                print(f"  {done} mutations measured", flush=True)
    finally:
        warm.close()
        full.close()
    return harness


def _fractions(results: list[Measured]) -> str:
    if not results:
        return "none"
    fractions = [r.selected / r.total for r in results]
    return f"mean {statistics.mean(fractions):.1%}, median {statistics.median(fractions):.1%}"


def _saved(results: list[Measured]) -> str:
    selective = statistics.mean(r.selective_ms for r in results)
    full = statistics.mean(r.full_ms for r in results)
    selective_run = statistics.mean(r.selective_run_ms for r in results)
    full_run = statistics.mean(r.full_run_ms for r in results)
    return (
        f"holo test (build+load+select+run) mean {selective:.0f} ms vs the full suite "
        f"{full:.0f} ms ({1 - selective / full:.0%} saved); running the tests alone "
        f"{selective_run:.0f} ms vs {full_run:.0f} ms ({1 - selective_run / full_run:.0%} saved)"
    )


def report(name: str, results: list[Measured], not_compiling: int | None = None) -> int:
    """Print one project's (or all) figures; returns missed failures plus mismatches."""
    kinds = sorted({r.mutation.kind for r in results})
    by_kind = ", ".join(f"{sum(r.mutation.kind == k for r in results)} {k}" for k in kinds)
    killed = sum(1 for r in results if r.full_failures)
    missed = sum(len(r.missed) for r in results)
    mismatches = sum(len(r.mismatches) for r in results)
    single = [r for r in results if r.mutation.kind in SINGLE_FUNCTION]
    skipped = f", {not_compiling} did not compile (skipped)" if not_compiling is not None else ""
    print(f"\n{name}: {len(results)} mutations ({by_kind}), {killed} made some test fail{skipped}")
    print(f"  missed failures (fail in the full run, not selected): {missed}")
    print(f"  mismatches (selected, status differs from the full run's): {mismatches}")
    print(f"  tests selected, all mutations:             {_fractions(results)}")
    print(f"  tests selected, single-function mutations: {_fractions(single)}")
    for kind in kinds:
        print(f"    {kind:>9}: {_fractions([r for r in results if r.mutation.kind == kind])}")
    if results:
        print(f"  {_saved(results)}")
    return missed + mismatches


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=200,
                        help="mutations on the generated project (default: 200)")
    parser.add_argument("--shop-mutations", type=int, default=60,
                        help="mutations on examples/shop (default: 60)")
    parser.add_argument("--modules", type=int, default=60, help="generated modules (default: 60)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="holo-mutation-") as scratch_dir:
        scratch = Path(scratch_dir)
        started = time.perf_counter()

        shop = scratch / "shop"
        shutil.copytree(SHOP, shop, ignore=shutil.ignore_patterns("_build"))
        harness = run_project("examples/shop", shop, scratch / "shop-caches",
                              interleaved(mutations_of(shop), rng), args.shop_mutations)
        report("examples/shop", harness.results, harness.not_compiling)
        measured.extend(harness.results)

        generated = scratch / "generated"
        generate(generated, args.modules, args.seed)
        harness = run_project("generated", generated, scratch / "generated-caches",
                              interleaved(mutations_of(generated), rng), args.mutations)
        report("generated", harness.results, harness.not_compiling)
        measured.extend(harness.results)
        bad = report("all", measured)
        print(f"  {time.perf_counter() - started:.0f} s in all")
    return 0 if bad == 0 else 1


def interleaved(candidates: list[Mutation], rng: random.Random) -> list[Mutation]:
    """Each kind shuffled, then taken in turn, so a small run still sees every kind."""
    kinds: dict[str, list[Mutation]] = {}
    for mutation in candidates:
        kinds.setdefault(mutation.kind, []).append(mutation)
    queues = [kinds[k] for k in sorted(kinds)]
    for queue in queues:
        rng.shuffle(queue)
    order: list[Mutation] = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop())
    return order


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
