"""Glance's default policy, in code; a policy file may override any rule.

An image is reachable by its owner, by admins, by everyone when public or community,
and by accepted members when shared. Visibility itself is decided in the domain layer
(objects/images.py); these rules decide who may change what.
"""

from __future__ import annotations

ADMIN = "role:admin"
OWNER = "project_id:%(target.image.owner)s"
ADMIN_OR_OWNER = f"{ADMIN} or {OWNER}"

DEFAULT_RULES: dict[str, str] = {
    "context_is_admin": ADMIN,
    "get_image": "",
    "get_images": "",
    "add_image": f"{ADMIN} or (role:member and project_id:%(target.image.owner)s)",
    "modify_image": ADMIN_OR_OWNER,
    "delete_image": ADMIN_OR_OWNER,
    "upload_image": ADMIN_OR_OWNER,
    "download_image": "",
    "deactivate": ADMIN_OR_OWNER,
    "reactivate": ADMIN_OR_OWNER,
    "publicize_image": ADMIN,
    "communitize_image": ADMIN_OR_OWNER,
    "add_member": ADMIN_OR_OWNER,
    "delete_member": ADMIN_OR_OWNER,
    "get_members": "",
    "get_member": "",
    "modify_member": "project_id:%(target.member.member_id)s",
    "set_image_owner": ADMIN,
}
