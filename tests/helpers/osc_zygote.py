"""A process that has imported python-openstackclient once and forks a child for each
``openstack`` command the tests run (see :mod:`helpers.cli`).

Run as a script (``python osc_zygote.py``), it reads one JSON request per line on stdin:
``{"argv": [...], "env": {...}, "stdout": path, "stderr": path}``. For each it forks; the
child takes the request's environment, its files as fd 1 and 2 and /dev/null as fd 0,
and runs the CLI's own entry point (``openstackclient.shell.main``) on ``argv``, exactly
as the ``openstack`` script does, then exits with its status. The zygote answers with two
lines: ``{"pid": N}`` as soon as the child exists (so that the caller can kill it at its
timeout) and ``{"rc": N}`` when it has exited (a signal's death is ``-signal``, as
:mod:`subprocess` reports it). :class:`Request`, :class:`ChildStarted` and
:class:`ChildExited` are those three messages' types, for both ends.

What is shared with the child is only what importing the client's modules did; the
client's configuration (``clouds.yaml``, ``OS_*``), its sessions, tokens and caches are
all made in the child, as in a fresh process."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from typing import TypedDict

# The modules every command needs and the command modules the tests use most: what a
# fresh `openstack` process spends its first second importing.
PRELOAD = (
    "openstackclient.shell",
    "openstack.connection",
    "keystoneauth1.session",
    "osc_lib.shell",
    "openstackclient.compute.v2.server",
    "openstackclient.network.v2.network",
    "openstackclient.network.v2.port",
    "openstackclient.network.v2.subnet",
    "openstackclient.network.v2.router",
    "openstackclient.network.v2.security_group",
    "openstackclient.network.v2.floating_ip",
    "openstackclient.image.v2.image",
    "openstackclient.volume.v3.volume",
    "openstackclient.identity.v3.project",
    "openstackclient.identity.v3.user",
)


class Request(TypedDict):
    """One ``openstack`` command to run: its arguments, its whole environment, and the
    files its stdout and stderr go to."""

    argv: list[str]
    env: dict[str, str]
    stdout: str
    stderr: str


class ChildStarted(TypedDict):
    """The first answer to a request: the forked child's pid."""

    pid: int


class ChildExited(TypedDict):
    """The second answer: the child's exit status, ``-signal`` if a signal ended it."""

    rc: int


def _preload() -> None:
    import importlib

    for name in PRELOAD:             # a module a client version moved: the child imports
        with contextlib.suppress(ImportError):      # what it needs itself
            importlib.import_module(name)


def _child(request: Request) -> int:
    argv = request["argv"]
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_TRUNC)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = [sys.argv[0], *argv]
    try:
        from openstackclient.shell import main

        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if exit_.code is not None and not isinstance(exit_.code, int):
            print(exit_.code, file=sys.stderr)
    except BaseException:            # as the interpreter does: a traceback, exit 1
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):        # a closed stream: nothing to flush
            stream.flush()
    return int(code or 0)


def serve() -> None:
    # What the `openstack` script's process has as argv[0], before any import reads it
    # (cliff names the program from it when its module is imported).
    sys.argv = [os.path.join(os.path.dirname(sys.executable), "openstack")]
    _preload()
    for line in sys.stdin:
        if not line.strip():
            continue
        request: Request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = _child(request)
            finally:
                os._exit(status)
        print(json.dumps(ChildStarted(pid=pid)), flush=True)
        _, wait_status = os.waitpid(pid, 0)
        print(json.dumps(ChildExited(rc=os.waitstatus_to_exitcode(wait_status))), flush=True)


if __name__ == "__main__":
    serve()
