"""What happened to each module holo hot-loaded into a node (see holo_agent_code.erl).

A module whose old code some process still runs is not replaced (that would
kill the process): it comes back BLOCKED with those processes, so ``holo
watch`` can say which process holds it and the user can retry with force.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from holo.engine import record


@record("holo.LoadStatus")
class LoadStatus(Enum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"  # the node already ran exactly this code
    UNLOADED = "unloaded"
    NOT_LOADED = "not_loaded"  # unload of a module the node did not have
    BLOCKED = "blocked"  # old code still in use; nothing was changed
    REFUSED = "refused"  # sticky OTP module, or one of the agent's own
    FAILED = "failed"  # the node would not load it (bad BEAM, or another module failed)


@record("holo.OldCodeUser")
@dataclass(frozen=True)
class OldCodeUser:
    pid: str  # "<0.95.0>"
    registered_name: str | None
    current_function: tuple[str, str, int] | None  # (module, function, arity)

    def describe(self) -> str:
        who = self.pid if self.registered_name is None else f"{self.pid} ({self.registered_name})"
        if self.current_function is None:
            return who
        module, function, arity = self.current_function
        return f"{who} in {module}:{function}/{arity}"


@record("holo.ModuleLoad")
@dataclass(frozen=True)
class ModuleLoad:
    module: str
    status: LoadStatus
    message: str  # "" when it went as asked
    old_code_users: tuple[OldCodeUser, ...] = ()


@record("holo.LoadResult")
@dataclass(frozen=True)
class LoadResult:
    node: str | None  # None for the agent's own node
    error: str | None  # the node could not be reached at all (then modules is empty)
    modules: tuple[ModuleLoad, ...]

    @property
    def ok(self) -> bool:
        done = (LoadStatus.LOADED, LoadStatus.UNCHANGED, LoadStatus.UNLOADED, LoadStatus.NOT_LOADED)
        return self.error is None and all(m.status in done for m in self.modules)

    def status(self, module: str) -> LoadStatus:
        for entry in self.modules:
            if entry.module == module:
                return entry.status
        raise KeyError(module)

    @classmethod
    def from_agent(cls, node: str | None, statuses: Any) -> LoadResult:
        return cls(node, None, tuple(_module_load(module, status) for module, status in statuses))


def _module_load(module: str, status: Any) -> ModuleLoad:
    match status:
        case "loaded" | "unchanged" | "unloaded" | "not_loaded":
            return ModuleLoad(module, LoadStatus(status), "")
        case ("refused", bytes(message)):
            return ModuleLoad(module, LoadStatus.REFUSED, message.decode())
        case ("failed", bytes(message)):
            return ModuleLoad(module, LoadStatus.FAILED, message.decode())
        case ("blocked", list(users)):
            old_users = tuple(
                OldCodeUser(
                    pid.decode(),
                    name,
                    None if mfa is None else (mfa[0], mfa[1], mfa[2]),
                )
                for pid, name, mfa in users
            )
            described = ", ".join(user.describe() for user in old_users)
            message = (
                f"the old code of {module} still runs in {described}; "
                "use force to kill those processes"
            )
            return ModuleLoad(module, LoadStatus.BLOCKED, message, old_users)
    raise ValueError(f"unexpected load status from the agent for {module}: {status!r}")
