"""Start-up, timed phase by phase, so a slow start says where its time went."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


def process_started() -> float:
    """When this process began, as a ``time.monotonic()`` reading: the kernel's start time
    of the process (``/proc/self/stat``), so the interpreter's own start-up counts too.
    Now, where /proc cannot tell."""
    now = time.monotonic()
    try:
        stat = Path("/proc/self/stat").read_text()
        # The command name may hold spaces and parentheses: fields count from its end.
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - max(0.0, age)


@dataclass
class PhaseClock:
    """Phases in the order they ran, each with its wall time in seconds."""

    started: float = field(default_factory=time.monotonic)
    phases: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        begun = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - begun))

    def mark(self, name: str, since: float) -> None:
        """A phase that began at ``since`` (a ``time.monotonic()`` reading) and ends now."""
        self.phases.append((name, time.monotonic() - since))

    @property
    def total(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> str:
        """``imports 0.41s, migration check 0.12s, ...``"""
        return ", ".join(f"{name} {seconds:.2f}s" for name, seconds in self.phases)
