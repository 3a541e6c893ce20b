"""`holo explain TARGET`: why a module's results were recomputed, or where they came from.

In a fresh process every result either comes back from the persistent cache
(its recorded dependencies still fingerprint the same) or is recomputed; for
each recomputed one, the chain from it down to the input that changed. The
module is then compiled (or found compiled, by its key) like `holo build`
would, and that is reported too.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from holo.cli_commands.common import add_project_arguments, print_json
from holo.errors import UserError
from holo.queries.codegen import codegen, compile_key
from holo.queries.interface import module_interface
from holo.queries.item_tree import item_tree
from holo.queries.module_diagnostics import module_diagnostics
from holo.queries.project_index import module_file
from holo.queries.resolve import resolve
from holo.session import Session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_arguments(parser)
    parser.add_argument("target", help="a module name or a source file")
    parser.add_argument("--profile", choices=("default", "test"), default=None)


def run(args: argparse.Namespace) -> int:
    with Session(args.path, args.cache_dir) as session:
        db = session.db
        module = Path(args.target).stem if args.target.endswith(".erl") else args.target
        entry = module_file(db, module)
        if entry is None:
            raise UserError(f"the project has no module {module!r}")
        profile = args.profile or ("test" if entry.is_test else "default")
        key = (entry.path, profile)
        steps: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("syntax summary", item_tree, (entry.path,)),
            ("resolution", resolve, key),
            ("interface", module_interface, (module, profile)),
            ("diagnostics", module_diagnostics, key),
        ]
        explained = []
        for label, q, q_key in steps:
            q(db, *q_key)
            explained.append({"what": label, "why": db.explain(q, *q_key)})
        compile_key(db, *key)
        compiled_before = len(session.compiler.compiled)
        result = codegen(db, *key)
        compiled = len(session.compiler.compiled) > compiled_before
        outcome = "it compiled" if result.ok else "it failed to compile"
        verdict = (
            f"compiled now, as no BEAM was cached for its compile key: {outcome}"
            if compiled
            else "its BEAM was cached under its compile key: not compiled"
        )
        explained.append({"what": "code", "why": [verdict, *db.explain(compile_key, *key)]})
    if args.json:
        print_json({"module": module, "path": entry.path, "profile": profile,
                    "explained": explained})
        return 0
    print(f"{module} ({entry.path}, profile {profile})")
    for item in explained:
        print(f"  {item['what']}:")
        for line in item["why"]:
            print(f"    {line}")
    return 0
