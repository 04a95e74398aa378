"""Compute: every URL, method and handler in one table.

Each handler runs behind microversion negotiation, which accepts both
``OpenStack-API-Version: compute X.Y`` and ``X-OpenStack-Nova-API-Version: X.Y`` and echoes
both; an unknown method gets a 405 with a generated ``Allow`` header.
"""

from __future__ import annotations

from ownstack.common.api.routing import RouteTable
from ownstack.compute.api.handlers import (
    availability_zones,
    extra_specs,
    flavor_access,
    flavors,
    hosts,
    hypervisors,
    images,
    instance_actions,
    interfaces,
    keypairs,
    limits,
    migrations,
    network_proxies,
    quota_sets,
    remote_consoles,
    server_actions,
    server_diagnostics,
    server_external_events,
    server_groups,
    server_metadata,
    server_password,
    server_tags,
    servers,
    services,
    simple_tenant_usage,
    versions,
    volume_attachments,
)
from ownstack.compute.microversions import MICROVERSIONS

_V = "/v2.1"
_FLAVOR = f"{_V}/flavors/{{flavor_id}}"
_SERVER = f"{_V}/servers/{{server_id}}"

ROUTES: RouteTable = MICROVERSIONS.versioned_routes({
    "/": {"GET": versions.list_versions},
    _V: {"GET": versions.show_version},
    "/v2": {"GET": versions.show_legacy_version},
    f"{_V}/flavors": {"GET": flavors.list_flavors, "POST": flavors.create_flavor},
    f"{_V}/flavors/detail": {"GET": flavors.list_flavors_detail},
    _FLAVOR: {"GET": flavors.show_flavor, "PUT": flavors.update_flavor,
              "DELETE": flavors.delete_flavor},
    f"{_FLAVOR}/action": {"POST": flavor_access.flavor_action},
    f"{_FLAVOR}/os-flavor-access": {"GET": flavor_access.list_flavor_access},
    f"{_FLAVOR}/os-extra_specs": {"GET": extra_specs.list_extra_specs,
                                  "POST": extra_specs.create_extra_specs},
    f"{_FLAVOR}/os-extra_specs/{{key}}": {"GET": extra_specs.show_extra_spec,
                                          "PUT": extra_specs.update_extra_spec,
                                          "DELETE": extra_specs.delete_extra_spec},
    f"{_V}/os-keypairs": {"GET": keypairs.list_keypairs, "POST": keypairs.create_keypair},
    f"{_V}/os-keypairs/{{name}}": {"GET": keypairs.show_keypair,
                                   "DELETE": keypairs.delete_keypair},
    # Servers.
    f"{_V}/servers": {"GET": servers.list_servers, "POST": servers.create_server},
    f"{_V}/os-server-external-events": {"POST": server_external_events.create_events},
    f"{_V}/servers/detail": {"GET": servers.list_servers_detail},
    _SERVER: {"GET": servers.show_server, "PUT": servers.update_server,
              "DELETE": servers.delete_server},
    f"{_SERVER}/action": {"POST": server_actions.server_action},
    f"{_SERVER}/diagnostics": {"GET": server_diagnostics.show_diagnostics},
    f"{_SERVER}/remote-consoles": {"POST": remote_consoles.create_remote_console},
    f"{_V}/os-console-auth-tokens/{{console_token}}": {
        "GET": remote_consoles.show_console_auth_token},
    f"{_SERVER}/ips": {"GET": servers.list_server_ips},
    f"{_SERVER}/ips/{{network_label}}": {"GET": servers.show_server_ips},
    f"{_SERVER}/metadata": {"GET": server_metadata.list_metadata,
                            "PUT": server_metadata.replace_metadata,
                            "POST": server_metadata.update_metadata},
    f"{_SERVER}/metadata/{{key}}": {"GET": server_metadata.show_metadata_item,
                                    "PUT": server_metadata.set_metadata_item,
                                    "DELETE": server_metadata.delete_metadata_item},
    f"{_SERVER}/tags": {"GET": server_tags.list_tags, "PUT": server_tags.replace_tags,
                        "DELETE": server_tags.delete_all_tags},
    f"{_SERVER}/tags/{{tag}}": {"GET": server_tags.check_tag, "PUT": server_tags.add_tag,
                                "DELETE": server_tags.delete_tag},
    f"{_SERVER}/os-interface": {"GET": interfaces.list_interfaces,
                                "POST": interfaces.attach_interface},
    f"{_SERVER}/os-interface/{{port_id}}": {"GET": interfaces.show_interface,
                                            "DELETE": interfaces.detach_interface},
    f"{_SERVER}/os-volume_attachments": {"GET": volume_attachments.list_attachments,
                                         "POST": volume_attachments.attach_volume},
    f"{_SERVER}/os-volume_attachments/{{volume_id}}": {
        "GET": volume_attachments.show_attachment,
        "PUT": volume_attachments.update_attachment,
        "DELETE": volume_attachments.detach_volume},
    f"{_SERVER}/os-security-groups": {"GET": network_proxies.list_server_security_groups},
    f"{_SERVER}/os-server-password": {"GET": server_password.show_password,
                                      "DELETE": server_password.clear_password},
    f"{_SERVER}/os-instance-actions": {"GET": instance_actions.list_actions},
    f"{_SERVER}/os-instance-actions/{{request_id}}": {"GET": instance_actions.show_action},
    # The network proxies (up to 2.35).
    f"{_V}/os-security-groups": {"GET": network_proxies.list_security_groups,
                                 "POST": network_proxies.create_security_group},
    f"{_V}/os-security-groups/{{security_group_id}}": {"GET": network_proxies.show_security_group,
                                              "PUT": network_proxies.update_security_group,
                                              "DELETE": network_proxies.delete_security_group},
    f"{_V}/os-security-group-rules": {"POST": network_proxies.create_security_group_rule},
    f"{_V}/os-security-group-rules/{{security_group_rule_id}}": {
        "DELETE": network_proxies.delete_security_group_rule},
    f"{_V}/os-floating-ips": {"GET": network_proxies.list_floating_ips,
                              "POST": network_proxies.create_floating_ip},
    f"{_V}/os-floating-ips/{{floatingip_id}}": {"GET": network_proxies.show_floating_ip,
                                                 "DELETE": network_proxies.delete_floating_ip},
    # The image proxy (up to 2.35; its metadata up to 2.38).
    f"{_V}/images": {"GET": images.list_images},
    f"{_V}/images/detail": {"GET": images.list_images_detail},
    f"{_V}/images/{{image_id}}": {"GET": images.show_image, "DELETE": images.delete_image},
    f"{_V}/images/{{image_id}}/metadata": {"GET": images.list_image_metadata,
                                           "POST": images.update_image_metadata,
                                           "PUT": images.replace_image_metadata},
    f"{_V}/images/{{image_id}}/metadata/{{key}}": {
        "GET": images.show_image_metadata_item, "PUT": images.set_image_metadata_item,
        "DELETE": images.delete_image_metadata_item},
    # Quotas, limits, usage.
    f"{_V}/os-quota-sets/{{project_id}}": {"GET": quota_sets.show_quota_set,
                                           "PUT": quota_sets.update_quota_set,
                                           "DELETE": quota_sets.revert_quota_set},
    f"{_V}/os-quota-sets/{{project_id}}/defaults": {"GET": quota_sets.show_defaults},
    f"{_V}/os-quota-sets/{{project_id}}/detail": {"GET": quota_sets.show_detail},
    f"{_V}/limits": {"GET": limits.show_limits},
    f"{_V}/os-simple-tenant-usage": {"GET": simple_tenant_usage.list_usage},
    f"{_V}/os-simple-tenant-usage/{{project_id}}": {"GET": simple_tenant_usage.show_usage},
    # The operator's view.
    f"{_V}/os-availability-zone": {"GET": availability_zones.list_zones},
    f"{_V}/os-availability-zone/detail": {"GET": availability_zones.list_zones_detail},
    f"{_V}/os-hypervisors": {"GET": hypervisors.list_hypervisors},
    f"{_V}/os-hypervisors/detail": {"GET": hypervisors.list_hypervisors_detail},
    f"{_V}/os-hypervisors/statistics": {"GET": hypervisors.hypervisor_statistics},
    f"{_V}/os-hypervisors/{{hypervisor_id}}": {"GET": hypervisors.show_hypervisor},
    f"{_V}/os-hypervisors/{{hypervisor_id}}/uptime": {"GET": hypervisors.hypervisor_uptime},
    f"{_V}/os-migrations": {"GET": migrations.list_migrations},
    f"{_V}/os-hypervisors/{{hypervisor_hostname_pattern}}/search": {
        "GET": hypervisors.search_hypervisors},
    f"{_V}/os-hypervisors/{{hypervisor_hostname_pattern}}/servers": {
        "GET": hypervisors.hypervisor_servers},
    # Nova's deprecated host API, up to 2.42.
    f"{_V}/os-hosts": {"GET": hosts.list_hosts},
    f"{_V}/os-hosts/{{host}}": {"GET": hosts.show_host, "PUT": hosts.update_host},
    f"{_V}/os-hosts/{{host}}/startup": {"GET": hosts.startup_host},
    f"{_V}/os-hosts/{{host}}/shutdown": {"GET": hosts.shutdown_host},
    f"{_V}/os-hosts/{{host}}/reboot": {"GET": hosts.reboot_host},
    f"{_V}/os-services": {"GET": services.list_services},
    f"{_V}/os-services/{{service_id}}": {"PUT": services.update_service,
                                         "DELETE": services.delete_service},
    f"{_V}/os-server-groups": {"GET": server_groups.list_groups,
                               "POST": server_groups.create_group},
    f"{_V}/os-server-groups/{{group_id}}": {"GET": server_groups.show_group,
                                            "DELETE": server_groups.delete_group},
})
