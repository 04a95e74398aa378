"""Every route of every service, read from the route tables, and each service's error body.

The sweeps over the routes (bad input, the RBAC matrix) enumerate routes from here, so a
route added to a table is covered the day it is added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import httpx

from ownstack.common.api.routing import RouteTable
from ownstack.roles import CATALOG_SERVICES

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")

# Nova names a fault body's one key after the status; any other status is a computeFault.
NOVA_FAULTS = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
               409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
               429: "overLimit", 501: "notImplemented"}


@dataclass(frozen=True, order=True)
class Route:
    service: str
    template: str
    method: str

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.template}"

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.template)

    def path(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.template)


def route_table(service: str) -> RouteTable:
    table: RouteTable = import_module(f"ownstack.{service}.api.routes").ROUTES
    return table


def every_route() -> list[Route]:
    """Each (service, template, method) the tables declare; GET's implied HEAD is not one."""
    return sorted(Route(spec.type, template, method)
                  for spec in CATALOG_SERVICES
                  for template, methods in route_table(spec.type).items()
                  for method in methods)


def service_types() -> list[str]:
    return [spec.type for spec in CATALOG_SERVICES]


def error_body_problem(service: str, response: httpx.Response) -> str | None:
    """What is wrong with an error answer of ``service``, or None when it has the
    service's own error shape (Keystone's, Glance's, Placement's, Nova's, Neutron's or
    Cinder's)."""
    status = response.status_code
    if not response.headers.get("x-openstack-request-id", "").startswith("req-"):
        return "no X-Openstack-Request-Id header"
    if response.request.method == "HEAD":
        return None if not response.content else "a HEAD answer with a body"
    try:
        body: Any = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    checks = {"identity": _keystone_problem, "image": _glance_problem,
              "placement": _placement_problem, "compute": _nova_problem,
              "network": _neutron_problem, "volume": _cinder_problem}
    return checks[service](status, body)


def _keystone_problem(status: int, body: Any) -> str | None:
    if not isinstance(body, dict) or set(body) != {"error"}:
        return f"not {{'error': ...}}: {body!r:.200}"
    error = body["error"]
    if error.get("code") != status or not error.get("title") or not error.get("message"):
        return f"error without code {status}, title and message: {error!r:.200}"
    return None


def _glance_problem(status: int, body: Any) -> str | None:
    if not isinstance(body, dict) or not str(body.get("code", "")).startswith(f"{status} ") \
            or not body.get("title") or not body.get("message"):
        return f"not Glance's {{'code': '{status} ...', 'title', 'message'}}: {body!r:.200}"
    return None


def _placement_problem(status: int, body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or len(errors) != 1:
        return f"not {{'errors': [one error]}}: {body!r:.200}"
    error = errors[0]
    if error.get("status") != status or not error.get("title") or not error.get("detail") \
            or not str(error.get("code", "")).startswith("placement.") \
            or not str(error.get("request_id", "")).startswith("req-"):
        return f"error without status, title, detail, code and request_id: {error!r:.200}"
    return None


def _nova_problem(status: int, body: Any) -> str | None:
    if status == 401:       # keystonemiddleware's shape, in front of Nova
        return _keystone_problem(status, body)
    name = NOVA_FAULTS.get(status, "computeFault")
    if not isinstance(body, dict) or list(body) != [name]:
        return f"not {{{name!r}: ...}}: {body!r:.200}"
    if body[name].get("code") != status or not body[name].get("message"):
        return f"fault without code {status} and message: {body!r:.200}"
    return None


# Cinder's fault names: Nova's, but a 501 is notImplemented and 413 covers quotas too.
CINDER_FAULTS = {**NOVA_FAULTS, 501: "notImplemented", 503: "serviceUnavailable"}


def _cinder_problem(status: int, body: Any) -> str | None:
    if status == 401:       # keystonemiddleware's shape, in front of Cinder
        return _keystone_problem(status, body)
    name = CINDER_FAULTS.get(status, "computeFault")
    if not isinstance(body, dict) or list(body) != [name]:
        return f"not {{{name!r}: ...}}: {body!r:.200}"
    if body[name].get("code") != status or not body[name].get("message"):
        return f"fault without code {status} and message: {body!r:.200}"
    return None


def _neutron_problem(status: int, body: Any) -> str | None:
    if not isinstance(body, dict) or set(body) != {"NeutronError"}:
        return f"not {{'NeutronError': ...}}: {body!r:.200}"
    error = body["NeutronError"]
    if not isinstance(error, dict) or set(error) != {"type", "message", "detail"} \
            or not error["type"] or not error["message"]:
        return f"NeutronError without type, message and detail: {error!r:.200}"
    return None
