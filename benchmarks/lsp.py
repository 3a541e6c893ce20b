"""How fast is `holo lsp`? Prints figures; asserts nothing (run it on a quiet machine).

    python benchmarks/lsp.py [--modules 1000] [--edits 40] [--otp-apps stdlib,kernel,compiler]

Drives `python -m holo.cli lsp` through a real LSP client over stdio
(pytest-lsp's), on two workspaces:

* a generated project (benchmarks/genproject.py, 1000 modules) plus one
  2000-line module that calls into it;
* OTP's own sources laid out as a rebar3 project (stdlib, kernel and
  compiler by default: 240 modules, 257,000 lines), editing stdlib's epp.erl
  (2100 lines).

For each: time to the first diagnostics after initialize + didOpen, with a
cold cache and again with the cache the first run left (a fresh process both
times); didChange -> publishDiagnostics for a function-body edit of the
2000-line module (median and p95; target <= 50 ms and <= 150 ms);
definition and references latency; the server's resident memory. Then, on
the generated project, a 5 MB document of random bytes is opened while
another module is edited (the server does not analyse documents over 2 MB as
they are typed: it says so in one diagnostic).

Each figure with a target is printed beside it, met or missed, and all of
them again at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.protocol import default_converter
from pygls.uris import from_fs_path
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, LanguageClient, register_lsp_features

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.genproject import generate, layout_otp  # noqa: E402

BIG_FUNCTIONS = 250  # x 8 lines: a 2000-line module
OTP_EDITED = ("stdlib", "apps/stdlib/src/epp.erl")  # the app it needs, the module edited

# didChange -> publishDiagnostics for a function-body edit of a 2000-line module, in ms.
CHANGE_MEDIAN_MS = 50.0
CHANGE_P95_MS = 150.0


class Verdicts:
    """Figures that have a target: each is printed beside it, and all at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, float]] = []  # (where, measure, figure, target)

    def judge(self, where: str, measure: str, figure_ms: float, target_ms: float) -> str:
        self.rows.append((where, measure, figure_ms, target_ms))
        verdict = _verdict(figure_ms, target_ms)
        return f"{measure} {figure_ms:.1f} ms (target <= {target_ms:.0f} ms: {verdict})"

    def print_all(self) -> None:
        if not self.rows:
            return
        print("targets:")
        for where, measure, figure, target in self.rows:
            print(
                f"  {where}: didChange -> publishDiagnostics {measure} {figure:.1f} ms, "
                f"target <= {target:.0f} ms: {_verdict(figure, target)}"
            )


def _verdict(figure: float, target: float) -> str:
    return "met" if figure <= target else "MISSED"


VERDICTS = Verdicts()


def big_module(modules: tuple[str, ...]) -> str:
    """A 2000-line module whose functions call the generated modules and OTP."""
    lines = ["-module(gp_big).", '-include("shared.hrl").', "-export([run/1]).", ""]
    lines += ["run(X) ->", "    f0(X).", ""]
    for i in range(BIG_FUNCTIONS):
        callee = modules[i % len(modules)]
        following = f"f{i + 1}(Y)" if i + 1 < BIG_FUNCTIONS else "Y"
        lines += [
            f"f{i}(X) ->",
            f"    Y = {callee}:compute(X) + {i},",
            "    Items = [#item{id = I, qty = I} || I <- lists:seq(1, Y rem 7)],",
            f"    case {callee}:total(Items) of",
            "        0 -> ?DOUBLE(Y);",
            f"        _ -> {following}",
            "    end.",
            "",
        ]
    return "\n".join(lines) + "\n"


class Client:
    """An LSP client on a `holo lsp` subprocess, recording when each publish arrives."""

    def __init__(self) -> None:
        self.client = LanguageClient(converter_factory=default_converter)
        self.published: list[tuple[float, types.PublishDiagnosticsParams]] = []
        self.indexed_at: float | None = None
        features = dict(DEFAULT_CLIENT_FEATURES)
        default_progress = features[types.PROGRESS]

        def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
            self.published.append((time.perf_counter(), params))

        def progress(ls: LanguageClient, params: types.ProgressParams) -> None:
            default_progress(ls, params)
            last = ls.progress_reports.get(params.token, [None])[-1]
            if isinstance(last, types.WorkDoneProgressEnd) and "indexed" in (last.message or ""):
                self.indexed_at = time.perf_counter()

        features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
        features[types.PROGRESS] = progress
        register_lsp_features(self.client, features)

    async def start(self, root: Path, cache: Path) -> float:
        """Start and initialize; the perf_counter time the initialize request was sent."""
        await self.client.start_io(
            sys.executable, "-m", "holo.cli", "lsp", "--no-build-on-save", "--cache-dir", str(cache)
        )
        started = time.perf_counter()
        await self.client.initialize_session(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True)
                ),
                root_uri=from_fs_path(str(root)),
            )
        )
        return started

    async def stop(self) -> None:
        await self.client.shutdown_session()
        await self.client.stop()

    def rss_mb(self) -> tuple[float, float]:
        """The server's resident memory now and at its peak, in MiB."""
        server = self.client._server
        fields: dict[str, float] = {}
        if server is not None:
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0]) / 1024
        return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="erlang", version=1, text=text
                )
            )
        )

    def change(self, uri: str, version: int, text: str) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def published_at(self, uri: str, version: int, timeout: float = 300) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, params in self.published:
                if params.uri == uri and params.version == version:
                    return at
            await asyncio.sleep(0.001)
        raise TimeoutError(f"no diagnostics for version {version} of {uri}")

    async def until_indexed(self, timeout: float = 600) -> None:
        deadline = time.perf_counter() + timeout
        while self.indexed_at is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def p95_of(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"median {ms(statistics.median(ordered))}, p95 {ms(p95_of(ordered))}, max {ms(ordered[-1])}"
    )


def position(text: str, needle: str, offset: int = 0) -> types.Position:
    index = text.index(needle) + offset
    return types.Position(
        line=text.count("\n", 0, index), character=index - (text.rfind("\n", 0, index) + 1)
    )


async def first_diagnostics(root: Path, cache: Path, rel: str, label: str) -> None:
    client = Client()
    started = await client.start(root, cache)
    uri = from_fs_path(str(root / rel)) or ""
    client.open(uri, (root / rel).read_text())
    at = await client.published_at(uri, 1)
    await client.until_indexed()
    indexed = (
        f", background indexing done after {client.indexed_at - started:.2f} s"
        if (client.indexed_at)
        else ""
    )
    print(f"  first diagnostics, {label}: {at - started:.2f} s after initialize{indexed}")
    await client.stop()


async def interactive(
    where: str,
    root: Path,
    cache: Path,
    rel: str,
    edits: int,
    body_line: str,
    call: str,
    reference: str,
) -> None:
    """didChange -> publish, definition and references latency, memory, on a warm server."""
    client = Client()
    await client.start(root, cache)
    uri = from_fs_path(str(root / rel)) or ""
    text = (root / rel).read_text()
    client.open(uri, text)
    await client.published_at(uri, 1)
    await client.until_indexed()
    lines = text.split("\n")
    target = lines.index(body_line)
    latencies: list[float] = []
    for version in range(2, edits + 2):
        edited = list(lines)
        edited[target] = body_line + f"  % edit {version}"
        edited.insert(target, f"    _ = {version},")
        sent = time.perf_counter()
        client.change(uri, version, "\n".join(edited))
        latencies.append(await client.published_at(uri, version) - sent)
        await asyncio.sleep(0.1)  # an edit, then a pause: each is timed on its own
    timed = sorted(latencies[1:] or latencies)  # the first edit warms the server up
    median = VERDICTS.judge(where, "median", statistics.median(timed) * 1000, CHANGE_MEDIAN_MS)
    p95 = VERDICTS.judge(where, "p95", p95_of(timed) * 1000, CHANGE_P95_MS)
    print(
        f"  didChange -> publishDiagnostics ({len(lines)}-line module, {len(timed)} edits): "
        f"{median}, {p95}, max {ms(timed[-1])}"
    )
    final = "\n".join(lines)
    client.change(uri, edits + 2, final)
    await client.published_at(uri, edits + 2)
    document = types.TextDocumentIdentifier(uri=uri)
    for label, needle, request in (
        ("definition", call, "definition"),
        ("references", reference, "references"),
    ):
        where = position(final, needle, needle.index(":") + 1 if ":" in needle else 0)
        samples = []
        found = None
        for _ in range(15):
            sent = time.perf_counter()
            if request == "definition":
                found = await client.client.text_document_definition_async(
                    types.DefinitionParams(text_document=document, position=where)
                )
            else:
                found = await client.client.text_document_references_async(
                    types.ReferenceParams(
                        text_document=document,
                        position=where,
                        context=types.ReferenceContext(include_declaration=True),
                    )
                )
            samples.append(time.perf_counter() - sent)
        count = len(found) if isinstance(found, list | tuple) else 0
        print(
            f"  {label} of {needle!r} ({count} locations): first {ms(samples[0])}, "
            f"then {summary(samples[1:])}"
        )
    rss, peak = client.rss_mb()
    print(f"  server memory: {rss:.0f} MiB resident, {peak:.0f} MiB peak")
    await client.stop()


async def huge_document(root: Path, cache: Path, small: str, call: str) -> None:
    """A 5 MB document of random bytes opened while another document is edited."""
    client = Client()
    await client.start(root, cache)
    small_uri = from_fs_path(str(root / small)) or ""
    text = (root / small).read_text()
    client.open(small_uri, text)
    await client.published_at(small_uri, 1)
    await client.until_indexed()
    huge_uri = from_fs_path(str(root / "src" / "huge.erl")) or ""
    junk = random.Random(7).randbytes(5 * 2**20).decode("utf-8", "replace")
    opened = time.perf_counter()
    client.open(huge_uri, junk)
    await asyncio.sleep(0.05)  # the huge document's analysis is under way
    sent = time.perf_counter()
    client.change(small_uri, 2, text.replace("    X * 3.", "    X * 4."))
    request = client.client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=small_uri),
            position=position(text, call, call.index(":") + 1),
        )
    )
    found = await request
    answered = time.perf_counter() - sent
    edited = await client.published_at(small_uri, 2) - sent
    analysed = await client.published_at(huge_uri, 1) - opened
    count = len(found) if isinstance(found, list | tuple) else 0
    print(
        f"  5 MB random-bytes document: its diagnostics after {analysed:.2f} s; meanwhile a "
        f"definition in another module answered after {answered:.2f} s ({count} location), "
        f"an edit there published after {edited:.2f} s"
    )
    rss, peak = client.rss_mb()
    print(f"  server memory with it open: {rss:.0f} MiB resident, {peak:.0f} MiB peak")
    await client.stop()


async def generated(args: argparse.Namespace, work: Path) -> None:
    root = work / "generated"
    project = generate(root, args.modules, seed=1)
    (root / "src" / "gp_big.erl").write_text(big_module(project.modules))
    print(f"generated project: {args.modules} modules + gp_big.erl (2000 lines)")
    cache = work / "cache-generated"
    await first_diagnostics(root, cache, "src/gp_big.erl", "cold cache")
    await first_diagnostics(root, cache, "src/gp_big.erl", "warm cache")
    callee = project.modules[100 % len(project.modules)]
    await interactive(
        "generated project",
        root,
        cache,
        "src/gp_big.erl",
        args.edits,
        body_line=f"    Y = {callee}:compute(X) + 100,",
        call=f"{callee}:compute",
        reference=f"{callee}:total",
    )
    if not args.skip_huge:
        first = project.modules[0]
        await huge_document(
            root, cache, f"src/{first}.erl", f"{project.callees[first][0]}:helper_value"
        )


async def otp(args: argparse.Namespace, work: Path) -> None:
    apps = tuple(a for a in args.otp_apps.split(",") if a)
    needed, rel = OTP_EDITED
    if needed not in apps:
        raise SystemExit(f"--otp-apps must include {needed}: the benchmark edits {rel}")
    root = layout_otp(work / "otp", apps)
    print(f"OTP sources as a workspace: {', '.join(apps)}")
    cache = work / "cache-otp"
    await first_diagnostics(root, cache, rel, "cold cache")
    await first_diagnostics(root, cache, rel, "warm cache")
    await interactive(
        f"OTP ({', '.join(apps)})",
        root,
        cache,
        rel,
        args.edits,
        body_line="    epp_request(Epp, scan_erl_form).",
        call="erl_parse:parse_form",
        reference="epp_request(Epp, scan_erl_form)",
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="holo-lsp-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_generated:
            await generated(args, work)
        if not args.skip_otp:
            await otp(args, work)
    VERDICTS.print_all()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--otp-apps", default="stdlib,kernel,compiler")
    parser.add_argument("--skip-generated", action="store_true")
    parser.add_argument("--skip-otp", action="store_true")
    parser.add_argument("--skip-huge", action="store_true", help="skip the 5 MB document")
    asyncio.run(main(parser.parse_args()))
