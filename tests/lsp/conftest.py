"""A real LSP client talking to `python -m holo.cli lsp` over stdio, on a temp project.

:class:`Editor` drives it the way an editor does (open, change, save,
requests) and records every ``textDocument/publishDiagnostics`` with its
version, so tests can assert on all of them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.uris import from_fs_path
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, LanguageClient, register_lsp_features

from tests.lsp.demo import write_demo

# Long enough for a loaded CI machine; a server that never answers fails the test here.
WAIT_S = 60.0
SAVE_TITLE = "holo: build and test"


@dataclass
class Editor:
    client: LanguageClient
    root: Path
    published: list[types.PublishDiagnosticsParams] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    def uri(self, rel: str) -> str:
        return from_fs_path(str(self.root / rel)) or ""

    def open(self, rel: str, text: str | None = None) -> str:
        uri = self.uri(rel)
        text = (self.root / rel).read_text() if text is None else text
        self.texts[uri] = text
        self.versions[uri] = 1
        self.paths[uri] = self.root / rel
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="erlang", version=1, text=text
                )
            )
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        """Replace the whole text; the new version."""
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return self.versions[uri]

    def save(self, uri: str) -> None:
        self.paths[uri].write_text(self.texts[uri])
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def save_ends(self) -> list[str]:
        """The last message of each save job's progress, in the order the jobs began."""
        ends = []
        for reports in self.client.progress_reports.values():
            begin = reports[0] if reports else None
            if isinstance(begin, types.WorkDoneProgressBegin) and begin.title == SAVE_TITLE:
                ends += [
                    v.message or "" for v in reports if isinstance(v, types.WorkDoneProgressEnd)
                ]
        return ends

    async def saved(self, uri: str, count: int) -> str:
        """Save a document; the last message of the save job, the ``count``-th of the session."""
        self.save(uri)
        return (await self.until(lambda: self.save_ends()[count - 1 : count]))[0]

    def warnings(self) -> list[str]:
        """The warnings shown to the user (window/showMessage)."""
        return [m.message for m in self.client.messages if m.type == types.MessageType.Warning]

    def configure(self, settings: Any) -> None:
        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings)
        )

    def publishes(self, uri: str) -> list[types.PublishDiagnosticsParams]:
        return [p for p in self.published if p.uri == uri]

    async def until(self, condition: Callable[[], Any]) -> Any:
        async def poll() -> Any:
            while not (found := condition()):
                await asyncio.sleep(0.01)
            return found

        return await asyncio.wait_for(poll(), WAIT_S)

    async def diagnostics(self, uri: str, version: int) -> list[types.Diagnostic]:
        """The diagnostics published for ``version`` of a document (waits for them)."""
        found = await self.until(lambda: [p for p in self.publishes(uri) if p.version == version])
        return list(found[-1].diagnostics)

    def position(
        self, uri: str, needle: str, offset: int = 0, occurrence: int = 0
    ) -> types.Position:
        """Where the ``occurrence``-th ``needle`` starts in the document, plus ``offset``."""
        text = self.texts[uri]
        index = -1
        for _ in range(occurrence + 1):
            index = text.index(needle, index + 1)
        index += offset
        line = text.count("\n", 0, index)
        column = index - (text.rfind("\n", 0, index) + 1)
        return types.Position(line=line, character=column)

    async def definition(self, uri: str, position: types.Position) -> list[types.Location]:
        result = await self.client.text_document_definition_async(
            types.DefinitionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position
            )
        )
        return list(result or [])  # type: ignore[arg-type]


def _client(published: list[types.PublishDiagnosticsParams]) -> LanguageClient:
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)

    def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        published.append(params)
        ls.diagnostics[params.uri] = params.diagnostics

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    register_lsp_features(client, features)
    return client


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session's servers: OTP's module table is read once."""
    return tmp_path_factory.mktemp("lsp-cache")


async def start_editor(
    root: Path,
    cache: Path,
    *arguments: str,
    capabilities: types.ClientCapabilities | None = None,
    initialization_options: Any = None,
) -> Editor:
    published: list[types.PublishDiagnosticsParams] = []
    client = _client(published)
    await client.start_io(
        sys.executable, "-m", "holo.cli", "lsp", "--cache-dir", str(cache), *arguments
    )
    capabilities = capabilities or types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True)
    )
    uri = from_fs_path(str(root))
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=uri,
            workspace_folders=[types.WorkspaceFolder(uri=uri or "", name=root.name)],
            initialization_options=initialization_options,
        )
    )
    return Editor(client, root, published)


async def stop_editor(editor: Editor) -> None:
    await editor.client.shutdown_session()
    await editor.client.stop()


@pytest_asyncio.fixture
async def editor(tmp_path: Path, cache_dir: Path) -> AsyncIterator[Editor]:
    """A server on a fresh copy of the demo project, without build-on-save."""
    started = await start_editor(write_demo(tmp_path / "demo"), cache_dir, "--no-build-on-save")
    yield started
    await stop_editor(started)
