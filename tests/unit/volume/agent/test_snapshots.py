"""The snapshot controller's plan, case by case: by the work an action asked for, never
by a status alone (an admin's reset-status writes statuses that ask for nothing)."""

from __future__ import annotations

import pytest

from ownstack.volume.agent.snapshots import Step, plan
from ownstack.volume.drivers.base import StoredSnapshot
from ownstack.volume.rpc import SnapshotInfo

HOST = "node1"
STORED = StoredSnapshot("s1", "/v/snapshot-s1.qcow2")


def wanted(status: str, host: str = HOST, *, work: str | None = "") -> SnapshotInfo:
    """The snapshot as the service has it; its work is its status's, as the action that
    asked for it left it, unless ``work`` says otherwise (None: a reset status)."""
    if work == "":
        work = status if status in ("creating", "deleting") else None
    return {"id": "s1", "volume_id": "v1", "host": host, "status": status, "work": work,
            "size": 1, "location": None}


@pytest.mark.parametrize(("desired", "observed", "step"), [
    (None, None, Step.NOTHING), (None, STORED, Step.REMOVE),
    (wanted("creating"), None, Step.CREATE), (wanted("creating"), STORED, Step.REPORT),
    (wanted("deleting"), STORED, Step.DELETE), (wanted("deleting"), None, Step.REPORT),
    (wanted("creating", "node2"), None, Step.NOTHING),
    (wanted("available"), STORED, Step.NOTHING), (wanted("restoring"), STORED, Step.NOTHING),
    # Reset to deleting or creating by an admin: the snapshot's file is kept, nothing made.
    (wanted("deleting", work=None), STORED, Step.NOTHING),
    (wanted("deleting", work=None), None, Step.NOTHING),
    (wanted("creating", work=None), None, Step.NOTHING),
    (wanted("creating", work=None), STORED, Step.NOTHING),
    # A real delete of a snapshot an admin had reset to available deletes it.
    (wanted("deleting", work="deleting"), STORED, Step.DELETE),
])
def test_plan(desired: SnapshotInfo | None, observed: StoredSnapshot | None, step: Step
              ) -> None:
    assert plan(desired, observed, HOST) == step
