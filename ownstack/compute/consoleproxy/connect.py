"""How the console proxy reaches a guest's console socket: the seam between the proxy and
the compute hosts.

A token names the compute host and the Unix socket its agent gave
(:class:`~ownstack.compute.objects.console_tokens.ConsoleTarget`). In the all-in-one cloud
the proxy runs on that host and opens the socket itself (:class:`LocalSockets`). A proxy
on another machine than the guest needs a relay on the compute host (the agent exporting
the socket over TLS, say); until that exists a token for another host is refused with a
clear log line rather than a silent hang.
"""

from __future__ import annotations

import asyncio
from typing import Final, Protocol

from ownstack.compute.objects.console_tokens import ConsoleTarget

READ_LIMIT: Final = 1 << 20         # bytes a console socket's reader buffers


class ConsoleUnreachable(Exception):
    """The console socket cannot be reached from here; the message says why."""


class ConsoleConnector(Protocol):
    async def open(self, target: ConsoleTarget
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A stream to the console ``target`` names, or :class:`ConsoleUnreachable`."""
        ...


class LocalSockets:
    """Consoles of the compute hosts on this machine (``hosts``), by their Unix sockets."""

    def __init__(self, hosts: frozenset[str]) -> None:
        self.hosts = hosts

    async def open(self, target: ConsoleTarget
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if target.host not in self.hosts:
            raise ConsoleUnreachable(
                f"the console of instance {target.instance_uuid} is on compute host "
                f"{target.host}, and this proxy reaches only {', '.join(sorted(self.hosts))}")
        if target.port != 0 or not target.internal_access_path:
            raise ConsoleUnreachable(f"the console of instance {target.instance_uuid} is "
                                     "not a Unix socket")
        try:
            return await asyncio.open_unix_connection(target.internal_access_path,
                                                      limit=READ_LIMIT)
        except OSError as exc:
            raise ConsoleUnreachable(
                f"the console socket of instance {target.instance_uuid} "
                f"({target.internal_access_path}) does not answer: "
                f"{exc.strerror or exc}") from None
