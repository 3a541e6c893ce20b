"""module_dependencies: compile-time, interface and run-time edges."""

from __future__ import annotations

from holo.queries import module_dependencies, resolve


def test_the_three_kinds_of_edges(project):
    p = project(
        {
            "src/worker.erl": """\
-module(worker).
-behaviour(pool_behaviour).
-behaviour(gen_server).
-include("defs.hrl").
-compile({parse_transform, ms_transform}).
-export([run/0, ready/0]).
run() -> store:put(?KEY), lists:reverse([]), ets:fun2ms(fun(X) -> X end), ?MODULE:run().
ready() -> ok.
""",
            "src/store.erl": "-module(store).\n-export([put/1]).\nput(K) -> K.\n",
            "src/pool_behaviour.erl": "-module(pool_behaviour).\n-callback ready() -> ok.\n",
            "include/defs.hrl": '-include("keys.hrl").\n',
            "include/keys.hrl": "-define(KEY, k).\n",
        }
    )
    deps = module_dependencies(p.db, "worker", "default")
    assert deps.headers == ("include/defs.hrl", "include/keys.hrl")
    assert deps.parse_transforms == ("ms_transform",)
    assert deps.behaviours == ("pool_behaviour",)
    assert deps.interface == ("pool_behaviour", "store")
    assert deps.runtime == ("ets", "lists", "store")
    assert module_dependencies(p.db, "nonexistent", "default") is None


def test_imported_calls_are_edges_to_the_module_they_come_from(project):
    p = project(
        {
            "src/client.erl": """\
-module(client).
-import(store, [put/1]).
-import(lists, [reverse/1]).
-import(unused, [never/0]).
-export([run/0]).
run() -> put(reverse([k])).
""",
            "src/store.erl": "-module(store).\n-export([put/1]).\nput(K) -> K.\n",
            "src/unused.erl": "-module(unused).\n-export([never/0]).\nnever() -> ok.\n",
        }
    )
    deps = module_dependencies(p.db, "client", "default")
    assert deps.interface == ("store",)
    assert deps.runtime == ("lists", "store")
    resolved = resolve(p.db, "src/client.erl", "default")
    run = resolved.function("run", 0)
    assert run.remote_calls == (("lists", "reverse", 1), ("store", "put", 1))
