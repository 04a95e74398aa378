"""The metadata definitions catalog through the real `openstack image metadef` commands
(python-openstackclient, openstacksdk), on every database (decision 69)."""

from __future__ import annotations

import pytest

from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_image_service

pytestmark = pytest.mark.functional


def test_metadef_catalog_through_the_cli(cloud: Cloud) -> None:
    wait_for_image_service(cloud)
    types = [t["Name"] for t in cloud.osc_json("image", "metadef", "resource", "type", "list")]
    assert types[:3] == ["OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor"]

    name = unique("OS::Cli")
    made = cloud.osc_json("image", "metadef", "namespace", "create", "--public",
                          "--protected", "--display-name", "Disk", "--description", "d", name)
    assert (made["namespace"], made["visibility"], made["protected"]) == (name, "public", True)
    assert name in [n["namespace"] for n in cloud.osc_json("image", "metadef", "namespace",
                                                           "list")]
    deleted = cloud.osc("image", "metadef", "namespace", "delete", name, expect_ok=False)
    assert deleted.returncode != 0 and "protected" in deleted.stderr

    cloud.osc("image", "metadef", "namespace", "set", "--unprotected", "--public",
              "--display-name", "Disks", "--tag", "fast", "--tag", "slow", name)
    shown = cloud.osc_json("image", "metadef", "namespace", "show", name)
    assert shown["display_name"] == "Disks" and shown["protected"] is False
    assert sorted(t["name"] for t in shown["tags"]) == ["fast", "slow"]
    cloud.osc("image", "metadef", "namespace", "unset", "--tag", "fast", name)
    assert [t["name"] for t in cloud.osc_json("image", "metadef", "namespace", "show",
                                              name)["tags"]] == ["slow"]

    cloud.osc("image", "metadef", "property", "create", "--name", "hw_disk_bus", "--title",
              "Disk bus", "--type", "string", "--schema", '{"enum": ["virtio", "scsi"]}',
              name)
    cloud.osc("image", "metadef", "property", "set", "--title", "Bus", name, "hw_disk_bus")
    prop = cloud.osc_json("image", "metadef", "property", "show", name, "hw_disk_bus")
    assert (prop["title"], prop["enum"]) == ("Bus", ["virtio", "scsi"])
    assert [p["name"] for p in cloud.osc_json("image", "metadef", "property", "list",
                                              name)] == ["hw_disk_bus"]

    cloud.osc("image", "metadef", "object", "create", "--namespace", name, "cpu")
    cloud.osc("image", "metadef", "object", "update", name, "cpu", "--name", "vcpu")
    assert cloud.osc_json("image", "metadef", "object", "show", name, "vcpu")["name"] == "vcpu"
    assert [o["name"] for o in cloud.osc_json("image", "metadef", "object", "list",
                                              name)] == ["vcpu"]

    cloud.osc("image", "metadef", "resource", "type", "association", "create", name,
              "OS::Glance::Image")
    assert [a["Name"] for a in cloud.osc_json("image", "metadef", "resource", "type",
                                              "association", "list", name)] == [
        "OS::Glance::Image"]

    # A member of another project sees the public namespace and changes nothing.
    _, member = member_cloud(cloud, "metadef")
    assert cloud.osc_json("image", "metadef", "namespace", "show", name,
                          cloud=member)["namespace"] == name
    refused = cloud.osc("image", "metadef", "namespace", "delete", name, cloud=member,
                        expect_ok=False)
    assert refused.returncode != 0

    cloud.osc("image", "metadef", "resource", "type", "association", "delete", name,
              "OS::Glance::Image")
    cloud.osc("image", "metadef", "object", "delete", name, "vcpu")
    cloud.osc("image", "metadef", "property", "delete", name, "hw_disk_bus")
    cloud.osc("image", "metadef", "namespace", "delete", name)
    gone = cloud.osc("image", "metadef", "namespace", "show", name, expect_ok=False)
    assert gone.returncode != 0 and "was not found" in gone.stderr
