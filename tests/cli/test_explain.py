"""holo explain names the input change behind a recomputation, across processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


def holo(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "holo.cli", *args], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_explain_traces_a_header_edit_and_reports_what_the_cache_served(tmp_path: Path) -> None:
    root, cache = tmp_path / "shop", str(tmp_path / "cache")
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("_build"))
    holo("build", str(root), "--json", "--cache-dir", cache)
    header = root / "include" / "shop.hrl"
    header.write_text(header.read_text() + "\n-define(EXPLAIN_ME, 1).\n")
    report = holo("explain", str(root), "shop_pricing", "--json", "--cache-dir", cache)
    why = {item["what"]: item["why"] for item in report["explained"]}
    assert why["syntax summary"] == [
        "item_tree('src/shop_pricing.erl') was restored from the cache: no dependency had changed"
    ]
    assert why["resolution"][-1] == "file_text('include/shop.hrl') was set at revision 1"
    assert "item_tree('include/shop.hrl')" in why["resolution"][0]
    assert why["code"][0] == "its BEAM was cached under its compile key: not compiled"

    (root / "src" / "shop_pricing.erl").write_text(
        (root / "src" / "shop_pricing.erl").read_text() + "\n%% edited\n"
    )
    again = holo("explain", str(root), "shop_pricing", "--json", "--cache-dir", cache)
    code = {item["what"]: item["why"] for item in again["explained"]}["code"]
    assert code[0].startswith("compiled now")
