-module(include_missing).
-include("no_such_header.hrl").
%% expect: H0200 @ 2
