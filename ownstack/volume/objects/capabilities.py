"""What a volume backend offers, and whether a volume type's extra specs ask only for that.

A backend's capabilities are the document Cinder's scheduler keeps of each pool (what
``scheduler-stats/get_pools?detail=true`` shows): its name, vendor and protocol, its
space as its agent last reported it, and the features every ownstack backend has. A type
fits a backend as Cinder's ``CapabilitiesFilter`` decides it: each extra spec that is not
scoped, or is scoped ``capabilities:``, names a capability (``a:b`` walks into a nested
one) that the backend must report and whose value must match the spec's requirement, with
the operators of Cinder's ``extra_specs_ops`` (``<is> True``, ``<in>``, ``<or>``, ``=`` as
"at least", ``>=``, ``s==``...); a spec of any other scope (``RESKEY:``, ``qos:``,
``provisioning:``, a vendor's) asks nothing of the backend. So ``volume_backend_name=file``
picks the file backends, and a type asking for a protocol no backend speaks fits none (the
volume ends in ``error`` with a user message, as in Cinder).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

from ownstack.common.booleans import parse_bool
from ownstack.volume.objects.models import VolumeService

VENDOR_NAME: Final = "ownstack"
DRIVER_VERSION: Final = "1.0"


def of_service(row: VolumeService) -> dict[str, Any]:
    """The capabilities of the one pool of ``row``'s backend."""
    reported = row.capabilities or {}
    thin = bool(reported.get("thin_provisioning"))
    return {
        "volume_backend_name": row.backend, "vendor_name": VENDOR_NAME,
        "storage_protocol": row.backend, "driver_version": DRIVER_VERSION,
        "total_capacity_gb": reported.get("total_gb", 0),
        "free_capacity_gb": reported.get("free_gb", 0),
        "reserved_percentage": 0, "QoS_support": False, "multiattach": True,
        "thin_provisioning_support": thin, "thick_provisioning_support": not thin,
        "online_extend_support": True,
    }


def _bool(text: Any) -> bool:
    """oslo's ``bool_from_string``, not strict: anything not true is false."""
    return parse_bool(str(text)) is True


_OPS: Final[dict[str, Callable[[Any, str], bool]]] = {
    "=": lambda have, want: float(have) >= float(want),
    "<in>": lambda have, want: want in have,
    "<is>": lambda have, want: _bool(have) is _bool(want),
    "==": lambda have, want: float(have) == float(want),
    "!=": lambda have, want: float(have) != float(want),
    ">=": lambda have, want: float(have) >= float(want),
    "<=": lambda have, want: float(have) <= float(want),
    "s==": operator.eq, "s!=": operator.ne, "s<": operator.lt, "s<=": operator.le,
    "s>": operator.gt, "s>=": operator.ge,
}


def matches(value: Any, requirement: str) -> bool:
    """Whether one capability value meets one extra spec's requirement."""
    words = requirement.split()
    op = words.pop(0) if words else None
    method = _OPS.get(op) if op is not None else None
    if op != "<or>" and method is None:
        return bool(value == requirement)
    if value is None:
        return False
    if op == "<or>":            # "<or> a <or> b": any of the alternatives, as text
        return value in words[0::2]
    assert method is not None
    try:
        return bool(words) and method(value, words[0])
    except (ValueError, TypeError):
        return False


def unmet(specs: Mapping[str, str], capabilities: Mapping[str, Any]) -> str | None:
    """The first extra spec ``capabilities`` does not meet, as ``key=value``; None when
    the backend fits every one."""
    for key, requirement in specs.items():
        scope = key.split(":")
        if len(scope) > 1 and scope[0] != "capabilities":
            continue
        if scope[0] == "capabilities":
            scope = scope[1:]
        found: Any = capabilities
        for name in scope:
            if not isinstance(found, Mapping) or name not in found:
                return f"{key}={requirement}"
            found = found[name]
        values = found if isinstance(found, list) else [found]
        if not any(matches(value, requirement) for value in values):
            return f"{key}={requirement}"
    return None
