"""Cinder's default policy for the rules ownstack implements (its 2023.1+ secure
defaults, ``enforce_scope`` aside): the admin anywhere is the cloud admin, a project's
member changes its volumes, a reader reads them. A policy file overrides any rule.

Which rows a caller sees is decided first, in SQL (another project's volume is a 404, as
Cinder's database queries filter by project); these rules then decide what the caller may
do with what it sees. The target of a rule is the resource's project (the caller's own on
create and list).
"""

from __future__ import annotations

from typing import Final

ADMIN: Final = "rule:admin_api"
ANY: Final = "@"
READER: Final = "rule:admin_or_project_reader"
MEMBER: Final = "rule:admin_or_project_member"

DEFAULT_RULES: Final[dict[str, str]] = {
    "context_is_admin": "role:admin",
    "admin_api": "rule:context_is_admin",
    "project_reader": "role:reader and project_id:%(project_id)s",
    "project_member": "role:member and project_id:%(project_id)s",
    "admin_or_project_reader": "rule:context_is_admin or rule:project_reader",
    "admin_or_project_member": "rule:context_is_admin or rule:project_member",
    # Volumes.
    "volume:create": MEMBER,
    "volume:create_from_image": MEMBER,
    "volume:get": READER,
    "volume:get_all": READER,
    "volume:update": MEMBER,
    "volume:delete": MEMBER,
    "volume:force_delete": ADMIN,
    "volume:extend": MEMBER,
    "volume:extend_attached_volume": MEMBER,
    "volume:revert_to_snapshot": MEMBER,
    "volume:update_readonly_flag": MEMBER,
    "volume:get_volume_metadata": READER,
    "volume:create_volume_metadata": MEMBER,
    "volume:update_volume_metadata": MEMBER,
    "volume:delete_volume_metadata": MEMBER,
    "volume:multiattach": MEMBER,
    "volume_extension:volume_actions:upload_image": MEMBER,
    "volume_extension:volume_actions:upload_public": ADMIN,
    "volume_extension:volume_actions:upload_protected": ADMIN,
    "volume_extension:volume_actions:reserve": MEMBER,
    "volume_extension:volume_actions:unreserve": MEMBER,
    "volume_extension:volume_actions:begin_detaching": MEMBER,
    "volume_extension:volume_actions:roll_detaching": MEMBER,
    "volume_extension:volume_actions:attach": MEMBER,
    "volume_extension:volume_actions:detach": MEMBER,
    "volume_extension:volume_actions:initialize_connection": MEMBER,
    "volume_extension:volume_actions:terminate_connection": MEMBER,
    "volume_extension:volume_admin_actions:reset_status": ADMIN,
    "volume_extension:volume_admin_actions:force_delete": ADMIN,
    "volume_extension:volume_admin_actions:force_detach": ADMIN,
    "volume_extension:volume_actions:extend_volume_completion": ADMIN,
    # The extra attributes of volume views.
    "volume_extension:volume_tenant_attribute": READER,
    "volume_extension:volume_host_attribute": ADMIN,
    "volume_extension:volume_diagnostics": ADMIN,
    "volume_extension:volume_mig_status_attribute": ADMIN,
    "volume_extension:volume_image_metadata:show": READER,
    "volume_extension:volume_image_metadata:set": MEMBER,
    "volume_extension:volume_image_metadata:remove": MEMBER,
    "volume:get_all_tenants": ADMIN,
    # Snapshots.
    "volume:create_snapshot": MEMBER,
    "volume:get_snapshot": READER,
    "volume:get_all_snapshots": READER,
    "volume:update_snapshot": MEMBER,
    "volume:delete_snapshot": MEMBER,
    "volume:get_snapshot_metadata": READER,
    "volume:update_snapshot_metadata": MEMBER,
    "volume:delete_snapshot_metadata": MEMBER,
    "volume_extension:snapshot_admin_actions:reset_status": ADMIN,
    "volume_extension:snapshot_admin_actions:force_delete": ADMIN,
    "snapshot_extension:snapshot_actions:update_snapshot_status": MEMBER,
    "volume_extension:extended_snapshot_attributes": READER,
    # Attachments.
    "volume:attachment_create": MEMBER,
    "volume:attachment_update": MEMBER,
    "volume:attachment_delete": MEMBER,
    "volume:attachment_complete": MEMBER,
    "volume:attachment_get": READER,
    "volume:attachment_get_all": READER,
    # Transfers: the giving project's; any project's member may accept one it knows
    # the id and key of.
    "volume:create_transfer": MEMBER,
    "volume:get_transfer": READER,
    "volume:get_all_transfers": READER,
    "volume:delete_transfer": MEMBER,
    "volume:accept_transfer": MEMBER,
    # User messages.
    "message:get_all": READER,
    "message:get": READER,
    "message:delete": MEMBER,
    "volume:retype": MEMBER,
    # Volume types: anyone reads the public ones; only the admin manages them.
    "volume_extension:type_get": ANY,
    "volume_extension:type_get_all": ANY,
    "volume_extension:type_create": ADMIN,
    "volume_extension:type_update": ADMIN,
    "volume_extension:type_delete": ADMIN,
    "volume_extension:access_types_extra_specs": ADMIN,
    "volume_extension:access_types_qos_specs_id": ADMIN,
    "volume_extension:types_extra_specs:index": ANY,
    "volume_extension:types_extra_specs:show": ANY,
    "volume_extension:types_extra_specs:create": ADMIN,
    "volume_extension:types_extra_specs:update": ADMIN,
    "volume_extension:types_extra_specs:delete": ADMIN,
    "volume_extension:volume_type_access": ADMIN,
    "volume_extension:volume_type_access:addProjectAccess": ADMIN,
    "volume_extension:volume_type_access:removeProjectAccess": ADMIN,
    # A type's encryption: the admin's, reads too (Cinder's defaults).
    "volume_extension:volume_type_encryption:create": ADMIN,
    "volume_extension:volume_type_encryption:get": ADMIN,
    "volume_extension:volume_type_encryption:update": ADMIN,
    "volume_extension:volume_type_encryption:delete": ADMIN,
    "volume_extension:qos_specs_manage:get": ADMIN,
    "volume_extension:qos_specs_manage:get_all": ADMIN,
    "volume_extension:qos_specs_manage:create": ADMIN,
    "volume_extension:qos_specs_manage:update": ADMIN,
    "volume_extension:qos_specs_manage:delete": ADMIN,
    "volume_extension:default_get": ADMIN,
    "volume_extension:default_get_all": ADMIN,
    "volume_extension:default_set_or_update": ADMIN,
    "volume_extension:default_unset": ADMIN,
    # Generic volume groups: group types are the admin's, groups and group snapshots
    # their project's.
    "group:group_types:create": ADMIN,
    "group:group_types:update": ADMIN,
    "group:group_types:delete": ADMIN,
    "group:access_group_types_specs": ADMIN,
    "group:group_types_specs:get": ADMIN,
    "group:group_types_specs:get_all": ADMIN,
    "group:group_types_specs:create": ADMIN,
    "group:group_types_specs:update": ADMIN,
    "group:group_types_specs:delete": ADMIN,
    "group:get": READER,
    "group:get_all": READER,
    "group:create": MEMBER,
    "group:update": MEMBER,
    "group:delete": MEMBER,
    "group:reset_status": ADMIN,
    "group:get_group_snapshot": READER,
    "group:get_all_group_snapshots": READER,
    "group:create_group_snapshot": MEMBER,
    "group:delete_group_snapshot": MEMBER,
    "group:reset_group_snapshot_status": ADMIN,
    # The operator's view.
    "volume_extension:quotas:show": READER,
    "volume_extension:quotas:update": ADMIN,
    "volume_extension:quotas:delete": ADMIN,
    "volume_extension:quota_classes:get": ADMIN,
    "volume_extension:quota_classes:update": ADMIN,
    "volume_extension:services:index": ADMIN,
    "volume_extension:services:update": ADMIN,
    "scheduler_extension:scheduler_stats:get_pools": ADMIN,
    "volume_extension:hosts": ADMIN,
    "volume_extension:capabilities": ADMIN,
    "volume_extension:availability_zone_list": ANY,
    "limits_extension:used_limits": ANY,
    "volume:get_resource_filters": ANY,
}
