"""Every Python package in the tree is one the wheel ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_lists_every_package_of_the_tree() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir: dict[str, str] = setuptools.get("package-dir", {})
    tops = {"holo": "holo", **package_dir}
    in_tree: set[str] = set()
    for package, directory in tops.items():
        base = ROOT / directory
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base).parts
            in_tree.add(".".join((package, *relative)))
    # A directory mapped by package-dir is its own package, not a subpackage of holo/.
    assert set(setuptools["packages"]) == in_tree
