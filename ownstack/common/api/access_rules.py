"""Application credential access rules, enforced where each service validates tokens,
as keystonemiddleware's ``validate_allowed_request`` does in every OpenStack service.

A token from a credential with access rules may call a service only with a method and
path one of its rules names for that service's type. A path pattern's ``*`` (or a
``{name}``) stands for one segment, ``**`` for any number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

# What a validator sends so that identity shows it tokens with access rules at all.
ACCESS_RULES_HEADER = "OpenStack-Identity-Access-Rules"
ACCESS_RULES_MIN_VERSION = 1.0

# The catalog types each service answers to, when a rule may name it by more than one.
SERVICE_TYPE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "volume": ("volume", "block-storage", "volumev3"),
}

_TOKEN = re.compile(r"(?P<tag>\{[^}]*\})|(?P<rec>\*\*)|(?P<wild>\*)|(?P<literal>[^{}*]+)")


@lru_cache(maxsize=1024)
def _pattern(path: str) -> re.Pattern[str]:
    regex = ""
    for match in _TOKEN.finditer(path):
        if match.group("tag") or match.group("wild"):
            regex += r"[^/]+"
        elif match.group("rec"):
            regex += ".*"
        else:
            regex += re.escape(match.group("literal"))
    return re.compile(f"^{regex}$")


def permits(rules: Sequence[Mapping[str, str]], service_type: str, method: str,
            path: str) -> bool:
    """Whether one of ``rules`` lets a call of ``method`` on ``path`` reach the service
    of ``service_type``."""
    if service_type == "identity" and method == "GET" and path.endswith("/v3/auth/tokens"):
        return True     # a token can always be validated, whatever its rules
    types = SERVICE_TYPE_ALIASES.get(service_type, (service_type,))
    return any(rule["method"] == method and rule["service"] in types
               and _pattern(rule["path"]).match(path) is not None for rule in rules)
