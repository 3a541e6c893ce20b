-module(condition_unevaluated).
-export([f/0]).

-if(is_list(?MODULE_STRING)).
%% expect: H0204 @ 4
f() -> list.
-else.
f() -> other.
-endif.
