"""Incrementality, measured with the engine's counters on a generated 200-module project.

A function-body edit re-runs that module's item tree and resolution and
nothing of any other module (module_interface is the firewall); a header
edit that adds a macro nobody uses re-runs resolution for every module that
includes it, finds each result equal, and stops there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.genproject import GeneratedProject, generate
from holo.engine import Database, MemoryStore
from holo.project.workspace import Workspace
from holo.queries import module_dependencies, resolve, typecheck
from holo.queries.project_check import project_diagnostics

MODULES = 200


@pytest.fixture(scope="module")
def otp_store(otp_facts) -> MemoryStore:  # noqa: ANN001
    """OTP's module table, cached once: Workspace.open reads it from here."""
    from holo.project.otp import otp_modules

    store = MemoryStore()
    otp_modules(otp_facts.info, store)
    return store


@pytest.fixture
def generated(tmp_path: Path, otp_facts, otp_store) -> tuple[GeneratedProject, Workspace]:  # noqa: ANN001
    project = generate(tmp_path / "gen", MODULES, seed=1)
    workspace = Workspace.open(project.root, Database(), store=otp_store, otp=otp_facts.info)
    return project, workspace


def _check(workspace: Workspace) -> int:
    result = project_diagnostics(workspace.db)
    assert result.diagnostics == ()
    return result.modules


def test_the_generated_project_is_clean(generated):
    project, workspace = generated
    assert _check(workspace) == MODULES + len(project.servers) + len(project.test_modules)


def test_a_body_edit_reruns_only_that_module(generated):
    project, workspace = generated
    _check(workspace)
    edited = project.modules[42]
    workspace.apply_changes([project.edit_body(edited)])
    _check(workspace)
    stats = workspace.db.stats
    assert stats.executed["item_tree"] == 1
    assert stats.executed["resolve"] == 1
    assert stats.executed["module_interface"] == 1
    assert stats.backdated["module_interface"] == 1  # equal: cut off here
    assert stats.executed["typecheck"] == 1  # the edited module's own
    assert workspace.db.explain(typecheck, edited, "default")[0].startswith(
        f"typecheck('{edited}', 'default') ran at revision {workspace.db.revision}"
    )
    other = project.modules[43]
    assert (
        f"revision {workspace.db.revision}"
        not in workspace.db.explain(typecheck, other, "default")[0]
    )


def test_an_unused_header_macro_changes_no_resolved_module(generated):
    project, workspace = generated
    _check(workspace)
    before = {m: resolve(workspace.db, project.rel(m), "default") for m in project.modules[:5]}
    workspace.apply_changes([project.add_header_macro()])
    checked = _check(workspace)
    stats = workspace.db.stats
    assert stats.executed["item_tree"] == 1  # the header
    # Every module includes it (the tested ones are also resolved for the test
    # profile their tests see), and each result is unchanged.
    assert stats.executed["resolve"] == checked + len(project.test_modules)
    assert stats.backdated["resolve"] == stats.executed["resolve"]
    assert stats.executed["typecheck"] == 0
    assert stats.executed["local_diagnostics"] == 0
    assert stats.executed["module_diagnostics"] == 0
    assert {m: resolve(workspace.db, project.rel(m), "default") for m in before} == before


def test_an_interface_change_rechecks_exactly_its_dependents(generated):
    project, workspace = generated
    _check(workspace)
    target = project.modules[7]
    dependents = {
        m
        for m in (*project.modules, *project.servers, *project.test_modules)
        if target
        in module_dependencies(
            workspace.db, m, "test" if m in project.test_modules else "default"
        ).interface
    }
    assert dependents  # the generator wires every module to two others
    source = project.source(target)
    source.write_text(source.read_text().replace("helper_value/1, ", ""))
    workspace.apply_changes([source])
    diagnostics = project_diagnostics(workspace.db).diagnostics
    callers = {m for m in project.modules if project.callees[m][0] == target}
    assert {(d.path, d.code) for d in diagnostics if d.code == "H0300"} == {
        (project.rel(m), "H0300") for m in callers
    }
    assert workspace.db.stats.executed["typecheck"] == len(dependents) + 1


def test_a_warm_start_restores_results_without_parsing(tmp_path: Path, otp_facts, otp_store):  # noqa: ANN001
    project = generate(tmp_path / "gen", 30, seed=2)
    store = MemoryStore()
    first = Workspace.open(project.root, Database(store=store), store=otp_store, otp=otp_facts.info)
    _check(first)
    assert first.db.persist() > 0
    second = Workspace.open(
        project.root, Database(store=store), store=otp_store, otp=otp_facts.info
    )
    _check(second)
    stats = second.db.stats
    assert stats.executed["item_tree"] == 0 and stats.executed["resolve"] == 0
    assert stats.loaded["module_diagnostics"] == 30 + len(project.servers) + len(
        project.test_modules
    )


def test_an_export_change_rechecks_the_modules_that_import_from_it(project):
    p = project(
        {
            "src/importer.erl": """\
-module(importer).
-import(supplier, [get/0]).
-export([run/0]).
run() -> get().
""",
            "src/bystander.erl": "-module(bystander).\n-export([run/0]).\nrun() -> ok.\n",
            "src/supplier.erl": "-module(supplier).\n-export([get/0]).\nget() -> 1.\n",
        }
    )
    assert project_diagnostics(p.db).diagnostics == ()

    p.write("src/supplier.erl", "-module(supplier).\n-export([get/0]).\nget() -> 2.\n")
    assert project_diagnostics(p.db).diagnostics == ()
    assert p.db.stats.executed["typecheck"] == 1  # supplier's own: its interface is equal

    p.write("src/supplier.erl", "-module(supplier).\n-export([]).\nget() -> 2.\n")
    diagnostics = project_diagnostics(p.db).diagnostics
    assert [(d.path, d.code) for d in diagnostics if d.code == "H0300"] == [
        ("src/importer.erl", "H0300")
    ]
    assert p.db.stats.executed["typecheck"] == 2  # supplier's and importer's, not bystander's
