%% The shop application: starts the supervision tree.
-module(shop_app).
-behaviour(application).

-export([start/2, stop/1]).

-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_StartType, _StartArgs) ->
    shop_sup:start_link().

-spec stop(term()) -> ok.
stop(_State) ->
    ok.
