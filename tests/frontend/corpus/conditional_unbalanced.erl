-module(conditional_unbalanced).
-export([f/0]).

f() -> ok.
-endif.
%% expect: H0205 @ 5
