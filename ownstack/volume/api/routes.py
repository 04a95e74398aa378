"""Block Storage v3: every URL, method and handler in one table.

Each resource is served at ``/v3/{project_id}/...`` and at ``/v3/...``
(:func:`~ownstack.volume.api.common.both_forms`); every handler runs behind microversion
negotiation (``OpenStack-API-Version: volume 3.x``, echoed with ``Vary``); an unknown
method gets a 405 with a generated ``Allow`` header.
"""

from __future__ import annotations

from ownstack.common.api.routing import Handler, RouteTable
from ownstack.volume.api.common import both_forms
from ownstack.volume.api.handlers import (
    attachments,
    diagnostics,
    group_types,
    groups,
    hosts,
    messages,
    operator,
    qos_specs,
    root,
    snapshots,
    transfers,
    type_encryption,
    types,
    volume_actions,
    volumes,
)
from ownstack.volume.microversions import MICROVERSIONS

_VOLUME = "/volumes/{volume_id}"
_SNAPSHOT = "/snapshots/{snapshot_id}"
_TYPE = "/types/{type_id}"
_QOS = "/qos-specs/{qos_id}"
_GROUP_TYPE = "/group_types/{group_type_id}"


def _transfer_routes(collection: str) -> dict[str, dict[str, Handler]]:
    """Cinder's ``/os-volume-transfer`` and its 3.55 twin ``/volume-transfers``: one
    controller, the same routes."""
    return {
        collection: {"GET": transfers.list_transfers, "POST": transfers.create_transfer},
        f"{collection}/detail": {"GET": transfers.list_transfers_detail},
        f"{collection}/{{transfer_id}}": {"GET": transfers.show_transfer,
                                          "DELETE": transfers.delete_transfer},
        f"{collection}/{{transfer_id}}/accept": {"POST": transfers.accept_transfer},
    }

ROUTES: RouteTable = MICROVERSIONS.versioned_routes({
    "/": {"GET": root.list_versions},
    "/v3": {"GET": root.show_version},
    **both_forms({
        "/extensions": {"GET": root.list_extensions},
        "/os-availability-zone": {"GET": root.list_availability_zones},
        "/limits": {"GET": root.show_limits},
        "/resource_filters": {"GET": root.list_resource_filters},
        # Volumes.
        "/volumes": {"GET": volumes.list_volumes, "POST": volumes.create_volume},
        "/volumes/detail": {"GET": volumes.list_volumes_detail},
        "/volumes/summary": {"GET": volumes.volume_summary},
        _VOLUME: {"GET": volumes.show_volume, "PUT": volumes.update_volume,
                  "DELETE": volumes.delete_volume},
        f"{_VOLUME}/action": {"POST": volume_actions.volume_action},
        f"{_VOLUME}/diagnostics": {"GET": diagnostics.show_diagnostics},
        f"{_VOLUME}/metadata": {"GET": volumes.list_metadata,
                                "POST": volumes.create_metadata,
                                "PUT": volumes.replace_metadata},
        f"{_VOLUME}/metadata/{{key}}": {"GET": volumes.show_metadata_item,
                                        "PUT": volumes.set_metadata_item,
                                        "DELETE": volumes.delete_metadata_item},
        # Snapshots.
        "/snapshots": {"GET": snapshots.list_snapshots, "POST": snapshots.create_snapshot},
        "/snapshots/detail": {"GET": snapshots.list_snapshots_detail},
        _SNAPSHOT: {"GET": snapshots.show_snapshot, "PUT": snapshots.update_snapshot,
                    "DELETE": snapshots.delete_snapshot},
        f"{_SNAPSHOT}/action": {"POST": snapshots.snapshot_action},
        f"{_SNAPSHOT}/metadata": {"GET": snapshots.list_metadata,
                                  "POST": snapshots.create_metadata,
                                  "PUT": snapshots.replace_metadata},
        f"{_SNAPSHOT}/metadata/{{key}}": {"GET": snapshots.show_metadata_item,
                                          "PUT": snapshots.set_metadata_item,
                                          "DELETE": snapshots.delete_metadata_item},
        # Attachments (3.27+).
        "/attachments": {"GET": attachments.list_attachments,
                         "POST": attachments.create_attachment},
        "/attachments/detail": {"GET": attachments.list_attachments_detail},
        "/attachments/{attachment_id}": {"GET": attachments.show_attachment,
                                         "PUT": attachments.update_attachment,
                                         "DELETE": attachments.delete_attachment},
        "/attachments/{attachment_id}/action": {"POST": attachments.attachment_action},
        # Transfers.
        **_transfer_routes("/os-volume-transfer"),
        **_transfer_routes("/volume-transfers"),
        # Volume types.
        "/types": {"GET": types.list_types, "POST": types.create_type},
        "/types/default": {"GET": types.show_default_type},
        _TYPE: {"GET": types.show_type, "PUT": types.update_type,
                "DELETE": types.delete_type},
        f"{_TYPE}/extra_specs": {"GET": types.list_extra_specs,
                                 "POST": types.create_extra_specs},
        f"{_TYPE}/extra_specs/{{key}}": {"GET": types.show_extra_spec,
                                         "PUT": types.update_extra_spec,
                                         "DELETE": types.delete_extra_spec},
        f"{_TYPE}/os-volume-type-access": {"GET": types.list_type_access},
        f"{_TYPE}/encryption": {"GET": type_encryption.show_encryption,
                                "POST": type_encryption.create_encryption},
        f"{_TYPE}/encryption/{{key}}": {"GET": type_encryption.show_encryption_item,
                                        "PUT": type_encryption.update_encryption,
                                        "DELETE": type_encryption.delete_encryption},
        f"{_TYPE}/action": {"POST": types.type_action},
        "/default-types": {"GET": types.list_default_types},
        "/default-types/{target_project_id}": {"GET": types.show_default_type_of,
                                               "PUT": types.set_default_type,
                                               "DELETE": types.unset_default_type},
        # Generic volume groups (3.11+, 3.13+, 3.14+).
        "/group_types": {"GET": group_types.list_group_types,
                         "POST": group_types.create_group_type},
        "/group_types/default": {"GET": group_types.show_default_group_type},
        _GROUP_TYPE: {"GET": group_types.show_group_type,
                      "PUT": group_types.update_group_type,
                      "DELETE": group_types.delete_group_type},
        f"{_GROUP_TYPE}/group_specs": {"GET": group_types.list_group_specs,
                                       "POST": group_types.create_group_specs},
        f"{_GROUP_TYPE}/group_specs/{{key}}": {"GET": group_types.show_group_spec,
                                               "PUT": group_types.update_group_spec,
                                               "DELETE": group_types.delete_group_spec},
        "/groups": {"GET": groups.list_groups, "POST": groups.create_group},
        "/groups/detail": {"GET": groups.list_groups_detail},
        "/groups/action": {"POST": groups.create_group_from_source},
        "/groups/{group_id}": {"GET": groups.show_group, "PUT": groups.update_group},
        "/groups/{group_id}/action": {"POST": groups.group_action},
        "/group_snapshots": {"GET": groups.list_group_snapshots,
                             "POST": groups.create_group_snapshot},
        "/group_snapshots/detail": {"GET": groups.list_group_snapshots_detail},
        "/group_snapshots/{group_snapshot_id}": {"GET": groups.show_group_snapshot,
                                                 "DELETE": groups.delete_group_snapshot},
        "/group_snapshots/{group_snapshot_id}/action": {
            "POST": groups.group_snapshot_action},
        # QoS specs.
        "/qos-specs": {"GET": qos_specs.list_qos_specs, "POST": qos_specs.create_qos_specs},
        _QOS: {"GET": qos_specs.show_qos_specs, "PUT": qos_specs.update_qos_specs,
               "DELETE": qos_specs.delete_qos_specs},
        f"{_QOS}/delete_keys": {"PUT": qos_specs.delete_qos_keys},
        f"{_QOS}/associations": {"GET": qos_specs.list_associations},
        f"{_QOS}/associate": {"GET": qos_specs.associate},
        f"{_QOS}/disassociate": {"GET": qos_specs.disassociate},
        f"{_QOS}/disassociate_all": {"GET": qos_specs.disassociate_all},
        # User messages (3.3+).
        "/messages": {"GET": messages.list_messages},
        "/messages/{message_id}": {"GET": messages.show_message,
                                   "DELETE": messages.delete_message},
        # The operator's view.
        "/os-quota-sets/{target_project_id}": {"GET": operator.show_quota_set,
                                               "PUT": operator.update_quota_set,
                                               "DELETE": operator.revert_quota_set},
        "/os-quota-sets/{target_project_id}/defaults": {
            "GET": operator.show_quota_defaults},
        "/os-quota-class-sets/{quota_class}": {"GET": operator.show_quota_class_set,
                                               "PUT": operator.update_quota_class_set},
        "/os-services": {"GET": operator.list_services},
        "/scheduler-stats/get_pools": {"GET": operator.list_pools},
        "/os-services/{action}": {"PUT": operator.update_service},
        # Cinder's deprecated host API (list, show) and a backend's capabilities.
        "/os-hosts": {"GET": hosts.list_hosts},
        "/os-hosts/{host}": {"GET": hosts.show_host},
        "/capabilities/{host}": {"GET": hosts.show_capabilities},
    }),
})
