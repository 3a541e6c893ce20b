-module(callback_missing).
-behaviour(gen_server).
%% expect: H0302 @ 2
-export([init/1, handle_cast/2]).

init(Args) -> {ok, Args}.
handle_cast(_Msg, State) -> {noreply, State}.
