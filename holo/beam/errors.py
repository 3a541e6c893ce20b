"""What can go wrong between holo and its BEAM agent."""


class BeamError(Exception):
    """Base class: holo could not get an answer from its BEAM agent."""


class BeamStartError(BeamError):
    """The agent could not be built or started (no Erlang, erlc failed, the VM exited)."""


class BeamNodeDied(BeamError):
    """The agent's VM died twice while serving one request (user code called halt/0?)."""


class BeamNodeClosed(BeamError):
    """The node was closed before the request was answered."""


class AgentRequestError(BeamError):
    """The agent ran the request but could not serve it: an unknown kind, or it crashed."""

    def __init__(self, kind: str, why: str, message: str) -> None:
        super().__init__(f"the BEAM agent could not serve {kind!r} ({why}): {message}")
        self.kind = kind
        self.why = why
        self.agent_message = message
