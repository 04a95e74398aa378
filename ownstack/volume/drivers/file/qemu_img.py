"""``qemu-img`` as the file driver runs it: argument lists, an explicit format for every
file it opens (``-f``: never a probe, see :mod:`ownstack.volume.drivers.base`), a
wall-clock timeout, and the process killed when the caller is cancelled."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from ownstack.volume.drivers.base import DriverError


class QemuImgError(DriverError):
    def __init__(self, verb: str, message: str) -> None:
        self.verb = verb
        super().__init__(f"qemu-img {verb} failed: {message}")


class QemuImg:
    def __init__(self, binary: str = "qemu-img", *, timeout: float = 3600.0) -> None:
        self.binary = binary
        self.timeout = timeout

    async def run(self, *args: str, timeout: float | None = None) -> bytes:
        argv = [self.binary, *args]
        env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env)
        except FileNotFoundError:
            raise QemuImgError(args[0], f"{self.binary} is not installed (Debian package "
                                        "qemu-utils)") from None
        try:
            async with asyncio.timeout(timeout or self.timeout):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            raise QemuImgError(args[0], f"timed out after {timeout or self.timeout:.0f} s"
                               ) from None
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if process.returncode != 0:
            lines = stderr.decode(errors="replace").strip().splitlines()
            raise QemuImgError(args[0], (lines[-1] if lines else
                                         f"exit status {process.returncode}")[:500])
        return stdout

    async def create(self, path: Path, fmt: str, size_bytes: int) -> None:
        await self.run("create", "-q", "-f", fmt, str(path), str(size_bytes), timeout=60)

    async def convert(self, src: Path, src_format: str, dest: Path, dest_format: str, *,
                      force_share: bool = True, options: tuple[str, ...] = ()) -> None:
        args = ["convert", "-f", src_format, "-O", dest_format]
        if force_share:
            args.append("-U")
        args += [*options, str(src), str(dest)]
        await self.run(*args)

    async def resize(self, path: Path, fmt: str, size_bytes: int) -> None:
        await self.run("resize", "-q", "-f", fmt, str(path), str(size_bytes), timeout=120)

    async def info(self, path: Path, fmt: str, *, force_share: bool = True
                   ) -> dict[str, Any]:
        args = ["info", "--output=json", "-f", fmt]
        if force_share:
            args.append("-U")
        try:
            data = json.loads(await self.run(*args, str(path), timeout=30))
        except ValueError:
            raise QemuImgError("info", "no JSON in its answer") from None
        if not isinstance(data, dict):
            raise QemuImgError("info", "no JSON object in its answer")
        return data
