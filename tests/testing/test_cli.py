"""`holo test` on examples/shop: output, exit codes, and records shared through the cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from holo.cli import main

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
SHOP_TESTS = 10


def copy_shop(dest: Path) -> Path:
    shutil.copytree(SHOP, dest, ignore=shutil.ignore_patterns("_build"))
    return dest


def holo_test(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["test", *args])
    return code, capsys.readouterr().out


def test_json_exit_codes_and_a_copy_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    first = copy_shop(tmp_path / "checkout-1")
    code, out = holo_test(capsys, str(first), "--cache-dir", str(cache), "--json", "--all")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert report["total"] == SHOP_TESTS and len(report["selected"]) == SHOP_TESTS
    assert report["passed"] == SHOP_TESTS and report["failed"] == []
    assert "shop_inventory:reserve_reduces_stock_test" in report["selected"]  # -ifdef(TEST)
    first_tests = report["tests"]
    assert report["skipped"] == []
    test = report["tests"][0]
    assert {"id", "status", "time_ms", "message", "file", "line"} <= set(test)
    assert {"build", "run", "total"} <= set(report["timings_ms"])

    # Another checkout of the same code, with the cache restored: nothing to run.
    second = copy_shop(tmp_path / "checkout-2")
    code, out = holo_test(capsys, str(second), "--cache-dir", str(cache), "--json")
    report = json.loads(out)
    assert code == 0 and report["selected"] == []
    assert sorted(report["skipped"]) == sorted(t["id"] for t in first_tests)

    pricing = second / "src" / "shop_pricing.erl"
    text = pricing.read_text()
    pricing.write_text(text.replace("round(Net * ?VAT_RATE).", "round(Net * ?VAT_RATE) + 1."))
    code, out = holo_test(capsys, str(second), "--cache-dir", str(cache), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    expected = {"shop_pricing_tests:vat_test", "shop_pricing_tests:totals_test",
                "shop_cart_tests:cart_test_"}  # the tests that ran vat/1
    assert set(report["selected"]) == expected == set(report["failed"])
    assert len(report["skipped"]) == SHOP_TESTS - 3 and not expected & set(report["skipped"])
    vat = next(t for t in report["tests"] if t["id"] == "shop_pricing_tests:vat_test")
    assert vat["status"] == "failed" and vat["file"] == "test/shop_pricing_tests.erl"
    assert vat["line"] == 31  # 1-based: ?assertEqual(200, shop_pricing:vat(1000))
    assert vat["message"] == "assertEqual failed: expected 200, got 201"

    # Human output: the failures again (they failed last time), with their source line.
    code, out = holo_test(capsys, str(second), "--cache-dir", str(cache))
    assert code == 1
    assert "test/shop_pricing_tests.erl:31:5: error: shop_pricing_tests:vat_test failed" in out
    assert "?assertEqual(200, shop_pricing:vat(1000))" in out
    # One excerpt per failure, then the summary: selected of total, passed, failed, time.
    assert out.count("error: shop_") == 3
    assert "shop_cart_tests:cart_test_ failed" in out
    assert re.fullmatch(
        rf"3 of {SHOP_TESTS} tests selected: 0 passed, 3 failed, 7 skipped as unaffected "
        r"in \d+\.\d\d s",
        out.rstrip().splitlines()[-1],
    )


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["test", str(tmp_path), "--timeout", "0"])
    assert exit_info.value.code == 2
    assert "the timeout must be more than 0 seconds" in capsys.readouterr().err
    code = main(["test", str(tmp_path / "missing"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 2
    assert "is not a directory" in capsys.readouterr().err
