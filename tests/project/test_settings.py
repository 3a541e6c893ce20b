"""holo's own section of rebar.config: nodes and cookie, and the warnings for a malformed one."""

from __future__ import annotations

from pathlib import Path

from holo.diagnostics import Diagnostic, Severity
from holo.inputs import HoloSettings, MacroOption
from holo.project.discover import discover

from .conftest import write_tree

MODULE = "-module({name}).\n-export([f/0]).\nf() -> ok.\n"


def project(tmp_path: Path, config: str, **files: str) -> Path:
    tree = {"rebar.config": config, "src/a.erl": MODULE.format(name="a"), **files}
    return write_tree(tmp_path, tree)


def warnings(diagnostics: tuple[Diagnostic, ...]) -> list[tuple[int, int, str]]:
    expected = ("rebar.config", "H0001", Severity.WARNING, "holo")
    assert all((d.path, d.code, d.severity, d.source) == expected for d in diagnostics), diagnostics
    return [(d.line, d.column, d.message) for d in diagnostics]


def test_nodes_and_an_atom_cookie(tmp_path: Path) -> None:
    config = "{holo, [{nodes, ['shop@host', 'ops@10.0.0.1']}, {cookie, secret}]}."
    model = discover(project(tmp_path, config)).model
    assert model.settings == HoloSettings(nodes=("shop@host", "ops@10.0.0.1"), cookie="secret")
    assert model.diagnostics == ()


def test_a_string_cookie_and_no_section(tmp_path: Path) -> None:
    model = discover(project(tmp_path, '{holo, [{cookie, "s3cr3t"}]}.')).model
    assert model.settings == HoloSettings(nodes=(), cookie="s3cr3t")
    bare = discover(project(tmp_path / "bare", "{erl_opts, []}.")).model
    assert bare.settings == HoloSettings() and bare.diagnostics == ()


def test_a_section_that_is_not_a_list_is_a_warning_and_the_rest_applies(tmp_path: Path) -> None:
    config = "{erl_opts, [{d, 'X'}]}.\n{holo,\n   nodes}.\n"
    model = discover(project(tmp_path, config)).model
    [(line, column, message)] = warnings(model.diagnostics)
    assert (line, column) == (2, 3)  # `nodes`, 0-based
    shape = "[{nodes, ['app@host', ...]}, {cookie, Cookie}]"
    assert f"the holo section should be a list {shape}" in message
    assert message.endswith("not nodes; ignored")
    assert model.settings == HoloSettings()
    assert model.erl_opts.macros == (MacroOption("X", None),)


def test_each_malformed_term_is_a_warning_at_its_position(tmp_path: Path) -> None:
    config = (
        "{holo, [{nodes, ['a@h', \"b@h\", 'c@h']},\n"
        "        {cookie, 42},\n"
        "        nodes,\n"
        "        {nodez, []}]}.\n"
    )
    model = discover(project(tmp_path, config)).model
    found = warnings(model.diagnostics)
    assert [(line, column) for line, column, _ in found] == [(0, 24), (1, 17), (2, 8), (3, 8)]
    by_line = {line: message for line, _, message in found}
    assert by_line[0] == "a node name should be an atom, like 'app@host', not \"b@h\"; ignored"
    assert by_line[1] == (
        'cookie should be an atom or a string, like secret or "secret", not 42; ignored'
    )
    assert "each holo option should be {nodes, [...]} or {cookie, ...}" in by_line[2]
    assert by_line[3].startswith("unknown holo option nodez")
    # The well-formed parts still apply.
    assert model.settings == HoloSettings(nodes=("a@h", "c@h"), cookie=None)


def test_nodes_that_are_not_a_list(tmp_path: Path) -> None:
    model = discover(project(tmp_path, "{holo, [{nodes, 'a@h'}, {cookie, c}]}.")).model
    [(line, column, message)] = warnings(model.diagnostics)
    assert (line, column) == (0, 16)
    assert message == "nodes should be a list of node names, like ['app@host'], not a@h; ignored"
    assert model.settings == HoloSettings(nodes=(), cookie="c")


def test_an_umbrella_reads_the_top_level_section_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": "{holo, [{nodes, ['top@h']}]}.",
            "apps/a/rebar.config": "{holo, [{nodes, ['app@h']}, {cookie, 7}]}.",
            "apps/a/src/a.app.src": "{application, a, []}.",
            "apps/a/src/a.erl": MODULE.format(name="a"),
        },
    )
    model = discover(tmp_path).model
    assert model.settings == HoloSettings(nodes=("top@h",), cookie=None)
    assert model.diagnostics == ()
