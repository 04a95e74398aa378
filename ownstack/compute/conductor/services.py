"""The conductor's own service rows: ``nova-conductor`` and ``nova-scheduler`` (the
scheduler runs inside the conductor) on its host, in the internal zone, as Nova's
conductor and scheduler register theirs.

Each sweep beats both rows (``last_seen_up``), so ``os-services`` shows them up while a
conductor runs on the host and down once none has for ``service_down_time``; they appear
in ``os-hosts`` and the detailed ``os-availability-zone`` as in Nova. The rows are
level-triggered: a missing one (never made, or deleted through ``os-services``) is made
again at the next beat. Several conductors of one host share the rows.
"""

from __future__ import annotations

import socket
import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ownstack.common.db.base import utcnow
from ownstack.compute import rpc
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.objects.hosts import INTERNAL_ZONE
from ownstack.compute.objects.models import ComputeService

BINARIES: Final = (rpc.CONDUCTOR_BINARY, rpc.SCHEDULER_BINARY)


def conductor_host(env: ConductorEnv) -> str:
    """The host the conductor runs on: ``compute.host``, else the machine's name (as the
    agents name theirs)."""
    return env.config.compute.host or socket.gethostname()


async def beat(env: ConductorEnv) -> None:
    """Make the conductor's service rows where missing and mark them heard from now."""
    try:
        await _beat(env, conductor_host(env))
    except IntegrityError:
        # Another conductor of this host made a row at the same moment: it exists now.
        await _beat(env, conductor_host(env))


async def _beat(env: ConductorEnv, host: str) -> None:
    now = utcnow()
    async with env.db.write() as db:
        rows = {s.binary: s for s in (await db.execute(select(ComputeService).where(
            ComputeService.host == host, ComputeService.binary.in_(BINARIES)))).scalars()}
        for binary in BINARIES:
            service = rows.get(binary)
            if service is None:
                service = ComputeService(
                    uuid=str(uuid.uuid4()), host=host, binary=binary,
                    topic=binary.removeprefix("nova-"), availability_zone=INTERNAL_ZONE,
                    disabled=False, forced_down=False, report_count=0)
                db.add(service)
            service.last_seen_up = now
            service.report_count = (service.report_count or 0) + 1
            service.updated_at = now
