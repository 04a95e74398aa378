"""The snapshot controller's plan, case by case."""

from __future__ import annotations

import pytest

from ownstack.volume.agent.snapshots import Step, plan
from ownstack.volume.drivers.base import StoredSnapshot
from ownstack.volume.rpc import SnapshotInfo

HOST = "node1"
STORED = StoredSnapshot("s1", "/v/snapshot-s1.qcow2")


def wanted(status: str, host: str = HOST) -> SnapshotInfo:
    return {"id": "s1", "volume_id": "v1", "host": host, "status": status, "size": 1,
            "location": None}


@pytest.mark.parametrize(("desired", "observed", "step"), [
    (None, None, Step.NOTHING), (None, STORED, Step.REMOVE),
    (wanted("creating"), None, Step.CREATE), (wanted("creating"), STORED, Step.REPORT),
    (wanted("deleting"), STORED, Step.DELETE), (wanted("deleting"), None, Step.REPORT),
    (wanted("creating", "node2"), None, Step.NOTHING),
    (wanted("available"), STORED, Step.NOTHING), (wanted("restoring"), STORED, Step.NOTHING),
])
def test_plan(desired: SnapshotInfo | None, observed: StoredSnapshot | None, step: Step
              ) -> None:
    assert plan(desired, observed, HOST) == step
