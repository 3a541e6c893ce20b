"""A project opened for work: the cache, the database, the Workspace, and the BEAM nodes.

Every user of holo (`holo build/check/test`, `holo watch`, `holo lsp`) opens
one Session and asks queries through it, so they share one setup path, one
cache layout and one salt.

The commands open theirs with :func:`open_session`: in a process of its own a
command opens a Session and closes it when done; inside the daemon
(holo.daemon) the same call hands out a warm Session, brought in line with
the disk first, and leaves it open for the next request.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from holo import __version__
from holo.code_digest import code_digest
from holo.engine import Database, DiskStore, default_cache_dir
from holo.errors import UserError
from holo.project.otp import locate_otp
from holo.project.workspace import Workspace

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # imported when first used: `holo check` opens the store and no node
    from holo.beam.node import BeamNode
    from holo.build.compiler import Compiler


def resolve_cache_dir(option: str | None) -> Path:
    return Path(option) if option else default_cache_dir()


def check_cache_dir(directory: Path) -> None:
    """A UserError unless holo can create and write files in ``directory``."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe, name = tempfile.mkstemp(dir=directory, prefix=".holo-probe-")
        os.close(probe)
        os.unlink(name)
    except OSError as e:
        raise UserError(f"cannot use the cache directory {directory}: {e.strerror or e}") from None


def open_store(directory: Path) -> DiskStore:
    """The persistent cache in ``directory``; a UserError if it cannot be used there."""
    try:
        return DiskStore(directory)
    except (OSError, sqlite3.Error) as e:
        reason = (e.strerror if isinstance(e, OSError) else None) or str(e)
        raise UserError(f"cannot use the cache directory {directory}: {reason}") from None


class Session:
    def __init__(self, root: Path | str, cache_dir: Path | str | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(f"{root} is not a directory")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.otp = locate_otp()
        self.store = open_store(self.cache_dir)
        # Results of one holo (its version and its code) on one OTP version
        # never serve another.
        self.salt = f"holo/{__version__}/{code_digest()}/otp/{self.otp.version}".encode()
        self.db = Database(store=self.store, salt=self.salt)
        self.workspace = Workspace.open(self.root, self.db, store=self.store, otp=self.otp)
        self._starters: list[threading.Thread] = []

    @property
    def project_root(self) -> Path:
        return self.workspace.root

    @cached_property
    def agent(self) -> BeamNode:
        """The node that compiles: holo's own code only.

        A new VM loads OTP's compiler on its first compile (about 300 ms), so
        the node compiles a module of its own as soon as it is up, while
        holo still analyses (or, in the daemon, before the first edit).
        """
        from holo.beam.compile_job import WARM_UP_JOB
        from holo.beam.node import BeamNode

        node = BeamNode(cache_dir=self.cache_dir, log_path=self._log_path("agent"))
        node.submit("compile", WARM_UP_JOB.to_agent())  # its result is of no use
        return node

    @cached_property
    def runtime(self) -> BeamNode:
        """The node user code is loaded into and tests run in, apart from the compiler."""
        from holo.beam.node import BeamNode

        return BeamNode(cache_dir=self.cache_dir, log_path=self._log_path("runtime"))

    @cached_property
    def compiler(self) -> Compiler:
        from holo.build.compiler import Compiler

        compiler = Compiler(lambda: self.agent, self.store, self.salt)
        self.db.services["compiler"] = compiler
        return compiler

    def start_nodes(self, *, agent: bool = True) -> None:
        """Start the nodes in the background (a few hundred ms each) while analysis runs.

        Asking for ``agent`` or ``runtime`` later waits for its start to finish.
        """
        roles = ("agent", "runtime") if agent else ("runtime",)
        self._starters = [t for t in self._starters if t.is_alive()]
        for role in roles:
            if self.has_node(role):  # a warm Session's, on every request
                continue
            starter = threading.Thread(
                target=self._start_quietly, args=(role,), name=f"holo-start-{role}", daemon=True
            )
            starter.start()
            self._starters.append(starter)

    def has_node(self, role: str) -> bool:
        """Whether the ``agent`` or ``runtime`` node has been started (or is starting)."""
        return role in self.__dict__ or any(
            t.name == f"holo-start-{role}" and t.is_alive() for t in self._starters
        )

    def _start_quietly(self, role: str) -> None:
        """Start a node ahead of need. A failure is not reported here: the first real use
        of the node tries again, in the thread that needs it, and reports it there."""
        try:
            getattr(self, role)
        except Exception:
            log.debug("starting the %s node ahead of need failed", role, exc_info=True)

    def _log_path(self, role: str) -> Path:
        return self.cache_dir / "logs" / f"{role}-{os.getpid()}.log"

    def close(self) -> None:
        for starter in self._starters:  # a node must not come up after its session closed
            starter.join()
        self.db.persist()
        for name in ("agent", "runtime"):
            node = self.__dict__.get(name)
            if node is not None:
                node.close()
        self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# Where open_session gets a Session from, when not opening one of its own.
SessionSource = Callable[[Path | str, Path | str | None], AbstractContextManager[Session]]
_session_source: SessionSource | None = None


def serve_sessions_from(source: SessionSource | None) -> None:
    """Make :func:`open_session` take its Sessions from ``source`` (None: open its own)."""
    global _session_source
    _session_source = source


@contextmanager
def open_session(root: Path | str, cache_dir: Path | str | None = None) -> Iterator[Session]:
    """The Session a command works in: its own (closed on the way out), or a warm one."""
    source = _session_source
    if source is None:
        with Session(root, cache_dir) as session:
            yield session
        return
    with source(root, cache_dir) as session:
        yield session
