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


# Tests that change the node's state, or replace project code, for later tests to see.
ISOLATION: dict[str, str] = {
    "rebar.config": "{erl_opts, [debug_info]}.\n",
    "src/isolation.app.src": app_src("isolation"),
    "src/greet.erl": """\
-module(greet).
-export([hello/0, twice/1]).

hello() -> hello.

twice(X) -> X * 2.
""",
    "src/settings.erl": """\
-module(settings).
-on_load(init/0).
-export([level/0]).

init() ->
    persistent_term:put({settings, level}, 1),
    ok.

level() -> persistent_term:get({settings, level}).
""",
    "test/a_tests.erl": """\
-module(a_tests).
-include_lib("eunit/include/eunit.hrl").

sets_state_test() ->
    ok = application:load(isolation),
    ok = application:set_env(isolation, mode, fast),
    ok = application:set_env(kernel, holo_isolation_probe, 1),
    ok = application:set_env(isolation_unloaded, flag, on),
    persistent_term:put(isolation_key, 1),
    persistent_term:put({settings, level}, 2),
    true = os:putenv("HOLO_ISOLATION_PROBE", "1"),
    ?assertEqual(2, settings:level()).
""",
    "test/b_tests.erl": """\
-module(b_tests).
-include_lib("eunit/include/eunit.hrl").

reads_state_test() ->
    ?assertEqual(undefined, application:get_env(isolation, mode)),
    ?assertEqual(undefined, application:get_env(kernel, holo_isolation_probe)),
    ?assertEqual(undefined, application:get_env(isolation_unloaded, flag)),
    ?assertNot(lists:keymember(isolation, 1, application:loaded_applications())),
    ?assertEqual(none, persistent_term:get(isolation_key, none)),
    ?assertEqual(1, settings:level()),
    ?assertEqual(false, os:getenv("HOLO_ISOLATION_PROBE")).
""",
    "test/reload_tests.erl": """\
-module(reload_tests).
-include_lib("eunit/include/eunit.hrl").

%% What meck:new(greet, [passthrough]) does: greet's own code under another
%% name, and a greet that calls it. Neither is counted.
passthrough_test() ->
    {greet, Beam, _} = code:get_object_code(greet),
    {ok, {greet, [{abstract_code, {raw_abstract_v1, Forms}}]}} =
        beam_lib:chunks(Beam, [abstract_code]),
    Renamed = [case Form of
                   {attribute, L, module, greet} -> {attribute, L, module, greet_meck_original};
                   _ -> Form
               end || Form <- Forms],
    {ok, greet_meck_original, Original} = compile:forms(Renamed),
    {module, _} = code:load_binary(greet_meck_original, "", Original),
    Call = {call, 1, {remote, 1, {atom, 1, greet_meck_original}, {atom, 1, twice}},
            [{var, 1, 'X'}]},
    Mock = [{attribute, 1, module, greet}, {attribute, 1, export, [{hello, 0}, {twice, 1}]},
            {function, 1, hello, 0, [{clause, 1, [], [], [{atom, 1, mocked}]}]},
            {function, 1, twice, 1, [{clause, 1, [{var, 1, 'X'}], [], [Call]}]}],
    {ok, greet, MockBeam} = compile:forms(Mock),
    {module, greet} = code:load_binary(greet, "", MockBeam),
    ?assertEqual(mocked, greet:hello()),
    ?assertEqual(4, greet:twice(2)).

build_code_is_back_test() ->
    ?assertEqual(hello, greet:hello()),
    ?assertNot(erlang:module_loaded(greet_meck_original)).
""",
}


# -on_load code that calls other modules, module_info and {module, M} generators.
LOAD_TIME: dict[str, str] = {
    "rebar.config": "{erl_opts, [debug_info]}.\n",
    "src/load_time.app.src": app_src("load_time"),
    "src/defaults.erl": """\
-module(defaults).
-export([value/0, unused/0]).

value() -> base() + 0.

base() -> 1.

unused() -> unused.
""",
    "src/boot.erl": """\
-module(boot).
-on_load(init/0).
-export([stored/1]).

%% The module extras is not there (yet): the on_load survives that.
init() ->
    persistent_term:put({boot, value}, defaults:value()),
    persistent_term:put({boot, extra}, catch extras:extra()),
    ok.

stored(Key) -> persistent_term:get({boot, Key}).
""",
    "src/shapes.erl": """\
-module(shapes).
-tier(1).
-export([square/1]).

square(X) -> X * X.
""",
    "test/boot_tests.erl": """\
-module(boot_tests).
-include_lib("eunit/include/eunit.hrl").

value_test() -> ?assertEqual(1, boot:stored(value)).

extra_test() -> ?assertMatch({'EXIT', {undef, _}}, boot:stored(extra)).
""",
    "test/exports_tests.erl": """\
-module(exports_tests).
-include_lib("eunit/include/eunit.hrl").

%% Named at run time, as EUnit's {module, M} names M: no call to shapes is written here.
no_cube_test() ->
    Shapes = list_to_atom("sha" ++ "pes"),
    ?assertNot(lists:member({cube, 1}, Shapes:module_info(exports))).

tier_test() -> ?assertEqual([1], proplists:get_value(tier, shapes:module_info(attributes))).
""",
    "test/listed_tests.erl": """\
-module(listed_tests).
-include_lib("eunit/include/eunit.hrl").

one_test() -> ok.
""",
    "test/suite_tests.erl": """\
-module(suite_tests).
-include_lib("eunit/include/eunit.hrl").

listed_test_() -> {module, listed_tests}.
""",
}


# A test that stops the VM: it cannot even time out.
WEDGED: dict[str, str] = {
    "rebar.config": "{erl_opts, [debug_info]}.\n",
    "src/wedged.app.src": app_src("wedged"),
    "src/wedged.erl": "-module(wedged).\n-export([ok/0]).\n\nok() -> ok.\n",
    "test/wedged_tests.erl": """\
-module(wedged_tests).
-include_lib("eunit/include/eunit.hrl").

stops_the_vm_test() -> os:cmd("kill -STOP " ++ os:getpid()).

runs_after_test() -> ?assertEqual(ok, wedged:ok()).
""",
}


# Tests that read files that are not code.
DATA: dict[str, str] = {
    "rebar.config": "{erl_opts, [debug_info]}.\n",
    "src/fixtures.app.src": app_src("fixtures"),
    "src/reader.erl": """\
-module(reader).
-export([answer/0]).

answer() ->
    {ok, Text} = file:read_file("priv/answer.txt"),
    Text.
""",
    "priv/answer.txt": "42\n",
    "test/fixtures/input.txt": "in\n",
    "test/reader_tests.erl": """\
-module(reader_tests).
-include_lib("eunit/include/eunit.hrl").

answer_test() -> ?assertEqual(<<"42\\n">>, reader:answer()).

fixture_test() -> ?assertEqual({ok, <<"in\\n">>}, file:read_file("test/fixtures/input.txt")).
""",
    "test/pure_tests.erl": """\
-module(pure_tests).
-include_lib("eunit/include/eunit.hrl").

pure_test() -> ?assertEqual(2, 1 + 1).
""",
}
