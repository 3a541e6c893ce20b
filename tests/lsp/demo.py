"""The small rebar3 project the language server tests edit: two modules, a header, a test."""

from __future__ import annotations

from pathlib import Path

HEADER = """\
%% Shared records and macros.
-record(point, {x = 0 :: integer(), y = 0 :: integer()}).

-define(ORIGIN, #point{}).
-define(SCALE, 10).
"""

GEOMETRY = """\
-module(geometry).
-include("demo.hrl").

-export([scale/1, distance/2, origin/0]).
-export_type([coord/0]).

-type coord() :: integer().

%% @doc Scales a point by ?SCALE in both directions.
-spec scale(#point{}) -> #point{}.
scale(#point{x = X, y = Y}) ->
    #point{x = X * ?SCALE, y = Y * ?SCALE}.

-spec distance(#point{}, #point{}) -> float().
distance(A, B) ->
    math:sqrt(square(A#point.x - B#point.x) + square(A#point.y - B#point.y)).

origin() ->
    ?ORIGIN.

square(N) ->
    N * N.
"""

SHAPES = """\
-module(shapes).
-include("demo.hrl").

-export([corners/1, far/1]).

-spec corners(geometry:coord()) -> [#point{}].
corners(Size) ->
    [geometry:scale(#point{x = 0, y = 0}), geometry:scale(#point{x = Size, y = Size})].

far(P) ->
    geometry:distance(geometry:origin(), P) > ?SCALE andalso lists:member(P, corners(1)).
"""

GEOMETRY_TESTS = """\
-module(geometry_tests).
-include_lib("eunit/include/eunit.hrl").
-include("demo.hrl").

scale_test() ->
    ?assertEqual(#point{x = 10, y = 20}, geometry:scale(#point{x = 1, y = 2})).

distance_test() ->
    ?assertEqual(5.0, geometry:distance(#point{}, #point{x = 3, y = 4})).
"""

FILES = {
    "rebar.config": '{erl_opts, [debug_info, {i, "include"}]}.\n',
    "src/demo.app.src": (
        '{application, demo, [{description, "lsp tests"}, {vsn, "0.1.0"},\n'
        "  {registered, []}, {applications, [kernel, stdlib]}, {env, []}]}.\n"
    ),
    "include/demo.hrl": HEADER,
    "src/geometry.erl": GEOMETRY,
    "src/shapes.erl": SHAPES,
    "test/geometry_tests.erl": GEOMETRY_TESTS,
}


def write_demo(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
