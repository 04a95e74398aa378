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
}
