"""Resource provider bodies and the GET /resource_providers query, per microversion."""

from __future__ import annotations

from typing import Any, Final

from ownstack.placement.api.schemas.common import NULLABLE_UUID, UUID, extend

POST_1_0: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 200}, "uuid": UUID},
    "required": ["name"],
    "additionalProperties": False,
}
PUT_1_0: Final = extend(POST_1_0, drop_props=("uuid",))
POST_1_14: Final = extend(POST_1_0, parent_provider_uuid=NULLABLE_UUID)
PUT_1_14: Final = extend(POST_1_14, drop_props=("uuid",))

_STRING: Final = {"type": "string"}
LIST_1_0: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"name": _STRING, "uuid": UUID},
    "additionalProperties": False,
}
LIST_1_3: Final = extend(LIST_1_0, member_of=_STRING)
LIST_1_4: Final = extend(LIST_1_3, resources=_STRING)
LIST_1_14: Final = extend(LIST_1_4, in_tree=UUID)
LIST_1_18: Final = extend(LIST_1_14, required=_STRING)
