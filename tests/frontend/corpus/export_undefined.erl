-module(export_undefined).
-export([start/0, stop/0]).
%% expect: H0215 @ 2

start() -> ok.
