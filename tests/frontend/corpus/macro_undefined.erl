-module(macro_undefined).
-export([timeout/0]).

-define(TIMEOUT_MS, 5000).

timeout() ->
    ?TIMEOUT.
%% expect: H0201 @ 7
