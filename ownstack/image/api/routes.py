"""Image v2: every URL, method and handler in one table."""

from __future__ import annotations

from ownstack.common.api.routing import RouteTable
from ownstack.image.api.handlers import (
    data,
    discovery,
    images,
    members,
    metadef_contents,
    metadef_namespaces,
    schemas,
    tags,
    tasks,
    versions,
)

_NS = "/v2/metadefs/namespaces/{namespace}"

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

    "/v2/tasks": {"GET": tasks.list_tasks, "POST": tasks.create_task},
    "/v2/tasks/{task_id}": {"GET": tasks.show_task},

    "/v2/schemas/image": {"GET": schemas.image_schema},
    "/v2/schemas/images": {"GET": schemas.images_schema},
    "/v2/schemas/member": {"GET": schemas.member_schema},
    "/v2/schemas/members": {"GET": schemas.members_schema},
    "/v2/schemas/task": {"GET": schemas.task_schema},
    "/v2/schemas/tasks": {"GET": schemas.tasks_schema},
    **{f"/v2/schemas/metadefs/{name}": {"GET": handler}
       for name, handler in metadef_namespaces.SCHEMA_HANDLERS.items()},

    # Metadata definitions (decision 69).
    "/v2/metadefs/resource_types": {"GET": metadef_namespaces.list_resource_types},
    "/v2/metadefs/namespaces": {"GET": metadef_namespaces.list_namespaces,
                                "POST": metadef_namespaces.create_namespace},
    f"{_NS}": {"GET": metadef_namespaces.show_namespace,
               "PUT": metadef_namespaces.update_namespace,
               "DELETE": metadef_namespaces.delete_namespace},
    f"{_NS}/resource_types": {"GET": metadef_namespaces.list_associations,
                              "POST": metadef_namespaces.create_association},
    f"{_NS}/resource_types/{{resource_type}}": {
        "DELETE": metadef_namespaces.delete_association},
    f"{_NS}/objects": {"GET": metadef_contents.list_objects,
                       "POST": metadef_contents.create_object,
                       "DELETE": metadef_namespaces.delete_objects},
    f"{_NS}/objects/{{object_name}}": {"GET": metadef_contents.show_object,
                                      "PUT": metadef_contents.update_object,
                                      "DELETE": metadef_contents.delete_object},
    f"{_NS}/properties": {"GET": metadef_contents.list_properties,
                          "POST": metadef_contents.create_property,
                          "DELETE": metadef_namespaces.delete_properties},
    f"{_NS}/properties/{{property_name}}": {"GET": metadef_contents.show_property,
                                           "PUT": metadef_contents.update_property,
                                           "DELETE": metadef_contents.delete_property},
    f"{_NS}/tags": {"GET": metadef_contents.list_tags, "POST": metadef_contents.create_tags,
                    "DELETE": metadef_namespaces.delete_tags},
    f"{_NS}/tags/{{tag_name}}": {"GET": metadef_contents.show_tag,
                                "POST": metadef_contents.create_tag,
                                "PUT": metadef_contents.update_tag,
                                "DELETE": metadef_contents.delete_tag},
}
