-module(spec_undefined).
-export([parse/1]).

-spec parse(binary()) -> term().
parse(B) -> B.

-spec format(term()) -> binary().
%% expect: H0216 @ 7
