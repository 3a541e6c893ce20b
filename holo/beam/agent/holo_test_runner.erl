%% Running one EUnit test in the runtime node and recording what it executed.
%%
%% holo.testing sends one request per test, one at a time (the call counters
%% are global to the node):
%%
%%   test_code_marks #{modules => [M]} -> ok, and test_code_drift #{} ->
%%   unknown | [M]: whether the code loaded for tests is still what the node runs.
%%
%%   test_setup #{trace => [Module], cwd => Dir, code_paths => [Dir]} -> ok
%%   run_test #{module => M, function => F, kind => test | generator,
%%              timeout => Ms, marker => File}
%%   -> #{status => passed | failed | error | timeout | replayed | needs_setup,
%%        time_us => integer(), executed => [{M, F, Arity}],
%%        reloaded => [M], restored => [binary()],
%%        leaked => integer(), output => binary(),
%%        failure => Failure | undefined, cases => [Case]}
%%
%% Failure: #{class, kind (the assertion, or undefined), message, details,
%%            assert_module, assert_line, frames => [{M, F, Arity, Line}]}
%% Case (a generator's cases): #{desc, line, status, failure}
%%
%% What a test executed comes from call_count tracing on the project's
%% modules: a counter per function, bumped in every process, so gen_server
%% callbacks and processes the test spawned count too, read before and after
%% each test. A new VM forgets the setup: run_test answers needs_setup.
%%
%% Code replaced during a test (meck, cover, code:load_binary) has no
%% counters: its calls, and those of the code it replaced, are lost. So a
%% traced module whose counting is off after the test (its code was
%% replaced or deleted), that was loaded during it, or after which a new
%% module is named (meck's `m_meck_original`) is reported in `reloaded`;
%% holo.testing counts all of such a module as executed and loads the
%% build's code back before the next test.
%%
%% A plain `*_test/0` runs in a process of its own; a `*_test_/0` generator
%% runs under EUnit (an anonymous eunit server, this module as its report
%% listener) so fixtures and setup behave as under `rebar3 eunit`. Either way
%% the test's processes get a fresh group leader that captures their output;
%% after the test, applications it started are stopped and every process
%% still alive under that group leader (directly or through EUnit's) is killed
%% and counted as leaked, so one test's leftovers do not change the next
%% one's outcome.
%%
%% Isolation: a test leaves the node as it found it, so that running it
%% alone or after any other test gives the same outcome. After each test
%% (its processes killed, the applications it started stopped):
%%
%% * applications it loaded are unloaded, and the environment of every
%%   application (loaded or not: set_env works on both) is put back: keys it
%%   added are unset, keys it changed or unset get their old values;
%% * persistent_term keys it added are erased, keys it changed or erased
%%   get their old values, except keys OTP's own code owns (an atom, or a
%%   tuple whose first element is an atom, naming a loaded OTP or holo
%%   module, as logger's and erl_features' are; and references): their
%%   owners keep state that must agree with them;
%% * OS environment variables it set, changed or unset are put back;
%% * the code path is put back, and modules it loaded from binaries (not
%%   from a file: meck's and other generated modules) are deleted.
%%
%% What was put back is listed in `restored`, one line each.
%%
%% A test that halts or kills the node: BeamNode restarts the VM and sends the
%% request again. The marker file, created before the test and deleted after
%% it, tells the second delivery that the first one died: it replies
%% `replayed` instead of running the test twice.
-module(holo_test_runner).

-behaviour(eunit_listener).

-export([holo_handlers/0]).
%% eunit_listener callbacks
-export([start/1, init/1, handle_begin/3, handle_end/3, handle_cancel/3, terminate/2]).

-define(SETUP, {?MODULE, setup}).
-define(OUTPUT_LIMIT, 16384).
-define(DEPTH, 40).
-define(ASSERTIONS, [assert, assertEqual, assertNotEqual, assertMatch, assertNotMatch,
                     assertException, assertNotException, assertCmd, assertCmdOutput,
                     assertion_failed, command_failed]).

holo_handlers() ->
    #{test_setup => fun setup/1,
      run_test => fun run_test/1,
      test_code_marks => fun code_marks/1,
      test_code_drift => fun code_drift/1}.

%% The code holo.testing loaded, by the MD5 the node reports for each module,
%% so a later run can tell whether someone else (a watcher hot-loading the
%% default profile) replaced it since.
code_marks(#{modules := Modules}) ->
    persistent_term:put({?MODULE, marks},
                        maps:from_list([{M, erlang:get_module_info(M, md5)}
                                        || M <- Modules, erlang:module_loaded(M)])),
    ok.

%% unknown (a new VM), or the marked modules now running other code.
code_drift(_Args) ->
    case persistent_term:get({?MODULE, marks}, undefined) of
        undefined -> unknown;
        Marks -> [M || {M, Md5} <- maps:to_list(Marks),
                       not erlang:module_loaded(M)
                           orelse erlang:get_module_info(M, md5) =/= Md5]
    end.

%% What every test of a run shares; kept until the next setup (gone with the VM).
setup(#{trace := Trace, cwd := Cwd, code_paths := Paths}) ->
    Known = code:get_path(),
    [code:add_patha(binary_to_list(P)) || P <- lists:reverse(Paths),
                                          not lists:member(binary_to_list(P), Known)],
    persistent_term:put(?SETUP, #{trace => Trace, cwd => Cwd}),
    ok.

run_test(#{marker := Marker} = Args) ->
    case file:write_file(Marker, <<>>, [exclusive]) of
        {error, eexist} ->
            _ = file:delete(Marker),
            #{status => replayed};
        _ ->
            try
                case persistent_term:get(?SETUP, undefined) of
                    undefined -> #{status => needs_setup};
                    Setup -> run(Args, Setup)
                end
            after
                _ = file:delete(Marker)
            end
    end.

run(#{module := M, function := F, kind := Kind, timeout := Timeout},
    #{trace := Trace, cwd := Cwd}) ->
    _ = file:set_cwd(Cwd),
    Apps = running_apps(),
    State = node_state(),
    LoadedBefore = loaded_modules(),
    {Baseline, Counting} = counts(Trace),
    Started = erlang:monotonic_time(microsecond),
    Capture = start_capture(),
    Outcome = case Kind of
                  test -> run_plain(M, F, Timeout, Capture);
                  generator -> run_generator(M, F, Timeout, Capture)
              end,
    Time = erlang:monotonic_time(microsecond) - Started,
    New = loaded_modules() -- LoadedBefore,
    %% Before counting again, which turns counting back on.
    Reloaded = reloaded(Trace, Counting, New),
    Executed = executed(Trace, Baseline),
    Leaked = clean_up(Capture, Apps),
    Restored = restore(State, New -- Trace),
    Output = stop_capture(Capture),
    maps:merge(#{failure => undefined, cases => []},
               Outcome#{time_us => Time, executed => Executed, leaked => Leaked,
                        reloaded => Reloaded, restored => Restored, output => Output}).

%% --- call counting -------------------------------------------------------

%% The counters never restart (that costs a code barrier per module): a test's
%% calls are the difference between the counts after it and before it. A
%% module whose code is new has no counters yet: they start here, at zero.
%% Also returns the modules counted (those loaded).
counts(Modules) ->
    lists:foldl(fun count_module/2, {#{}, []}, Modules).

count_module(M, {Acc, Counted}) ->
    case erlang:module_loaded(M) of
        false ->
            {Acc, Counted};
        true ->
            Functions = erlang:get_module_info(M, functions),
            ensure_counting(M, Functions),
            Counts = lists:foldl(fun({F, A}, In) ->
                                         case erlang:trace_info({M, F, A}, call_count) of
                                             {call_count, N} when is_integer(N), N > 0 ->
                                                 In#{{M, F, A} => N};
                                             _ ->
                                                 In
                                         end
                                 end, Acc, Functions),
            {Counts, [M | Counted]}
    end.

counting(M) ->
    erlang:module_loaded(M) andalso
        case erlang:get_module_info(M, functions) of
            [{F, A} | _] ->
                case erlang:trace_info({M, F, A}, call_count) of
                    {call_count, N} -> is_integer(N);
                    _ -> false
                end;
            [] ->
                true
        end.

%% Traced modules whose calls were not all counted: counted before the test
%% and not now (new code, or deleted), loaded during it, or named in a module
%% it loaded (`m_meck_original` holds m's code, uncounted).
reloaded(Trace, Counted, New) ->
    Replaced = [M || M <- Counted, not counting(M)],
    Appeared = [M || M <- New, lists:member(M, Trace)],
    NewNames = [atom_to_list(N) || N <- New, not lists:member(N, Trace)],
    Named = [M || M <- Trace,
                  lists:any(fun(Name) -> lists:prefix(atom_to_list(M) ++ "_", Name) end,
                            NewNames)],
    lists:usort(Replaced ++ Appeared ++ Named).

ensure_counting(M, [{F, A} | _]) ->
    case erlang:trace_info({M, F, A}, call_count) of
        {call_count, Count} when is_integer(Count) -> ok;
        _ -> erlang:trace_pattern({M, '_', '_'}, true, [call_count])
    end;
ensure_counting(_M, []) ->
    ok.

executed(Modules, Baseline) ->
    {After, _} = counts(Modules),
    [MFA || {MFA, N} <- maps:to_list(After), N > maps:get(MFA, Baseline, 0)].

%% --- plain tests ---------------------------------------------------------

run_plain(M, F, Timeout, Capture) ->
    Parent = self(),
    Ref = make_ref(),
    {Pid, Mon} = spawn_monitor(
                   fun() ->
                           group_leader(Capture, self()),
                           Result = try M:F() of
                                        _ -> passed
                                    catch Class:Reason:Stack -> {Class, Reason, Stack}
                                    end,
                           Parent ! {Ref, Result}
                   end),
    Outcome = receive
                  {Ref, passed} ->
                      #{status => passed};
                  {Ref, {Class, Reason, Stack}} ->
                      failure_outcome(Class, Reason, Stack);
                  {'DOWN', Mon, process, Pid, Why} ->
                      exited(Why)
              after Timeout ->
                      exit(Pid, kill),
                      #{status => timeout}
              end,
    demonitor(Mon, [flush]),
    Outcome.

exited(Why) ->
    Message = holo_agent:fmt("the test process exited: ~tP", [Why, ?DEPTH]),
    #{status => error,
      failure => #{class => exit, kind => undefined, message => Message, details => Message,
                   assert_module => undefined, assert_line => undefined, frames => []}}.

failure_outcome(Class, Reason, Stack) ->
    Failure = failure(Class, Reason, Stack),
    Status = case maps:get(kind, Failure) of
                 undefined -> error;
                 _ -> failed
             end,
    #{status => Status, failure => Failure}.

%% --- generators, under EUnit ---------------------------------------------

run_generator(M, F, Timeout, Capture) ->
    Parent = self(),
    Ref = make_ref(),
    {Pid, Mon} = spawn_monitor(
                   fun() ->
                           group_leader(Capture, self()),
                           %% Anonymous: its processes are this test's, and go with it.
                           Server = eunit_server:start(undefined),
                           Listener = {?MODULE, #{collector => Parent, ref => Ref}},
                           Result = eunit:test(Server, {generator, M, F},
                                               [no_tty, {report, Listener}]),
                           _ = eunit_server:stop(Server),
                           Parent ! {Ref, done, Result}
                   end),
    Deadline = erlang:monotonic_time(millisecond) + Timeout,
    Outcome = wait_generator(Ref, Pid, Mon, Deadline, undefined),
    demonitor(Mon, [flush]),
    Outcome.

wait_generator(Ref, Pid, Mon, Deadline, Cases) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {Ref, cases, Collected} ->
            wait_generator(Ref, Pid, Mon, Deadline, Collected);
        {Ref, done, _Result} ->
            generator_outcome(collected(Ref, Cases));
        {'DOWN', Mon, process, Pid, Why} ->
            (exited(Why))#{cases => collected(Ref, Cases)}
    after Left ->
            exit(Pid, kill),
            #{status => timeout, cases => collected(Ref, Cases)}
    end.

collected(_Ref, Cases) when is_list(Cases) -> Cases;
collected(Ref, undefined) ->
    receive {Ref, cases, Cases} -> Cases after 100 -> [] end.

generator_outcome(Cases) ->
    Statuses = [S || #{status := S} <- Cases],
    Status = case {lists:member(error, Statuses) orelse lists:member(cancelled, Statuses),
                   lists:member(failed, Statuses)} of
                 {_, true} -> failed;
                 {true, false} -> error;
                 {false, false} -> passed
             end,
    Failure = case [C || #{status := S} = C <- Cases, S =/= passed] of
                  [#{failure := First} | _] when Status =/= passed -> First;
                  _ -> undefined
              end,
    #{status => Status, failure => Failure, cases => Cases}.

%% The eunit_listener: collects each case's outcome and hands them over at the end.

start(Options) ->
    eunit_listener:start(?MODULE, [{holo, Options}]).

init(Options) ->
    #{collector := Collector, ref := Ref} = proplists:get_value(holo, Options),
    #{collector => Collector, ref => Ref, cases => []}.

handle_begin(_Kind, _Data, St) ->
    St.

handle_end(test, Data, St) ->
    Case = case proplists:get_value(status, Data) of
               ok ->
                   case_result(Data, passed, undefined);
               {error, {Class, Reason, Stack}} ->
                   #{status := S, failure := Failure} = failure_outcome(Class, Reason, Stack),
                   case_result(Data, S, Failure);
               {skipped, Why} ->
                   case_result(Data, cancelled, cancel_failure(Why, Data));
               Other ->
                   case_result(Data, error, cancel_failure(Other, Data))
           end,
    add_case(Case, St);
handle_end(group, _Data, St) ->
    St.

handle_cancel(_Kind, Data, St) ->
    case proplists:get_value(reason, Data) of
        undefined -> St;  % skipped because something before it failed: reported there
        {blame, _} -> St;
        Reason -> add_case(case_result(Data, cancelled, cancel_failure(Reason, Data)), St)
    end.

terminate(_Result, #{collector := Collector, ref := Ref, cases := Cases}) ->
    Collector ! {Ref, cases, lists:reverse(Cases)},
    ok.

add_case(Case, #{cases := Cases} = St) ->
    St#{cases => [Case | Cases]}.

case_result(Data, Status, Failure) ->
    #{desc => describe_case(Data), line => case_line(Data), status => Status,
      failure => Failure}.

case_line(Data) ->
    case proplists:get_value(line, Data, 0) of
        L when is_integer(L), L > 0 -> L;
        _ -> undefined
    end.

describe_case(Data) ->
    Source = case proplists:get_value(source, Data) of
                 {M, F, A} -> holo_agent:fmt("~ts:~ts", [M, source_function(F, A)]);
                 _ -> <<>>
             end,
    case proplists:get_value(desc, Data) of
        Desc when is_binary(Desc), Desc =/= <<>> -> Desc;
        Desc when is_list(Desc), Desc =/= [] -> holo_agent:text(Desc);
        _ -> Source
    end.

%% '-f/1-fun-0-' was written in f/1.
source_function(F, A) ->
    Generated = "^-(?:inlined-)?(.+?)/(\\d+)-",
    case re:run(atom_to_list(F), Generated, [unicode, {capture, all_but_first, list}]) of
        {match, [Name, Arity]} -> holo_agent:fmt("~ts/~ts", [Name, Arity]);
        nomatch -> holo_agent:fmt("~ts/~b", [F, A])
    end.

cancel_failure(Reason, Data) ->
    Text = case Reason of
               timeout -> <<"timed out (eunit's own timeout for this case)">>;
               {timeout, _} -> <<"timed out (eunit's own timeout for this case)">>;
               _ -> holo_agent:text(eunit_lib:format_error(cancel_reason(Reason), ?DEPTH))
           end,
    Details = string:trim(Text),
    #{class => cancel, kind => undefined, message => cancel_summary(Details), details => Details,
      assert_module => undefined,
      assert_line => case_line(Data),
      frames => []}.

%% "*** context setup failed ***" ... "**error:nope" -> "context setup failed: error:nope"
cancel_summary(Details) ->
    Lines = [string:trim(L, both, "* ") || L <- string:split(Details, "\n", all)],
    case [L || L <- Lines, L =/= <<>>, L =/= ""] of
        [Only] -> holo_agent:text(Only);
        [First | Rest] ->
            Last = lists:last(Rest),
            case string:prefix(Last, "in ") of
                nomatch -> holo_agent:fmt("~ts: ~ts", [First, Last]);
                _ -> holo_agent:text(First)
            end;
        [] -> <<"cancelled">>
    end.

cancel_reason({abort, Reason}) -> Reason;
cancel_reason({exit, Reason}) -> {exit, Reason};
cancel_reason({startup, Reason}) -> {startup, Reason};
cancel_reason(Other) -> Other.

%% --- describing failures -------------------------------------------------

failure(Class, Reason, Stack0) ->
    %% The frames of the runner and of EUnit say nothing about the test.
    Stack = lists:takewhile(fun({M, _, _, _}) -> not is_harness(M) end, Stack0),
    describe(Class, Reason, Stack).

is_harness(Module) ->
    Module =:= ?MODULE orelse lists:prefix("eunit_", atom_to_list(Module)).

describe(error, {Kind, Info} = Reason, Stack) when is_atom(Kind), is_list(Info) ->
    case lists:member(Kind, ?ASSERTIONS) andalso lists:keymember(line, 1, Info) of
        true -> assertion(Kind, Info, Stack);
        false -> exception(error, Reason, Stack)
    end;
describe(Class, Reason, Stack) ->
    exception(Class, Reason, Stack).

assertion(Kind, Info, Stack) ->
    Get = fun(Key) -> proplists:get_value(Key, Info) end,
    Expression = case Get(expression) of
                     undefined -> <<>>;
                     E -> holo_agent:text(E)
                 end,
    Parts = [{"expected", Get(expected)}, {"pattern", Get(pattern)}, {"got", Get(value)},
             {"unexpected success", Get(unexpected_success)},
             {"unexpected exception", Get(unexpected_exception)},
             {"expected status", Get(expected_status)}, {"status", Get(status)},
             {"expected output", Get(expected_output)}, {"output", Get(output)}],
    Shown = [{Label, V} || {Label, V} <- Parts, V =/= undefined]
        ++ [{"got", undefined} || Kind =:= assertNotEqual, Get(value) =:= undefined],
    Summary = case Kind of
                  assertEqual ->
                      holo_agent:fmt("~ts failed: expected ~ts, got ~ts",
                                     [Kind, short(Get(expected)), short(Get(value))]);
                  assertMatch ->
                      holo_agent:fmt("~ts failed: expected ~ts, got ~ts",
                                     [Kind, Get(pattern), short(Get(value))]);
                  _ when Expression =/= <<>> ->
                      holo_agent:fmt("~ts failed: ~ts", [Kind, Expression]);
                  _ ->
                      holo_agent:fmt("~ts failed", [Kind])
              end,
    Lines = [holo_agent:fmt("  expression: ~ts", [Expression]) || Expression =/= <<>>]
        ++ [holo_agent:fmt("  ~ts: ~ts", [Label, value_text(Label, V)]) || {Label, V} <- Shown],
    #{class => error, kind => Kind, message => Summary,
      details => iolist_to_binary(lists:join(<<"\n">>, [Summary | Lines] ++ [stack_text(Stack)])),
      assert_module => Get(module), assert_line => Get(line), frames => frames(Stack)}.

value_text("pattern", P) when is_list(P) -> holo_agent:text(P);
value_text(_, V) -> holo_agent:fmt("~tP", [V, ?DEPTH]).

short(V) ->
    Text = re:replace(holo_agent:fmt("~tP", [V, 12]), "\\s*\n\\s*", " ",
                      [global, unicode, {return, binary}]),
    case string:length(Text) > 120 of
        true -> <<(string:slice(Text, 0, 117))/binary, "...">>;
        false -> Text
    end.

exception(Class, Reason, Stack) ->
    Formatted = erl_error:format_exception(Class, Reason, Stack),
    Details = string:trim(holo_agent:fmt("~ts", [Formatted])),
    #{class => Class, kind => undefined,
      message => holo_agent:fmt("~ts: ~ts~ts", [Class, short(Reason), where(Stack)]),
      details => Details, assert_module => undefined, assert_line => undefined,
      frames => frames(Stack)}.

frames(Stack) ->
    [{M, F, arity(A), proplists:get_value(line, Loc)} || {M, F, A, Loc} <- Stack, is_list(Loc)].

arity(A) when is_list(A) -> length(A);
arity(A) -> A.

stack_text([]) -> <<>>;
stack_text(Stack) ->
    iolist_to_binary(["  stacktrace:"
                      | [holo_agent:fmt("\n    ~ts:~ts~ts", [M, source_function(F, A), at(L)])
                         || {M, F, A, L} <- frames(Stack)]]).

where(Stack) ->
    case frames(Stack) of
        [{M, F, A, L} | _] -> holo_agent:fmt(" in ~ts:~ts/~b~ts", [M, F, A, at(L)]);
        [] -> <<>>
    end.

at(undefined) -> "";
at(Line) -> holo_agent:fmt(" (line ~b)", [Line]).

%% --- leftovers -------------------------------------------------------------

running_apps() ->
    [App || {App, _, _} <- application:which_applications()].

%% Stop what the test started, then kill its processes: those whose group
%% leader is the test's capture, directly or through EUnit's own group
%% leaders, or is gone (an EUnit group leader that finished before them).
clean_up(Capture, AppsBefore) ->
    NewApps = running_apps() -- AppsBefore,
    [application:stop(App) || App <- NewApps],
    Me = self(),
    Leaked = [P || P <- processes(), P =/= Me, P =/= Capture, under(P, Capture, 4)],
    [exit(P, kill) || P <- Leaked],
    length(Leaked).

under(_P, _Capture, 0) ->
    false;
under(P, Capture, Depth) ->
    case erlang:process_info(P, group_leader) of
        {group_leader, Capture} -> true;
        {group_leader, P} -> false;
        {group_leader, G} ->
            case is_process_alive(G) of
                true -> under(G, Capture, Depth - 1);
                false -> true
            end;
        undefined -> false
    end.

%% --- isolation -------------------------------------------------------------

loaded_modules() ->
    [M || {M, _} <- code:all_loaded()].

node_state() ->
    #{apps => loaded_apps(), env => app_env(), terms => user_terms(), os => os_env(),
      path => code:get_path()}.

loaded_apps() ->
    [App || {App, _, _} <- application:loaded_applications()].

%% Every application's environment, loaded or not, by {App, Key}.
app_env() ->
    try ets:select(ac_tab, [{{{env, '$1', '$2'}, '$3'}, [], [{{{{'$1', '$2'}}, '$3'}}]}]) of
        Env -> maps:from_list(Env)
    catch error:badarg ->
            maps:from_list([{{App, K}, V} || App <- loaded_apps(),
                                             {K, V} <- application:get_all_env(App)])
    end.

user_terms() ->
    maps:from_list([{K, V} || {K, V} <- persistent_term:get(), not otp_owned(K)]).

otp_owned(Key) when is_reference(Key) -> true;
otp_owned(Key) when is_atom(Key) -> otp_module(Key);
otp_owned(Key) when is_tuple(Key), tuple_size(Key) > 0, is_atom(element(1, Key)) ->
    otp_module(element(1, Key));
otp_owned(_) -> false.

otp_module(Name) ->
    lists:prefix("holo_", atom_to_list(Name)) orelse
        (erlang:module_loaded(Name) andalso
         case code:which(Name) of
             preloaded -> true;
             Path when is_list(Path) -> lists:prefix(code:root_dir(), Path);
             _ -> false
         end).

os_env() ->
    maps:from_list([{K, V} || KV <- os:getenv(), [K, V] <- [string:split(KV, "=")]]).

%% Put back what the test changed (see the module doc); a line per thing put back.
restore(Before, NewModules) ->
    #{apps := Apps, env := Env, terms := Terms, os := Os, path := Path} = Before,
    %% Unloading drops an application's environment: before it is put back.
    Unloaded = [App || App <- loaded_apps() -- Apps, application:unload(App) =:= ok],
    EnvKeys = restore_table(Env, app_env(),
                            fun({App, K}, V) -> application:set_env(App, K, V) end,
                            fun({App, K}) -> application:unset_env(App, K) end),
    TermKeys = restore_table(Terms, user_terms(), fun persistent_term:put/2,
                             fun persistent_term:erase/1),
    OsKeys = restore_table(Os, os_env(), fun os:putenv/2, fun os:unsetenv/1),
    PathChanged = code:get_path() =/= Path andalso code:set_path(Path) =:= true,
    Deleted = [M || M <- NewModules, from_binary(M), delete_code(M)],
    [holo_agent:fmt("application ~ts, which it loaded: unloaded", [A]) || A <- Unloaded]
        ++ [holo_agent:fmt("application env ~ts ~tP", [A, K, 8]) || {A, K} <- EnvKeys]
        ++ [holo_agent:fmt("persistent_term ~tP", [K, 8]) || K <- TermKeys]
        ++ [holo_agent:fmt("OS environment variable ~ts", [K]) || K <- OsKeys]
        ++ [<<"the code path">> || PathChanged]
        ++ [holo_agent:fmt("module ~ts, which it loaded from a binary: deleted", [M])
            || M <- Deleted].

%% Make a table that now holds After hold Before again; the keys that differed.
restore_table(Same, Same, _Put, _Remove) ->
    [];
restore_table(Before, After, Put, Remove) ->
    Added = [K || K <- maps:keys(After), not maps:is_key(K, Before)],
    Changed = [K || {K, V} <- maps:to_list(Before),
                    case maps:find(K, After) of
                        {ok, Now} -> Now =/= V;
                        error -> true
                    end],
    [Remove(K) || K <- Added],
    [Put(K, maps:get(K, Before)) || K <- Changed],
    lists:sort(Added ++ Changed).

from_binary(M) ->
    case code:which(M) of
        cover_compiled -> true;
        Path when is_list(Path) -> not filelib:is_regular(Path);
        _ -> false
    end.

delete_code(M) ->
    _ = code:purge(M),
    Deleted = code:delete(M),
    _ = code:purge(M),
    Deleted.

%% --- output capture ------------------------------------------------------

start_capture() ->
    spawn(fun() -> capture([], 0) end).

stop_capture(Capture) ->
    Ref = monitor(process, Capture),
    Capture ! {holo_output, self(), Ref},
    receive
        {Ref, Output} -> demonitor(Ref, [flush]), Output;
        {'DOWN', Ref, process, _, _} -> <<>>
    after 5000 -> exit(Capture, kill), <<>>
    end.

capture(Acc, Size) ->
    receive
        {io_request, From, ReplyAs, Request} ->
            {Reply, Acc1, Size1} = io_request(Request, Acc, Size),
            From ! {io_reply, ReplyAs, Reply},
            capture(Acc1, Size1);
        {holo_output, From, Ref} ->
            From ! {Ref, iolist_to_binary(lists:reverse(Acc))}
    end.

io_request({put_chars, Encoding, Chars}, Acc, Size) ->
    put_chars(Encoding, fun() -> Chars end, Acc, Size);
io_request({put_chars, Encoding, M, F, A}, Acc, Size) ->
    put_chars(Encoding, fun() -> apply(M, F, A) end, Acc, Size);
io_request({put_chars, Chars}, Acc, Size) ->
    io_request({put_chars, latin1, Chars}, Acc, Size);
io_request({put_chars, M, F, A}, Acc, Size) ->
    io_request({put_chars, latin1, M, F, A}, Acc, Size);
io_request({requests, Requests}, Acc, Size) ->
    lists:foldl(fun(R, {_, A, S}) -> io_request(R, A, S) end, {ok, Acc, Size}, Requests);
io_request({setopts, _}, Acc, Size) ->
    {ok, Acc, Size};
io_request(getopts, Acc, Size) ->
    {[{binary, false}, {encoding, unicode}], Acc, Size};
io_request({get_geometry, _}, Acc, Size) ->
    {{error, enotsup}, Acc, Size};
io_request(_Input, Acc, Size) ->
    {eof, Acc, Size}.

put_chars(Encoding, Chars, Acc, Size) ->
    try unicode:characters_to_binary(Chars(), Encoding) of
        Bin when is_binary(Bin), Size >= ?OUTPUT_LIMIT ->
            {ok, Acc, Size + byte_size(Bin)};
        Bin when is_binary(Bin) ->
            Kept = binary:part(Bin, 0, min(byte_size(Bin), ?OUTPUT_LIMIT - Size)),
            {ok, [Kept | Acc], Size + byte_size(Bin)};
        _ ->
            {{error, invalid_unicode}, Acc, Size}
    catch _:_ ->
            {{error, badarg}, Acc, Size}
    end.
