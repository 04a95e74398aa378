"""The volume bus contract: who serves which topic, and what each message carries.

Volume agents reach the control plane only through the bus, never the database, as the
network and compute agents do. Two kinds of topic:

``volume`` (served by every volume API process; competing consumers)
    Calls from agents. Every payload is JSON.

``volume.<host>`` (served by that host's volume agent)
    Nudges from the volume service, and questions ``ownstack show volume`` will ask.

The volume and snapshot rows hold the desired state (decision 41): a cast is a nudge that
may be lost, repaired by the agent's periodic resync (``volume.resync_interval``); every
method is idempotent. The agent acts on a row's ``work`` (decision 59), which only the
API action asking for it writes, never on its status: an admin's reset-status changes
statuses and asks for nothing.

Volume service methods (topic ``volume``)
-----------------------------------------
``report_service`` (call, from an agent at start-up and every ``volume.report_interval``)
    ``{"host", "backend", "availability_zone", "capabilities": {...}}`` (the driver's
    capabilities and ``total_gb``/``free_gb``). Upserts the ``cinder-volume`` service of
    ``host``. Returns ``{"id": int, "disabled": bool}``.
``host_volumes`` (call, from an agent's resync) ``{"host"}`` ->
    ``{"volumes": [VolumeInfo], "snapshots": [SnapshotInfo]}``: every volume and snapshot
    on ``host``, whatever its status: the desired state of the host.
``get_volume`` (call) ``{"volume_id"}`` -> ``{"volume": VolumeInfo | None}``.
``get_snapshot`` (call) ``{"snapshot_id"}`` -> ``{"snapshot": SnapshotInfo | None}``.
``volume_done`` (call, from an agent when it finished the work a volume's ``work`` asked
    for) ``{"volume_id", "host", "work": <the work done>, "outcome": "done" | "failed",
    "reason": str, "location": str, "format": str, "size": int}``. Applied only while the
    volume still has that work on that host (a report of work the volume no longer
    wants, or that an admin's reset-status ended, changes nothing); every applied report
    clears the volume's work. ``creating`` done -> available (its file's location and format
    recorded); ``deleting`` done -> the row removed; ``extending`` done -> available (an
    in-use volume's extend is compute's, whose QEMU has the file open: ``block_resize``
    on ``volume-extended``, then ``os-extend_volume_completion``; the agent leaves it);
    ``uploading`` done -> back as it was, and the image is active; ``reverting`` done ->
    available. Failed: ``creating`` -> error, ``deleting`` -> error_deleting,
    ``extending`` -> error_extending (size as it was), ``uploading`` -> back as it was
    (the image deleted), ``reverting`` -> error; ``reason`` kept in the volume's task.
    Returns ``{"applied": bool, "status": str | None}`` (``None``: the row is gone).
``snapshot_done`` (call) ``{"snapshot_id", "host", "work", "outcome", "reason",
    "location"}``: ``creating`` -> available (or error), ``deleting`` -> removed (or
    error_deleting).

Agent methods (topic ``volume.<host>``)
---------------------------------------
``volume_changed`` (cast) ``{"volume_id"}``: a volume on this host wants work; reconcile it.
``snapshot_changed`` (cast) ``{"snapshot_id"}``: likewise for a snapshot.
``describe_volume`` (call) ``{"volume_id"}`` -> ``{"details": {...} | None}``: the host
    objects behind a volume (its file, format, virtual size and backing chain).
"""

from __future__ import annotations

from typing import Final, TypedDict

VOLUME_TOPIC: Final = "volume"
SERVICE_BINARY: Final = "cinder-volume"
DONE: Final = "done"
FAILED: Final = "failed"


def agent_topic(host: str) -> str:
    """The topic a host's volume agent serves (host names are bus-safe: the agent checks
    its own at start-up)."""
    return f"{VOLUME_TOPIC}.{host}"


class SourceInfo(TypedDict):
    """Where a volume in ``creating`` takes its data from."""

    kind: str                       # blank, image, snapshot, volume
    id: str | None
    disk_format: str | None         # an image's declared format
    size: int | None                # an image's size in bytes


class VolumeInfo(TypedDict):
    """A volume as its host's agent needs it: the desired state of one volume."""

    id: str
    host: str
    status: str                     # what the volume shows (never acted on by itself)
    work: str | None                # what the agent is asked to do: creating, deleting,
    #                                 extending, uploading, reverting; None: nothing
    size: int                       # GiB: what the volume must hold
    source: SourceInfo
    upload_image_id: str | None     # uploading: the image to fill
    upload_disk_format: str | None
    revert_snapshot_id: str | None  # reverting: the snapshot to go back to
    extend_by_compute: bool         # extending an in-use volume: compute's QEMU grows it
    location: str | None            # where the agent said it keeps it (None before)
    attached: bool


class SnapshotInfo(TypedDict):
    id: str
    volume_id: str
    host: str
    status: str
    work: str | None                # creating, deleting; None: nothing to do
    size: int
    location: str | None
