"""The image service's state: what its handlers reach through ``req.svc``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.agent.tasks import TaskSet
from ownstack.common.api.app import ApiRequest
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.image.objects import tasks
from ownstack.image.policy import DEFAULT_RULES
from ownstack.image.store import recover_interrupted_uploads

SERVICE_TYPE = "image"
REAP_INTERVAL: Final = 60.0      # seconds between two removals of expired tasks

log = logging.getLogger(__name__)


class ImageState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None) -> None:
        super().__init__(config, DEFAULT_RULES, engine)
        self.identity = peers.identity_client(cache_ttl=config.image.token_cache_ttl)
        self.store_dir = Path(config.image.store_dir or config.state_dir / "images")
        # Import tasks running in the background, and the reaper of expired tasks.
        self.background = TaskSet()

    async def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        await recover_interrupted_uploads(self)
        async with self.write() as db:
            failed = await tasks.fail_unfinished(
                db, ttl_hours=self.config.image.task_time_to_live)
        if failed:
            log.warning("failed %d task(s) the image service was running when it stopped",
                        len(failed))
        self.background.spawn(self._reap_forever())

    async def stop(self) -> None:
        await self.background.cancel()
        await self.identity.aclose()
        await super().stop()

    async def _reap_forever(self) -> None:
        while True:
            try:
                async with self.write() as db:
                    await tasks.reap_expired(db)
            except Exception:
                log.exception("could not remove expired tasks")
            await asyncio.sleep(REAP_INTERVAL)


Req = ApiRequest[ImageState]
