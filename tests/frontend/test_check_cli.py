"""`holo check` end to end: a project on disk, the real CLI entry point, the disk cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from holo.cli import main

BROKEN = """\
-module(shop).
-export([total/1]).

total(Items) ->
    lists:sum(Items) + tax(Items).
"""


def _project(root: Path, source: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "shop.app.src").write_text('{application, shop, [{vsn, "1"}]}.\n')
    (root / "src" / "shop.erl").write_text(source)
    return root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_output_and_exit_code_for_errors(tmp_path: Path, capsys):
    root = _project(tmp_path / "p", BROKEN)
    cache = tmp_path / "cache"
    code, out, _ = _run(capsys, "check", str(root), "--json", "--cache-dir", str(cache))
    assert code == 1
    report = json.loads(out)
    assert set(report) == {"ok", "modules", "diagnostics", "timings_ms"}
    assert report["ok"] is False and report["modules"] == 1
    (d,) = report["diagnostics"]
    assert d == {
        "file": "src/shop.erl",
        "line": 5,
        "column": 24,
        "end_line": 5,
        "end_column": 27,
        "severity": "error",
        "code": "H0210",
        "source": "holo",
        "message": d["message"],
    }
    assert "tax/1 is undefined" in d["message"]
    assert {"open", "check", "persist", "total"} <= set(report["timings_ms"])


def test_text_output_points_at_the_code(tmp_path: Path, capsys):
    root = _project(tmp_path / "p", BROKEN)
    code, out, _ = _run(capsys, "check", str(root), "--cache-dir", str(tmp_path / "cache"))
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("src/shop.erl:5:24: error H0210: function tax/1 is undefined")
    assert lines[1] == " 5 |     lists:sum(Items) + tax(Items)."
    assert lines[2] == "   |                        ^^^"
    assert lines[-1].startswith("holo check: 1 error, 0 warnings in 1 module of ")


def test_a_clean_project_exits_zero_and_a_second_run_is_warm(tmp_path: Path, capsys):
    root = _project(tmp_path / "p", BROKEN.replace("tax(Items)", "length(Items)"))
    cache = tmp_path / "cache"
    first = _run(capsys, "check", str(root), "--json", "--cache-dir", str(cache))
    assert first[0] == 0 and json.loads(first[1])["ok"] is True
    assert any((cache / "data").iterdir())
    second = _run(capsys, "check", str(root), "--json", "--cache-dir", str(cache))
    assert second[0] == 0
    assert json.loads(second[1])["diagnostics"] == json.loads(first[1])["diagnostics"] == []


def test_cache_dir_from_the_environment(tmp_path: Path, capsys, monkeypatch):
    root = _project(tmp_path / "p", BROKEN)
    monkeypatch.setenv("HOLO_CACHE_DIR", str(tmp_path / "env-cache"))
    code, _, _ = _run(capsys, "check", str(root), "--json")
    assert code == 1
    assert (tmp_path / "env-cache" / "data").is_dir()


def test_a_missing_path_is_a_usage_error(tmp_path: Path, capsys):
    code, out, err = _run(capsys, "check", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path))
    assert code == 2 and out == ""
    assert err.strip() == f"holo check: {tmp_path / 'nowhere'}: no such directory"


def test_a_rebar_config_that_does_not_parse_is_shown_and_exits_2(tmp_path: Path, capsys):
    root = _project(tmp_path / "p", BROKEN.replace("tax(Items)", "length(Items)"))
    (root / "rebar.config").write_text("{erl_opts, [debug_info}.\n")
    code, out, _ = _run(capsys, "check", str(root), "--cache-dir", str(tmp_path / "cache"))
    lines = out.splitlines()
    assert code == 2
    assert lines[0].startswith("rebar.config:1:") and " error H0001: " in lines[0]
    assert lines[-1].startswith("holo check: 1 error, 0 warnings in 1 module of ")


def test_a_cache_dir_that_is_a_file_is_a_usage_error(tmp_path: Path, capsys):
    root = _project(tmp_path / "p", BROKEN)
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("")
    code, out, err = _run(capsys, "check", str(root), "--cache-dir", str(not_a_dir))
    assert code == 2 and out == ""
    assert err == f"holo check: cannot use the cache directory {not_a_dir}: File exists\n"
