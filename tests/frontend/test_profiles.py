"""What each profile sees: erl_opts warnings, test code, and dependencies fetched for tests.

The default profile is what `holo build` ships: it sees no test directory and
no dependency rebar3 fetched only for the test profile (meck, proper), so a
call or an -include_lib of those is reported there and not under `holo test`.
"""

from __future__ import annotations

import dataclasses

from holo.inputs import AppModel, ErlOpts
from tests.frontend.helpers import app_model

UNUSED = "H0211"
UNRESOLVED_INCLUDE = "H0200"
UNKNOWN_MODULE = "H0301"


def test_nowarn_unused_function_in_erl_opts_silences_those_functions(project) -> None:
    source = "-module(m).\n-export([f/0]).\nf() -> ok.\nkept() -> ok.\nother() -> ok.\n"
    plain = project({"src/m.erl": source})
    assert plain.found("src/m.erl") == {(UNUSED, 4), (UNUSED, 5)}
    app = dataclasses.replace(app_model(), erl_opts=ErlOpts(nowarn_unused=(("kept", 0),)))
    quiet = project({"src/m.erl": source}, apps=(app,))
    assert quiet.found("src/m.erl") == {(UNUSED, 5)}


def _test_only_dependency() -> AppModel:
    return AppModel(
        name="mockery",
        dir="_build/test/lib/mockery",
        src_dirs=("_build/test/lib/mockery/src",),
        include_dirs=("_build/test/lib/mockery/include",),
        test_dirs=(),
        app_src=None,
        is_dependency=True,
        erl_opts=ErlOpts(),
        profiles=("test",),
    )


DEPENDENCY = {
    "_build/test/lib/mockery/src/mockery.erl": "-module(mockery).\n-export([new/1]).\n"
    "new(M) -> M.\n",
    "_build/test/lib/mockery/include/mockery.hrl": "-define(MOCK(M), mockery:new(M)).\n",
}


def test_a_test_only_dependency_is_unknown_to_the_default_profile(project) -> None:
    files = {
        **DEPENDENCY,
        "src/shipped.erl": '-module(shipped).\n-include_lib("mockery/include/mockery.hrl").\n'
        "-export([f/0]).\nf() -> mockery:new(x).\n",
        "test/shipped_tests.erl": '-module(shipped_tests).\n'
        '-include_lib("mockery/include/mockery.hrl").\n'
        "-export([t/0]).\nt() -> ?MOCK(y), mockery:new(z).\n",
    }
    p = project(files, apps=(app_model(), _test_only_dependency()))
    assert {(UNRESOLVED_INCLUDE, 2), (UNKNOWN_MODULE, 4)} <= p.found("src/shipped.erl")
    assert p.found("test/shipped_tests.erl", "test") == set()


def test_default_code_calling_a_test_module_is_told_so(project) -> None:
    p = project(
        {
            "src/shipped.erl": "-module(shipped).\n-export([f/0]).\nf() -> helpers:h().\n",
            "test/helpers.erl": "-module(helpers).\n-export([h/0]).\nh() -> ok.\n",
        }
    )
    assert (UNKNOWN_MODULE, 3) in p.found("src/shipped.erl")
    assert (UNKNOWN_MODULE, 3) not in p.found("src/shipped.erl", "test")
