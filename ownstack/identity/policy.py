"""Keystone's default policy, in code; a policy file may override any rule.

The shape follows Keystone's current defaults: an ``admin`` role anywhere is the cloud
admin, ``reader`` with system scope may read everything, and users may read and manage
what is their own (their user, their tokens, their application credentials and
credentials).
"""

from __future__ import annotations

ADMIN = "rule:admin_required"
CLOUD_READER = "rule:admin_required or rule:system_reader"
SELF = "user_id:%(target.user.id)s"
CRED_OWNER = "user_id:%(target.credential.user_id)s"

DEFAULT_RULES: dict[str, str] = {
    "admin_required": "role:admin",
    "system_reader": "role:reader and system_scope:all",
    "service_role": "role:service",
    "owner": "user_id:%(user_id)s",

    # domains
    "identity:get_domain": f"{CLOUD_READER} or domain_id:%(target.domain.id)s"
                           " or project_domain_id:%(target.domain.id)s",
    "identity:list_domains": CLOUD_READER,
    "identity:create_domain": ADMIN,
    "identity:update_domain": ADMIN,
    "identity:delete_domain": ADMIN,
    "identity:get_domain_config": CLOUD_READER,
    "identity:get_domain_config_default": CLOUD_READER,
    "identity:create_domain_config": ADMIN,
    "identity:update_domain_config": ADMIN,
    "identity:delete_domain_config": ADMIN,

    # projects
    "identity:get_project": f"{CLOUD_READER} or project_id:%(target.project.id)s",
    "identity:list_projects": CLOUD_READER,
    "identity:list_user_projects": f"{CLOUD_READER} or {SELF}",
    "identity:create_project": ADMIN,
    "identity:update_project": ADMIN,
    "identity:delete_project": ADMIN,
    "identity:list_project_tags": f"{CLOUD_READER} or project_id:%(target.project.id)s",
    "identity:get_project_tag": f"{CLOUD_READER} or project_id:%(target.project.id)s",
    "identity:update_project_tags": ADMIN,
    "identity:create_project_tag": ADMIN,
    "identity:delete_project_tag": ADMIN,
    "identity:delete_project_tags": ADMIN,

    # users
    "identity:get_user": f"{CLOUD_READER} or {SELF}",
    "identity:list_users": CLOUD_READER,
    "identity:create_user": ADMIN,
    "identity:update_user": ADMIN,
    "identity:delete_user": ADMIN,

    # groups
    "identity:get_group": CLOUD_READER,
    "identity:list_groups": CLOUD_READER,
    "identity:list_groups_for_user": f"{CLOUD_READER} or {SELF}",
    "identity:create_group": ADMIN,
    "identity:update_group": ADMIN,
    "identity:delete_group": ADMIN,
    "identity:list_users_in_group": CLOUD_READER,
    "identity:add_user_to_group": ADMIN,
    "identity:remove_user_from_group": ADMIN,
    "identity:check_user_in_group": CLOUD_READER,

    # roles and implied roles
    "identity:get_role": CLOUD_READER,
    "identity:list_roles": CLOUD_READER,
    "identity:create_role": ADMIN,
    "identity:update_role": ADMIN,
    "identity:delete_role": ADMIN,
    "identity:get_implied_role": CLOUD_READER,
    "identity:list_implied_roles": CLOUD_READER,
    "identity:list_role_inference_rules": CLOUD_READER,
    "identity:create_implied_role": ADMIN,
    "identity:delete_implied_role": ADMIN,
    "identity:check_implied_role": CLOUD_READER,

    # grants and role assignments
    "identity:check_grant": CLOUD_READER,
    "identity:list_grants": CLOUD_READER,
    "identity:create_grant": ADMIN,
    "identity:revoke_grant": ADMIN,
    "identity:list_role_assignments": CLOUD_READER,
    "identity:list_role_assignments_for_tree": CLOUD_READER,
    "identity:check_system_grant_for_user": CLOUD_READER,
    "identity:list_system_grants_for_user": CLOUD_READER,
    "identity:create_system_grant_for_user": ADMIN,
    "identity:revoke_system_grant_for_user": ADMIN,
    "identity:check_system_grant_for_group": CLOUD_READER,
    "identity:list_system_grants_for_group": CLOUD_READER,
    "identity:create_system_grant_for_group": ADMIN,
    "identity:revoke_system_grant_for_group": ADMIN,

    # catalog
    "identity:get_region": "",
    "identity:list_regions": "",
    "identity:create_region": ADMIN,
    "identity:update_region": ADMIN,
    "identity:delete_region": ADMIN,
    "identity:get_service": CLOUD_READER,
    "identity:list_services": CLOUD_READER,
    "identity:create_service": ADMIN,
    "identity:update_service": ADMIN,
    "identity:delete_service": ADMIN,
    "identity:get_endpoint": CLOUD_READER,
    "identity:list_endpoints": CLOUD_READER,
    "identity:create_endpoint": ADMIN,
    "identity:update_endpoint": ADMIN,
    "identity:delete_endpoint": ADMIN,

    # tokens
    "identity:validate_token": f"{CLOUD_READER} or rule:service_role"
                               " or user_id:%(target.token.user_id)s",
    "identity:check_token": f"{CLOUD_READER} or rule:service_role"
                            " or user_id:%(target.token.user_id)s",
    "identity:revoke_token": f"{ADMIN} or rule:service_role"
                             " or user_id:%(target.token.user_id)s",

    # application credentials: a user manages their own
    "identity:get_application_credential": f"{CLOUD_READER} or {SELF}",
    "identity:list_application_credentials": f"{CLOUD_READER} or {SELF}",
    "identity:create_application_credential": SELF,
    "identity:delete_application_credential": f"{ADMIN} or {SELF}",
    "identity:list_access_rules": f"{CLOUD_READER} or {SELF}",
    "identity:get_access_rule": f"{CLOUD_READER} or {SELF}",
    "identity:delete_access_rule": f"{ADMIN} or {SELF}",

    # credentials: a user manages their own; creating an EC2 key pair takes a member
    "identity:get_credential": f"{CLOUD_READER} or {CRED_OWNER}",
    "identity:list_credentials": f"{CLOUD_READER} or {CRED_OWNER}",
    "identity:create_credential": f"{ADMIN} or {CRED_OWNER}",
    "identity:update_credential": f"{ADMIN} or {CRED_OWNER}",
    "identity:delete_credential": f"{ADMIN} or {CRED_OWNER}",
    "identity:ec2_get_credential": f"{CLOUD_READER} or {CRED_OWNER}",
    "identity:ec2_list_credentials": f"{CLOUD_READER} or rule:owner",
    "identity:ec2_create_credential": f"{ADMIN} or (role:member and {CRED_OWNER})",
    "identity:ec2_delete_credential": f"{ADMIN} or (role:member and {CRED_OWNER})",

    # OS-EP-FILTER: endpoint groups and project associations
    "identity:list_endpoint_groups": CLOUD_READER,
    "identity:get_endpoint_group": CLOUD_READER,
    "identity:create_endpoint_group": ADMIN,
    "identity:update_endpoint_group": ADMIN,
    "identity:delete_endpoint_group": ADMIN,
    "identity:list_projects_associated_with_endpoint_group": CLOUD_READER,
    "identity:list_endpoints_associated_with_endpoint_group": CLOUD_READER,
    "identity:get_endpoint_group_in_project": CLOUD_READER,
    "identity:list_endpoint_groups_for_project": CLOUD_READER,
    "identity:add_endpoint_group_to_project": ADMIN,
    "identity:remove_endpoint_group_from_project": ADMIN,
    "identity:list_projects_for_endpoint": CLOUD_READER,
    "identity:list_endpoints_for_project": CLOUD_READER,
    "identity:check_endpoint_in_project": CLOUD_READER,
    "identity:add_endpoint_to_project": ADMIN,
    "identity:remove_endpoint_from_project": ADMIN,

    # OS-OAUTH1, Keystone's defaults: consumers are the cloud admin's (a system reader
    # reads them); authorizing a request token and managing access tokens take the admin
    # role (Keystone's RULE_ADMIN_REQUIRED; its delete checks ec2_delete_credential with no
    # credential in the target, which only an admin passes)
    "identity:get_consumer": CLOUD_READER,
    "identity:list_consumers": CLOUD_READER,
    "identity:create_consumer": ADMIN,
    "identity:update_consumer": ADMIN,
    "identity:delete_consumer": ADMIN,
    "identity:authorize_request_token": ADMIN,
    "identity:list_access_tokens": ADMIN,
    "identity:get_access_token": ADMIN,
    "identity:delete_access_token": ADMIN,
    "identity:list_access_token_roles": ADMIN,
    "identity:get_access_token_role": ADMIN,

    # the deprecated policy store
    "identity:get_policy": CLOUD_READER,
    "identity:list_policies": CLOUD_READER,
    "identity:create_policy": ADMIN,
    "identity:update_policy": ADMIN,
    "identity:delete_policy": ADMIN,
}
