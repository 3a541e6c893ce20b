-module(record_field_undefined).
-export([new/0]).

-record(user, {name, email}).

new() ->
    #user{name = "x",
          mail = "x@example.com"}.
%% expect: H0203 @ 8
