%% holo's agent: the BEAM side of holo.beam.node.BeamNode.
%%
%% Python starts `erl -noshell -noinput -run holo_agent main InFd OutFd TmpDir`
%% with two pipes on InFd/OutFd. Frames on them are 4-byte length-prefixed
%% external terms (the port's {packet,4}). They are not fds 0 and 1: user code
%% writes to fd 1 with io:format and, bypassing the I/O system, with
%% erlang:display/1; stdout and stderr go to a log file, so neither can
%% corrupt the frame stream.
%%
%% Python -> agent:  {call, Id, Kind, Args} | {cancel, Id}
%% agent -> Python:  {hello, Info} (once, first)
%%                   {reply, Id, Value}
%%                   {failed, Id, Why, Message}   Why: unknown_request | crash
%%
%% Each call runs in its own process, so calls run in parallel on all
%% schedulers and a call that crashes fails only itself. A call's handler is
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
    loop(Port, #{}).

loop(Port, Running) ->
    receive
        {Port, {data, Data}} ->
            loop(Port, handle_frame(Port, binary_to_term(Data), Running));
        {Port, eof} ->
            erlang:halt(0);
        {'DOWN', Mon, process, _, Reason} ->
            case maps:take(Mon, Running) of
                {{Id, _Pid}, Rest} when Reason =/= normal ->
                    send(Port, {failed, Id, crash,
                                fmt("the request process exited: ~tp", [Reason])}),
                    loop(Port, Rest);
                {_, Rest} ->
                    loop(Port, Rest);
                error ->
                    loop(Port, Running)
            end;
        _Other ->
            loop(Port, Running)
    end.

handle_frame(Port, {call, Id, Kind, Args}, Running) ->
    {Pid, Mon} = spawn_monitor(fun() -> send(Port, run(Id, Kind, Args)) end),
    Running#{Mon => {Id, Pid}};
handle_frame(_Port, {cancel, Id}, Running) ->
    [exit(Pid, kill) || {RunId, Pid} <- maps:values(Running), RunId =:= Id],
    Running;
handle_frame(_Port, _Unknown, Running) ->
    Running.

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
