-module(function_unused).
-export([api/0]).

api() -> ok.

leftover(X) ->
%% expect: H0211 @ 6
    X.
