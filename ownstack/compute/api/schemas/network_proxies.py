"""The bodies of the network proxies (up to 2.35) and of the server actions on security
groups and floating IPs, after Nova's ``schemas/security_groups.py`` and
``schemas/floating_ips.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.schema import Validator

_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255}
_GROUP_ID: Final = {"type": ["string", "integer"], "minLength": 1}
_PORT: Final = {"type": ["integer", "string", "null"]}
_IP: Final = {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}


def _action(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": [name], "additionalProperties": False,
            "properties": {name: {"type": "object", "properties": properties,
                                  "required": required}}}


SECURITY_GROUP: Final = Validator({
    "type": "object", "required": ["security_group"],
    "properties": {"security_group": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 255},
                       "description": {"type": ["string", "null"], "maxLength": 255}}}}})
SECURITY_GROUP_RULE: Final = Validator({
    "type": "object", "required": ["security_group_rule"],
    "properties": {"security_group_rule": {
        "type": "object", "required": ["parent_group_id"],
        "properties": {"parent_group_id": _GROUP_ID,
                       "group_id": {"type": ["string", "null"]},
                       "ip_protocol": {"type": ["string", "null"]},
                       "from_port": _PORT, "to_port": _PORT,
                       "cidr": {"type": ["string", "null"]}}}}})
ADD_SECURITY_GROUP: Final = Validator(_action("addSecurityGroup", {"name": _NAME}, ["name"]))
REMOVE_SECURITY_GROUP: Final = Validator(
    _action("removeSecurityGroup", {"name": _NAME}, ["name"]))
FLOATING_IP: Final = Validator({
    "type": ["object", "null"],
    "properties": {"pool": {"type": ["string", "null"]}}})
ADD_FLOATING_IP: Final = Validator(_action(
    "addFloatingIp", {"address": _IP, "fixed_address": _IP}, ["address"]))
REMOVE_FLOATING_IP: Final = Validator(_action(
    "removeFloatingIp", {"address": _IP}, ["address"]))
