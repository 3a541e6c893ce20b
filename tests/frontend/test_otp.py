"""OTP's own sources compile cleanly: every error holo reports on them is a false positive.

stdlib, kernel and compiler are laid out as a rebar3 project (each app's
include directory on the include path, as OTP's build has it) and checked
through the Workspace, as ``holo check`` does.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.genproject import layout_otp
from holo.diagnostics import Severity
from holo.engine import Database, MemoryStore
from holo.project.otp import otp_modules
from holo.project.workspace import Workspace
from holo.queries.project_check import project_diagnostics

APPS = ("stdlib", "kernel", "compiler")


@pytest.fixture(scope="module")
def otp_checked(tmp_path_factory: pytest.TempPathFactory, otp_facts):  # noqa: ANN001, ANN201
    root = layout_otp(tmp_path_factory.mktemp("otp"), APPS)
    store = MemoryStore()
    otp_modules(otp_facts.info, store)
    workspace = Workspace.open(root, Database(), store=store, otp=otp_facts.info)
    return workspace, project_diagnostics(workspace.db)


def test_otp_sources_have_no_errors(otp_checked):
    _, result = otp_checked
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert errors == []


def test_all_of_stdlib_kernel_and_compiler_were_checked(otp_checked):
    workspace, result = otp_checked
    expected = sum(
        len(list((Path(dict(workspace.otp.lib_dirs)[app]) / "src").glob("*.erl"))) for app in APPS
    )
    assert result.modules == expected > 200


def test_otp_warnings_by_code(otp_checked):
    _, result = otp_checked
    warnings = Counter(d.code for d in result.diagnostics if d.severity is Severity.WARNING)
    # OTP builds these apps with warnings_as_errors; holo's warnings are none of erlc's.
    assert warnings == Counter()
