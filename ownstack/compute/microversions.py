"""Compute's microversions, 2.1 to 2.96, oldest first, one line each: what that version
changed in Nova, and so in ownstack where ownstack serves the resource.

Versions that changed an API ownstack does not serve (migrations, aggregates, ...) are
listed with Nova's change and "(not served)": a client
may ask for them, and they change nothing here. A released microversion never changes;
``tests/unit/compute/test_microversions.py`` pins this list.
"""

from __future__ import annotations

from typing import Final

from ownstack.common.api.microversion import Microversions

SERVICE_TYPE: Final = "compute"
LEGACY_HEADER: Final = "X-OpenStack-Nova-API-Version"

# Marks a version whose change is to an API ownstack does not serve.
NOT_SERVED: Final = "(not served)"

VERSIONS: Final[tuple[tuple[str, str], ...]] = (
    ("2.1", "Initial version: the v2.0 API with strict input validation."),
    ("2.2", "Keypair 'type' (ssh, x509); POST /os-keypairs answers 201, DELETE 204."),
    ("2.3", "Extended server attributes: reservation_id, launch_index, kernel_id, "
            "ramdisk_id, hostname, root_device_name, user_data (admin)."),
    ("2.4", f"Fixed IPs show 'reserved' {NOT_SERVED}."),
    ("2.5", "Non-admins may filter GET /servers by 'ip6'."),
    ("2.6", "POST /servers/{id}/remote-consoles replaces the console actions."),
    ("2.7", "addTenantAccess to a public flavor is a 409."),
    ("2.8", "The 'mks' remote console protocol (refused: 400, as Nova without MKS)."),
    ("2.9", "Servers show 'locked'."),
    ("2.10", "Keypairs of another user, by admins: 'user_id' in create, ?user_id= elsewhere."),
    ("2.11", "Services show and update 'forced_down' (PUT /os-services/force-down)."),
    ("2.12", f"Virtual interfaces show 'net_id' {NOT_SERVED}."),
    ("2.13", "Server groups show 'project_id' and 'user_id'."),
    ("2.14", f"evacuate loses 'onSharedStorage' and its adminPass reply {NOT_SERVED}."),
    ("2.15", "Server group policies 'soft-affinity' and 'soft-anti-affinity'."),
    ("2.16", "Servers show 'host_status' (admin)."),
    ("2.17", f"The 'trigger_crash_dump' server action {NOT_SERVED}."),
    ("2.18", "The project id in URLs becomes optional (ownstack never uses it)."),
    ("2.19", "Server 'description' in create, update, rebuild and views."),
    ("2.20", "Volume attach/detach on SHELVED_OFFLOADED servers, connected at unshelve."),
    ("2.21", "Instance actions of deleted servers can be listed."),
    ("2.22", f"Force-complete of a live migration {NOT_SERVED}."),
    ("2.23", f"GET /servers/{{id}}/migrations and migration_type {NOT_SERVED}."),
    ("2.24", f"Abort a live migration {NOT_SERVED}."),
    ("2.25", f"os-migrateLive block_migration 'auto' {NOT_SERVED}."),
    ("2.26", "Server tags: /servers/{id}/tags, tags in views, tag filters on lists."),
    ("2.27", "The OpenStack-API-Version header is accepted beside the Nova one."),
    ("2.28", "Hypervisor 'cpu_info' is an object rather than a string."),
    ("2.29", f"evacuate takes 'force' {NOT_SERVED}."),
    ("2.30", f"os-migrateLive takes 'force' {NOT_SERVED}."),
    ("2.31", "GET /os-console-auth-tokens/{token} for every console type."),
    ("2.32", "Device tags on networks and block devices at create."),
    ("2.33", "limit and marker on GET /os-hypervisors, with hypervisors_links."),
    ("2.34", f"Live-migration checks run in the background {NOT_SERVED}."),
    ("2.35", "limit and marker on GET /os-keypairs, with keypairs_links."),
    ("2.36", "Proxy APIs (images, networks, volumes, security groups) answer 404; network "
             "quotas leave quotas and limits."),
    ("2.37", "Server create requires 'networks': a list, 'auto' or 'none'; network uuids "
             "must be UUIDs."),
    ("2.38", "An unknown ?status= on GET /servers is a 400."),
    ("2.39", "The image-metadata proxy and 'maxImageMeta' limit are gone."),
    ("2.40", "limit and marker on os-simple-tenant-usage, with *_links."),
    ("2.41", "Aggregates show 'uuid'."),
    ("2.42", "Device tags on networks and block devices restored at create."),
    ("2.43", "os-hosts answers 404."),
    ("2.44", "addFloatingIp/removeFloatingIp (and addFixedIp, os-virtual-interfaces) "
             "answer 404."),
    ("2.45", "createImage answers {'image_id'} in the body instead of a Location header."),
    ("2.46", "X-OpenStack-Request-ID beside X-Compute-Request-ID (signal only)."),
    ("2.47", "Servers embed their flavor (name, sizes, extra_specs) instead of an id/link."),
    ("2.48", "Standardised server diagnostics."),
    ("2.49", "Tagged interface and volume attach ('tag' in os-interface and "
             "os-volume_attachments)."),
    ("2.50", f"Quota class sets show server_groups, not network quotas {NOT_SERVED}."),
    ("2.51", "Instance action details show 'events' to everyone (traceback for admins)."),
    ("2.52", "Tags in the server create request."),
    ("2.53", "Services and hypervisors are named by uuid; PUT /os-services/{uuid}; "
             "hypervisor_hostname_pattern and with_servers on hypervisor lists."),
    ("2.54", "Rebuild may set the server's key_name."),
    ("2.55", "Flavor 'description'; PUT /flavors/{id} updates it."),
    ("2.56", f"The migrate action takes 'host' {NOT_SERVED}."),
    ("2.57", "Rebuild takes user_data; 'personality' and its limits and quotas are gone."),
    ("2.58", "limit, marker and changes-since on GET /servers/{id}/os-instance-actions."),
    ("2.59", f"Paging and uuids for migrations {NOT_SERVED}."),
    ("2.60", f"Multiattach volumes {NOT_SERVED}."),
    ("2.61", "'extra_specs' inline in flavor views."),
    ("2.62", "Instance action events show 'host' (admin) and 'hostId'."),
    ("2.63", "trusted_image_certificates in create, rebuild and views."),
    ("2.64", "Server groups take and show 'policy' and 'rules' instead of 'policies' and "
             "'metadata'."),
    ("2.65", f"Abort queued or preparing live migrations {NOT_SERVED}."),
    ("2.66", "changes-before filter on servers and instance actions."),
    ("2.67", f"volume_type in block_device_mapping_v2 {NOT_SERVED}."),
    ("2.68", f"Forced live-migrate and evacuate are gone {NOT_SERVED}."),
    ("2.69", "Minimal records for servers and services in unreachable cells (none in "
             "ownstack)."),
    ("2.70", "Device tags in interface and volume attachment views."),
    ("2.71", "Servers show 'server_groups' in show, update and rebuild."),
    ("2.72", "Neutron ports with resource requests at create."),
    ("2.73", "lock takes 'locked_reason'; servers show it; ?locked= filter."),
    ("2.74", "Server create takes 'host' and 'hypervisor_hostname' (admin)."),
    ("2.75", "Unknown query params are 400; update and rebuild answer the full server; "
             "flavor swap 0 not \"\"; hypervisor 'servers' always with with_servers."),
    ("2.76", f"The power-update external event {NOT_SERVED}."),
    ("2.77", f"unshelve takes 'availability_zone' {NOT_SERVED}."),
    ("2.78", f"GET /servers/{{id}}/topology {NOT_SERVED}."),
    ("2.79", "delete_on_termination on volume attach, shown in its views."),
    ("2.80", f"Migrations show and filter user_id and project_id {NOT_SERVED}."),
    ("2.81", f"Image pre-caching on aggregates {NOT_SERVED}."),
    ("2.82", f"The accelerator-request-bound external event {NOT_SERVED}."),
    ("2.83", "More server list filters for non-admins (availability_zone, key_name, ...)."),
    ("2.84", "Instance action events show 'details' of failed events."),
    ("2.85", "PUT volume attachments changes delete_on_termination."),
    ("2.86", "Flavor extra specs of known namespaces are validated on create and update."),
    ("2.87", f"Rescue of volume-backed servers {NOT_SERVED}."),
    ("2.88", "Hypervisors lose the capacity fields and cpu_info, gain 'uptime'; "
             "/os-hypervisors/statistics is 404."),
    ("2.89", "Volume attachments show attachment_id and bdm_uuid, not id."),
    ("2.90", "Server 'hostname' settable in create, update and rebuild, shown to owners."),
    ("2.91", f"unshelve to a host, pinning or unpinning the zone {NOT_SERVED}."),
    ("2.92", "Keypair import only (no generation); names may hold '@' and '.'."),
    ("2.93", f"Rebuild of volume-backed servers {NOT_SERVED}."),
    ("2.94", "Server hostname may be a fully qualified domain name."),
    ("2.95", f"evacuate leaves a stopped server stopped {NOT_SERVED}."),
    ("2.96", "Servers show 'pinned_availability_zone'."),
)

MICROVERSIONS: Final = Microversions(SERVICE_TYPE, VERSIONS, legacy_header=LEGACY_HEADER)
