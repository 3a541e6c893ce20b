%% An operator with nothing on its right.
-module(syntax_unexpected_token).
-export([f/1]).

f(X) ->
    X + .
%% expect: H0100 @ 6
