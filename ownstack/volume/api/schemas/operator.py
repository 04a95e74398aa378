"""Quota sets, quota class sets and services, after Cinder's ``schemas/quotas.py``,
``quota_classes.py`` and ``services.py``."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.volume.api.schemas.parameter_types import QUOTA_LIMIT, wrapped

# volume.quota's resources; a test checks that the two agree.
QUOTA_RESOURCES: Final = ("volumes", "snapshots", "gigabytes", "per_volume_gigabytes",
                           "backups", "backup_gigabytes", "groups")
QUOTA_UPDATE: Final = Validator(wrapped("quota_set", {name: QUOTA_LIMIT
                                                      for name in QUOTA_RESOURCES},
                                        min_properties=1))
# A class also takes each volume type's limits (``volumes_<type>`` and so on), which only
# the handler can check against the types there are.
QUOTA_CLASS_UPDATE: Final = Validator(wrapped(
    "quota_class_set", {name: QUOTA_LIMIT for name in QUOTA_RESOURCES}, strict=False))


SERVICE_UPDATE: Final = Validator({
    "type": "object", "required": ["host"], "additionalProperties": False,
    "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255},
                   "binary": {"type": "string", "minLength": 1, "maxLength": 255},
                   "disabled_reason": {"type": ["string", "null"], "maxLength": 255}}})
# ``PUT /os-services/freeze`` and ``thaw``: Cinder's ``freeze_and_thaw``, less the cluster
# (ownstack has no clusters: a host names what to freeze).
SERVICE_FREEZE: Final = Validator({
    "type": "object", "required": ["host"], "additionalProperties": False,
    "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255},
                   "cluster": {"type": "null"}}})
