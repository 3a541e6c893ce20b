"""Session-wide OTP facts for the frontend tests (read once: they take a second)."""

from __future__ import annotations

import pytest

from holo.engine import MemoryStore
from holo.project.otp import locate_otp, otp_auto_imported_bifs, otp_modules
from tests.frontend.helpers import OtpFacts, Project, read_otp_headers


@pytest.fixture(scope="session")
def otp_facts() -> OtpFacts:
    info = locate_otp()
    return OtpFacts(
        info=info,
        modules=otp_modules(info, MemoryStore()),
        bifs=otp_auto_imported_bifs(info),
        headers=read_otp_headers(info),
    )


@pytest.fixture
def project(otp_facts: OtpFacts):  # noqa: ANN201 - a factory
    def make(files: dict[str, str | bytes], **options: object) -> Project:
        return Project(otp_facts, files, **options)  # type: ignore[arg-type]

    return make
