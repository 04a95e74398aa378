"""Console bodies, after Nova's ``schemas/remote_consoles.py``: the ``remote_console``
object of ``POST /servers/{id}/remote-consoles`` (2.6+; ``mks`` and ``webmks`` from 2.8)
and the console actions it replaced (2.1 to 2.5). Types Nova still accepts for
documentation (``xvpvnc``, ``rdp``) pass here and are refused by the handler, as in Nova.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion, Validator
from ownstack.compute.api.schemas.parameter_types import one


def _typed(action: str, types: list[str]) -> Validator:
    return Validator(one(action, {
        "type": "object", "required": ["type"], "additionalProperties": False,
        "properties": {"type": {"type": "string", "enum": types}}}))


GET_VNC_CONSOLE: Final = _typed("os-getVNCConsole", ["novnc", "xvpvnc"])
GET_SPICE_CONSOLE: Final = _typed("os-getSPICEConsole", ["spice-html5"])
GET_SERIAL_CONSOLE: Final = _typed("os-getSerialConsole", ["serial"])


def _create(version: Version) -> dict[str, Any]:
    protocols = ["vnc", "spice", "serial", "rdp"]
    types = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]
    if at_least(version, "2.8"):
        protocols.append("mks")
        types.append("webmks")
    return one("remote_console", {
        "type": "object", "required": ["protocol", "type"], "additionalProperties": False,
        "properties": {"protocol": {"type": "string", "enum": protocols},
                       "type": {"type": "string", "enum": types}}})


CREATE: Final = ByVersion(_create, "2.8", base=Version.parse("2.6"))
