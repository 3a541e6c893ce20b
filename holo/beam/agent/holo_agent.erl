%% holo's agent: the BEAM side of holo.beam.node.BeamNode.
%%
%% Python starts `erl -noshell -noinput -run holo_agent main InFd OutFd TmpDir`
%% with two pipes on InFd/OutFd. Frames on them are 4-byte length-prefixed
%% external terms (the port's {packet,4}). They are not fds 0 and 1: user code
%% writes to fd 1 with io:format and, bypassing the I/O system, with
%% erlang:display/1; stdout and stderr go to a log file, so neither can
%% corrupt the frame stream.
%%
%% Python -> agent:  {call, Id, Kind, Args} | {call, Id, Kind, Args, Limit}
%%                   | {cancel, Id}
%% agent -> Python:  {hello, Info} (once, first)
%%                   {started, Id}                a call with a Limit began to run
%%                   {reply, Id, Value}
%%                   {failed, Id, Why, Message}   Why: unknown_request | crash
%%
%% Each call runs in its own process, so calls run in parallel on all
%% schedulers and a call that crashes fails only itself. A call with a Limit
%% runs only while fewer than Limit calls of its Kind run; the others wait
%% here, in the order they came, and each says when it starts. So holo can
%% keep more compiles on their way than the agent runs at once (the next one
%% is here the moment a compile ends) and time each one from its start. A
%% call's handler is
%% looked up by Kind in a registry built from every module in the agent's ebin
%% that exports holo_handlers/0 (returning #{Kind => fun Handler/1}); the
%% register_handlers call adds the handlers of a module loaded later.
%%
%% The agent halts the VM when its input pipe reaches eof: holo has gone.
-module(holo_agent).

-export([main/1, holo_handlers/0, serialized/1, tmp_dir/0, text/1, fmt/2]).

-define(HANDLERS, {?MODULE, handlers}).
-define(TMP_DIR, {?MODULE, tmp_dir}).
-define(SERIAL, holo_agent_serial).

%% running: monitor -> {Id, Pid, Kind | unlimited}
%% waiting: Kind -> queue of {Id, Args, Limit}, the calls that wait for a slot
%% active:  Kind -> how many calls of Kind with a limit run
-record(loop, {port, running = #{}, waiting = #{}, active = #{}}).

main([InFd, OutFd, TmpDir]) ->
    persistent_term:put(?TMP_DIR, TmpDir),
    Loop = spawn(fun() -> start(list_to_integer(InFd), list_to_integer(OutFd)) end),
    %% Nothing would read the pipe without the loop: holo would wait forever.
    spawn(fun() ->
                  Ref = monitor(process, Loop),
                  receive {'DOWN', Ref, process, _, _} -> erlang:halt(3) end
          end),
    ok.

holo_handlers() ->
    #{ping => fun ping/1,
      register_handlers => fun register_handlers/1}.

tmp_dir() -> persistent_term:get(?TMP_DIR).

%% Run Fun in one process at a time per node: code loading and purging.
serialized(Fun) ->
    Ref = make_ref(),
    ?SERIAL ! {run, self(), Ref, Fun},
    receive {Ref, {ok, Value}} -> Value;
            {Ref, {raise, Class, Reason, Stack}} -> erlang:raise(Class, Reason, Stack)
    end.

text(Chars) -> unicode:characters_to_binary(Chars).

fmt(Format, Args) -> text(io_lib:format(Format, Args)).

%% --- the port loop -------------------------------------------------------

start(InFd, OutFd) ->
    register(?SERIAL, spawn_link(fun serial_loop/0)),
    register_agent_modules(),
    Port = open_port({fd, InFd, OutFd}, [binary, {packet, 4}, eof]),
    send(Port, {hello, node_info()}),
    loop(#loop{port = Port}).

loop(#loop{port = Port} = St) ->
    receive
        {Port, {data, Data}} ->
            loop(handle_frame(binary_to_term(Data), St));
        {Port, eof} ->
            erlang:halt(0);
        {'DOWN', Mon, process, _, Reason} ->
            case maps:take(Mon, St#loop.running) of
                {{Id, _Pid, Slot}, Rest} ->
                    Reason =:= normal orelse
                        send(Port, {failed, Id, crash,
                                    fmt("the request process exited: ~tp", [Reason])}),
                    loop(free_slot(Slot, St#loop{running = Rest}));
                error ->
                    loop(St)
            end;
        _Other ->
            loop(St)
    end.

handle_frame({call, Id, Kind, Args}, St) ->
    start_call(Id, Kind, Args, unlimited, St);
handle_frame({call, Id, Kind, Args, Limit}, St) when is_integer(Limit), Limit >= 1 ->
    Queue = maps:get(Kind, St#loop.waiting, queue:new()),
    take_slots(Kind, St#loop{waiting = (St#loop.waiting)#{Kind => queue:in({Id, Args, Limit}, Queue)}});
handle_frame({cancel, Id}, St) ->
    [exit(Pid, kill) || {RunId, Pid, _} <- maps:values(St#loop.running), RunId =:= Id],
    Waiting = maps:map(fun(_Kind, Queue) ->
                               queue:filter(fun({WaitId, _, _}) -> WaitId =/= Id end, Queue)
                       end, St#loop.waiting),
    St#loop{waiting = Waiting};
handle_frame(_Unknown, St) ->
    St.

start_call(Id, Kind, Args, Slot, #loop{port = Port} = St) ->
    {Pid, Mon} = spawn_monitor(fun() -> send(Port, run(Id, Kind, Args)) end),
    St#loop{running = (St#loop.running)#{Mon => {Id, Pid, Slot}}}.

%% Start the waiting calls of Kind while the first one's limit allows.
take_slots(Kind, #loop{port = Port} = St) ->
    Active = maps:get(Kind, St#loop.active, 0),
    Queue = maps:get(Kind, St#loop.waiting, queue:new()),
    case queue:out(Queue) of
        {{value, {Id, Args, Limit}}, Rest} when Active < Limit ->
            send(Port, {started, Id}),
            St1 = St#loop{waiting = (St#loop.waiting)#{Kind => Rest},
                          active = (St#loop.active)#{Kind => Active + 1}},
            take_slots(Kind, start_call(Id, Kind, Args, Kind, St1));
        _ ->
            St
    end.

free_slot(unlimited, St) ->
    St;
free_slot(Kind, St) ->
    Active = maps:get(Kind, St#loop.active),
    take_slots(Kind, St#loop{active = (St#loop.active)#{Kind => Active - 1}}).

run(Id, Kind, Args) ->
    case maps:find(Kind, persistent_term:get(?HANDLERS)) of
        {ok, Handler} ->
            try Handler(Args) of
                Value -> {reply, Id, Value}
            catch Class:Reason:Stack ->
                    {failed, Id, crash, fmt("~ts", [erl_error:format_exception(Class, Reason, Stack)])}
            end;
        error ->
            {failed, Id, unknown_request, fmt("the agent has no handler for ~tp", [Kind])}
    end.

send(Port, Term) ->
    erlang:port_command(Port, term_to_binary(Term)).

serial_loop() ->
    receive
        {run, From, Ref, Fun} ->
            Result = try {ok, Fun()} catch C:R:S -> {raise, C, R, S} end,
            From ! {Ref, Result},
            serial_loop()
    end.

%% --- handler registry ----------------------------------------------------

register_agent_modules() ->
    persistent_term:put(?HANDLERS, #{}),
    Ebin = filename:dirname(code:which(?MODULE)),
    Mods = [list_to_atom(filename:basename(F, ".beam"))
            || F <- filelib:wildcard("*.beam", Ebin)],
    [add_handlers(M) || M <- lists:sort(Mods)],
    ok.

add_handlers(Module) ->
    {module, Module} = code:ensure_loaded(Module),
    case erlang:function_exported(Module, holo_handlers, 0) of
        true ->
            New = Module:holo_handlers(),
            persistent_term:put(?HANDLERS, maps:merge(persistent_term:get(?HANDLERS), New)),
            {ok, lists:sort(maps:keys(New))};
        false ->
            {error, fmt("~ts does not export holo_handlers/0", [Module])}
    end.

%% --- built-in requests ---------------------------------------------------

ping(_Args) -> {pong, node_info()}.

register_handlers(#{module := Module}) ->
    case code:ensure_loaded(Module) of
        {module, Module} -> serialized(fun() -> add_handlers(Module) end);
        {error, What} -> {error, fmt("cannot load ~ts: ~tp", [Module, What])}
    end.

node_info() ->
    Release = erlang:system_info(otp_release),
    VersionFile = filename:join([code:root_dir(), "releases", Release, "OTP_VERSION"]),
    Version = case file:read_file(VersionFile) of
                  {ok, Bin} -> string:trim(Bin);
                  {error, _} -> list_to_binary(Release)
              end,
    #{otp_release => list_to_binary(Release),
      otp_version => Version,
      erts_version => list_to_binary(erlang:system_info(version)),
      os_pid => list_to_integer(os:getpid()),
      schedulers => erlang:system_info(schedulers_online)}.
