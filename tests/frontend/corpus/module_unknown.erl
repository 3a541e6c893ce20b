-module(module_unknown).
-export([f/0]).

f() ->
    jsonx:encode(#{}).
%% expect: H0301 @ 5
