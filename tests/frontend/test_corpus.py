"""The corpus of seeded mistakes: every expected diagnostic, at its line, and erlc agrees.

Each file of tests/frontend/corpus/ holds one kind of mistake and says what
holo must report with ``%% expect: CODE @ LINE`` comments. Where erlc reports
the same mistake (OTP's compiler, run for real), it must report it on the
same line.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
_EXPECT = re.compile(rb"%% expect: (H\d{4}) @ (\d+)")
_ERLC_LINE = re.compile(r"^(?P<file>[^:\s]+\.erl):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")
_ERLC_BEAM = re.compile(r"^(?P<file>[^:\s]+\.beam): (?P<message>.*)$")

# What erlc says for the mistakes it also reports (H0300/H0301/H0204 it does not).
ERLC_MESSAGES = {
    "H0100": r"syntax error",
    "H0101": r"cannot translate from UTF-8",
    "H0102": r"no module definition",
    "H0200": r"can't find include file",
    "H0201": r"undefined macro",
    "H0202": r"record \w+ undefined",
    "H0203": r"field \w+ undefined in record",
    "H0205": r"unbalanced",
    "H0210": r"function \w+/\d+ undefined",
    "H0211": r"function \w+/\d+ is unused",
    "H0212": r"variable '\w+' is unbound",
    "H0213": r"function \w+/\d+ already defined",
    "H0214": r"does not match file name",
    "H0215": r"function \w+/\d+ undefined",
    "H0216": r"spec for undefined function",
    "H0217": r"head mismatch",
    "H0302": r"undefined callback function",
}


def _expected() -> dict[str, set[tuple[str, int]]]:
    return {
        path.name: {(code.decode(), int(line)) for code, line in _EXPECT.findall(path.read_bytes())}
        for path in sorted(CORPUS.glob("*.erl"))
    }


EXPECTED = _expected()


@pytest.fixture(scope="module")
def corpus_project(otp_facts):  # noqa: ANN201
    from tests.frontend.helpers import Project

    files = {f"src/{p.name}": p.read_bytes() for p in CORPUS.glob("*.erl")}
    return Project(otp_facts, files)


@pytest.fixture(scope="module")
def erlc_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """What OTP's compiler says of each corpus file (one node compiles them all).

    A report without a line (the module name check names the .beam) has line 0.
    """
    out = tmp_path_factory.mktemp("erlc")
    script = (
        f'[compile:file(F, [report_errors, report_warnings, {{outdir, "{out}"}}])'
        f' || F <- filelib:wildcard("{CORPUS}/*.erl")], halt().'
    )
    result = subprocess.run(
        ["erl", "-noshell", "-eval", script], capture_output=True, text=True, timeout=120
    )
    reports: dict[str, list[tuple[int, str]]] = {}
    for line in (result.stdout + result.stderr).splitlines():
        m = _ERLC_LINE.match(line.strip())
        if m:
            reports.setdefault(Path(m["file"]).name, []).append((int(m["line"]), m["message"]))
            continue
        m = _ERLC_BEAM.match(line.strip())
        if m:
            reports.setdefault(Path(m["file"]).stem + ".erl", []).append((0, m["message"]))
    return reports


def test_the_corpus_covers_every_code_it_claims():
    codes = {code for found in EXPECTED.values() for code, _ in found}
    assert len(EXPECTED) >= 20
    assert all(EXPECTED.values()), "every corpus file names what it expects"
    assert {"H0100", "H0201", "H0210", "H0212", "H0300", "H0301", "H0302"} <= codes


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_holo_reports_exactly_the_seeded_mistake(corpus_project, name: str):
    assert corpus_project.found(f"src/{name}") == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_erlc_reports_it_on_the_same_line(erlc_reports, name: str):
    for code, line in EXPECTED[name]:
        pattern = ERLC_MESSAGES.get(code)
        if pattern is None:
            continue
        lines = [n for n, message in erlc_reports.get(name, []) if re.search(pattern, message)]
        assert lines, f"erlc does not report {code} in {name}: {erlc_reports.get(name)}"
        if lines != [0]:  # 0: erlc names no line for this one
            assert line in lines, f"holo: line {line}; erlc: {lines}"
