"""Identity v3: every URL, method and handler in one table."""

from __future__ import annotations

from ownstack.common.api.routing import RouteTable
from ownstack.identity.api.handlers import (
    access_rules,
    app_creds,
    assignments,
    auth,
    catalog,
    credentials,
    domain_config,
    domains,
    endpoint_filter,
    groups,
    oauth1,
    policies,
    projects,
    roles,
    users,
    versions,
)

_EP = "/v3/OS-EP-FILTER"
_OAUTH = "/v3/OS-OAUTH1"
_ACCESS_TOKENS = "/v3/users/{user_id}/OS-OAUTH1/access_tokens"
_DOMAIN_CONFIG = {"GET": domain_config.show_config, "PATCH": domain_config.update_config,
                  "DELETE": domain_config.delete_config}
_GRANTS = {"GET": assignments.check_grant, "HEAD": assignments.check_grant,
           "PUT": assignments.create_grant, "DELETE": assignments.revoke_grant}

ROUTES: RouteTable = {
    "/": {"GET": versions.list_versions},
    "/v3": {"GET": versions.show_v3},

    "/v3/auth/tokens": {"POST": auth.issue_token, "GET": auth.validate_token,
                        "HEAD": auth.check_token, "DELETE": auth.revoke_token},
    "/v3/auth/catalog": {"GET": auth.show_catalog},
    "/v3/auth/projects": {"GET": auth.list_auth_projects},
    "/v3/auth/domains": {"GET": auth.list_auth_domains},
    "/v3/auth/system": {"GET": auth.list_auth_system},

    "/v3/domains": {"GET": domains.list_domains, "POST": domains.create_domain},
    "/v3/domains/{domain_id}": {"GET": domains.show_domain, "PATCH": domains.update_domain,
                                "DELETE": domains.delete_domain},
    # The defaults first: a domain whose id is "config" must not shadow them.
    "/v3/domains/config/default": {"GET": domain_config.show_default},
    "/v3/domains/config/{group}/default": {"GET": domain_config.show_default},
    "/v3/domains/config/{group}/{option}/default": {"GET": domain_config.show_default},
    "/v3/domains/{domain_id}/config": {**_DOMAIN_CONFIG, "PUT": domain_config.create_config},
    "/v3/domains/{domain_id}/config/{group}": _DOMAIN_CONFIG,
    "/v3/domains/{domain_id}/config/{group}/{option}": _DOMAIN_CONFIG,

    "/v3/projects": {"GET": projects.list_projects, "POST": projects.create_project},
    "/v3/projects/{project_id}": {"GET": projects.show_project,
                                  "PATCH": projects.update_project,
                                  "DELETE": projects.delete_project},
    "/v3/projects/{project_id}/tags": {"GET": projects.list_tags, "PUT": projects.replace_tags,
                                       "DELETE": projects.delete_tags},
    "/v3/projects/{project_id}/tags/{tag}": {"GET": projects.check_tag,
                                             "HEAD": projects.check_tag,
                                             "PUT": projects.add_tag,
                                             "DELETE": projects.delete_tag},

    "/v3/users": {"GET": users.list_users, "POST": users.create_user},
    "/v3/users/{user_id}": {"GET": users.show_user, "PATCH": users.update_user,
                            "DELETE": users.delete_user},
    "/v3/users/{user_id}/password": {"POST": users.change_password},
    "/v3/users/{user_id}/projects": {"GET": users.list_user_projects},
    "/v3/users/{user_id}/groups": {"GET": users.list_user_groups},
    "/v3/users/{user_id}/application_credentials": {
        "GET": app_creds.list_app_creds, "POST": app_creds.create_app_cred},
    "/v3/users/{user_id}/application_credentials/{app_cred_id}": {
        "GET": app_creds.show_app_cred, "DELETE": app_creds.delete_app_cred},
    "/v3/users/{user_id}/access_rules": {"GET": access_rules.list_access_rules},
    "/v3/users/{user_id}/access_rules/{access_rule_id}": {
        "GET": access_rules.show_access_rule, "DELETE": access_rules.delete_access_rule},
    "/v3/users/{user_id}/credentials/OS-EC2": {
        "GET": credentials.list_ec2_credentials, "POST": credentials.create_ec2_credential},
    "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}": {
        "GET": credentials.show_ec2_credential, "DELETE": credentials.delete_ec2_credential},

    f"{_OAUTH}/consumers": {"GET": oauth1.list_consumers, "POST": oauth1.create_consumer},
    f"{_OAUTH}/consumers/{{consumer_id}}": {"GET": oauth1.show_consumer,
                                             "PATCH": oauth1.update_consumer,
                                             "DELETE": oauth1.delete_consumer},
    f"{_OAUTH}/request_token": {"POST": oauth1.create_request_token},
    f"{_OAUTH}/authorize/{{request_token_id}}": {"PUT": oauth1.authorize_request_token},
    f"{_OAUTH}/access_token": {"POST": oauth1.create_access_token},
    _ACCESS_TOKENS: {"GET": oauth1.list_access_tokens},
    f"{_ACCESS_TOKENS}/{{access_token_id}}": {"GET": oauth1.show_access_token,
                                              "DELETE": oauth1.delete_access_token},
    f"{_ACCESS_TOKENS}/{{access_token_id}}/roles": {"GET": oauth1.list_access_token_roles},
    f"{_ACCESS_TOKENS}/{{access_token_id}}/roles/{{role_id}}": {
        "GET": oauth1.show_access_token_role},

    "/v3/credentials": {"GET": credentials.list_credentials,
                        "POST": credentials.create_credential},
    "/v3/credentials/{credential_id}": {"GET": credentials.show_credential,
                                        "PATCH": credentials.update_credential,
                                        "DELETE": credentials.delete_credential},
    "/v3/policies": {"GET": policies.list_policies, "POST": policies.create_policy},
    "/v3/policies/{policy_id}": {"GET": policies.show_policy, "PATCH": policies.update_policy,
                                 "DELETE": policies.delete_policy},

    "/v3/groups": {"GET": groups.list_groups, "POST": groups.create_group},
    "/v3/groups/{group_id}": {"GET": groups.show_group, "PATCH": groups.update_group,
                              "DELETE": groups.delete_group},
    "/v3/groups/{group_id}/users": {"GET": groups.list_group_users},
    "/v3/groups/{group_id}/users/{user_id}": {"PUT": groups.add_user, "HEAD": groups.check_user,
                                              "GET": groups.check_user,
                                              "DELETE": groups.remove_user},

    "/v3/roles": {"GET": roles.list_roles, "POST": roles.create_role},
    "/v3/roles/{role_id}": {"GET": roles.show_role, "PATCH": roles.update_role,
                            "DELETE": roles.delete_role},
    "/v3/roles/{prior_role_id}/implies": {"GET": roles.list_implied_roles},
    "/v3/roles/{prior_role_id}/implies/{implied_role_id}": {
        "PUT": roles.create_implied_role, "GET": roles.show_implied_role,
        "HEAD": roles.check_implied_role, "DELETE": roles.delete_implied_role},
    "/v3/role_inferences": {"GET": roles.list_role_inferences},

    "/v3/role_assignments": {"GET": assignments.list_role_assignments},
    "/v3/projects/{project_id}/users/{user_id}/roles": {"GET": assignments.list_grants},
    "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}": _GRANTS,
    "/v3/projects/{project_id}/groups/{group_id}/roles": {"GET": assignments.list_grants},
    "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}": _GRANTS,
    "/v3/domains/{domain_id}/users/{user_id}/roles": {"GET": assignments.list_grants},
    "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}": _GRANTS,
    "/v3/domains/{domain_id}/groups/{group_id}/roles": {"GET": assignments.list_grants},
    "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}": _GRANTS,
    "/v3/system/users/{user_id}/roles": {"GET": assignments.list_grants},
    "/v3/system/users/{user_id}/roles/{role_id}": _GRANTS,
    "/v3/system/groups/{group_id}/roles": {"GET": assignments.list_grants},
    "/v3/system/groups/{group_id}/roles/{role_id}": _GRANTS,

    "/v3/regions": {"GET": catalog.list_regions, "POST": catalog.create_region},
    "/v3/regions/{region_id}": {"GET": catalog.show_region, "PATCH": catalog.update_region,
                                "PUT": catalog.put_region, "DELETE": catalog.delete_region},
    "/v3/services": {"GET": catalog.list_services, "POST": catalog.create_service},
    "/v3/services/{service_id}": {"GET": catalog.show_service,
                                  "PATCH": catalog.update_service,
                                  "DELETE": catalog.delete_service},
    "/v3/endpoints": {"GET": catalog.list_endpoints, "POST": catalog.create_endpoint},
    "/v3/endpoints/{endpoint_id}": {"GET": catalog.show_endpoint,
                                    "PATCH": catalog.update_endpoint,
                                    "DELETE": catalog.delete_endpoint},

    f"{_EP}/endpoint_groups": {"GET": endpoint_filter.list_endpoint_groups,
                               "POST": endpoint_filter.create_endpoint_group},
    f"{_EP}/endpoint_groups/{{endpoint_group_id}}": {
        "GET": endpoint_filter.show_endpoint_group,
        "PATCH": endpoint_filter.update_endpoint_group,
        "DELETE": endpoint_filter.delete_endpoint_group},
    f"{_EP}/endpoint_groups/{{endpoint_group_id}}/projects": {
        "GET": endpoint_filter.list_group_projects},
    f"{_EP}/endpoint_groups/{{endpoint_group_id}}/endpoints": {
        "GET": endpoint_filter.list_group_endpoints},
    f"{_EP}/endpoint_groups/{{endpoint_group_id}}/projects/{{project_id}}": {
        "GET": endpoint_filter.show_group_in_project,
        "PUT": endpoint_filter.add_group_to_project,
        "DELETE": endpoint_filter.remove_group_from_project},
    f"{_EP}/projects/{{project_id}}/endpoint_groups": {
        "GET": endpoint_filter.list_project_groups},
    f"{_EP}/projects/{{project_id}}/endpoints": {"GET": endpoint_filter.list_project_endpoints},
    f"{_EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}": {
        "GET": endpoint_filter.check_project_endpoint,
        "PUT": endpoint_filter.add_project_endpoint,
        "DELETE": endpoint_filter.remove_project_endpoint},
    f"{_EP}/endpoints/{{endpoint_id}}/projects": {
        "GET": endpoint_filter.list_endpoint_projects},
}
