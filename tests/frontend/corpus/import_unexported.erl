-module(import_unexported).
-export([f/1]).
-import(lists, [reverse/1, revers/2]).

f(L) ->
    revers(reverse(L), []).
%% expect: H0300 @ 6
