"""The volume service's error body, as Cinder's ``wsgi.Fault`` writes it, and its domain
errors.

Cinder names the body's one key after the status, as Nova does::

    {"itemNotFound": {"code": 404, "message": "Volume 5f0c... could not be found."}}

A status Cinder has no name for is a ``computeFault`` (Cinder kept Nova's name). A 401
comes from keystonemiddleware in front of Cinder, so it has that middleware's shape.
Quota errors are Cinder's 413 ``overLimit``. Codes are constants: never renamed or reused.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.errors import BadRequest, Conflict, NotFound, OwnstackError

FAULT_NAMES: Final = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}
DEFAULT_FAULT: Final = "computeFault"


def format_error(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    if exc.status == 401:
        return {"error": {"code": 401, "title": "Unauthorized", "message": exc.message}}, {}
    name = FAULT_NAMES.get(exc.status, DEFAULT_FAULT)
    return {name: {"code": exc.status, "message": exc.message}}, {}


class ConcurrentUpdate(Conflict):
    code = "volume.concurrent_update"
    message = "Another request changed the same volume at the same time; retry."


class VolumeNotFound(NotFound):
    code = "volume.volume_not_found"

    def __init__(self, volume_id: str) -> None:
        super().__init__(f"Volume {volume_id} could not be found.")


class SnapshotNotFound(NotFound):
    code = "volume.snapshot_not_found"

    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} could not be found.")


class TransferNotFound(NotFound):
    code = "volume.transfer_not_found"

    def __init__(self, transfer_id: str) -> None:
        super().__init__(f"Transfer {transfer_id} could not be found.")


class InvalidAuthKey(BadRequest):
    code = "volume.invalid_auth_key"

    def __init__(self, transfer_id: str) -> None:
        super().__init__(f"Invalid auth key: Attempt to transfer {transfer_id} with invalid "
                         "auth key.")


class VolumeTypeNotFound(NotFound):
    code = "volume.type_not_found"

    def __init__(self, type_id: str, *, by_name: bool = False) -> None:
        super().__init__(f"Volume type with name {type_id} could not be found." if by_name
                         else f"Volume type {type_id} could not be found.")


class AttachmentNotFound(NotFound):
    code = "volume.attachment_not_found"

    def __init__(self, attachment_id: str) -> None:
        super().__init__(f"Volume attachment could not be found with filter: "
                         f"attachment_id = {attachment_id}.")


class MetadataNotFound(NotFound):
    code = "volume.metadata_not_found"

    def __init__(self, kind: str, owner_id: str, key: str) -> None:
        super().__init__(f"{kind} {owner_id} has no metadata with key {key}.")


class ExtraSpecNotFound(NotFound):
    code = "volume.extra_spec_not_found"

    def __init__(self, type_id: str, key: str) -> None:
        super().__init__(f"Volume Type {type_id} has no extra specs with key {key}.")


class QosSpecsNotFound(NotFound):
    code = "volume.qos_specs_not_found"

    def __init__(self, specs_id: str) -> None:
        super().__init__(f"No such QoS spec {specs_id}.")


class InvalidInput(BadRequest):
    code = "volume.invalid_input"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


class InvalidVolume(BadRequest):
    """Cinder's ``InvalidVolume``: the volume is not in a state for the request (a 400 in
    Cinder, not a 409)."""

    code = "volume.invalid_volume"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class InvalidSnapshot(BadRequest):
    code = "volume.invalid_snapshot"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid snapshot: {reason}")


class InvalidVolumeType(BadRequest):
    code = "volume.invalid_volume_type"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume type: {reason}")


class InvalidAttachment(BadRequest):
    code = "volume.invalid_attachment"


class VolumeTypeExists(Conflict):
    code = "volume.type_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Volume Type {name} already exists.")


class VolumeTypeAccessExists(Conflict):
    code = "volume.type_access_exists"

    def __init__(self, type_id: str, project_id: str) -> None:
        super().__init__(f"Volume type access for {type_id} / {project_id} combination "
                         "already exists.")


class VolumeTypeAccessNotFound(NotFound):
    code = "volume.type_access_not_found"

    def __init__(self, type_id: str, project_id: str) -> None:
        super().__init__(f"Volume type access not found for {type_id} / {project_id} "
                         "combination.")


class QosSpecsExists(Conflict):
    code = "volume.qos_specs_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"QoS Specs {name} already exists.")


class QosSpecsInUse(BadRequest):
    code = "volume.qos_specs_in_use"

    def __init__(self, specs_id: str) -> None:
        super().__init__(f"QoS Specs {specs_id} is still associated with entities.")


class AttachmentConflict(Conflict):
    code = "volume.attachment_conflict"


class AttachmentInUseByServer(Conflict):
    """Cinder's ``ConflictNovaUsingAttachment``."""

    code = "volume.attachment_in_use_by_server"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"Detach volume from instance {server_id} using the Compute API")


class OverQuota(OwnstackError):
    """Cinder's quota errors, 413 ``overLimit``, one message per resource."""

    status = 413
    code = "volume.over_quota"

    def __init__(self, resource: str, requested: int, used: int, allowed: int) -> None:
        # A volume type's resources are ``volumes_<type>`` and so on.
        if resource == "per_volume_gigabytes":
            message = (f"VolumeSizeExceedsLimit: Requested volume size {requested}G is "
                       f"larger than maximum allowed limit {allowed}G.")
        elif resource.startswith("gigabytes"):
            message = (f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot "
                       f"exceeds allowed {resource} quota. Requested {requested}G, quota is "
                       f"{allowed}G and {used}G has been consumed.")
        elif resource == "groups":
            message = f"GroupLimitExceeded: Maximum number of groups allowed ({allowed}) exceeded."
        else:
            kind = "volumes" if resource.startswith("volumes") else "snapshots"
            message = (f"Maximum number of {kind} allowed ({allowed}) exceeded for quota "
                       f"'{resource}'.")
        super().__init__(message)


class QuotaBelowUsage(BadRequest):
    code = "volume.quota_below_usage"

    def __init__(self, resource: str, limit: int, used: int) -> None:
        super().__init__(f"Invalid input received: Quota limit {limit} for {resource} must "
                         f"be greater than or equal to already used and reserved {used}.")


class NotSupported(BadRequest):
    """A real Cinder feature ownstack does not serve yet: a clear 400, never a no-op."""

    code = "volume.not_supported"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not supported by ownstack yet.")


class ImageServiceUnavailable(OwnstackError):
    status = 503
    code = "volume.image_service_unavailable"
    message = "The image service failed to answer; retry later."


class ServiceNotFound(NotFound):
    code = "volume.service_not_found"

    def __init__(self, host: str, binary: str) -> None:
        super().__init__(f"Service {binary} on host {host} could not be found.")


class MessageNotFound(NotFound):
    code = "volume.message_not_found"

    def __init__(self, message_id: str) -> None:
        super().__init__(f"Message {message_id} could not be found.")


class VolumeTypeEncryptionExists(BadRequest):
    """Cinder's ``VolumeTypeEncryptionExists`` is an ``Invalid``: a 400."""

    code = "volume.type_encryption_exists"

    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type encryption for type {type_id} already exists.")


class VolumeTypeEncryptionNotFound(NotFound):
    code = "volume.type_encryption_not_found"

    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type encryption for type {type_id} does not exist.")


class EncryptedTypeInUse(BadRequest):
    code = "volume.encrypted_type_in_use"

    def __init__(self, verb: str) -> None:
        super().__init__(f"Cannot {verb} encryption specs. Volume type in use.")


class NoKeyManager(BadRequest):
    """A volume of an encrypted type needs a key from a key manager (Barbican, for Cinder),
    and ownstack has none: Cinder without a working key manager answers the create with a
    400 too ("Key manager error"). Decision 73."""

    code = "volume.no_key_manager"

    def __init__(self, type_name: str) -> None:
        super().__init__(f"Invalid input received: volume type {type_name} is encrypted and "
                         "ownstack has no key manager to make the volume's encryption key; "
                         "a volume of this type cannot be made.")


class GroupTypeNotFound(NotFound):
    code = "volume.group_type_not_found"

    def __init__(self, type_id: str) -> None:
        super().__init__(f"Group type {type_id} could not be found.")


class DefaultGroupTypeNotFound(NotFound):
    code = "volume.default_group_type_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"Default group type with name {name} not found.")


class GroupTypeExists(Conflict):
    code = "volume.group_type_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Group Type {name} already exists.")


class GroupTypeInUse(BadRequest):
    code = "volume.group_type_in_use"

    def __init__(self, type_id: str) -> None:
        super().__init__(f"Group Type {type_id} deletion is not allowed with groups "
                         "present with the type.")


class GroupTypeSpecNotFound(NotFound):
    code = "volume.group_type_spec_not_found"

    def __init__(self, type_id: str, key: str) -> None:
        super().__init__(f"Group Type {type_id} has no specs with key {key}.")


class GroupNotFound(NotFound):
    code = "volume.group_not_found"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Group {group_id} could not be found.")


class GroupSnapshotNotFound(NotFound):
    code = "volume.group_snapshot_not_found"

    def __init__(self, group_snapshot_id: str) -> None:
        super().__init__(f"GroupSnapshot {group_snapshot_id} could not be found.")


class InvalidGroup(BadRequest):
    code = "volume.invalid_group"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid Group: {reason}")


class InvalidGroupType(BadRequest):
    code = "volume.invalid_group_type"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid group type: {reason}")


class InvalidGroupSnapshot(BadRequest):
    code = "volume.invalid_group_snapshot"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid GroupSnapshot: {reason}")
