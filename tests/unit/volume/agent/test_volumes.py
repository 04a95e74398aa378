"""The volume controller's plan, case by case: a pure function of the volume the service
wants and the volume the driver holds."""

from __future__ import annotations

from typing import Any

import pytest

from ownstack.volume.agent.volumes import Step, plan
from ownstack.volume.drivers.base import StoredVolume
from ownstack.volume.rpc import VolumeInfo

HOST = "node1"


WORK = ("creating", "deleting", "extending", "uploading", "reverting")


def wanted(status: str, **changes: Any) -> VolumeInfo:
    """The volume as the service has it; its work is its status's, as the action that
    asked for it left it, unless ``changes`` say otherwise (None: a reset status)."""
    info: VolumeInfo = {
        "id": "v1", "host": HOST, "status": status,
        "work": status if status in WORK else None, "size": 2,
        "source": {"kind": "blank", "id": None, "disk_format": None, "size": None},
        "upload_image_id": None, "upload_disk_format": None, "revert_snapshot_id": None,
        "extend_by_compute": False, "location": None, "attached": False}
    return {**info, **changes}  # type: ignore[typeddict-item]


STORED = StoredVolume("v1", 2, "qcow2", "/v/volume-v1.qcow2")
SMALL = StoredVolume("v1", 1, "qcow2", "/v/volume-v1.qcow2")


@pytest.mark.parametrize(("desired", "observed", "step"), [
    (None, None, Step.NOTHING),
    (None, STORED, Step.REMOVE),                          # forced away while we were down
    (wanted("creating", host="node2"), None, Step.NOTHING),
    (wanted("creating"), None, Step.CREATE),
    (wanted("creating"), STORED, Step.REPORT),            # made before a kill
    (wanted("deleting"), STORED, Step.DELETE),
    (wanted("deleting"), None, Step.REPORT),              # deleted before a kill
    (wanted("extending"), SMALL, Step.EXTEND),
    (wanted("extending"), STORED, Step.REPORT),
    (wanted("extending"), None, Step.FAIL),
    (wanted("extending", extend_by_compute=True), SMALL, Step.NOTHING),
    (wanted("uploading"), STORED, Step.UPLOAD),
    (wanted("uploading"), None, Step.FAIL),
    (wanted("reverting"), STORED, Step.REVERT),
    (wanted("available"), STORED, Step.NOTHING),
    (wanted("in-use"), STORED, Step.NOTHING),
    (wanted("error"), None, Step.NOTHING),
    (wanted("error_deleting"), STORED, Step.NOTHING),
    # An admin's reset-status writes a status and asks for nothing: a volume reset to
    # deleting keeps its file, one reset to creating is neither made nor "repaired".
    (wanted("deleting", work=None), STORED, Step.NOTHING),
    (wanted("deleting", work=None), None, Step.NOTHING),
    (wanted("creating", work=None), None, Step.NOTHING),
    (wanted("creating", work=None), STORED, Step.NOTHING),
    (wanted("extending", work=None), SMALL, Step.NOTHING),
    (wanted("uploading", work=None, upload_image_id="i1"), STORED, Step.NOTHING),
    (wanted("reverting", work=None, revert_snapshot_id="s1"), STORED, Step.NOTHING),
    (wanted("extending", work=None), None, Step.NOTHING),        # no FAIL either
    # The work decides, not the status shown beside it.
    (wanted("available", work="deleting"), STORED, Step.DELETE),
])
def test_plan(desired: VolumeInfo | None, observed: StoredVolume | None, step: Step) -> None:
    assert plan(desired, observed, HOST) == step
