"""How often an input is expected to change.

A memo whose inputs are all of durability D stays valid without walking its
dependencies while no input of durability >= D changed: OTP and library files
(HIGH) confirm most of the graph with one comparison after a workspace edit.
"""

from __future__ import annotations

from enum import IntEnum


class Durability(IntEnum):
    LOW = 0  # workspace sources, open editor buffers
    MEDIUM = 1  # project configuration: rebar.config, .app.src
    HIGH = 2  # OTP and dependency files, the toolchain's facts


ALL_DURABILITIES: tuple[Durability, ...] = tuple(Durability)
