"""Small Erlang projects the test-runner tests write to temporary directories."""

from __future__ import annotations

from pathlib import Path


def app_src(app: str) -> str:
    return (
        f'{{application, {app}, [{{description, "holo test fixture"}}, {{vsn, "0.1.0"}},\n'
        "  {registered, []}, {applications, [kernel, stdlib]}, {env, []}]}.\n"
    )


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


# A project whose tests end every way a test can end.
OUTCOMES: dict[str, str] = {
    "rebar.config": "{erl_opts, [debug_info]}.\n",
    "src/outcomes.app.src": app_src("outcomes"),
    "include/calc.hrl": "-define(FACTOR, 2).\n-define(SCALE, 10).\n",
    "src/calc.erl": """\
-module(calc).
-include("calc.hrl").
-export([add/2, double/1, crash/1, scaled_in_worker/1]).

add(A, B) -> A + B.

double(X) -> X * ?FACTOR.

crash(X) -> X + 1.

%% The work happens in another process.
scaled_in_worker(X) ->
    Parent = self(),
    spawn(fun() -> Parent ! {scaled, scaled(X)} end),
    receive {scaled, Y} -> Y after 5000 -> timeout end.

scaled(X) -> X * ?SCALE.

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
internal_test() -> ?assertEqual(4, add(2, 2)).
-endif.

-ifndef(TEST).
never_test() -> ok.
-endif.
""",
    "src/counter.erl": """\
-module(counter).
-behaviour(gen_server).
-export([start_link/0, bump/0, stop/0]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link() -> gen_server:start_link({local, ?MODULE}, ?MODULE, 0, []).
bump() -> gen_server:call(?MODULE, bump).
stop() -> gen_server:stop(?MODULE).

init(N) -> {ok, N}.
handle_call(bump, _From, N) -> {reply, N + 1, N + 1}.
handle_cast(_Msg, N) -> {noreply, N}.
""",
    "src/plain.erl": """\
-module(plain).
-export([exported_test/0]).

exported_test() -> ok.
hidden_test() -> ok.
""",
    "test/calc_tests.erl": """\
-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

add_test() ->
    ?assertEqual(3, calc:add(1, 2)).

fails_test() ->
    ?assertEqual(5, calc:add(2, 2)).

match_test() ->
    ?assertMatch({ok, _}, calc:add(1, 1)).

error_test() ->
    calc:crash(an_atom).

hang_test() ->
    receive never_sent -> ok end.

halt_test() ->
    erlang:halt(7).

self_kill_test() ->
    exit(self(), kill).

leak_test() ->
    spawn(fun() -> register(leaky, self()), receive stop -> ok end end),
    timer:sleep(10).

no_leak_left_test() ->
    ?assertEqual(undefined, whereis(leaky)).

vm_kill_test() ->
    os:cmd("kill -9 " ++ os:getpid()).

server_test() ->
    {ok, _} = counter:start_link(),
    ?assertEqual(1, counter:bump()),
    counter:stop().

worker_test() ->
    ?assertEqual(30, calc:scaled_in_worker(3)).

cases_test_() ->
    {setup,
     fun() -> calc:add(0, 0) end,
     fun(_) -> ok end,
     [?_assertEqual(2, calc:double(1)),
      ?_assertEqual(3, calc:double(1))]}.

good_cases_test_() ->
    [?_assertEqual(4, calc:double(2)), ?_assert(is_integer(calc:add(1, 1)))].

broken_setup_test_() ->
    {setup, fun() -> error(no_fixture) end, fun(_) -> ok end, [?_assert(true)]}.

last_test() ->
    ?assertEqual(6, calc:double(3)).
""",
}


# A project for selection: each function is used by few tests.
SELECTION: dict[str, str] = {
    "rebar.config": "{erl_opts, [debug_info]}.\n",
    "src/selection.app.src": app_src("selection"),
    "include/geo.hrl": """\
-define(PI, 3).
-define(SIDES, 4).
-define(UNUSED, 1).
""",
    "src/geo.erl": """\
-module(geo).
-include("geo.hrl").
-export([area/1, perimeter/1]).

area(R) -> ?PI * R * R.

perimeter(Side) -> ?SIDES * Side.
""",
    "src/util.erl": """\
-module(util).
-export([clamp/3, legacy/0, twice/1]).

clamp(X, Lo, _Hi) when X < Lo -> Lo;
clamp(X, _Lo, Hi) when X > Hi -> Hi;
clamp(X, _Lo, _Hi) -> X.

legacy() -> old.

twice(X) -> 2 * X.
""",
    "src/boot.erl": """\
-module(boot).
-on_load(init/0).
-export([value/0]).

init() ->
    persistent_term:put({?MODULE, value}, 1),
    ok.

value() -> persistent_term:get({?MODULE, value}).
""",
    "src/opts.erl": """\
-module(opts).
-export([answer/0]).

answer() -> 42.
""",
    "src/store.erl": """\
-module(store).
-behaviour(gen_server).
-export([start_link/0, put/2, get/1, stop/0]).
-export([init/1, handle_call/3, handle_cast/2]).

start_link() -> gen_server:start_link({local, ?MODULE}, ?MODULE, #{}, []).
put(K, V) -> gen_server:call(?MODULE, {put, K, V}).
get(K) -> gen_server:call(?MODULE, {get, K}).
stop() -> gen_server:stop(?MODULE).

init(Map) -> {ok, Map}.
handle_call({put, K, V}, _From, Map) -> {reply, ok, Map#{K => V}};
handle_call({get, K}, _From, Map) -> {reply, maps:get(K, Map, none), Map}.
handle_cast(_Msg, Map) -> {noreply, Map}.
""",
    "src/tagged.erl": """\
-module(tagged).
-export([tag/1]).

tag(X) -> {tag, X}.

-ifdef(TEST).
-include_lib("eunit/include/eunit.hrl").
tag_test() -> ?assertEqual({tag, 1}, tag(1)).
-endif.
""",
    "test/geo_tests.erl": """\
-module(geo_tests).
-include_lib("eunit/include/eunit.hrl").

area_test() -> ?assertEqual(12, geo:area(2)).

perimeter_test() -> ?assertEqual(8, geo:perimeter(2)).

labelled_test() -> ?assertEqual({area, 3}, label(geo:area(1))).

label(X) -> {area, X}.
""",
    "test/util_tests.erl": """\
-module(util_tests).
-include_lib("eunit/include/eunit.hrl").

clamp_test() -> ?assertEqual(5, util:clamp(9, 0, 5)).

legacy_test() -> ?assertEqual(old, util:legacy()).

dynamic_test() ->
    F = list_to_atom("twi" ++ "ce"),
    ?assertEqual(4, util:F(2)).
""",
    "test/other_tests.erl": """\
-module(other_tests).
-include_lib("eunit/include/eunit.hrl").

boot_test() -> ?assertEqual(1, boot:value()).

opts_test() -> ?assertEqual(42, opts:answer()).

store_test_() ->
    {setup, fun() -> {ok, _} = store:start_link() end, fun(_) -> store:stop() end,
     [?_assertEqual(ok, store:put(a, 1)), ?_assertEqual(1, store:get(a))]}.
""",
}


def line_of(text: str, needle: str) -> int:
    """The 0-based line of the first line of ``text`` that contains ``needle``."""
    for number, line in enumerate(text.splitlines()):
        if needle in line:
            return number
    raise ValueError(f"{needle!r} is not in the text")
