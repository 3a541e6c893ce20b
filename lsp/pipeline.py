"""The language server's threads around the query graph: inputs in, diagnostics out.

The event loop (pygls) never touches the database. It hands each edit to the
:class:`Pipeline` and goes back to reading messages. Two threads do the work:

* the **input thread** sets the inputs: ``Workspace.set_overlay`` for an
  edited, opened or closed document, ``apply_changes`` for files changed on
  disk. Setting an input while a query runs makes the engine raise
  ``Cancelled`` in that query at its next fetch, and waits for it to unwind:
  a newer edit cancels work on older versions.
* the **analysis thread** computes ``module_diagnostics`` of open documents:
  first the edited ones (smallest first, so a huge document does not hold
  back the others), then those that include a changed header, then the other
  open ones (their diagnostics are published only if they changed). When it
  has nothing else to do it indexes the project in the background, one
  module at a time, and persists the cache.

Versioning: the input thread bumps a generation counter before and after it
sets inputs (odd while it is setting). The analysis thread notes the
generation before a document's analysis and discards the result if it moved
(or the analysis was cancelled); otherwise the result carries the document
version and the sequence number of the last edit applied, and the server
publishes it only if that version is still the document's newest (checked on
the event loop, right before publishing). So no diagnostics of an older
version are ever published after a newer version arrived.

Requests (definition, hover...) run their query in a pool thread through
:meth:`Pipeline.read`, after the document's pending edit is applied; a
request cancelled by an edit is retried.

A document over ``MAX_ANALYSED_BYTES`` is not an input: the file on disk (if
any) stays what the graph sees, the document gets one diagnostic saying so,
and requests in it get empty results. Parsing such a document would hold the
database for seconds, and with it every other document's diagnostics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from holo.diagnostics import Diagnostic, Severity
from holo.engine import Cancelled, Database
from holo.inputs import file_text
from holo.lsp.project import MAX_ANALYSED_BYTES, file_profile, visible_files
from holo.lsp.symbols import file_symbols
from holo.project.workspace import Workspace
from holo.queries.codes import DOCUMENT_TOO_LARGE
from holo.queries.interface import module_interface
from holo.queries.module_diagnostics import module_diagnostics
from holo.queries.project_check import profile_of
from holo.queries.project_index import module_index
from holo.queries.source import declared_encoding
from holo.session import Session

log = logging.getLogger(__name__)

T = TypeVar("T")

PERSIST_EVERY_S = 30.0
REQUEST_RETRIES = 50
EDIT_WAIT_S = 10.0
STOP_WAIT_S = 10.0  # a query that cannot be cancelled (a huge parse) may take this long


class NotReady(Exception):
    """The workspace could not be opened, or the server is shutting down."""


class Superseded(Exception):
    """A request was cancelled by edits too many times in a row."""


class TooLarge(NotReady):
    """The document is too large to analyse as it is typed."""


@dataclass(frozen=True)
class Edit:
    """A document's new state, as the client sent it."""

    uri: str
    path: Path
    text: str | None  # None: closed; the file on disk counts again
    version: int | None
    seq: int


@dataclass(frozen=True)
class OpenDocument:
    """A document as the database holds it."""

    key: str
    version: int | None
    text: str
    size: int = 0  # in bytes, when over MAX_ANALYSED_BYTES (then it is not an input)

    @property
    def too_large(self) -> bool:
        return self.size > MAX_ANALYSED_BYTES


@dataclass(frozen=True)
class Analysed:
    uri: str
    key: str
    version: int | None
    seq: int  # the last edit applied when it was computed
    forced: bool  # the document or a header it includes changed: publish even if equal
    text: str  # the text analysed, for converting columns
    diagnostics: tuple[Diagnostic, ...]


def too_large_diagnostic(key: str, size: int) -> Diagnostic:
    message = (
        f"this document is {size / 2**20:.1f} MB; holo checks documents up to "
        f"{MAX_ANALYSED_BYTES // 2**20} MB as they are typed, so it is not checked, "
        "and builds use the file on disk"
    )
    return Diagnostic(key, 0, 0, 0, 0, Severity.WARNING, DOCUMENT_TOO_LARGE, "holo", message)


def encode_text(text: str) -> bytes:
    """An editor buffer as file bytes: UTF-8, or Latin-1 when the file declares it."""
    data = text.encode("utf-8", "replace")
    if not data.isascii() and declared_encoding(data) == "latin-1":
        return text.encode("latin-1", "replace")
    return data


class Pipeline:
    """Owns the Session and the threads that use its database (see the module doc)."""

    def __init__(
        self,
        open_session: Callable[[], Session],
        deliver: Callable[[Analysed], None],
        on_ready: Callable[[Session], None] = lambda session: None,
        on_failure: Callable[[Exception], None] = lambda error: None,
        index_progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> None:
        self._open_session = open_session
        self._deliver = deliver
        self._on_ready = on_ready
        self._on_failure = on_failure
        self._index_progress = index_progress
        self.session: Session | None = None
        self._ready = threading.Event()
        self._cond = threading.Condition()
        self._pending: dict[str, Edit] = {}
        self._pending_disk: set[Path] = set()
        self._open: dict[str, OpenDocument] = {}
        self._applied_seq = 0
        self._generation = 0
        self._must: dict[str, None] = {}  # uri -> None: publish even if unchanged
        self._maybe: dict[str, None] = {}
        self._changed_headers: set[str] = set()
        self._index_queue: list[tuple[str, str | None, str]] | None = None
        self._index_total = 0
        self._dirty_since_persist = False
        self._last_persist = time.monotonic()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._analysis_loop, name="holo-lsp-analysis", daemon=True),
            threading.Thread(target=self._input_loop, name="holo-lsp-inputs", daemon=True),
        ]

    # ------------------------------------------------------------ control

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop both threads, persist the cache and close the session (its nodes too)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._ready.set()  # the input thread may still be waiting for the workspace
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(STOP_WAIT_S)
        session = self.session
        self.session = None
        if session is not None:
            try:
                session.close()
            except Exception:
                log.exception("closing the session")

    @property
    def workspace(self) -> Workspace:
        if self.session is None:
            raise NotReady("the workspace is not open")
        return self.session.workspace

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout) and self.session is not None

    def wait_applied(self, timeout: float = EDIT_WAIT_S) -> None:
        """Wait until the edits and file changes received so far are inputs (or
        ``timeout`` passes)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopping
                or (not self._pending and not self._pending_disk and self._generation % 2 == 0),
                timeout=timeout,
            )

    # ------------------------------------------------- from the event loop

    def submit(self, edit: Edit) -> None:
        with self._cond:
            self._pending[edit.uri] = edit
            self._cond.notify_all()

    def files_changed(self, paths: list[Path]) -> None:
        with self._cond:
            self._pending_disk.update(paths)
            self._cond.notify_all()

    def republish(self, uri: str) -> None:
        """Analyse a document again and publish the result even if unchanged."""
        with self._cond:
            if uri in self._open:
                self._must[uri] = None
                self._cond.notify_all()

    # ------------------------------------------------------------ requests

    def read(self, fn: Callable[[Database], T], uri: str | None = None) -> T:
        """Run ``fn`` (one query fetch) on the database, once ``uri``'s edits are applied.

        Retried when an edit cancels it; raises Superseded if edits keep
        cancelling it, NotReady if there is no workspace.
        """
        if not self._ready.wait(EDIT_WAIT_S * 6) or self.session is None:
            raise NotReady("the workspace is not open")
        if uri is not None:
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._stopping or (uri not in self._pending and self._generation % 2 == 0)
                    ),
                    timeout=EDIT_WAIT_S,
                )
                document = self._open.get(uri)
            if document is not None and document.too_large:
                raise TooLarge(f"{uri} is too large to analyse")
        for _ in range(REQUEST_RETRIES):
            session = self.session
            if session is None:
                raise NotReady("the server is shutting down")
            try:
                return fn(session.db)
            except Cancelled:
                time.sleep(0.002)
        raise Superseded("the document kept changing")

    # ---------------------------------------------------------- input thread

    def _input_loop(self) -> None:
        self._ready.wait()  # edits wait, in order, for the workspace to open
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._pending_disk or self._stopping)
                if self._stopping or self.session is None:
                    return
                edits = list(self._pending.values())
                disk = sorted(self._pending_disk)
                self._pending.clear()
                self._pending_disk.clear()
                self._generation += 1  # odd: inputs are being set
            changed, sizes = self._apply(edits, disk)
            with self._cond:
                for edit in edits:
                    if edit.text is None:
                        self._open.pop(edit.uri, None)
                        self._must.pop(edit.uri, None)
                        self._maybe.pop(edit.uri, None)
                    else:
                        key = self.workspace.key(edit.path)
                        size = sizes.get(edit.uri, 0)
                        self._open[edit.uri] = OpenDocument(key, edit.version, edit.text, size)
                        self._must[edit.uri] = None
                    self._applied_seq = max(self._applied_seq, edit.seq)
                self._changed_headers |= {k for k in changed if k.endswith(".hrl")}
                for uri in self._open:
                    if uri not in self._must:
                        self._maybe[uri] = None
                self._generation += 1
                self._dirty_since_persist = True
                self._cond.notify_all()

    def _apply(self, edits: list[Edit], disk: list[Path]) -> tuple[set[str], dict[str, int]]:
        """Set the inputs; the file keys whose text changed, and the sizes of the
        documents too large to be inputs (the file on disk counts for them)."""
        workspace = self.workspace
        changed: set[str] = set()
        sizes: dict[str, int] = {}
        for edit in edits:
            try:
                text = None if edit.text is None else encode_text(edit.text)
                if text is not None and len(text) > MAX_ANALYSED_BYTES:
                    sizes[edit.uri] = len(text)
                    text = None
                summary = workspace.set_overlay(edit.path, text)
            except Exception:
                log.exception("could not apply the edit of %s", edit.uri)
                continue
            changed.update(summary.changed_files)
        if disk:
            try:
                summary = workspace.apply_changes(disk)
                changed.update(summary.changed_files)
            except Exception:
                log.exception("could not apply changes on disk")
        return changed, sizes

    # -------------------------------------------------------- analysis thread

    def _analysis_loop(self) -> None:
        try:
            self.session = self._open_session()
        except Exception as e:
            log.exception("could not open the workspace")
            self._ready.set()
            self._on_failure(e)
            return
        self._ready.set()
        self._on_ready(self.session)
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._stopping
                        or (self._generation % 2 == 0 and self._has_work())
                        or (self._generation % 2 == 0 and self._has_idle_work())
                    ),
                    timeout=PERSIST_EVERY_S,
                )
                if self._stopping:
                    return
                if self._generation % 2:
                    continue
                generation = self._generation
                seq = self._applied_seq
                headers = set(self._changed_headers)
                job = None if headers else self._next_job()
            try:
                if headers:
                    self._find_includers(generation, headers)
                elif job is not None:
                    self._analyse(generation, seq, *job)
                else:
                    self._idle_step()
            except Cancelled:
                continue
            except Exception:
                log.exception("analysis failed")
                with self._cond:  # do not retry what crashes the analysis
                    self._changed_headers -= headers
                    if job is not None:
                        self._must.pop(job[0], None)
                        self._maybe.pop(job[0], None)

    def _has_work(self) -> bool:
        return bool(self._must or self._maybe or self._changed_headers)

    def _has_idle_work(self) -> bool:
        if self._index_queue is None or self._index_queue:
            return True
        return (
            self._dirty_since_persist and time.monotonic() - self._last_persist >= PERSIST_EVERY_S
        )

    def _next_job(self) -> tuple[str, OpenDocument, bool] | None:
        """The next document to analyse: must-publish ones first, the smallest first."""
        for queue, forced in ((self._must, True), (self._maybe, False)):
            for uri in [u for u in queue if u not in self._open]:
                del queue[uri]
            if queue:
                uri = min(queue, key=lambda u: len(self._open[u].text))
                return uri, self._open[uri], forced
        return None

    def _find_includers(self, generation: int, headers: set[str]) -> None:
        """Mark the open documents that include a changed header as must-publish."""
        db = self._db()
        with self._cond:
            documents = dict(self._open)
        includers = [
            uri
            for uri, document in documents.items()
            if not document.too_large and headers & set(visible_files(db, document.key)[1:])
        ]
        with self._cond:
            if self._generation != generation:
                return
            self._changed_headers -= headers
            for uri in includers:
                self._must[uri] = None
                self._maybe.pop(uri, None)

    def _analyse(
        self, generation: int, seq: int, uri: str, document: OpenDocument, forced: bool
    ) -> None:
        db = self._db()
        key = document.key
        if document.too_large:
            found: tuple[Diagnostic, ...] = (too_large_diagnostic(key, document.size),)
        elif key.endswith((".erl", ".hrl")):
            found = module_diagnostics(db, key, file_profile(db, key))
        else:
            found = ()
        with self._cond:
            if self._generation != generation:
                return  # inputs changed meanwhile: analyse again
            self._must.pop(uri, None)
            self._maybe.pop(uri, None)
        diagnostics = tuple(d for d in found if d.path == key)
        self._deliver(Analysed(uri, key, document.version, seq, forced, document.text, diagnostics))

    def _db(self) -> Database:
        session = self.session
        if session is None:
            raise NotReady("the workspace is not open")
        return session.db

    # ------------------------------------------------------------- idle work

    def _idle_step(self) -> None:
        """Index one module (its interface and symbols), or persist the cache."""
        db = self._db()
        if self._index_queue is None:
            entries = [(m.path, m.module, profile_of(m.is_test)) for m in module_index(db)]
            headers = [(p, None, "") for p in self.workspace.files if p.endswith(".hrl")]
            self._index_queue = (entries + headers)[::-1]
            self._index_total = len(self._index_queue)
            self._index_progress(0, self._index_total)
        if self._index_queue:
            entry = self._index_queue.pop()
            path, module, profile = entry
            try:
                text = file_text(db, path)
                if text is not None and len(text) <= MAX_ANALYSED_BYTES:
                    if module is not None:
                        module_interface(db, module, profile)
                    file_symbols(db, path)
            except Cancelled:
                self._index_queue.append(entry)  # an edit came first: index it later
                raise
            done = self._index_total - len(self._index_queue)
            self._index_progress(done, self._index_total)
            if not self._index_queue:
                self._persist()
            return
        self._persist()

    def _persist(self) -> None:
        started = time.perf_counter()
        written = self._db().persist()
        self._dirty_since_persist = False
        self._last_persist = time.monotonic()
        log.info("persisted %d results in %.2fs", written, time.perf_counter() - started)
