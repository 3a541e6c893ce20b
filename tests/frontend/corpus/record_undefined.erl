-module(record_undefined).
-export([new/0]).

-record(user, {name, email}).

new() ->
    #usr{name = "x"}.
%% expect: H0202 @ 7
