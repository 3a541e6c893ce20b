"""Generated Erlang projects for holo's benchmarks and incrementality tests.

``generate(root, modules=200)`` writes a rebar3 project that compiles with
erlc and whose EUnit tests pass:

* ``include/shared.hrl`` -- records (``#item{}``, ``#order{}``) and macros
  (``?TIMEOUT``, ``?DOUBLE(X)``, ``?LOG(X)``) every module includes;
* ``src/gp_mod_NNNN.erl`` -- modules that use the header, call two other
  modules and OTP, each with an exported ``compute/1`` whose body holds one
  tweakable constant;
* ``src/gp_server_1.erl``, ``src/gp_server_2.erl`` -- gen_servers some modules call;
* ``test/gp_mod_NNNN_tests.erl`` -- EUnit tests for every tenth module.

The :class:`GeneratedProject` it returns can edit the project the way a user
would (one function body, one header line), for benchmarks of build, check,
test and watch. ``layout_otp(dest, apps)`` lays OTP's own sources out as a
rebar3 project (OTP compiles them with each app's include dir on the path).

Run it to write a project: ``python benchmarks/genproject.py DIR [MODULES]``.
"""

from __future__ import annotations

import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

APP = "genproj"
HEADER = "include/shared.hrl"
TEST_EVERY = 10
SERVERS = ("gp_server_1", "gp_server_2")

_HEADER_TEXT = """\
%% Shared records and macros of the generated project.
-record(item, {id :: integer(), name = <<>> :: binary(), qty = 0 :: integer()}).
-record(order, {id :: integer(), items = [] :: [#item{}]}).

-define(TIMEOUT, 5000).
-define(DOUBLE(X), (2 * (X))).
-define(LOG(X), logger:debug("~p", [X])).
"""


def module_name(index: int) -> str:
    return f"gp_mod_{index:04d}"


@dataclass
class GeneratedProject:
    """A generated project on disk, and the edits benchmarks and tests make to it."""

    root: Path
    modules: tuple[str, ...]  # the gp_mod_NNNN modules, in order
    servers: tuple[str, ...]
    test_modules: tuple[str, ...]
    callees: dict[str, tuple[str, str]]  # module -> the two modules it calls
    tweaks: dict[str, int] = field(default_factory=dict)  # module -> constant in compute/1
    header_extra: list[str] = field(default_factory=list)

    @property
    def header(self) -> Path:
        return self.root / HEADER

    def source(self, module: str) -> Path:
        return self.root / "src" / f"{module}.erl"

    def rel(self, module: str) -> str:
        """The project-relative path of a module (the key holo's inputs use)."""
        folder = "test" if module in self.test_modules else "src"
        return f"{folder}/{module}.erl"

    def compute(self, module: str, x: int) -> int:
        """What ``module:compute(X)`` returns (the EUnit tests assert it)."""
        return 3 * (2 * x + self.tweaks[module]) + 1

    def edit_body(self, module: str, tweak: int | None = None) -> Path:
        """Change the constant in ``module:compute/1``'s body (one function body edit)."""
        self.tweaks[module] = tweak if tweak is not None else self.tweaks[module] + 1
        path = self.source(module)
        path.write_text(_module_text(self, module))
        return path

    def add_header_macro(self, name: str | None = None) -> Path:
        """Add a macro no module uses to the header every module includes."""
        name = name or f"UNUSED_{len(self.header_extra)}"
        self.header_extra.append(f"-define({name}, {len(self.header_extra)}).")
        self.header.write_text(_header_text(self))
        return self.header


def _header_text(project: GeneratedProject) -> str:
    # New macros go first: every line of the existing header moves down.
    extra = "".join(line + "\n" for line in reversed(project.header_extra))
    return extra + _HEADER_TEXT


def _module_text(project: GeneratedProject, module: str) -> str:
    first, second = project.callees[module]
    index = project.modules.index(module)
    server = SERVERS[index % len(SERVERS)]
    uses_server = index % 7 == 0
    server_call = f"\n    _ = {server}:lookup(X)," if uses_server else ""
    return f"""\
-module({module}).
-include("shared.hrl").

-export([compute/1, helper_value/1, describe/1, total/1, make_order/2]).

%% compute/1 calls {first}; describe/1 reaches {second}.
-spec compute(integer()) -> integer().
compute(X) ->{server_call}
    Y = ?DOUBLE(X) + {project.tweaks[module]},
    {first}:helper_value(Y).

-spec helper_value(integer()) -> integer().
helper_value(X) ->
    triple(X) + 1.

describe(#item{{id = Id, name = Name}}) ->
    ?LOG(Id),
    {{Id, Name, ?TIMEOUT, {second}:total([])}}.

total(Items) ->
    lists:foldl(fun(#item{{qty = Q}}, Acc) -> Acc + Q end, 0, Items).

make_order(Id, Items) ->
    #order{{id = Id, items = [#item{{id = I}} || I <- Items]}}.

triple(X) ->
    X * 3.
"""


def _server_text(name: str) -> str:
    return f"""\
-module({name}).
-behaviour(gen_server).
-include("shared.hrl").

-export([start_link/0, lookup/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2, code_change/3]).

start_link() ->
    gen_server:start_link({{local, ?MODULE}}, ?MODULE, [], []).

lookup(Key) ->
    case whereis(?MODULE) of
        undefined -> undefined;
        _ -> gen_server:call(?MODULE, {{lookup, Key}}, ?TIMEOUT)
    end.

init([]) -> {{ok, #{{}}}}.

handle_call({{lookup, Key}}, _From, State) -> {{reply, maps:get(Key, State, undefined), State}};
handle_call(_Other, _From, State) -> {{reply, {{error, unknown}}, State}}.

handle_cast(_Msg, State) -> {{noreply, State}}.

handle_info(_Msg, State) -> {{noreply, State}}.

terminate(_Reason, _State) -> ok.

code_change(_Old, State, _Extra) -> {{ok, State}}.
"""


def _test_text(project: GeneratedProject, module: str) -> str:
    tests = project.test_modules[project.modules.index(module) // TEST_EVERY]
    return f"""\
-module({tests}).
-include_lib("eunit/include/eunit.hrl").
-include("shared.hrl").

compute_test() ->
    ?assertEqual({project.compute(module, 1)}, {module}:compute(1)).

total_test() ->
    ?assertEqual(5, {module}:total([#item{{qty = 2}}, #item{{qty = 3}}])).

order_test_() ->
    [?_assertMatch(#order{{id = 7}}, {module}:make_order(7, [1, 2]))].
"""


def generate(root: Path, modules: int, seed: int = 0) -> GeneratedProject:
    """Write a project of ``modules`` modules (plus servers and tests) under ``root``."""
    if modules < 2:
        raise ValueError("a generated project needs at least 2 modules")
    rng = random.Random(seed)
    names = tuple(module_name(i) for i in range(modules))
    callees: dict[str, tuple[str, str]] = {}
    for i, name in enumerate(names):
        others = [n for j, n in enumerate(names) if j != i] if modules <= 50 else None
        if others is None:
            picks: set[int] = set()
            while len(picks) < 2:
                j = rng.randrange(modules)
                if j != i:
                    picks.add(j)
            first, second = (names[j] for j in sorted(picks))
        else:
            first, second = rng.sample(others, 2)
        callees[name] = (first, second)
    tests = tuple(f"{module_name(i)}_tests" for i in range(0, modules, TEST_EVERY))
    project = GeneratedProject(
        root=root,
        modules=names,
        servers=SERVERS,
        test_modules=tests,
        callees=callees,
        tweaks={name: rng.randrange(1, 100) for name in names},
    )
    for folder in ("src", "include", "test"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "rebar.config").write_text("{erl_opts, [debug_info]}.\n")
    (root / "src" / f"{APP}.app.src").write_text(
        f'{{application, {APP}, [{{description, "generated by holo"}}, {{vsn, "0.1.0"}},\n'
        "  {registered, []}, {applications, [kernel, stdlib]}, {env, []}]}.\n"
    )
    project.header.write_text(_header_text(project))
    for name in names:
        project.source(name).write_text(_module_text(project, name))
    for server in SERVERS:
        (root / "src" / f"{server}.erl").write_text(_server_text(server))
    for i in range(0, modules, TEST_EVERY):
        tested = names[i]
        (root / "test" / f"{tested}_tests.erl").write_text(_test_text(project, tested))
    return project


def layout_otp(
    dest: Path,
    apps: tuple[str, ...],
    otp_lib: Path = Path("/usr/lib/erlang/lib"),
    headers_of: tuple[str, ...] = (),
) -> Path:
    """Copy OTP applications' sources into a rebar3 project at ``dest``.

    Each app becomes ``apps/<app>/{src,include}`` with an ``.app.src`` made
    from its ``ebin/<app>.app``; rebar.config puts every app's include
    directory on the include path, as OTP's own build does. ``headers_of``:
    apps not laid out whose include/*.hrl the first app's build also sees
    (stdlib is built with ``-I ../../kernel/include``): they are copied into
    the first app's include directory.
    """
    options: list[str] = []
    for app in apps:
        matches = sorted(otp_lib.glob(f"{app}-*"))
        if not matches:
            raise FileNotFoundError(f"OTP has no application {app} under {otp_lib}")
        source = matches[-1]
        target = dest / "apps" / app
        shutil.copytree(source / "src", target / "src", dirs_exist_ok=True)
        if (source / "include").is_dir():
            shutil.copytree(source / "include", target / "include", dirs_exist_ok=True)
            options.append(f'{{i, "apps/{app}/include"}}')
        if app == "compiler":
            # OTP's compiler Makefile passes its version: -DCOMPILER_VSN='"8.2.3"'.
            version = source.name.partition("-")[2]
            options.append(f"{{d, 'COMPILER_VSN', \"{version}\"}}")
        if any(p.is_dir() for p in (source / "src").iterdir()):
            # Modules in subdirectories of src/ include headers from src/ itself.
            options.append(f'{{i, "apps/{app}/src"}}')
        app_file = source / "ebin" / f"{app}.app"
        app_src = target / "src" / f"{app}.app.src"
        if app_file.is_file():
            app_src.write_bytes(app_file.read_bytes())
        else:
            app_src.write_text(f'{{application, {app}, [{{vsn, "0"}}]}}.\n')
    for other in headers_of:
        found = sorted(otp_lib.glob(f"{other}-*/include"))
        target = dest / "apps" / apps[0] / "include"
        target.mkdir(parents=True, exist_ok=True)
        for header in found[-1].glob("*.hrl") if found else ():
            shutil.copy(header, target / header.name)
        include = f'{{i, "apps/{apps[0]}/include"}}'
        if include not in options:
            options.append(include)
    erl_opts = ", ".join(["debug_info", *options])
    (dest / "rebar.config").write_text(f"{{erl_opts, [{erl_opts}]}}.\n")
    return dest


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: python benchmarks/genproject.py DIR [MODULES]", file=sys.stderr)
        return 2
    root = Path(argv[0])
    project = generate(root, int(argv[1]) if len(argv) > 1 else 200)
    print(
        f"wrote {len(project.modules)} modules, {len(project.test_modules)} test modules to {root}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
