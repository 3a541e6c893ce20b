%% Private copies of a compile job's project headers, shared by the jobs that
%% hand over exactly the same ones.
%%
%% epp reads the files it includes itself, so the headers of a job must be
%% files. Writing them into a fresh directory for each job and removing it
%% afterwards costs more file operations than the compile's own reads; most
%% modules of a project include the same headers with the same bytes, so one
%% copy serves them all. A mirror is named by a fresh integer, never by a
%% hash, and found by the complete set of {Path, Bytes} and the lib_dirs it
%% lays out (compared, not hashed): a job sees a mirror only if it holds
%% exactly the bytes the job brought.
%%
%% Layout of a mirror (see holo_agent_compile): root/ holds each header at
%% its project-relative path; _libs/App/ holds again the headers of each app
%% named in lib_dirs, relative to that app's directory.
%%
%% One registered process keeps the mirrors: which exist, which are being
%% written (by a process of their own, so a slow write holds back only the
%% jobs that wait for it) and which processes use each one (monitored, so a
%% compile that is killed stops using its mirror). Mirrors nobody uses are
%% kept for the next jobs, at most ?KEEP of them, the least recently used
%% removed first; all of them go with the agent's temporary directory.
-module(holo_agent_mirror).

-export([acquire/2, release/1]).

-define(SERVER, ?MODULE).
-define(KEEP, 32).

-record(mirror, {dir, state, users = 0, used = 0}).
%% state: ready | {writing, [{Pid, Ref}]}

%% The mirror of these headers, written if need be, and a handle for release/1.
-spec acquire([{string(), binary()}], [{string(), string()}]) ->
          {ok, file:filename(), reference()} | {error, term()}.
acquire(Headers, LibDirs) ->
    Server = server(),
    Mon = monitor(process, Server),
    Server ! {acquire, self(), Mon, {Headers, LibDirs}},
    receive
        {Mon, Reply} ->
            demonitor(Mon, [flush]),
            Reply;
        {'DOWN', Mon, process, _, Why} ->
            {error, {mirror_server_down, Why}}
    end.

release(Handle) ->
    ?SERVER ! {release, Handle},
    ok.

server() ->
    case whereis(?SERVER) of
        undefined ->
            %% Not linked to the compile that starts it: it outlives compiles.
            Self = self(),
            Pid = spawn(fun() -> init(Self) end),
            Mon = monitor(process, Pid),
            receive
                {started, Pid} -> demonitor(Mon, [flush]), Pid;
                {'DOWN', Mon, process, Pid, _} -> server()  % another one was registered first
            end;
        Pid ->
            Pid
    end.

init(Starter) ->
    try register(?SERVER, self())
    catch error:badarg -> exit(normal)
    end,
    Starter ! {started, self()},
    loop(#{mirrors => #{}, users => #{}, tick => 0}).

loop(St) ->
    receive
        Msg -> loop(handle(Msg, St))
    end.

handle({acquire, From, Ref, Key}, #{mirrors := Mirrors, users := Users} = St) ->
    Handle = monitor(process, From),
    St1 = St#{users := Users#{Handle => Key}},
    case maps:find(Key, Mirrors) of
        {ok, #mirror{state = ready} = M} ->
            From ! {Ref, {ok, M#mirror.dir, Handle}},
            St1#{mirrors := Mirrors#{Key => M#mirror{users = M#mirror.users + 1}}};
        {ok, #mirror{state = {writing, Waiting}} = M} ->
            St1#{mirrors := Mirrors#{Key => M#mirror{users = M#mirror.users + 1,
                                                     state = {writing, [{From, Ref, Handle} | Waiting]}}}};
        error ->
            Dir = filename:join(holo_agent:tmp_dir(),
                                "h" ++ integer_to_list(erlang:unique_integer([positive]))),
            Self = self(),
            spawn(fun() -> Self ! {written, Key, catch write_mirror(Dir, Key)} end),
            St1#{mirrors := Mirrors#{Key => #mirror{dir = Dir, users = 1,
                                                    state = {writing, [{From, Ref, Handle}]}}}}
    end;
handle({written, Key, Result}, #{mirrors := Mirrors} = St) ->
    #mirror{state = {writing, Waiting}} = M = maps:get(Key, Mirrors),
    case Result of
        ok ->
            [From ! {Ref, {ok, M#mirror.dir, Handle}} || {From, Ref, Handle} <- Waiting],
            St#{mirrors := Mirrors#{Key => M#mirror{state = ready}}};
        Error ->
            [From ! {Ref, {error, Error}} || {From, Ref, _} <- Waiting],
            spawn(fun() -> file:del_dir_r(M#mirror.dir) end),
            St#{mirrors := maps:remove(Key, Mirrors)}
    end;
handle({release, Handle}, St) ->
    demonitor(Handle, [flush]),
    stop_using(Handle, St);
handle({'DOWN', Handle, process, _, _}, St) ->
    stop_using(Handle, St);
handle(_Other, St) ->
    St.

stop_using(Handle, #{mirrors := Mirrors, users := Users, tick := Tick} = St) ->
    case maps:take(Handle, Users) of
        {Key, Rest} ->
            Mirrors1 = case maps:find(Key, Mirrors) of
                           {ok, M} -> Mirrors#{Key => M#mirror{users = M#mirror.users - 1,
                                                               used = Tick}};
                           error -> Mirrors  % its writing failed
                       end,
            evict(St#{mirrors := Mirrors1, users := Rest, tick := Tick + 1});
        error ->
            St
    end.

%% Remove the least recently used mirrors nobody uses, past ?KEEP of them.
evict(#{mirrors := Mirrors} = St) ->
    Idle = lists:sort([{M#mirror.used, Key} || {Key, #mirror{users = 0, state = ready} = M}
                                                   <- maps:to_list(Mirrors)]),
    case length(Idle) - ?KEEP of
        Excess when Excess > 0 ->
            Gone = [Key || {_, Key} <- lists:sublist(Idle, Excess)],
            Dirs = [(maps:get(Key, Mirrors))#mirror.dir || Key <- Gone],
            spawn(fun() -> [file:del_dir_r(Dir) || Dir <- Dirs] end),
            St#{mirrors := maps:without(Gone, Mirrors)};
        _ ->
            St
    end.

write_mirror(Dir, {Headers, LibDirs}) ->
    Root = filename:join(Dir, "root"),
    Libs = filename:join(Dir, "_libs"),
    ok = file:make_dir(Dir),
    ok = file:make_dir(Root),
    ok = file:make_dir(Libs),
    [write(filename:join(Root, P), B) || {P, B} <- Headers],
    [write(filename:join([Libs, App, Rest]), B)
     || {App, AppDir} <- LibDirs, {P, B} <- Headers,
        {ok, Rest} <- [strip_dir(AppDir, P)]],
    ok.

write(Path, Bytes) ->
    ok = filelib:ensure_dir(Path),
    ok = file:write_file(Path, Bytes).

strip_dir("", Path) -> {ok, Path};
strip_dir(Dir, Path) ->
    DirParts = filename:split(Dir),
    Parts = filename:split(Path),
    case lists:prefix(DirParts, Parts) of
        true -> {ok, filename:join(lists:nthtail(length(DirParts), Parts))};
        false -> skip
    end.
