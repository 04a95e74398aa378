"""Block storage microversions, 3.0 to 3.71, oldest first, one line each: what that
version changed in Cinder, and so in ownstack where ownstack serves the resource.

openstacksdk (and so python-openstackclient, which drives the volume API through it)
negotiates up to 3.71, Cinder's maximum. Versions that changed an API ownstack does not
serve (backups, clusters, manage/unmanage, ...) are listed
with Cinder's change and "(not served)": a client may ask for them and they change
nothing here. A released microversion never changes; ``tests/unit/volume/
test_microversions.py`` pins this list.
"""

from __future__ import annotations

from typing import Final

from ownstack.common.api.microversion import Microversions

SERVICE_TYPE: Final = "volume"
NOT_SERVED: Final = "(not served)"

VERSIONS: Final[tuple[tuple[str, str], ...]] = (
    ("3.0", "Initial version: the v2 API and its extensions under /v3."),
    ("3.1", "os-volume_upload_image takes 'visibility' and 'protected'."),
    ("3.2", "The 'bootable' list filter reads true and false strictly (ownstack at every "
            "version: a value that is not a boolean is a 400, never a silent true)."),
    ("3.3", "User messages: GET /messages, GET and DELETE /messages/{id}."),
    ("3.4", f"The glance_metadata list filter {NOT_SERVED}."),
    ("3.5", "User messages are paged and sorted, and take list filters."),
    ("3.6", f"Blank names for consistency groups {NOT_SERVED}."),
    ("3.7", f"Clusters, and cluster_name in services {NOT_SERVED}."),
    ("3.8", f"Manageable volumes and snapshots {NOT_SERVED}."),
    ("3.9", f"Backup update {NOT_SERVED}."),
    ("3.10", "The group_id list filter (ownstack at every version)."),
    ("3.11", "Group types and group specs: /group_types."),
    ("3.12", "GET /volumes/summary: the count and total size of the project's volumes."),
    ("3.13", "Generic volume groups: /groups; volumes show and take 'group_id'."),
    ("3.14", "Group snapshots: /group_snapshots; groups from a source (create-from-src)."),
    ("3.15", f"ETags on volume metadata {NOT_SERVED}."),
    ("3.16", f"Migration to a cluster {NOT_SERVED}."),
    ("3.17", f"Manageable resources by cluster {NOT_SERVED}."),
    ("3.18", f"Backups show project_id {NOT_SERVED}."),
    ("3.19", "Group snapshot reset_status."),
    ("3.20", "Group reset_status."),
    ("3.21", "Volume details show 'provider_id' to admins (always null here)."),
    ("3.22", "Snapshot lists filter by metadata."),
    ("3.23", "DELETE /volumes/{id} takes 'force'."),
    ("3.24", f"Workers cleanup {NOT_SERVED}."),
    ("3.25", "Groups list their volumes (list_volume=true)."),
    ("3.26", f"Failover and cluster filters {NOT_SERVED}."),
    ("3.27", "The attachments API: /attachments."),
    ("3.28", f"Pool filters {NOT_SERVED}."),
    ("3.29", f"Group snapshot paging {NOT_SERVED}."),
    ("3.30", "Snapshots sort by 'name'."),
    ("3.31", "List filters are checked: an unknown one is a 400."),
    ("3.32", f"Service log levels {NOT_SERVED}."),
    ("3.33", "GET /resource_filters."),
    ("3.34", "'name~' and 'description~' (substring) list filters."),
    ("3.35", f"Pool volume-type filter {NOT_SERVED}."),
    ("3.36", "The volume summary shows the volumes' metadata."),
    ("3.37", f"Backups sort by name {NOT_SERVED}."),
    ("3.38", f"Replication groups {NOT_SERVED}."),
    ("3.39", "Admins ask /limits about a project (?project_id=)."),
    ("3.40", "The 'revert' volume action: back to its latest snapshot."),
    ("3.41", "Snapshots show 'user_id'."),
    ("3.42", "os-extend of an in-use volume (compute's QEMU grows it; 3.71 confirms)."),
    ("3.43", f"Backup metadata {NOT_SERVED}."),
    ("3.44", "POST /attachments/{id}/action os-complete."),
    ("3.45", "'with_count' on volume and snapshot lists: 'count' beside them."),
    ("3.46", f"Volumes from Nova's zero-size images {NOT_SERVED}."),
    ("3.47", f"Volumes from backups {NOT_SERVED}."),
    ("3.48", "Volumes show 'shared_targets' and 'service_uuid'."),
    ("3.49", "Services show 'backend_state'."),
    ("3.50", "Multiattach volumes: 'multiattach' at create."),
    ("3.51", f"Backups across zones {NOT_SERVED}."),
    ("3.52", "Volume types filter by extra_specs; RESKEY:availability_zones."),
    ("3.53", "Strict request bodies: unknown fields in volume create and update are 400."),
    ("3.54", "Attachment create takes 'mode' (rw, ro)."),
    ("3.55", "Transfers: /volume-transfers (ownstack at every version, as Cinder routes "
            "it) and 'no_snapshots' at create and in the views."),
    ("3.56", f"Backups show user_id {NOT_SERVED}."),
    ("3.57", "Transfers show 'source_project_id', 'destination_project_id' and "
            "'accepted'."),
    ("3.58", "Groups and group snapshots show project_id."),
    ("3.59", "Transfer lists take marker, limit, offset and sort (ownstack at every "
            "version)."),
    ("3.60", "created_at and updated_at list filters with gt, gte, eq, neq, lt and lte."),
    ("3.61", "Volume details show 'cluster_name' to admins (always null here)."),
    ("3.62", "Per-project default volume types: /default-types."),
    ("3.63", "Volume details show 'volume_type_id'."),
    ("3.64", "Volume details show 'encryption_key_id' (never: no encryption here)."),
    ("3.65", "Volumes and snapshots show 'consumes_quota'; a list filter of that name."),
    ("3.66", "Snapshots of in-use volumes need no 'force'."),
    ("3.67", "The project id in URLs is optional (ownstack accepts both forms always)."),
    ("3.68", f"Re-imaging a volume {NOT_SERVED}."),
    ("3.69", "'shared_targets' may be null."),
    ("3.70", f"Transfers of encrypted volumes {NOT_SERVED}."),
    ("3.71", "The os-extend_volume_completion action: compute confirms (or fails) the "
             "growth of an in-use volume."),
)

MICROVERSIONS: Final = Microversions(SERVICE_TYPE, VERSIONS)
