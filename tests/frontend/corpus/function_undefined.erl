-module(function_undefined).
-export([start/0]).

start() ->
    init_state(),
    run_loop().
%% expect: H0210 @ 6

init_state() -> ok.
