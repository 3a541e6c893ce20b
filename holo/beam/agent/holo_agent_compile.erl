%% The compile request: OTP's compiler over exactly the bytes holo hands over.
%%
%% A job never reads the user's files: a save racing a compile would store
%% the BEAM of the new text under the key of the old one. The project headers
%% arrive as bytes and live in a private mirror of their project-relative
%% layout (root/, see holo_agent_mirror), shared by the jobs that bring the
%% very same headers; the source is written next to where it belongs in that
%% layout under a name of its own, for this job only, so epp, which reads
%% files from its own server process, finds the headers as it would in the
%% project (the source's directory first). Apps named in lib_dirs are
%% mirrored again under _libs/App, which sits on the include path so that
%% -include_lib("app/include/x.hrl") finds them (epp tries include_lib paths
%% against the include path first). OTP's own headers are read where they
%% are. Every path of the mirror that ends up in the forms (-file attributes,
%% ?FILE in headers) is mapped back to the project-relative path, so the BEAM
%% and the diagnostics name the user's files and the same job always gives
%% the same binary.
%%
%% Job (a map):
%%   source       => {Path, Bytes}          project-relative
%%   headers      => [{Path, Bytes}]        project-relative
%%   include_dirs => [Dir]                  project-relative, or absolute (OTP)
%%   lib_dirs     => [{App, Dir}]           project-relative app dirs ("" = the root)
%%   macros       => [{Name, ValueText | undefined}]
%%   erl_opts     => Text                   the erl_opts list as Erlang source; its
%%                                          {d, ...} are macros, its {i, Dir} are
%%                                          dropped (they would be relative to the
%%                                          agent's cwd: include_dirs says it all)
%%   extra_code   => [{Module, Beam}]       parse transforms and behaviours
%% Result:
%%   {ok, Module, Beam, Warnings} | {error, Errors, Warnings}
%%   an error result always has at least one error (warnings that
%%   warnings_as_errors turned into errors are reported as errors)
%%   where each diagnostic is {File, Line, Column, Severity, Tag, Message}:
%%   1-based positions (0 when the compiler gives none), binaries for text.
-module(holo_agent_compile).

-export([holo_handlers/0]).

-import(holo_agent, [fmt/2, text/1]).

holo_handlers() -> #{compile => fun compile/1}.

%% The compiler allocates a lot: a large heap from the start spares it most
%% of its garbage collections (OTP's own compile process would grow one; the
%% compile runs in the request's process, see compiler_options/1).
-define(COMPILE_HEAP_WORDS, 50000).

compile(#{source := {Src, _}} = Job) ->
    process_flag(min_heap_size, ?COMPILE_HEAP_WORDS),
    SrcName = unicode:characters_to_list(Src),
    case prepare(Job) of
        {ok, Opts, Macros} ->
            compile_in_mirror(SrcName, Job, Opts, Macros);
        {error, Tag, Message} ->
            {error, [{Src, 0, 0, error, Tag, Message}], []}
    end.

prepare(Job) ->
    then(parse_erl_opts(maps:get(erl_opts, Job, <<"[]">>)), fun(Opts) ->
    then(parse_macros(maps:get(macros, Job, []), erl_opts_macros(Opts)), fun(Macros) ->
    then(check_macros(Macros), fun(_) ->
    then(load_extra_code(maps:get(extra_code, Job, [])), fun(_) ->
        {ok, Opts, Macros}
    end) end) end) end).

then({ok, Value}, Next) -> Next(Value);
then(ok, Next) -> Next(ok);
then({error, _Tag, _Message} = Error, _Next) -> Error.

%% --- options -------------------------------------------------------------

parse_erl_opts(Text) ->
    case parse_term(Text) of
        {ok, Opts} when is_list(Opts) ->
            {ok, Opts};
        {ok, Other} ->
            {error, <<"bad_erl_opts">>, fmt("erl_opts must be a list, not ~tp", [Other])};
        {error, Why} ->
            {error, <<"bad_erl_opts">>, fmt("erl_opts ~ts: ~ts", [Text, Why])}
    end.

parse_macros(Macros, FromOpts) ->
    parse_macros(Macros, lists:reverse(FromOpts), FromOpts).

parse_macros([], Acc, _) ->
    {ok, lists:reverse(Acc)};
parse_macros([{Name, undefined} | T], Acc, FromOpts) ->
    parse_macros(T, [Name | Acc], FromOpts);
parse_macros([{Name, Text} | T], Acc, FromOpts) ->
    case parse_term(Text) of
        {ok, Value} ->
            parse_macros(T, [{Name, Value} | Acc], FromOpts);
        {error, Why} ->
            {error, <<"bad_macro">>, fmt("the value of macro ~ts: ~ts", [Name, Why])}
    end.

%% epp turns a predefined macro's value back into tokens; it cannot do that
%% for every term (binaries, for one), and crashes when it cannot.
check_macros(Macros) ->
    Bad = [Name || {Name, Value} <- Macros,
                   try erl_parse:tokens(erl_parse:abstract(Value)), false
                   catch _:_ -> true
                   end],
    case Bad of
        [] -> ok;
        [Name | _] -> {error, <<"bad_macro">>,
                       fmt("the value of macro ~ts cannot be predefined: OTP's epp takes "
                           "only values without binaries, funs, pids or refs", [Name])}
    end.

erl_opts_macros(Opts) ->
    [case O of {d, M} -> M; {d, M, V} -> {M, V} end
     || O <- Opts, is_tuple(O), tuple_size(O) =< 3, element(1, O) =:= d,
        is_atom(element(2, O))].

parse_term(Text) ->
    case erl_scan:string(unicode:characters_to_list([Text, " ."])) of
        {ok, Tokens, _} ->
            case erl_parse:parse_term(Tokens) of
                {ok, Term} -> {ok, Term};
                {error, {_, Mod, Desc}} -> {error, text(Mod:format_error(Desc))}
            end;
        {error, {_, Mod, Desc}, _} ->
            {error, text(Mod:format_error(Desc))}
    end.

%% Options that make compile print, or name directories of the agent's cwd.
compiler_options(Opts) ->
    Drop = fun(report) -> true;
              (report_errors) -> true;
              (report_warnings) -> true;
              (verbose) -> true;
              (no_debug_info) -> true;
              ({i, _}) -> true;
              ({outdir, _}) -> true;
              (_) -> false
           end,
    %% no_spawn_compiler_process: the compile runs in the request's own
    %% process, so cancelling the request (a time limit) stops it; OTP's own
    %% worker process would be left running a parse transform that loops.
    Kept = [no_spawn_compiler_process | [O || O <- Opts, not Drop(O)]],
    case lists:member(no_debug_info, Opts) of
        true -> [binary, return | Kept];
        false -> [binary, return, debug_info | Kept]
    end.

%% --- code the compiler needs in this node --------------------------------

load_extra_code(Modules) ->
    holo_agent:serialized(fun() -> load_extra_code_1(Modules) end).

load_extra_code_1([]) ->
    ok;
load_extra_code_1([{Module, Beam} | T]) ->
    case is_current(Module, Beam) of
        true ->
            load_extra_code_1(T);
        false ->
            %% Never kill a process for a compile: only replace code whose
            %% old version nobody runs.
            case holo_agent_code:refusal(Module) of
                none ->
                    case code:soft_purge(Module) andalso
                        code:load_binary(Module, atom_to_list(Module) ++ ".beam", Beam) of
                        {module, Module} ->
                            load_extra_code_1(T);
                        false ->
                            {error, <<"extra_code">>,
                             fmt("cannot load ~ts for the compiler: processes in the agent "
                                 "still run its old code", [Module])};
                        {error, What} ->
                            {error, <<"extra_code">>,
                             fmt("cannot load ~ts for the compiler: ~tp", [Module, What])}
                    end;
                Why ->
                    {error, <<"extra_code">>, fmt("cannot load ~ts for the compiler: ~ts", [Module, Why])}
            end
    end.

is_current(Module, Beam) ->
    erlang:module_loaded(Module) andalso
        beam_lib:md5(Beam) =:= {ok, {Module, Module:module_info(md5)}}.

%% --- the private mirror --------------------------------------------------

compile_in_mirror(SrcName, Job, Opts, Macros) ->
    LibDirs = [{unicode:characters_to_list(App), unicode:characters_to_list(Dir)}
               || {App, Dir} <- maps:get(lib_dirs, Job, [])],
    {_, SrcBytes} = maps:get(source, Job),
    Headers = [{unicode:characters_to_list(P), B} || {P, B} <- maps:get(headers, Job, [])],
    case [P || {P, _} <- [{SrcName, SrcBytes} | Headers], not is_relative_inside(P)] of
        [] ->
            %% Failing to write the mirror says nothing of the job: a crash,
            %% which holo does not cache.
            {ok, Mirror, Handle} = holo_agent_mirror:acquire(Headers, LibDirs),
            try
                compile_with(Mirror, SrcName, SrcBytes, LibDirs, Job, Opts, Macros)
            after
                holo_agent_mirror:release(Handle)
            end;
        Bad ->
            {error, [{text(SrcName), 0, 0, error, <<"bad_path">>,
                      fmt("paths in a compile job must be relative and stay inside the project: ~tp",
                          [Bad])}], []}
    end.

compile_with(Mirror, SrcName, SrcBytes, LibDirs, Job, Opts, Macros) ->
    Root = filename:join(Mirror, "root"),
    SrcDir = case filename:dirname(SrcName) of
                 "." -> Root;
                 Dir -> filename:join(Root, Dir)
             end,
    TmpSrc = filename:join(SrcDir, ".holo-" ++ integer_to_list(erlang:unique_integer([positive]))
                           ++ "-" ++ filename:basename(SrcName)),
    write(TmpSrc, SrcBytes),
    try
        Includes = [include_dir(Root, D) || D <- maps:get(include_dirs, Job, [])]
            ++ [filename:join(Mirror, "_libs")],
        Map = fun(Path) -> original_path(Mirror, {TmpSrc, SrcName}, LibDirs, Path) end,
        parse_and_compile(Mirror, TmpSrc, SrcName, Includes, Opts, Macros, Map)
    after
        file:delete(TmpSrc)
    end.

include_dir(Root, Dir0) ->
    Dir = unicode:characters_to_list(Dir0),
    case filename:pathtype(Dir) of
        absolute -> Dir;
        _ -> filename:join(Root, Dir)
    end.

write(Path, Bytes) ->
    case file:write_file(Path, Bytes) of
        ok ->
            ok;
        {error, enoent} ->
            ok = filelib:ensure_dir(Path),
            ok = file:write_file(Path, Bytes)
    end.

is_relative_inside(Path) ->
    filename:pathtype(Path) =:= relative andalso Path =/= ""
        andalso not lists:member("..", filename:split(Path)).

original_path(Tmp, {TmpSrc, SrcName}, LibDirs, Path) ->
    TmpParts = filename:split(Tmp),
    Parts = normalize(filename:split(Path)),
    case lists:prefix(TmpParts, Parts) of
        false ->
            Path;
        true ->
            case Parts =:= filename:split(TmpSrc) of
                true -> SrcName;
                false -> mirrored_path(lists:nthtail(length(TmpParts), Parts), LibDirs, Path)
            end
    end.

mirrored_path(["root" | Rest], _LibDirs, _Path) ->
    filename:join(Rest);
mirrored_path(["_libs", App | Rest], LibDirs, Path) ->
    case lists:keyfind(App, 1, LibDirs) of
        {App, ""} -> filename:join(Rest);
        {App, AppDir} -> filename:join([AppDir | Rest]);
        false -> Path
    end;
mirrored_path(_, _LibDirs, Path) ->
    Path.

normalize(Parts) ->
    lists:reverse(lists:foldl(fun(".", Acc) -> Acc;
                                 ("..", [Root]) -> [Root];
                                 ("..", [_ | Acc]) -> Acc;
                                 (P, Acc) -> [P | Acc]
                              end, [], Parts)).

%% --- epp and compile -----------------------------------------------------

parse_and_compile(Tmp, TmpSrc, SrcName, Includes, Opts, Macros, Map) ->
    case erl_features:keyword_fun(Opts, fun erl_scan:f_reserved_word/1) of
        {ok, {Features, ResWordFun}} ->
            Location = case proplists:get_value(error_location, Opts, column) of
                           line -> 1;
                           _ -> {1, 1}
                       end,
            EppOpts = [{includes, Includes},
                       {source_name, SrcName},
                       {macros, Macros},
                       {default_encoding, utf8},
                       {location, Location},
                       {reserved_word_fun, ResWordFun},
                       {features, Features},
                       extra],
            case epp:parse_file(TmpSrc, EppOpts) of
                {ok, Forms, _Extra} ->
                    run_compiler(rewrite_paths(Forms, Tmp, Map), SrcName, Opts, Map);
                {error, Why} ->
                    {error, [{text(SrcName), 0, 0, error, <<"epp">>,
                              fmt("cannot read the source: ~tp", [Why])}], []}
            end;
        {error, {Mod, Reason}} ->
            {error, [{text(SrcName), 0, 0, error, tag(Mod, Reason), message(Mod, Reason)}], []}
    end.

run_compiler(Forms, SrcName, Opts, Map) ->
    try compile:noenv_forms(Forms, compiler_options(Opts)) of
        {ok, Module, Beam, Warnings} when is_binary(Beam) ->
            Base = filename:basename(SrcName, ".erl"),
            case atom_to_list(Module) of
                Base ->
                    {ok, Module, Beam, diagnostics(Warnings, warning, SrcName, Map)};
                _ ->
                    %% As erlc says: the code server could never find it by name.
                    {error, [{text(SrcName), 0, 0, error, <<"module_name">>,
                              message(compile, {module_name, Module, Base})}],
                     diagnostics(Warnings, warning, SrcName, Map)}
            end;
        {ok, _Module, _Other, Warnings} ->
            {error, [{text(SrcName), 0, 0, error, <<"no_beam">>,
                      <<"these erl_opts make the compiler produce something else than a BEAM">>}],
             diagnostics(Warnings, warning, SrcName, Map)};
        {error, Errors, Warnings} ->
            Errs = diagnostics(Errors, error, SrcName, Map),
            failed(Errs, diagnostics(Warnings, warning, SrcName, Map),
                   Errs =:= [] orelse lists:member(warnings_as_errors, Opts), SrcName)
    catch Class:Reason:Stack ->
            {error, [{text(SrcName), 0, 0, error, <<"compiler_crash">>,
                      fmt("the compiler crashed: ~ts",
                          [erl_error:format_exception(Class, Reason, Stack)])}], []}
    end.

%% A compile that gave no BEAM is an error, whatever the compiler called its
%% reasons. With warnings_as_errors (from erl_opts or the module's own
%% -compile) OTP fails with no error at all, only warnings: as erlc does, they
%% are reported as the errors they were treated as.
failed(Errors, Warnings, true, SrcName) ->
    failed([{File, Line, Column, error, Tag,
             <<Message/binary, " (an error: warnings_as_errors is set)">>}
            || {File, Line, Column, _, Tag, Message} <- Warnings] ++ Errors,
           [], false, SrcName);
failed([], Warnings, false, SrcName) ->
    {error, [{text(SrcName), 0, 0, error, <<"no_beam">>,
              <<"the compiler produced no BEAM and reported no error">>}], Warnings};
failed(Errors, Warnings, false, _SrcName) ->
    {error, Errors, Warnings}.

%% Every list that is a path inside the mirror becomes the original path:
%% -file attributes and ?FILE expanded in headers. epp names the file it
%% reads in a -file attribute each time it enters or leaves one, and ?FILE
%% is the name of the file being read where it is expanded (in the source,
%% the source_name, even through a macro a header defines): so only forms
%% read from a file of the mirror can name the mirror, and the others (the
%% source's own, most of the forms) are not walked.
rewrite_paths(Forms, Tmp, Map) ->
    rewrite_forms(Forms, Tmp ++ "/", Map, false).

rewrite_forms([{attribute, _, file, {File, _}} = Form | Forms], Prefix, Map, _InMirror) ->
    InMirror = is_list(File) andalso lists:prefix(Prefix, File),
    [rewrite(Form, Prefix, Map) | rewrite_forms(Forms, Prefix, Map, InMirror)];
rewrite_forms([Form | Forms], Prefix, Map, true) ->
    [rewrite(Form, Prefix, Map) | rewrite_forms(Forms, Prefix, Map, true)];
rewrite_forms([Form | Forms], Prefix, Map, false) ->
    [Form | rewrite_forms(Forms, Prefix, Map, false)];
rewrite_forms([], _Prefix, _Map, _InMirror) ->
    [].

rewrite(Term, Prefix, Map) when is_list(Term) ->
    case lists:prefix(Prefix, Term) of
        true -> Map(Term);
        false -> [rewrite(E, Prefix, Map) || E <- Term]
    end;
rewrite(Term, Prefix, Map) when is_tuple(Term) ->
    list_to_tuple([rewrite(E, Prefix, Map) || E <- tuple_to_list(Term)]);
rewrite(Term, _Prefix, _Map) ->
    Term.

diagnostics(PerFile, Severity, SrcName, Map) ->
    [diagnostic(File, Info, Severity, SrcName, Map)
     || {File, Infos} <- PerFile, Info <- Infos].

diagnostic(File0, {Location, Mod, Desc}, Severity, SrcName, Map) ->
    File = case File0 of
               [] -> SrcName;
               _ -> Map(File0)
           end,
    {Line, Column} = case Location of
                         {L, C} when is_integer(L), is_integer(C) -> {L, C};
                         L when is_integer(L) -> {L, 0};
                         _ -> {0, 0}
                     end,
    {text(File), Line, Column, Severity, tag(Mod, Desc), message(Mod, Desc)}.

message(Mod, Desc) ->
    try text(Mod:format_error(Desc)) of
        Bin when is_binary(Bin) -> Bin;
        _ -> fmt("~tp", [Desc])
    catch _:_ -> fmt("~tp", [Desc])
    end.

%% A short stable code for the kind of problem: the descriptor's first atom.
tag(erl_parse, _) -> <<"syntax_error">>;
tag(_, Desc) when is_atom(Desc) -> atom_to_binary(Desc);
tag(_, Desc) when is_tuple(Desc), is_atom(element(1, Desc)) -> atom_to_binary(element(1, Desc));
tag(Mod, _) -> atom_to_binary(Mod).
