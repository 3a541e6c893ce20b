-module(function_duplicate).
-export([f/1]).

f(a) -> 1;
f(b) -> 2.

f(c) -> 3.
%% expect: H0213 @ 7
