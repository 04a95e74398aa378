"""The destination's FINISH_MIGRATION step with a disk to pull (migrate_steps.py and
disk_transfer.py on the in-process bus): the agent of node-a is the destination, and the
test serves node-b's topic as the source agent would. The disk arrives and is handed to
the spawn; a silent source is waited for with nothing failed; a corrupt disk ends the
migration in error, with nothing left that a later spawn could take."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any, cast

from helpers.agent import AgentEnv, agent_env, make_spec
from ownstack.common.bus import Payload
from ownstack.compute import states
from ownstack.compute.agent import disk_transfer
from ownstack.compute.agent.disk_transfer import DiskSource
from ownstack.compute.drivers.base import ComputeDriver

SOURCE = "node-b"


class SourceDisk:
    """What the source's driver gives: one powered-off guest's disk file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def disk_to_move(self, uuid: str) -> Path | None:
        return self.path


async def serve_source(env: AgentEnv, path: Path, *, corrupt: bool = False) -> None:
    source = DiskSource(cast(ComputeDriver, SourceDisk(path)))

    async def handle(method: str, payload: Payload) -> Any:
        if method == disk_transfer.INFO:
            return await source.info(payload)
        answer = await source.chunk(payload)
        if corrupt:
            data = bytearray(base64.b64decode(answer["data"]))
            data[0] ^= 1
            answer["data"] = base64.b64encode(bytes(data)).decode()
        return answer

    await env.bus.serve(f"compute.{SOURCE}", handle)


def arriving(env: AgentEnv) -> dict[str, Any]:
    """A cold migration from node-b that the conductor just handed to node-a."""
    return env.conductor.add(make_spec(
        env.node, vm_state=states.ACTIVE, task_state=states.RESIZE_MIGRATED, power_state=4,
        task_args={"migration": "mig-1", "migration_type": "migration",
                   "source_host": SOURCE, "old_vm_state": states.ACTIVE}))


def migration_status(env: AgentEnv, uuid: str) -> str | None:
    statuses = [p["migration"]["status"] for method, p in env.conductor.calls
                if method == "update_instance" and p["uuid"] == uuid and "migration" in p]
    return statuses[-1] if statuses else None


async def test_the_disk_is_pulled_and_given_to_the_spawn(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        disk = tmp_path / "source-disk.qcow2"
        disk.write_bytes(os.urandom(2 * disk_transfer.CHUNK_SIZE + 123))
        await serve_source(env, disk)
        spec = arriving(env)
        await env.agent.reconcile(spec["uuid"])
        assert spec["vm_state"] == states.RESIZED and spec["task_state"] is None
        assert migration_status(env, spec["uuid"]) == "finished"
        given = env.hypervisor.guests[spec["uuid"]].spec.disk
        assert given == env.agent.reconciler.incoming_dir / f"{spec['uuid']}.qcow2"
        assert given.read_bytes() == disk.read_bytes()
        assert "compute_disk_transfer" in env.conductor.event_names(spec["uuid"])
        assert env.conductor.event(spec["uuid"], "compute_disk_transfer")["result"] == "Success"
        # The migration no longer waits for the file: the resync removes it (once it
        # was left alone for the grace period).
        os.utime(given, (0, 0))
        await env.agent.resync()
        assert not given.exists()


async def test_a_silent_source_is_waited_for(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(disk_transfer, "CALL_TIMEOUT", 0.1)
    async with agent_env(tmp_path) as env:
        spec = arriving(env)
        await env.agent.reconcile(spec["uuid"])
        assert spec["task_state"] == states.RESIZE_FINISH and "fault" not in spec
        assert spec["vm_state"] == states.ACTIVE and migration_status(env, spec["uuid"]) is None
        assert spec["uuid"] not in env.hypervisor.guests
        disk = tmp_path / "source-disk.qcow2"
        disk.write_bytes(os.urandom(5000))
        await serve_source(env, disk)       # the source agent is back
        await env.agent.reconcile(spec["uuid"])
        assert spec["vm_state"] == states.RESIZED
        assert env.hypervisor.guests[spec["uuid"]].spec.disk is not None


async def test_a_corrupt_disk_fails_the_migration_and_is_not_kept(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        disk = tmp_path / "source-disk.qcow2"
        disk.write_bytes(os.urandom(5000))
        await serve_source(env, disk, corrupt=True)
        spec = arriving(env)
        await env.agent.reconcile(spec["uuid"])
        assert spec["vm_state"] == states.ERROR and spec["task_state"] is None
        assert "does not match its checksum" in spec["fault"]["message"]
        assert migration_status(env, spec["uuid"]) == "error"
        assert env.conductor.event(spec["uuid"], "compute_disk_transfer")["result"] == "Error"
        assert spec["uuid"] not in env.hypervisor.guests
        incoming = env.agent.reconciler.incoming_dir
        assert not incoming.exists() or list(incoming.iterdir()) == []
