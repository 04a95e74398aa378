"""The host this process's volume services are named by: ``volume.host``, else
``compute.host``, else the machine's name (the name compute's connector gives, so a
volume and its guest meet on one host). The agent's ``cinder-volume`` and the API's
``cinder-scheduler`` share it, as Cinder's services of one machine share its ``host``."""

from __future__ import annotations

import re
import socket

from ownstack.common.config import Config

_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,190}")


def service_host(config: Config) -> str:
    """The host; :class:`ValueError` for a name the bus cannot carry."""
    host = config.volume.host or config.compute.host or socket.gethostname()
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(f"volume.host {host!r} is not a valid host name: use letters, "
                         f"digits, '.', '_' and '-'")
    return host
