%% Hot code loading: into the agent's own node (load, unload) and into the
%% user's running nodes (remote_load), with the same rules everywhere:
%%
%% * all modules of one request are loaded together (code:atomic_load), so a
%%   node never runs half of a build;
%% * before new code replaces a module, its old code must be unused
%%   (code:soft_purge). A module whose old code some process still runs is
%%   left alone and reported with those processes, unless force is given,
%%   which purges it (killing them);
%% * sticky modules (kernel, stdlib, compiler) and the agent's own modules are
%%   refused.
%%
%% Requests:
%%   load        #{modules => [{Module, Beam}], force => bool()}
%%               -> [{Module, Status}]
%%   unload      #{modules => [Module], force => bool()} -> [{Module, Status}]
%%               (blocked only by old code from an earlier load; processes in
%%               the current code keep it until they leave it, unless forced)
%%   remote_load #{nodes => [Node], cookie => atom(), modules => [{Module, Beam}],
%%                 force => bool()}
%%               -> [{Node, {ok, [{Module, Status}]} | {error, Message}}]
%% Status: loaded | unchanged (it already ran this code) | unloaded | not_loaded
%%       | {refused, Message} | {failed, Message}
%%       | {blocked, [{PidText, RegisteredName | undefined, {M, F, A} | undefined}]}
%%
%% Distribution starts only for remote_load: a hidden node with a random name
%% that does not listen for connections, in the name domain of its target
%% (longnames when the target's host has a dot). Cookies are set per node;
%% the agent runs with -nocookie, so ~/.erlang.cookie is never read or written.
-module(holo_agent_code).

-export([holo_handlers/0, refusal/1]).

-import(holo_agent, [fmt/2]).

-define(RPC_TIMEOUT, 60000).

holo_handlers() ->
    #{load => fun load/1,
      unload => fun unload/1,
      remote_load => fun remote_load/1}.

%% Why the agent will not replace Module in its own node, or none.
refusal(Module) ->
    case lists:prefix("holo_agent", atom_to_list(Module)) of
        true -> fmt("~ts is part of holo's agent", [Module]);
        false -> refusal(local, Module)
    end.

refusal(Target, Module) ->
    case rcall(Target, code, is_sticky, [Module]) of
        true -> fmt("~ts is a sticky OTP module; holo does not replace it", [Module]);
        false -> none
    end.

%% --- requests ------------------------------------------------------------

load(#{modules := Modules, force := Force}) ->
    holo_agent:serialized(fun() -> load_on(local, Modules, Force) end).

unload(#{modules := Modules, force := Force}) ->
    holo_agent:serialized(fun() -> [{M, unload_on(local, M, Force)} || M <- Modules] end).

remote_load(#{nodes := Nodes, cookie := Cookie, modules := Modules, force := Force}) ->
    Self = self(),
    Refs = [begin
                Ref = make_ref(),
                spawn_link(fun() -> Self ! {Ref, remote_load_0(Node, Cookie, Modules, Force)} end),
                {Node, Ref}
            end || Node <- Nodes],
    [receive {Ref, Result} -> {Node, Result} end || {Node, Ref} <- Refs].

%% Whatever goes wrong with one node is that node's error, never the others'.
remote_load_0(Node, Cookie, Modules, Force) ->
    try remote_load_1(Node, Cookie, Modules, Force)
    catch error:{erpc, Reason} ->
            {error, fmt("lost the connection to ~ts: ~tp", [Node, Reason])};
          Class:Reason ->
            {error, fmt("loading into ~ts failed: ~tp:~tp", [Node, Class, Reason])}
    end.

remote_load_1(Node, Cookie, Modules, Force) ->
    case holo_agent:serialized(fun() -> ensure_distribution(Node) end) of
        ok ->
            use_cookie(Node, Cookie),
            case net_kernel:hidden_connect_node(Node) of
                true ->
                    {ok, load_on(Node, Modules, Force)};
                _ ->
                    {error, connect_failure(Node)}
            end;
        {error, _} = Error ->
            Error
    end.

%% --- the rules, on any node ----------------------------------------------

rcall(local, M, F, A) -> apply(M, F, A);
rcall(Node, M, F, A) -> erpc:call(Node, M, F, A, ?RPC_TIMEOUT).

load_on(Target, Modules, Force) ->
    Checked = [{M, B, case running(Target, M, B) of
                          true -> unchanged;
                          false -> ready_for(Target, M, Force)
                      end} || {M, B} <- Modules],
    Loaded = atomic_load(Target, [{M, B} || {M, B, ok} <- Checked]),
    [{M, case Check of ok -> proplists:get_value(M, Loaded); _ -> Check end}
     || {M, _, Check} <- Checked].

%% Whether the target already runs exactly this code: then there is nothing to load.
%% The module's md5 covers its code but not its attributes, and a new -vsn or a
%% changed custom attribute changes what module_info(attributes) tells a
%% program: both must be equal.
running(local, Module, Beam) ->
    %% A module this node has not loaded runs no code: spare the BEAM's decoding
    %% (a first build loads every module).
    erlang:module_loaded(Module) andalso running_code(local, Module, Beam);
running(Target, Module, Beam) ->
    running_code(Target, Module, Beam).

running_code(Target, Module, Beam) ->
    case {beam_lib:md5(Beam), beam_lib:chunks(Beam, [attributes])} of
        {{ok, {Module, Md5}}, {ok, {Module, [{attributes, Attributes}]}}} ->
            case catch rcall(Target, erlang, get_module_info, [Module, md5]) of
                Md5 ->
                    case catch rcall(Target, erlang, get_module_info, [Module, attributes]) of
                        Running when is_list(Running) ->
                            same_attributes(Running, Attributes);
                        _ -> false
                    end;
                _ ->
                    false
            end;
        _ ->
            false
    end.

%% beam_lib merges the values of attributes of one name and sorts them by name;
%% module_info lists each attribute as the source wrote it.
same_attributes(A, B) -> merged(A) =:= merged(B).

merged(Attributes) ->
    Grouped = lists:foldl(fun({Name, Values}, Acc) when is_list(Values) ->
                                  maps:update_with(Name, fun(Vs) -> Vs ++ Values end, Values, Acc);
                             ({Name, Value}, Acc) ->
                                  maps:update_with(Name, fun(Vs) -> Vs ++ [Value] end, [Value], Acc)
                          end, #{}, Attributes),
    lists:sort([{Name, lists:sort(Vs)} || {Name, Vs} <- maps:to_list(Grouped)]).

ready_for(Target, Module, Force) ->
    Refusal = case Target of
                  local -> refusal(Module);
                  _ -> refusal(Target, Module)
              end,
    case Refusal of
        none -> purge_old(Target, Module, Force);
        Why -> {refused, Why}
    end.

purge_old(Target, Module, Force) ->
    case rcall(Target, erlang, check_old_code, [Module])
        andalso not rcall(Target, code, soft_purge, [Module]) of
        false ->
            ok;
        true when Force ->
            rcall(Target, code, purge, [Module]),
            ok;
        true ->
            {blocked, old_code_users(Target, Module)}
    end.

old_code_users(local, Module) ->
    [describe(local, Pid) || Pid <- processes(), erlang:check_process_code(Pid, Module)];
old_code_users(Node, Module) ->
    %% One check per process, all in flight at once rather than one round trip each.
    Checks = [{Pid, erpc:send_request(Node, erlang, check_process_code, [Pid, Module])}
              || Pid <- rcall(Node, erlang, processes, [])],
    [describe(Node, Pid) || {Pid, Check} <- Checks,
                            erpc:receive_response(Check, ?RPC_TIMEOUT) =:= true].

describe(Target, Pid) ->
    Info = case rcall(Target, erlang, process_info, [Pid, [registered_name, current_function]]) of
               undefined -> [];
               I -> I
           end,
    Name = case proplists:get_value(registered_name, Info, []) of
               [] -> undefined;
               N -> N
           end,
    {list_to_binary(pid_to_list(Pid)), Name, proplists:get_value(current_function, Info)}.

atomic_load(_Target, []) ->
    [];
atomic_load(Target, Modules) ->
    Entries = [{M, atom_to_list(M) ++ ".beam", B} || {M, B} <- Modules],
    case rcall(Target, code, atomic_load, [Entries]) of
        ok ->
            [{M, loaded} || {M, _} <- Modules];
        {error, Errors} ->
            case [M || {M, on_load_not_allowed} <- Errors] of
                OnLoad when length(OnLoad) =:= length(Errors) ->
                    %% -on_load modules cannot load atomically: the others go
                    %% together, then these one by one.
                    Rest = [MB || {M, _} = MB <- Modules, not lists:member(M, OnLoad)],
                    atomic_load(Target, Rest)
                        ++ [{M, load_one(Target, M, B)} || {M, B} <- Modules, lists:member(M, OnLoad)];
                _ ->
                    [{M, {failed, case proplists:get_value(M, Errors) of
                                      undefined -> <<"not loaded: another module of the same "
                                                     "load failed, and they load together">>;
                                      What -> load_error(What)
                                  end}}
                     || {M, _} <- Modules]
            end
    end.

load_one(Target, Module, Beam) ->
    case rcall(Target, code, load_binary, [Module, atom_to_list(Module) ++ ".beam", Beam]) of
        {module, Module} -> loaded;
        {error, What} -> {failed, load_error(What)}
    end.

load_error(badfile) -> <<"not a BEAM file this node can load (compiled by another OTP?)">>;
load_error(not_purged) -> <<"its old code is still in use">>;
load_error(sticky_directory) -> <<"it is a sticky OTP module">>;
load_error(What) -> fmt("~tp", [What]).

unload_on(Target, Module, Force) ->
    case ready_for(Target, Module, Force) of
        ok ->
            case rcall(Target, erlang, module_loaded, [Module]) of
                false ->
                    not_loaded;
                true ->
                    %% Like code:delete: processes still in the module keep its
                    %% (now old) code until they leave it, unless forced.
                    rcall(Target, code, delete, [Module]),
                    case Force of
                        true -> rcall(Target, code, purge, [Module]);
                        false -> rcall(Target, code, soft_purge, [Module])
                    end,
                    unloaded
            end;
        Other ->
            Other
    end.

%% --- distribution --------------------------------------------------------

ensure_distribution(Target) ->
    Domain = name_domain(Target),
    case node() of
        nonode@nohost ->
            Name = list_to_atom("holo_" ++ integer_to_list(rand:uniform(1 bsl 40), 36)),
            Options = #{name_domain => Domain, hidden => true, dist_listen => false},
            case net_kernel:start(Name, Options) of
                {ok, _} -> ok;
                {error, Reason} ->
                    {error, fmt("could not start Erlang distribution (~ts): ~tp", [Domain, Reason])}
            end;
        _ ->
            case {net_kernel:longnames(), Domain} of
                {true, longnames} -> ok;
                {false, shortnames} -> ok;
                _ -> {error, fmt("~ts needs ~ts, but this agent already uses the other kind of "
                                 "node names", [Target, Domain])}
            end
    end.

%% A connection made with another cookie must not let a wrong one pass.
use_cookie(Node, Cookie) ->
    case erlang:get_cookie(Node) of
        Cookie -> ok;
        _ ->
            _ = erlang:disconnect_node(Node),
            erlang:set_cookie(Node, Cookie)
    end.

name_domain(Node) ->
    case string:split(atom_to_list(Node), "@") of
        [_, Host] -> case lists:member($., Host) of true -> longnames; false -> shortnames end;
        _ -> shortnames
    end.

connect_failure(Node) ->
    case string:split(atom_to_list(Node), "@") of
        [Name, Host] ->
            case erl_epmd:names(Host) of
                {ok, Names} ->
                    case lists:keymember(Name, 1, Names) of
                        true -> fmt("~ts is running but refused the connection: wrong cookie?", [Node]);
                        false -> fmt("no node named ~ts is running on ~ts", [Name, Host])
                    end;
                {error, _} ->
                    fmt("cannot reach ~ts: no epmd answers on ~ts", [Node, Host])
            end;
        _ ->
            fmt("~ts is not a node name (name@host)", [Node])
    end.
