"""A project on disk with a warm Session, edited as a developer saving files would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from holo.session import Session
from holo.testing import TestReport, TestStatus, run_affected


@dataclass
class WarmProject:
    root: Path
    session: Session
    files: dict[str, str]  # the project as written

    def run(self, **options: object) -> TestReport:
        return run_affected(self.session, **options)  # type: ignore[arg-type]

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.write_text(text)
        self.session.workspace.apply_changes([path])

    def edit(self, rel: str, old: str, new: str) -> None:
        text = (self.root / rel).read_text()
        assert old in text, f"{old!r} is not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def restore(self) -> None:
        """The files as written again, and records that select nothing."""
        changed = []
        for directory in ("src", "test"):
            for path in (self.root / directory).glob("*.erl"):
                if path.relative_to(self.root).as_posix() not in self.files:
                    path.unlink()
                    changed.append(path)
        for rel, text in self.files.items():
            path = self.root / rel
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
                changed.append(path)
        if changed:
            self.session.workspace.apply_changes(changed)
        settled = self.run()
        assert settled.ok, failures(settled)
        assert self.run().selected == []


def failures(report: TestReport) -> list[tuple[str, str]]:
    return [(r.id, r.message) for r in report.results if not r.passed]


def statuses(report: TestReport) -> dict[str, TestStatus]:
    return {r.id: r.status for r in report.results}


def agrees_with_full_run(selective: TestReport, full: TestReport) -> list[str]:
    """Selected tests whose status differs from the full run's, and failures not selected."""
    ran = statuses(full)
    wrong = [t for t, status in statuses(selective).items() if ran.get(t) is not status]
    missed = [t for t in full.failed if t not in selective.selected]
    return wrong + missed
