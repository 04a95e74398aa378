"""An instance's fault: why it is in ERROR, or why its last task failed, as Nova keeps it
and ``openstack server show`` prints it.

An agent reports a fault over the bus (:meth:`Fault.report`: code, message, details); the
conductor stamps it with the time and stores it on the instance (:meth:`Fault.record`);
the API shows it (``views``), hiding the details from non-admins as Nova does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Fault:
    message: str
    code: int = 500
    details: str | None = None

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> Fault:
        """The fault an agent reported (see :meth:`report`)."""
        details = report.get("details")
        return cls(message=str(report.get("message", "")), code=int(report.get("code", 500)),
                   details=None if details is None else str(details))

    def report(self) -> dict[str, Any]:
        """The fault as an agent sends it to the conductor."""
        return {"code": self.code, "message": self.message, "details": self.details}

    def record(self) -> dict[str, Any]:
        """The fault as the instance row keeps it: the report (details never null, as
        Nova's), and when."""
        return {**self.report(), "details": self.details or "",
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
