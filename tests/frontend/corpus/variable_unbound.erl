-module(variable_unbound).
-export([total/1]).

total(Items) ->
    Sum = lists:sum(Items),
    Sum + Tax.
%% expect: H0212 @ 6
