-module(fun_imported).
-export([f/0]).
-import(lists, [reverse/1]).

f() ->
    fun reverse/1.
%% expect: H0210 @ 6
