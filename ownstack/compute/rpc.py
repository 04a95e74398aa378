"""The compute bus contract: who serves which topic, and what each message carries.

Agents reach the control plane only through the bus, never the database (so a compute node
needs no database credentials). Two kinds of topic:

``conductor`` (served by every conductor; competing consumers)
    Casts from the API and calls from agents. Every payload is JSON.

``compute.<host>`` (served by that host's agent)
    Nudges and the few synchronous questions the API asks a node.

A cast is a nudge, never the only record of work: the instance row holds the desired state
(``vm_state``/``task_state``), so a lost cast is repaired by the conductor's sweep or the
agent's next resync. Every method is idempotent.

Conductor methods
-----------------
``schedule_instances`` (cast, from the API after ``POST /servers``)
    ``{"instance_uuids": [str], "request_id": str}``. Pick hosts for instances that are
    ``building``/``scheduling`` with no host, claim in Placement, set host/node and
    ``task_state=spawning``, then cast ``reconcile_instance`` to the chosen host.
``report_node`` (call, from an agent at start-up and every ``report_interval``)
    ``{"host", "node", "availability_zone", "host_ip", "resources": {"vcpus", "memory_mb",
    "disk_gb", "hypervisor_type", "hypervisor_version", "traits": [str]}}``. Upserts the
    service (heartbeat) and compute node, and the node's Placement provider, inventory
    (with the configured ratios and reserved amounts) and traits.
    Returns ``{"node_uuid": str, "service_disabled": bool}``.
``node_instances`` (call, from an agent's resync)
    ``{"host", "node"}`` -> ``{"instances": [InstanceSpec]}``: every non-deleted instance
    placed on the node, including those with ``task_state=deleting``.
``get_instance`` (call) ``{"uuid"}`` -> ``{"instance": InstanceSpec | None}``; ``None`` for
    a deleted or unknown instance (the agent then destroys any guest it has for it).
``update_instance`` (call, from an agent)
    ``{"uuid", "host", "expected_task_state": str | None | "*", "updates": {...}}`` where
    updates may set ``vm_state``, ``task_state``, ``power_state``, ``launched: true``
    (sets launched_at), ``clear_admin_pass: true``, ``fault: {"code", "message",
    "details"} | None``, ``task_args: {...}`` (a spawn's ``plug_wait``). Applied only if
    the instance is still on ``host`` and its task_state is the expected one (``"*"``:
    any). Returns ``{"applied": bool}``.
    An optional ``"events": [record_event payload, ...]`` is recorded in the same
    transaction (whether the update applies or not), and the answer then also carries
    ``"recorded": [bool]``: a spawn's phase events and its ACTIVE report in one call.
    An optional ``"migration": {"uuid", "status"}`` (``post-migrating``, ``finished``,
    ``confirmed``, ``reverted``, ``error``) moves a resize on in the same transaction.
``resize_instance`` (cast, from the API after a resize)
    ``{"uuid", "migration"}``: move the instance's allocation to the migration's uuid and
    claim the new flavor for the instance (:mod:`ownstack.compute.conductor.resize`), set
    ``task_state=resize_migrating``, and nudge the host. The sweep does it for a resize
    left in ``resize_prep``.
``unshelve_instance`` (cast, from the API after an unshelve of an offloaded server)
    ``{"uuid"}``: schedule it as a boot is (the ``host`` or zone it asked for), claim, set
    ``task_state=spawning`` on the chosen host; the agent spawns from the shelve image.
``shelve_offloaded`` (call, from an agent once an offloaded server's guest is gone)
    ``{"uuid", "host"}`` -> ``{"offloaded": bool}``: SHELVED_OFFLOADED with no host, and
    its allocation dropped.
``instance_destroyed`` (call, from an agent once the guest is gone after a delete)
    ``{"uuid", "host"}``: removes the Placement allocation and marks the row deleted.
``reschedule`` (call, from an agent whose spawn failed with a retryable error)
    ``{"uuid", "host", "reason"}``: drops the allocation, records the host as tried, and
    schedules again, or sets ERROR with a NoValidHost fault once attempts run out.
``record_event`` (call) ``{"uuid", "request_id", "event", "start": float, "finish": float,
    "result": "Success"|"Error", "host", "details": str | None}``: adds an event to the
    instance action of that request id (times are ``time.time()`` seconds).
``record_events`` (call) ``{"events": [record_event payload, ...]}``: several at once, in one
    transaction (a spawn's phases with its build event).
``refresh_network_info`` (call, from an agent whose spawn waits for its ports)
    ``{"uuid", "host"}`` -> ``{"nics": [InstanceSpec nic] | None}``: the info cache rebuilt
    from the instance's ports now, and its NICs (``active`` as the ports are); ``None``
    for an instance that is gone.
``connect_volume`` (call, from an agent attaching a volume) ``{"uuid", "host", "bdm_uuid",
    "connector": {"host", "platform", "os_type", "multipath", ...}}`` ->
    ``{"connection_info": dict | None, "error": str | None}``: the attachment updated with
    the host's connector, its connection info stored on the mapping; ``None`` for a
    mapping gone or no longer attaching; ``error`` when the volume service refused.
``volume_attached`` / ``volume_attach_failed`` / ``volume_detached`` /
    ``volume_detach_failed`` (calls) ``{"uuid", "host", "bdm_uuid"}`` -> ``{"applied":
    bool}``: the attachment completed (mapping attached), deleted (mapping removed), or
    the detach rolled back (mapping attached again), each only from the state it expects.
``volume_extended`` (call) ``{"uuid", "host", "volume_id", "error": bool}``: the guest's
    disk grew (or could not); the volume service is told (``os-extend_volume_completion``).

Agent methods (topic ``compute.<host>``)
----------------------------------------
``reconcile_instance`` (cast) ``{"uuid", "request_id", "instance"?: InstanceSpec,
    "sent_at"?: float}``: reconcile that instance now. The conductor's build carries the
    spec it just wrote and the wall-clock time it sent it (decision 94), which the next
    pass takes instead of ``get_instance`` if the cast is younger than
    :data:`CARRIED_SPEC_MAX_AGE` (:func:`carried_spec`); a cast without one (every other
    sender's, a build's on MariaDB or of an instance with metadata or volumes), or one
    that waited longer in a queue, has that pass read it.
``console_output`` (call) ``{"uuid", "length": int | None}`` -> ``{"output": str}``; the last
    ``length`` lines (all when ``None``).
``console_socket`` (call) ``{"uuid", "kind": "vnc" | "serial"}`` -> ``{"host", "path"}``:
    the Unix socket on that host where the guest's console listens, for the console proxy;
    raises (a ``RemoteError`` of kind ``Unsupported``, ``ConsoleUnavailable`` or
    ``GuestNotFound``) when there is none.
``describe_instance`` (call) ``{"uuid"}`` -> ``{"details": {...}}``: the host-side objects
    (``GuestInfo.details``), for ``ownstack show server``.
``extend_volume`` (cast) ``{"uuid", "volume_id", "new_size": int}`` (bytes): an attached
    volume grew in the volume service (``volume-extended``); the guest's disk follows.
``migration_disk_info`` (call, from another agent) ``{"uuid"}`` -> ``{"size": int | None,
    "sha256": str | None}``: the powered-off guest's disk a cold migration's destination
    pulls (``None``: nothing to move); see :mod:`ownstack.compute.agent.disk_transfer`.
``migration_disk_chunk`` (call, from another agent) ``{"uuid", "offset": int, "length":
    int}`` -> ``{"data": base64, "sha256": str}``: ``length`` bytes (at most 4 MiB) of it.

``InstanceSpec`` is what :func:`ownstack.compute.objects.instances.instance_spec` returns.
"""

from __future__ import annotations

import time
from typing import Any, Final, TypedDict, cast

CONDUCTOR_TOPIC: Final = "conductor"
COMPUTE_BINARY: Final = "nova-compute"
CONDUCTOR_BINARY: Final = "nova-conductor"
SCHEDULER_BINARY: Final = "nova-scheduler"


# A volume mapping's attach_state (InstanceSpec "volumes"): compute's own progress with the
# volume, beside the volume service's status.
VOLUME_ATTACHING: Final = "attaching"   # attachment reserved; the agent connects and plugs
VOLUME_ATTACHED: Final = "attached"     # plugged (or in the recipe of a stopped guest)
VOLUME_DETACHING: Final = "detaching"   # the agent unplugs it and deletes the attachment


# How old a cast's carried spec may be and still be taken: a cast that waited longer (an
# agent that was down, a queue redelivering after a restart) may carry a spec that a later
# change (a delete) has overtaken, so its pass reads the instance afresh instead.
CARRIED_SPEC_MAX_AGE: Final = 5.0


def carried_spec(payload: dict[str, Any], now: float | None = None) -> InstanceSpec | None:
    """The spec a ``reconcile_instance`` cast carries, if it carries one sent less than
    :data:`CARRIED_SPEC_MAX_AGE` seconds ago by the wall clock (a sender's clock ahead
    of this host's by more than that counts as stale too); None otherwise."""
    spec, sent_at = payload.get("instance"), payload.get("sent_at")
    if not isinstance(spec, dict) or not isinstance(sent_at, (int, float)):
        return None
    age = (time.time() if now is None else now) - sent_at
    if not -CARRIED_SPEC_MAX_AGE < age < CARRIED_SPEC_MAX_AGE:
        return None
    return cast(InstanceSpec, spec)


def compute_topic(host: str) -> str:
    """The topic a host's agent serves. Host names are bus-safe (validated at start-up)."""
    return f"compute.{host}"


class InstanceSpec(TypedDict):
    """What an agent learns about one instance: its desired state and how to build it."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    user_id: str
    host: str | None
    node: str | None
    vm_state: str
    task_state: str | None
    task_args: dict[str, Any]    # rebuild: {"image_ref"}; snapshot: {"image_id"}
    power_state: int
    request_id: str | None       # of the latest action, for events
    flavor: dict[str, Any]       # vcpus, ram, disk, ephemeral, swap, extra_specs, ...
    image_ref: str
    image_meta: dict[str, Any]
    key_name: str | None
    key_data: str | None
    user_data: str | None        # base64
    admin_pass: str | None
    config_drive: bool
    availability_zone: str | None
    launch_index: int
    metadata: dict[str, str]
    # The ports to plug, in order: NicSpec's fields (port_id, mac, tap_name, bridge, mtu,
    # network_id) and "active" (the port is ACTIVE: a spawn waits for all), from the
    # network info cache the conductor wrote once it made the ports.
    nics: list[dict[str, Any]]
    # The server's volume mappings, oldest first, as
    # :func:`ownstack.compute.objects.block_devices.volume_entry` makes them: "bdm_uuid",
    # "volume_id", "attachment_id", "attach_state" (attaching|attached|detaching),
    # "connection_info" (the volume service's, once connected), "device_name",
    # "boot_index", "source_type", "destination_type", "delete_on_termination".
    volumes: list[dict[str, Any]]
