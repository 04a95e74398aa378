"""Microversion negotiation, with the versions kept as data.

A service lists its microversions oldest first, each with a one-line description of what it
changed; the first is the minimum and the last the maximum. A request names the one it wants in
``OpenStack-API-Version: <service type> X.Y``, a handler picks behaviour with :func:`at_least`,
and the response says which version it used. A test in each service pins its list, because a
released microversion must never change.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final

from ownstack.common.api.routing import Handler, RouteTable
from ownstack.common.errors import BadRequest, NotAcceptable, OwnstackError

__all__ = ["STANDARD_HEADER", "Microversions", "Version", "at_least", "version_of"]

STANDARD_HEADER: Final = "OpenStack-API-Version"
# Where a negotiated version waits for the handler, in the ASGI scope of its request.
_SCOPE_KEY: Final = "ownstack.microversion"

# As Nova and Placement: no leading zeros, so "2.01" cannot pass for "2.1".
_VERSION: Final = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"2.10"`` as ``Version(2, 10)``; anything else raises ValueError."""
        found = _VERSION.fullmatch(text)
        if found is None:
            raise ValueError(f"invalid microversion {text!r}: expected MAJOR.MINOR, such as '2.1'")
        return cls(int(found[1]), int(found[2]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@functools.cache
def _parse_constant(text: str) -> Version:
    return Version.parse(text)


def at_least(version: Version, minimum: str | Version) -> bool:
    """Whether the negotiated ``version`` includes the change made in ``minimum``.

    Meant for constants in code (``at_least(version, "2.47")``), whose parse is cached.
    """
    if isinstance(minimum, str):
        minimum = _parse_constant(minimum)
    return version >= minimum


class Microversions:
    """The microversions of one service, and negotiation of one of them per request."""

    def __init__(
        self,
        service_type: str,
        versions: Sequence[tuple[str, str]],
        *,
        legacy_header: str | None = None,
    ) -> None:
        """``versions`` holds ``(version, description)`` pairs, oldest first.

        ``legacy_header`` names a service's pre-standard header, such as Nova's
        ``X-OpenStack-Nova-API-Version``, which older clients still send.
        """
        if not service_type or any(char.isspace() for char in service_type):
            raise ValueError(f"invalid service type {service_type!r}")
        if not versions:
            raise ValueError(f"{service_type} declares no microversions")
        self.service_type = service_type
        self.legacy_header = legacy_header
        self.versions: tuple[tuple[Version, str], ...] = tuple(
            (Version.parse(version), description) for version, description in versions
        )
        for (earlier, _), (later, _) in pairwise(self.versions):
            if later <= earlier:
                raise ValueError(
                    f"{service_type} microversions must increase: {later} follows {earlier}"
                )
        self.min_version = self.versions[0][0]
        self.max_version = self.versions[-1][0]
        self._vary = ", ".join(filter(None, (STANDARD_HEADER, legacy_header)))

    def negotiate(self, headers: Mapping[str, str]) -> Version:
        """The version a request asks for: the minimum when it names none.

        Raises :class:`BadRequest` (400) for a malformed header and :class:`NotAcceptable`
        (406) for a version outside the supported range, as Nova does.
        """
        requested = self._requested(headers)
        if requested is None:
            return self.min_version
        if requested.lower() == "latest":
            return self.max_version
        try:
            version = Version.parse(requested)
        except ValueError:
            raise BadRequest(
                f"Invalid microversion {requested!r} for {self.service_type}: "
                "expected MAJOR.MINOR or 'latest'."
            ) from None
        if not self.min_version <= version <= self.max_version:
            raise NotAcceptable(
                f"Version {version} is not supported by the API. "
                f"Minimum is {self.min_version} and maximum is {self.max_version}."
            )
        return version

    def response_headers(self, version: Version) -> dict[str, str]:
        """Headers naming the version a response was built with."""
        headers = {STANDARD_HEADER: f"{self.service_type} {version}"}
        if self.legacy_header:
            headers[self.legacy_header] = str(version)
        # Caches must key on the version headers, since they change the body.
        headers["Vary"] = self._vary
        return headers

    def versioned(self, handler: Handler) -> Handler:
        """``handler`` behind negotiation: it finds its version with :func:`version_of`, and
        the response, or the error it raises, names that version in its headers."""

        @functools.wraps(handler)
        async def negotiated(req: Any) -> Any:
            version = self.negotiate(req.headers)
            req.request.scope[_SCOPE_KEY] = version
            headers = self.response_headers(version)
            try:
                response = await handler(req)
            except OwnstackError as exc:
                exc.headers.update(headers)
                raise
            response.headers.update(headers)
            return response

        return negotiated

    def versioned_routes(self, table: RouteTable) -> RouteTable:
        """Every handler of a route table behind :meth:`versioned`."""
        return {path: {method: self.versioned(handler) for method, handler in methods.items()}
                for path, methods in table.items()}

    def _requested(self, headers: Mapping[str, str]) -> str | None:
        """The raw version string the request gives for this service, if any.

        The standard header wins over the legacy one. It may hold several comma-separated
        ``type version`` entries, for several services, and may be sent more than once.
        """
        ours: set[str] = set()
        for entry in ",".join(_header_values(headers, STANDARD_HEADER)).split(","):
            words = entry.split()
            if not words:
                continue
            if len(words) != 2:
                raise BadRequest(
                    f"Malformed {STANDARD_HEADER} entry {entry.strip()!r}: "
                    "expected 'SERVICE_TYPE MAJOR.MINOR'."
                )
            if words[0].lower() == self.service_type.lower():
                ours.add(words[1])
        if not ours and self.legacy_header:
            ours = {value.strip() for value in _header_values(headers, self.legacy_header)}
        if len(ours) > 1:
            raise BadRequest(
                f"Conflicting microversions {', '.join(sorted(ours))} for {self.service_type}."
            )
        return ours.pop() if ours else None


def version_of(req: Any) -> Version:
    """The version negotiated for ``req`` (an ApiRequest) by :meth:`Microversions.versioned`."""
    version: Version = req.request.scope[_SCOPE_KEY]
    return version


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header ``name``, matched case-insensitively.

    ``items()`` rather than ``get()``: a plain dict is case-sensitive, and Starlette's
    ``Headers.items()`` also yields repeated headers.
    """
    wanted = name.lower()
    return [value for key, value in headers.items() if key.lower() == wanted]
