"""`holo lsp`: the Language Server Protocol over stdio, on the same query graph as the CLI.

The server keeps, on pygls' event loop, what the client has told it: the
open documents and their newest versions. Everything that reads or writes the
database runs elsewhere (:mod:`holo.lsp.pipeline`): edits go to the input
thread, diagnostics come back from the analysis thread and are published
here, after checking that their version is still the document's newest.
Requests run their query in a small thread pool. A request the server cannot
answer (no workspace, a document that keeps changing, an unexpected error)
gets an empty result, and the error is logged.

Saves go to :mod:`holo.lsp.save`'s runner, which is there from ``initialize``
on: a save that arrives while the workspace is still opening waits for it.
The nodes a save loads into come from the client's settings, the command
line and rebar.config (:mod:`holo.lsp.targets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from holo import __version__
from holo.diagnostics import Diagnostic
from holo.inputs import external_module, project_model
from holo.lsp import completion as completion_queries
from holo.lsp import convert
from holo.lsp.definitions import Site, definition
from holo.lsp.hover import function_markdown, hover
from holo.lsp.otp_sources import OtpSources
from holo.lsp.pipeline import Analysed, Edit, NotReady, Pipeline, Superseded
from holo.lsp.positions import UTF16, LineTable
from holo.lsp.references import references
from holo.lsp.save import BuildOnSave, SaveHook, SaveOutcome, SaveRunner
from holo.lsp.symbols import file_symbols, matches, workspace_symbols
from holo.lsp.targets import NodeTargets, choose, from_client
from holo.session import Session

log = logging.getLogger(__name__)

T = TypeVar("T")

ERLANG_SUFFIXES = (".erl", ".hrl")
MAX_WORKSPACE_SYMBOLS = 200
MAX_COMPLETIONS = 1000
PROGRESS_STEP = 5  # percent between two index progress reports
READY_WAIT_S = 60.0


@dataclass(frozen=True)
class ServerOptions:
    root: Path  # used when the client names no root
    cache_dir: Path | None = None  # None: $HOLO_CACHE_DIR or ~/.cache/holo
    build_on_save: bool = True
    tests_on_save: bool = True
    nodes: tuple[str, ...] = ()  # --node: user nodes to hot-load into on save
    cookie: str | None = None  # --cookie
    force: bool = False  # --force: replace code even if old code is in use


class ClientProgress:
    """One ``$/progress`` sequence (create, begin, report..., end), sent from any thread.

    A no-op when the client does not support server-initiated progress.
    """

    def __init__(self, server: HoloServer, title: str) -> None:
        self._server = server
        self._token = f"holo-{uuid.uuid4().hex[:12]}"
        self._created: asyncio.Future[bool] | None = None
        if server.progress_supported:
            self._created = server.run_on_loop(self._create(title))

    async def _create(self, title: str) -> bool:
        progress = self._server.ls.work_done_progress
        try:
            await progress.create_async(self._token)
        except Exception as e:  # the client refused: report nothing
            log.debug("progress not created: %s", e)
            return False
        progress.begin(self._token, types.WorkDoneProgressBegin(title=title, percentage=0))
        return True

    async def _send(self, value: types.WorkDoneProgressReport | types.WorkDoneProgressEnd) -> None:
        created = self._created
        if created is None or not await asyncio.wrap_future(created):  # type: ignore[arg-type]
            return
        if isinstance(value, types.WorkDoneProgressEnd):
            self._server.ls.work_done_progress.end(self._token, value)
        else:
            self._server.ls.work_done_progress.report(self._token, value)

    def report(self, message: str, percentage: int | None = None) -> None:
        if self._created is not None:
            value = types.WorkDoneProgressReport(message=message, percentage=percentage)
            self._server.run_on_loop(self._send(value))

    def end(self, message: str) -> None:
        if self._created is not None:
            self._server.run_on_loop(self._send(types.WorkDoneProgressEnd(message=message)))


class HoloServer:
    """The language server: pygls handlers, the open documents, publishing."""

    def __init__(self, options: ServerOptions, save_hook: SaveHook | None = None) -> None:
        self.options = options
        self.ls = LanguageServer("holo", __version__)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pipeline: Pipeline | None = None
        self.requests = ThreadPoolExecutor(max_workers=2, thread_name_prefix="holo-lsp-request")
        self.encoding = UTF16
        self.progress_supported = False
        self.versions: dict[str, int | None] = {}  # open documents: the newest version received
        self.edit_seq = 0
        self.analysed: dict[str, Analysed] = {}  # the newest published analysis per document
        self.published: dict[str, tuple[Any, ...]] = {}
        self.save_diagnostics: dict[str, tuple[Diagnostic, ...]] = {}
        self.otp_modules: tuple[str, ...] = ()
        self.otp_sources = OtpSources()
        self.client_targets: NodeTargets | None = None  # what the client's settings name
        self.load_problems: tuple[str, ...] = ()  # the last save's
        if save_hook is None and options.build_on_save:
            save_hook = BuildOnSave(
                tests=options.tests_on_save, targets=self.node_targets, force=options.force
            )
        self.save_hook = save_hook
        self.saves: SaveRunner | None = None
        self._index_progress: ClientProgress | None = None
        self._index_reported = -PROGRESS_STEP
        self._closed = False
        self._register()

    # ----------------------------------------------------------- threads

    def run_on_loop(self, coroutine: Any) -> Any:
        """Schedule a coroutine on the event loop from any thread; its concurrent future."""
        if self.loop is None or self.loop.is_closed():
            coroutine.close()
            return None
        try:
            return asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError:  # the loop is shutting down
            coroutine.close()
            return None

    def call_on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            self.loop.call_soon_threadsafe(fn, *args)

    def close(self) -> None:
        """Stop the threads, persist the cache, close the BEAM nodes (once)."""
        if self._closed:
            return
        self._closed = True
        if self.saves is not None:
            self.saves.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
        self.requests.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ startup

    def _root(self, params: types.InitializeParams) -> Path:
        for uri in [f.uri for f in params.workspace_folders or []] + [params.root_uri]:
            if uri:
                path = to_fs_path(uri)
                if path:
                    return Path(path)
        if params.root_path:
            return Path(params.root_path)
        return self.options.root

    def initialize(self, params: types.InitializeParams) -> None:
        self.loop = asyncio.get_running_loop()
        encoding = self.ls.workspace.position_encoding or UTF16
        self.encoding = encoding.value if isinstance(encoding, Enum) else str(encoding)
        window = params.capabilities.window
        self.progress_supported = bool(window and window.work_done_progress)
        root = self._root(params)
        cache_dir = self.options.cache_dir
        self.pipeline = Pipeline(
            lambda: Session(root, cache_dir),
            lambda result: self.call_on_loop(self._on_analysed, result),
            on_ready=self._on_ready,
            on_failure=lambda e: self.call_on_loop(self._show_error, f"holo: {e}"),
            index_progress=self._on_index_progress,
        )
        self.pipeline.start()
        self.configure(params.initialization_options)
        if self.save_hook is not None:
            pipeline = self.pipeline
            self.saves = SaveRunner(
                self.save_hook,
                lambda: pipeline.session if pipeline.wait_ready() else None,
                lambda title: ClientProgress(self, title),
                lambda outcome: self.call_on_loop(self._on_save, outcome),
                settle=pipeline.wait_applied,
            )

    def _on_ready(self, session: Session) -> None:
        self.otp_modules = tuple(sorted(k[0] for k in session.db.input_keys(external_module)))

    def configure(self, settings: Any) -> None:
        """Take the nodes and cookie the client's settings name, if they name any."""
        targets, problems = from_client(settings)
        if targets is not None:
            self.client_targets = targets
        if problems:
            message = "holo: ignoring settings: " + "; ".join(problems)
            self.call_on_loop(self._show_warning, message)

    def node_targets(self, session: Session) -> NodeTargets:
        """The nodes a save loads into now (any thread)."""
        command_line = NodeTargets(self.options.nodes, self.options.cookie)
        return choose(self.client_targets, command_line, project_model(session.db).settings)

    def _on_index_progress(self, done: int, total: int) -> None:
        if done == 0 and total:
            self._index_progress = ClientProgress(self, f"holo: indexing {total} files")
            return
        progress = self._index_progress
        if progress is None:
            return
        percentage = done * 100 // max(total, 1)
        if done >= total:
            progress.end(f"{total} files indexed")
            self._index_progress = None
            session = self.pipeline.session if self.pipeline is not None else None
            if self.saves is not None and session is not None:
                session.start_nodes()  # now, so the first save need not wait for them
        elif percentage >= self._index_reported + PROGRESS_STEP:
            self._index_reported = percentage
            progress.report(f"{done}/{total}", percentage)

    def _show_error(self, message: str) -> None:
        self.ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )

    def _show_warning(self, message: str) -> None:
        self.ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=message)
        )

    def _register_file_watchers(self) -> None:
        capabilities = self.ls.client_capabilities.workspace
        watched = capabilities.did_change_watched_files if capabilities else None
        if not (watched and watched.dynamic_registration):
            return
        globs = ["**/*.erl", "**/*.hrl", "**/*.app.src", "**/rebar.config"]
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=g) for g in globs]
        )
        registration = types.Registration(
            id="holo-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        self.ls.client_register_capability(types.RegistrationParams(registrations=[registration]))

    # ---------------------------------------------------------- documents

    @staticmethod
    def is_erlang(uri: str) -> bool:
        path = to_fs_path(uri)
        return path is not None and path.endswith(ERLANG_SUFFIXES)

    def _submit(self, uri: str, text: str | None, version: int | None) -> None:
        path = to_fs_path(uri)
        if self.pipeline is None or path is None:
            return
        self.edit_seq += 1
        self.pipeline.submit(Edit(uri, Path(path), text, version, self.edit_seq))

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        if not self.is_erlang(document.uri):
            return
        self.versions[document.uri] = document.version
        self._submit(document.uri, document.text, document.version)

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri not in self.versions:
            return
        self.versions[uri] = params.text_document.version
        text = self.ls.workspace.get_text_document(uri).source
        self._submit(uri, text, params.text_document.version)

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if self.versions.pop(uri, False) is False:
            return
        self.analysed.pop(uri, None)
        self.published.pop(uri, None)
        self._submit(uri, None, None)
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        path = to_fs_path(uri)
        if self.saves is None or path is None or not self.is_erlang(uri):
            return
        self.saves.saved(Path(path))

    def did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        self.configure(params.settings)

    def did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        paths = [Path(p) for c in params.changes if (p := to_fs_path(c.uri))]
        if self.pipeline is not None and paths:
            self.pipeline.files_changed(paths)

    # --------------------------------------------------------- publishing

    def _on_analysed(self, result: Analysed) -> None:
        """On the loop: publish if the result's version is still the document's newest."""
        if result.uri not in self.versions or self.versions[result.uri] != result.version:
            return  # closed, or a newer version arrived: its own analysis will publish
        if not result.forced and result.seq != self.edit_seq:
            return  # computed before newer edits elsewhere: the next round publishes it
        self.analysed[result.uri] = result
        self._publish(result.uri, forced=result.forced)

    def _publish(self, uri: str, forced: bool) -> None:
        result = self.analysed[uri]
        extra = tuple(
            d for d in self.save_diagnostics.get(result.key, ()) if d not in result.diagnostics
        )
        state = (result.version, result.diagnostics, extra)
        if not forced and self.published.get(uri) == state:
            return
        self.published[uri] = state
        found = convert.diagnostics(result.diagnostics, LineTable(result.text), self.encoding)
        if extra:
            current = self.ls.workspace.get_text_document(uri).source
            found += convert.diagnostics(extra, LineTable(current), self.encoding)
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=result.version)
        )

    def _on_save(self, outcome: SaveOutcome) -> None:
        """On the loop: the save job's diagnostics replace the previous job's."""
        # Shown when they change (every save's progress message has them): an
        # unreachable node is one warning, not one per save.
        if outcome.problems and outcome.problems != self.load_problems:
            self._show_warning("holo: " + "\n".join(outcome.problems))
        self.load_problems = outcome.problems
        changed = set(self.save_diagnostics) | set(outcome.diagnostics)
        self.save_diagnostics = dict(outcome.diagnostics)
        open_keys = {result.key: uri for uri, result in self.analysed.items()}
        for key in sorted(changed):
            uri = open_keys.get(key)
            if uri is not None:
                if self.versions.get(uri) == self.analysed[uri].version:
                    self._publish(uri, forced=True)
                elif self.pipeline is not None:
                    self.pipeline.republish(uri)
                continue
            path = self._file_path(key)
            if path is None or from_fs_path(str(path)) in self.versions:
                continue
            found = self.save_diagnostics.get(key, ())
            table = LineTable(_read_text(path) if found else "")
            self.ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=from_fs_path(str(path)) or str(path),
                    diagnostics=convert.diagnostics(found, table, self.encoding),
                )
            )

    # ----------------------------------------------------------- requests

    def _file_path(self, key: str) -> Path | None:
        if key.startswith("/"):
            return Path(key)
        if self.pipeline is None or self.pipeline.session is None:
            return None
        return self.pipeline.workspace.root / key

    def _key(self, uri: str) -> str:
        """The file key of a document (waits for the workspace to open)."""
        path = to_fs_path(uri)
        if path is None or self.pipeline is None:
            raise NotReady(f"{uri} is not a file")
        if not self.pipeline.wait_ready(READY_WAIT_S):
            raise NotReady("the workspace is not open")
        return self.pipeline.workspace.key(path)

    def _text(self, uri: str) -> str:
        if uri in self.versions:
            return self.ls.workspace.get_text_document(uri).source
        path = to_fs_path(uri)
        return _read_text(Path(path)) if path else ""

    async def _request(self, fn: Callable[..., T], empty: T, *args: Any) -> T:
        """Run ``fn(*args)`` in the request pool; ``empty`` when it cannot be answered."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.requests, fn, *args)
        except (NotReady, Superseded) as e:
            log.info("request not answered: %s", e)
        except Exception:
            log.exception("request failed")
        return empty

    def _position(self, uri: str, text: str, position: types.Position) -> tuple[str, int, int]:
        """The document's file key and the position as (line, code-point column)."""
        column = LineTable(text).code_point_column(position, self.encoding)
        return self._key(uri), position.line, column

    def _location(self, site: Site, texts: dict[str, LineTable]) -> types.Location | None:
        if site.find is not None:
            located = self.otp_sources.locate(site)
            if located is None:
                return None
            site = located
        path = self._file_path(site.path)
        if path is None:
            return None
        uri = from_fs_path(str(path)) or str(path)
        table = texts.get(uri)
        if table is None:
            table = texts[uri] = LineTable(self._text(uri))
        return types.Location(uri=uri, range=table.range(site.range, self.encoding))

    def definition(self, uri: str, text: str, position: types.Position) -> list[types.Location]:
        key, line, column = self._position(uri, text, position)
        assert self.pipeline is not None
        sites = self.pipeline.read(lambda db: definition(db, key, line, column), uri)
        texts = {uri: LineTable(text)}
        return [loc for site in sites if (loc := self._location(site, texts)) is not None]

    def references(
        self, uri: str, text: str, position: types.Position, include_declaration: bool
    ) -> list[types.Location]:
        key, line, column = self._position(uri, text, position)
        assert self.pipeline is not None
        sites = self.pipeline.read(
            lambda db: references(db, key, line, column, include_declaration), uri
        )
        texts = {uri: LineTable(text)}
        return [loc for site in sites if (loc := self._location(site, texts)) is not None]

    def hover(self, uri: str, text: str, position: types.Position) -> types.Hover | None:
        key, line, column = self._position(uri, text, position)
        assert self.pipeline is not None
        info = self.pipeline.read(lambda db: hover(db, key, line, column), uri)
        if info is None:
            return None
        markdown = info.markdown
        if info.otp is not None:
            markdown = function_markdown(info.title, self.otp_sources.docs(info.otp))
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown),
            range=LineTable(text).range(info.range, self.encoding),
        )

    def document_symbols(self, uri: str, text: str) -> list[types.DocumentSymbol]:
        key = self._key(uri)
        assert self.pipeline is not None
        symbols = self.pipeline.read(lambda db: file_symbols(db, key), uri)
        table = LineTable(text)
        return [convert.document_symbol(s, table, self.encoding) for s in symbols]

    def workspace_symbols(self, query_text: str) -> list[types.WorkspaceSymbol]:
        if self.pipeline is None or not self.pipeline.wait_ready(READY_WAIT_S):
            raise NotReady("the workspace is not open")
        entries = self.pipeline.read(workspace_symbols)
        found: list[types.WorkspaceSymbol] = []
        texts: dict[str, LineTable] = {}
        for name, kind, path, where in entries:
            if not matches(query_text, name):
                continue
            location = self._location(Site(path, where), texts)
            if location is not None:
                found.append(
                    types.WorkspaceSymbol(name=name, kind=types.SymbolKind(kind), location=location)
                )
            if len(found) >= MAX_WORKSPACE_SYMBOLS:
                break
        return found

    def completion(self, uri: str, text: str, position: types.Position) -> types.CompletionList:
        key, line, column = self._position(uri, text, position)
        prefix = LineTable(text).line(line)[:column]
        context = completion_queries.context_at(prefix)
        if context is None:
            return types.CompletionList(is_incomplete=False, items=[])
        assert self.pipeline is not None
        candidates = self.pipeline.read(
            lambda db: completion_queries.completions(db, key, context.kind, context.argument),
            uri,
        )
        items = [
            convert.completion_item(c) for c in candidates if c.insert.startswith(context.prefix)
        ]
        if context.kind == completion_queries.NAMES:
            known = {item.label for item in items}
            items += [
                types.CompletionItem(label=m, kind=types.CompletionItemKind.Module, detail="OTP")
                for m in self.otp_modules
                if m.startswith(context.prefix) and m not in known
            ]
        return types.CompletionList(
            is_incomplete=len(items) > MAX_COMPLETIONS, items=items[:MAX_COMPLETIONS]
        )

    # ------------------------------------------------------------ handlers

    def _register(self) -> None:
        ls = self.ls

        @ls.feature(types.INITIALIZE)
        def _initialize(ls: LanguageServer, params: types.InitializeParams) -> None:
            self.initialize(params)

        @ls.feature(types.INITIALIZED)
        def _initialized(ls: LanguageServer, params: types.InitializedParams) -> None:
            self._register_file_watchers()

        @ls.feature(types.SHUTDOWN)
        def _shutdown(ls: LanguageServer, params: None) -> None:
            self.close()

        @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
        def _did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
            self.did_open(params)

        @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
        def _did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
            self.did_change(params)

        @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
        def _did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
            self.did_close(params)

        @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
        def _did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
            self.did_save(params)

        @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
        def _configuration(ls: LanguageServer, params: types.DidChangeConfigurationParams) -> None:
            self.did_change_configuration(params)

        @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
        def _watched(ls: LanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
            self.did_change_watched_files(params)

        @ls.feature(types.TEXT_DOCUMENT_DEFINITION)
        async def _definition(
            ls: LanguageServer, params: types.DefinitionParams
        ) -> list[types.Location]:
            uri = params.text_document.uri
            return await self._request(self.definition, [], uri, self._text(uri), params.position)

        @ls.feature(types.TEXT_DOCUMENT_REFERENCES)
        async def _references(
            ls: LanguageServer, params: types.ReferenceParams
        ) -> list[types.Location]:
            uri = params.text_document.uri
            declaration = params.context.include_declaration if params.context else True
            return await self._request(
                self.references, [], uri, self._text(uri), params.position, declaration
            )

        @ls.feature(types.TEXT_DOCUMENT_HOVER)
        async def _hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
            uri = params.text_document.uri
            return await self._request(self.hover, None, uri, self._text(uri), params.position)

        @ls.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
        async def _document_symbols(
            ls: LanguageServer, params: types.DocumentSymbolParams
        ) -> list[types.DocumentSymbol]:
            uri = params.text_document.uri
            return await self._request(self.document_symbols, [], uri, self._text(uri))

        @ls.feature(types.WORKSPACE_SYMBOL)
        async def _workspace_symbols(
            ls: LanguageServer, params: types.WorkspaceSymbolParams
        ) -> list[types.WorkspaceSymbol]:
            return await self._request(self.workspace_symbols, [], params.query)

        @ls.feature(
            types.TEXT_DOCUMENT_COMPLETION,
            types.CompletionOptions(trigger_characters=[":", "?", "#", ".", "{"]),
        )
        async def _completion(
            ls: LanguageServer, params: types.CompletionParams
        ) -> types.CompletionList:
            uri = params.text_document.uri
            empty = types.CompletionList(is_incomplete=False, items=[])
            return await self._request(
                self.completion, empty, uri, self._text(uri), params.position
            )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def serve(options: ServerOptions) -> int:
    """Speak LSP on stdin/stdout until the client says exit (or goes away)."""
    server = HoloServer(options)
    try:
        server.ls.start_io()
    finally:
        server.close()
    return 0
