"""Image v2: every URL, method and handler in one table."""

from __future__ import annotations

from ownstack.common.api.routing import RouteTable
from ownstack.image.api.handlers import (
    data,
    discovery,
    images,
    members,
    schemas,
    tags,
    tasks,
    versions,
)

ROUTES: RouteTable = {
    "/": {"GET": versions.list_versions},
    "/versions": {"GET": versions.list_versions},
    "/v2": {"GET": versions.list_versions},

    "/v2/images": {"GET": images.list_images, "POST": images.create_image},
    "/v2/images/{image_id}": {"GET": images.show_image, "PATCH": images.update_image,
                              "DELETE": images.delete_image},
    "/v2/images/{image_id}/actions/deactivate": {"POST": images.deactivate_image},
    "/v2/images/{image_id}/actions/reactivate": {"POST": images.reactivate_image},
    "/v2/images/{image_id}/file": {"PUT": data.upload_image, "GET": data.download_image},
    "/v2/images/{image_id}/tasks": {"GET": tasks.list_image_tasks},
    "/v2/images/{image_id}/tags/{tag}": {"PUT": tags.add_tag, "DELETE": tags.delete_tag},
    "/v2/images/{image_id}/members": {"GET": members.list_members,
                                      "POST": members.create_member},
    "/v2/images/{image_id}/members/{member_id}": {"GET": members.show_member,
                                                  "PUT": members.update_member,
                                                  "DELETE": members.delete_member},

    "/v2/info/import": {"GET": discovery.import_info},

    "/v2/schemas/image": {"GET": schemas.image_schema},
    "/v2/schemas/images": {"GET": schemas.images_schema},
    "/v2/schemas/member": {"GET": schemas.member_schema},
    "/v2/schemas/members": {"GET": schemas.members_schema},
}
