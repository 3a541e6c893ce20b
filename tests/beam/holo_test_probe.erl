%% Test-only request handlers, compiled and loaded into the agent by the tests
%% through the bridge itself, then registered with register_handlers.
-module(holo_test_probe).
-export([holo_handlers/0]).

holo_handlers() ->
    #{apply => fun({M, F, A}) -> apply(M, F, A) end,
      echo => fun(Term) -> Term end,
      sleep => fun(Ms) -> timer:sleep(Ms), slept end,
      %% A request that never ends, findable by its registered name.
      park => fun(Name) -> register(Name, self()), timer:sleep(infinity) end}.
