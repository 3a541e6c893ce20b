%% A call whose closing parenthesis is missing.
-module(syntax_missing_paren).
-export([f/1]).

f(X) ->
    g(X,
      [X, X].
%% expect: H0100 @ 7

g(A, B) -> {A, B}.
