"""Glance's default policy, in code; a policy file may override any rule.

An image is reachable by its owner, by admins, by everyone when public or community,
and by accepted members when shared. Visibility itself is decided in the domain layer
(objects/images.py); these rules decide who may change what. As in Glance's defaults,
every write and a download need the member role: a project's reader sees its images but
never changes, shares, uploads or downloads them.
"""

from __future__ import annotations

ADMIN = "role:admin"
OWNER = "project_id:%(target.image.owner)s"
ADMIN_OR_OWNING_MEMBER = f"{ADMIN} or (role:member and {OWNER})"
METADEF_ADMIN = "rule:metadef_admin"
# Glance's ADMIN_OR_PROJECT_READER_GET_NAMESPACE.
METADEF_READER = (f"{ADMIN} or (role:reader and (project_id:%(project_id)s "
                  "or 'public':%(visibility)s))")

DEFAULT_RULES: dict[str, str] = {
    "context_is_admin": ADMIN,
    "get_image": "",
    "get_images": "",
    "add_image": ADMIN_OR_OWNING_MEMBER,
    "modify_image": ADMIN_OR_OWNING_MEMBER,
    "delete_image": ADMIN_OR_OWNING_MEMBER,
    "upload_image": ADMIN_OR_OWNING_MEMBER,
    # Of an image the caller can see (its own, shared with it, public or community).
    "download_image": f"{ADMIN} or role:member",
    "deactivate": ADMIN_OR_OWNING_MEMBER,
    "reactivate": ADMIN_OR_OWNING_MEMBER,
    "publicize_image": ADMIN,
    "communitize_image": ADMIN_OR_OWNING_MEMBER,
    "add_member": ADMIN_OR_OWNING_MEMBER,
    "delete_member": ADMIN_OR_OWNING_MEMBER,
    "get_members": "",
    "get_member": "",
    # The project an image is shared with answers the share; an admin may for it.
    "modify_member": f"{ADMIN} or (role:member and project_id:%(target.member.member_id)s)",
    "set_image_owner": ADMIN,
    # Tasks (glance/policies/tasks.py): tasks_api_access guards every task route; the
    # per-call rules are Glance's internal ones, open by default.
    "tasks_api_access": ADMIN,
    "get_task": "",
    "get_tasks": "",
    "add_task": "",
    "modify_task": "",
    # Metadata definitions (glance/policies/metadef.py): the catalog is the admin's to
    # write; a project's reader reads its own namespaces and everyone's public ones. The
    # target is Glance's: the namespace's owner as project_id, and its visibility.
    "metadef_default": "",
    "metadef_admin": ADMIN,
    "get_metadef_namespace": METADEF_READER,
    "get_metadef_namespaces": f"{ADMIN} or (role:reader and project_id:%(project_id)s)",
    "modify_metadef_namespace": METADEF_ADMIN,
    "add_metadef_namespace": METADEF_ADMIN,
    "delete_metadef_namespace": METADEF_ADMIN,
    "get_metadef_object": METADEF_READER,
    "get_metadef_objects": METADEF_READER,
    "modify_metadef_object": METADEF_ADMIN,
    "add_metadef_object": METADEF_ADMIN,
    "delete_metadef_object": METADEF_ADMIN,
    "list_metadef_resource_types": METADEF_READER,
    "get_metadef_resource_type": METADEF_READER,
    "add_metadef_resource_type_association": METADEF_ADMIN,
    "remove_metadef_resource_type_association": METADEF_ADMIN,
    "get_metadef_property": METADEF_READER,
    "get_metadef_properties": METADEF_READER,
    "modify_metadef_property": METADEF_ADMIN,
    "add_metadef_property": METADEF_ADMIN,
    "remove_metadef_property": METADEF_ADMIN,
    "get_metadef_tag": METADEF_READER,
    "get_metadef_tags": METADEF_READER,
    "modify_metadef_tag": METADEF_ADMIN,
    "add_metadef_tag": METADEF_ADMIN,
    "add_metadef_tags": METADEF_ADMIN,
    "delete_metadef_tag": METADEF_ADMIN,
    "delete_metadef_tags": METADEF_ADMIN,
}
