-module(remote_undefined).
-export([f/1]).

f(L) ->
    lists:reverse(L, [], extra).
%% expect: H0300 @ 5
