"""Running the real ``openstack`` CLI for the tests.

Each command runs python-openstackclient's own entry point in a process of its own, with
its own environment, stdout and stderr, as a user's shell would run it. By default that
process is forked from a zygote that imported the client once (:mod:`helpers.osc_zygote`)
instead of exec'd from scratch: a fresh ``openstack`` spends about a second of CPU
importing itself, and the functional and e2e suites run a few thousand commands on
2 cores. ``OWNSTACK_TEST_CLI=exec`` runs every command as a plain ``openstack``
subprocess instead (the two must give the same results; a command asked for while the
zygote is busy with another thread's is exec'd too)."""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from helpers.osc_zygote import ChildExited, ChildStarted, Request

OPENSTACK = str(Path(sys.executable).parent / "openstack")
_ZYGOTE_SCRIPT = Path(__file__).with_name("osc_zygote.py")


class _Zygote:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(_ZYGOTE_SCRIPT)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lock = threading.Lock()
        self.scratch = Path(tempfile.mkdtemp(prefix="osc-zygote-"))

    def alive(self) -> bool:
        return self.process.poll() is None

    def _reply_line(self, deadline_s: float | None) -> str:
        """The zygote's next answer, still JSON: its caller knows which one it awaits."""
        assert self.process.stdout is not None
        if deadline_s is not None:
            ready, _, _ = select.select([self.process.stdout], [], [], deadline_s)
            if not ready:
                raise TimeoutError
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the openstack CLI zygote exited")
        return line

    def run(self, args: list[str], env: dict[str, str], timeout: float
            ) -> subprocess.CompletedProcess[str]:
        assert self.process.stdin is not None
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        out.write_bytes(b"")
        err.write_bytes(b"")
        request = Request(argv=args, env=env, stdout=str(out), stderr=str(err))
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        started: ChildStarted = json.loads(self._reply_line(30))
        try:
            exited: ChildExited = json.loads(self._reply_line(timeout))
        except TimeoutError:
            os.kill(started["pid"], signal.SIGKILL)
            self._reply_line(None)
            raise subprocess.TimeoutExpired([OPENSTACK, *args], timeout,
                                            output=_read(out), stderr=_read(err)) from None
        return subprocess.CompletedProcess([OPENSTACK, *args], exited["rc"],
                                           _read(out), _read(err))

    def close(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()


def _read(path: Path) -> str:
    return path.read_bytes().decode(errors="replace")


_zygote: _Zygote | None = None
_zygote_guard = threading.Lock()


def _the_zygote() -> _Zygote:
    global _zygote
    with _zygote_guard:
        if _zygote is None or not _zygote.alive():
            _zygote = _Zygote()
            atexit.register(_zygote.close)
        return _zygote


def run_openstack(args: list[str], env: dict[str, str], timeout: float = 120
                  ) -> subprocess.CompletedProcess[str]:
    """``openstack ARGS`` with exactly ``env`` as its environment, its output captured as
    text, as ``subprocess.run(..., capture_output=True, text=True)`` gives it."""
    if os.environ.get("OWNSTACK_TEST_CLI", "fork") != "exec":
        zygote = _the_zygote()
        if zygote.lock.acquire(blocking=False):
            try:
                return zygote.run(args, env, timeout)
            finally:
                zygote.lock.release()
    return subprocess.run([OPENSTACK, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)
