"""Transfer create and accept, after Cinder's ``schemas/volume_transfer.py``: the
create takes ``no_snapshots`` from 3.55 (below, it is an unknown field: a 400)."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion, Validator
from ownstack.volume.api.schemas.parameter_types import BASE_VERSION, BOOLEAN, UUID, wrapped

# Cinder's ``name_skip_leading_trailing_spaces``: not blank; the handler strips it.
NAME: Final = {"type": ["string", "null"], "pattern": r"\S", "maxLength": 255}


def _create(version: Version) -> dict[str, Any]:
    properties: dict[str, Any] = {"volume_id": UUID, "name": NAME}
    if at_least(version, "3.55"):
        properties["no_snapshots"] = BOOLEAN
    return wrapped("transfer", properties, ["volume_id"])


CREATE: Final = ByVersion(_create, "3.55", base=BASE_VERSION)
ACCEPT: Final = Validator(wrapped("accept", {
    "auth_key": {"type": ["string", "integer"], "maxLength": 255}}, ["auth_key"]))
