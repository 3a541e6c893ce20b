"""holo.queries: the analysis half of holo's pipeline, as queries on the engine.

parse → item_tree → resolve → module_interface (the firewall) → typecheck,
with local checks per file and module_diagnostics gathering them all. Every
query reads only inputs (holo.inputs) and other queries.
"""

from holo.queries.dependencies import ModuleDependencies, module_dependencies
from holo.queries.interface import ModuleInterface, module_interface
from holo.queries.item_tree import item_tree, syntax_diagnostics
from holo.queries.items import ItemTree
from holo.queries.local_checks import local_diagnostics
from holo.queries.module_diagnostics import module_diagnostics
from holo.queries.project_index import ModuleFile, compile_env, module_index, module_path
from holo.queries.resolve import (
    ResolvedModule,
    function_fingerprints,
    module_level_fingerprint,
    resolve,
)
from holo.queries.syntax import ParsedFile, parse
from holo.queries.typecheck import typecheck

__all__ = [
    "ItemTree",
    "ModuleDependencies",
    "ModuleFile",
    "ModuleInterface",
    "ParsedFile",
    "ResolvedModule",
    "compile_env",
    "function_fingerprints",
    "item_tree",
    "local_diagnostics",
    "module_dependencies",
    "module_diagnostics",
    "module_index",
    "module_interface",
    "module_level_fingerprint",
    "module_path",
    "parse",
    "resolve",
    "syntax_diagnostics",
    "typecheck",
]
