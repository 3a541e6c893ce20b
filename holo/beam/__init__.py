"""holo's bridge to the BEAM: an agent VM that compiles and hot-loads Erlang code.

``BeamNode`` owns and supervises the VM; ``CompileJob`` / ``CompileResult``
describe a compile; ``LoadResult`` what a hot load did on each node.
"""

from holo.beam.agent_build import AgentBuildError, ensure_agent_ebin
from holo.beam.compile_job import CompileJob, CompileResult
from holo.beam.errors import (
    AgentRequestError,
    BeamError,
    BeamNodeClosed,
    BeamNodeDied,
    BeamStartError,
)
from holo.beam.loading import LoadResult, LoadStatus, ModuleLoad, OldCodeUser
from holo.beam.node import BeamNode, NodeInfo, default_cookie

__all__ = [
    "AgentBuildError",
    "AgentRequestError",
    "BeamError",
    "BeamNode",
    "BeamNodeClosed",
    "BeamNodeDied",
    "BeamStartError",
    "CompileJob",
    "CompileResult",
    "LoadResult",
    "LoadStatus",
    "ModuleLoad",
    "NodeInfo",
    "OldCodeUser",
    "default_cookie",
    "ensure_agent_ebin",
]
