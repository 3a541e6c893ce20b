-module(record_is_record_undefined).
-export([f/1]).

f(X) when is_record(X, state) -> ok;
%% expect: H0202 @ 4
f(X) -> erlang:is_record(X, config, 3).
