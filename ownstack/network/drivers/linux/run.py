"""Running the data path's programs (``nft``, ``sysctl``, ``ip netns exec``) from the agent:
argument lists only, a bounded time, and a :class:`DriverError` that says what failed."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from typing import Final

from ownstack.network.drivers.base import DriverError

TIMEOUT: Final = 10.0


async def run(argv: Sequence[str], *, input: str | None = None, check: bool = True,
              timeout: float = TIMEOUT) -> str:
    """Run ``argv`` with ``input`` on its stdin; its stdout. :class:`DriverError` when it
    fails (with ``check``) or takes longer than ``timeout``."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(
            process.communicate(input.encode() if input is not None else None), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise DriverError(f"{' '.join(argv[:6])} timed out after {timeout:g} s") from None
    if check and process.returncode != 0:
        raise DriverError(f"{' '.join(argv[:6])} failed: {err.decode().strip()}")
    return out.decode()


def run_sync(argv: Sequence[str], *, timeout: float = TIMEOUT) -> str:
    """:func:`run` for code already in a worker thread."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise DriverError(f"{' '.join(argv[:6])} timed out after {timeout:g} s") from None
    if done.returncode != 0:
        raise DriverError(f"{' '.join(argv[:6])} failed: {done.stderr.strip()}")
    return done.stdout
