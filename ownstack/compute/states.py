"""The instance state machine: Nova's vm_state and task_state, and the status users see.

``vm_state`` is where the instance rests; ``task_state`` is the operation in flight, set by
the API in the same transaction that accepts the request and cleared by whoever finishes
it (the conductor or the compute agent). Every change of either is a compare-and-swap on
the expected old value, so two requests racing for one instance cannot both win: the loser
gets a 409.

The compute agent is level-triggered: an instance's ``vm_state`` and ``task_state`` *are*
its desired state. A ``task_state`` left set by a killed agent is simply done again at the
next resync, which is why each task below is idempotent on the node.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

# --- vm_state (nova.compute.vm_states) ----------------------------------------------------
ACTIVE: Final = "active"
BUILDING: Final = "building"
STOPPED: Final = "stopped"
ERROR: Final = "error"
DELETED: Final = "deleted"
PAUSED: Final = "paused"                  # the guest's vCPUs stopped (QMP stop), in memory
SUSPENDED: Final = "suspended"            # the guest's memory saved to a file, no process
RESIZED: Final = "resized"                # VERIFY_RESIZE: waiting for confirm or revert
SHELVED: Final = "shelved"                # powered off, its disk also saved as an image
SHELVED_OFFLOADED: Final = "shelved_offloaded"    # only the image is left: no host
RESCUED: Final = "rescued"                # booted from a rescue disk, its own disk second

# --- task_state (nova.compute.task_states) ------------------------------------------------
SCHEDULING: Final = "scheduling"          # BUILD: waiting for the conductor to pick a host
SPAWNING: Final = "spawning"              # BUILD: the host's agent makes the guest
POWERING_OFF: Final = "powering-off"
POWERING_ON: Final = "powering-on"
REBOOTING: Final = "rebooting"            # soft reboot
REBOOTING_HARD: Final = "rebooting_hard"
REBUILDING: Final = "rebuilding"          # task_args: {"image_ref": ...}
IMAGE_SNAPSHOT: Final = "image_snapshot"  # task_args: {"image_id": ...}
IMAGE_BACKUP: Final = "image_backup"      # task_args: {"image_id", "backup_type", "rotation"}
DELETING: Final = "deleting"
PAUSING: Final = "pausing"
UNPAUSING: Final = "unpausing"
SUSPENDING: Final = "suspending"
RESUMING: Final = "resuming"
# Resize and cold migration (task_args: {"migration": uuid}); see objects/migrations.py.
RESIZE_PREP: Final = "resize_prep"            # the conductor claims the new flavor
RESIZE_MIGRATING: Final = "resize_migrating"  # the agent powers off and keeps the old disk
RESIZE_MIGRATED: Final = "resize_migrated"    # ... done; the new flavor is to be applied
RESIZE_FINISH: Final = "resize_finish"        # the agent grows the disk and restarts
RESIZE_REVERTING: Final = "resize_reverting"  # the agent restores the old disk and flavor
# Shelve (task_args: {"image_id"} while shelving; {"shelved_image_id"} once shelved).
SHELVING: Final = "shelving"                  # the agent powers off and uploads the disk
SHELVING_OFFLOADING: Final = "shelving_offloading"    # the agent destroys the guest
UNSHELVING: Final = "unshelving"              # started again, or scheduled and spawned
RESCUING: Final = "rescuing"              # task_args: {"rescue_image_ref": ...}
UNRESCUING: Final = "unrescuing"

# Tasks the compute agent carries out on its node.
AGENT_TASKS: Final = frozenset({SPAWNING, POWERING_OFF, POWERING_ON, REBOOTING,
                                REBOOTING_HARD, REBUILDING, IMAGE_SNAPSHOT, IMAGE_BACKUP,
                                DELETING, PAUSING, UNPAUSING, SUSPENDING, RESUMING, RESCUING,
                                UNRESCUING, RESIZE_MIGRATING, RESIZE_MIGRATED,
                                RESIZE_FINISH, RESIZE_REVERTING, SHELVING,
                                SHELVING_OFFLOADING})
RESIZE_TASKS: Final = frozenset({RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED,
                                 RESIZE_FINISH})

# The status the API shows (nova.api.openstack.common._STATE_MAP): by vm_state, then by
# task_state within it; "default" when the task has no status of its own.
_STATUS: Final[dict[str, dict[str, str]]] = {
    ACTIVE: {"default": "ACTIVE", REBOOTING: "REBOOT", REBOOTING_HARD: "HARD_REBOOT",
             REBUILDING: "REBUILD", **dict.fromkeys(RESIZE_TASKS, "RESIZE")},
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", REBUILDING: "REBUILD",
              **dict.fromkeys(RESIZE_TASKS, "RESIZE")},
    RESIZED: {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
    ERROR: {"default": "ERROR", REBUILDING: "REBUILD"},
    DELETED: {"default": "DELETED"},
    PAUSED: {"default": "PAUSED"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
}

# Reverse map for ``?status=`` filters: status -> (vm_states, task_states or None for any).
STATUS_FILTERS: Final[dict[str, tuple[frozenset[str], frozenset[str | None] | None]]] = {
    "ACTIVE": (frozenset({ACTIVE}), frozenset({None, POWERING_OFF, POWERING_ON,
                                               IMAGE_SNAPSHOT, IMAGE_BACKUP, DELETING})),
    "BUILD": (frozenset({BUILDING}), None),
    "SHUTOFF": (frozenset({STOPPED}), frozenset({None, POWERING_OFF, POWERING_ON,
                                                 IMAGE_SNAPSHOT, IMAGE_BACKUP, DELETING})),
    "ERROR": (frozenset({ERROR}), frozenset({None, POWERING_OFF, POWERING_ON,
                                             IMAGE_SNAPSHOT, IMAGE_BACKUP, DELETING})),
    "REBOOT": (frozenset({ACTIVE}), frozenset({REBOOTING})),
    "HARD_REBOOT": (frozenset({ACTIVE}), frozenset({REBOOTING_HARD})),
    "REBUILD": (frozenset({ACTIVE, STOPPED, ERROR}), frozenset({REBUILDING})),
    "DELETED": (frozenset({DELETED}), None),
    "PAUSED": (frozenset({PAUSED}), None),
    "SUSPENDED": (frozenset({SUSPENDED}), None),
    "RESIZE": (frozenset({ACTIVE, STOPPED}), RESIZE_TASKS),
    "VERIFY_RESIZE": (frozenset({RESIZED}), frozenset({None, DELETING})),
    "REVERT_RESIZE": (frozenset({RESIZED}), frozenset({RESIZE_REVERTING})),
    "SHELVED": (frozenset({SHELVED}), None),
    "SHELVED_OFFLOADED": (frozenset({SHELVED_OFFLOADED}), None),
    "RESCUE": (frozenset({RESCUED}), None),
}


def status(vm_state: str, task_state: str | None) -> str:
    """The ``status`` field of a server, as Nova computes it."""
    by_task = _STATUS.get(vm_state, {"default": "UNKNOWN"})
    return by_task.get(task_state or "", by_task["default"])


class PowerState(IntEnum):
    """Nova's power states (``nova.compute.power_state``), with Nova's numbers: what a
    driver observes and what the API shows as ``OS-EXT-STS:power_state``."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7
