"""The image service's user story, through the real `openstack` CLI and qemu-img."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from helpers.image_store import file_hashes, store_files
from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_image_service


@pytest.fixture(autouse=True)
def _image_service_up(cloud: Cloud) -> None:
    wait_for_image_service(cloud)


def qemu_img(*args: str, cwd: Path) -> None:
    subprocess.run(["qemu-img", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def listed(cloud: Cloud, cloud_name: str = "ownstack-admin") -> set[str]:
    return {i["ID"] for i in cloud.osc_json("image", "list", cloud=cloud_name)}


def test_user_story(cloud: Cloud, tmp_path: Path) -> None:
    qemu_img("create", "-f", "qcow2", "disk.qcow2", "1G", cwd=tmp_path)
    disk = tmp_path / "disk.qcow2"
    md5, sha512 = file_hashes(disk)
    name = unique("tiny")

    created = cloud.osc_json("image", "create", "--disk-format", "qcow2",
                             "--container-format", "bare", "--file", str(disk), "--public", name)
    image_id = created["id"]
    assert created["name"] == name
    assert image_id in listed(cloud)

    shown = cloud.osc_json("image", "show", name)
    assert shown["id"] == image_id and shown["status"] == "active"
    assert shown["checksum"] == md5 and shown["size"] == disk.stat().st_size
    assert (shown["disk_format"], shown["container_format"]) == ("qcow2", "bare")
    assert shown["visibility"] == "public"
    assert shown["virtual_size"] == 1024 ** 3   # what qemu-img found inside
    assert shown["properties"]["os_hash_algo"] == "sha512"
    assert shown["properties"]["os_hash_value"] == sha512

    copy = tmp_path / "copy.qcow2"
    cloud.osc("image", "save", "--file", str(copy), name)
    assert copy.read_bytes() == disk.read_bytes()

    cloud.osc("image", "set", "--property", "os_distro=debian", "--tag", "golden", name)
    shown = cloud.osc_json("image", "show", name)
    assert shown["properties"]["os_distro"] == "debian"
    assert shown["tags"] == ["golden"]

    # Glance gives members only to `shared` images ("Only shared images have members",
    # 403), so the story's public image is made shared before it is shared with a project.
    other_id, other = member_cloud(cloud, "story-other")
    refused = cloud.osc("image", "add", "project", image_id, other_id, expect_ok=False)
    assert refused.returncode != 0 and "403" in refused.stderr + refused.stdout
    cloud.osc("image", "set", "--shared", name)
    member = cloud.osc_json("image", "add", "project", image_id, other_id)
    assert member["status"] == "pending"
    # Pending: the other project can fetch it by id, but its list does not show it yet.
    assert cloud.osc_json("image", "show", image_id, cloud=other)["name"] == name
    assert image_id not in listed(cloud, other)
    cloud.osc("image", "set", "--accept", image_id, cloud=other)
    assert image_id in listed(cloud, other)
    members = cloud.osc_json("image", "member", "list", image_id)
    assert [(m["Member ID"], m["Status"]) for m in members] == [(other_id, "accepted")]

    cloud.osc("image", "delete", name)
    assert image_id not in listed(cloud)
    assert cloud.osc("image", "show", image_id, expect_ok=False).returncode != 0


def test_private_image_is_invisible_to_another_project(cloud: Cloud, tmp_path: Path) -> None:
    raw = tmp_path / "private.raw"
    raw.write_bytes(b"\x00" * 65536)
    image = cloud.osc_json("image", "create", "--disk-format", "raw", "--container-format",
                           "bare", "--file", str(raw), "--private", unique("private"))
    _, other = member_cloud(cloud, "snoop")
    missing = cloud.osc("image", "show", image["id"], cloud=other, expect_ok=False)
    assert missing.returncode != 0 and "No Image found" in missing.stderr, missing.stderr
    assert image["id"] not in listed(cloud, other)
    assert cloud.osc("image", "save", "--file", str(tmp_path / "stolen"), image["id"],
                     cloud=other, expect_ok=False).returncode != 0
    assert not (tmp_path / "stolen").exists()
    assert cloud.osc("image", "delete", image["id"], cloud=other, expect_ok=False).returncode
    assert cloud.osc_json("image", "show", image["id"])["status"] == "active"


def test_only_the_owner_or_an_admin_modifies(cloud: Cloud, tmp_path: Path) -> None:
    _, owner = member_cloud(cloud, "owner")
    _, stranger = member_cloud(cloud, "stranger")
    raw = tmp_path / "community.raw"
    raw.write_bytes(b"\x00" * 65536)
    image = cloud.osc_json("image", "create", "--disk-format", "raw", "--container-format",
                           "bare", "--file", str(raw), "--community", unique("community"),
                           cloud=owner)
    image_id = image["id"]
    # The stranger sees the community image, and can neither change nor delete it.
    assert cloud.osc_json("image", "show", image_id, cloud=stranger)["id"] == image_id
    assert cloud.osc("image", "set", "--property", "hacked=yes", image_id, cloud=stranger,
                     expect_ok=False).returncode != 0
    assert cloud.osc("image", "set", "--tag", "hacked", image_id, cloud=stranger,
                     expect_ok=False).returncode != 0
    assert cloud.osc("image", "delete", image_id, cloud=stranger,
                     expect_ok=False).returncode != 0
    shown = cloud.osc_json("image", "show", image_id)
    assert "hacked" not in shown["properties"] and shown["tags"] == []
    # A member cannot make an image public; its owner can change the rest; an admin too.
    assert cloud.osc("image", "set", "--public", image_id, cloud=owner,
                     expect_ok=False).returncode != 0
    cloud.osc("image", "set", "--property", "os_distro=debian", image_id, cloud=owner)
    cloud.osc("image", "set", "--property", "os_version=12", image_id)
    shown = cloud.osc_json("image", "show", image_id)
    assert shown["visibility"] == "community"
    assert (shown["properties"]["os_distro"], shown["properties"]["os_version"]) == (
        "debian", "12")
    cloud.osc("image", "delete", image_id, cloud=owner)


def test_bad_input_through_the_cli(cloud: Cloud, tmp_path: Path) -> None:
    qemu_img("create", "-f", "qcow2", "disk.qcow2", "64M", cwd=tmp_path)
    disk = str(tmp_path / "disk.qcow2")
    before = {i["ID"] for i in cloud.osc_json("image", "list", "--long")}
    # The CLI itself refuses formats it does not know: nothing reaches the server.
    bogus = cloud.osc("image", "create", "--disk-format", "bogus", "--file", disk,
                      unique("bogus"), expect_ok=False)
    assert bogus.returncode == 2 and "invalid choice" in bogus.stderr

    # What the CLI lets through, the server refuses.
    mismatch = cloud.osc("image", "create", "--disk-format", "vmdk", "--container-format",
                         "bare", "--file", disk, unique("mismatch"), expect_ok=False)
    assert mismatch.returncode != 0 and "400" in mismatch.stderr, mismatch.stderr
    negative = cloud.osc("image", "create", "--min-disk", "-1", unique("negative"),
                         expect_ok=False)
    assert negative.returncode != 0 and "400" in negative.stderr, negative.stderr

    # Queued images come from openstacksdk: `openstack image create` without --file reads
    # the image data from its stdin when that is not a terminal, as under pytest.
    image_id = cloud.sdk().image.create_image(name=unique("props"), disk_format="raw",
                                              container_format="bare").id
    long_key = cloud.osc("image", "set", "--property", f"{'k' * 256}=v", image_id,
                         expect_ok=False)
    assert long_key.returncode != 0 and "400" in long_key.stderr, long_key.stderr
    long_value = cloud.osc("image", "set", "--property", f"k={'v' * 70000}", image_id,
                           expect_ok=False)
    assert long_value.returncode != 0 and "413" in long_value.stderr, long_value.stderr
    read_only = cloud.osc("image", "set", "--property", "status=active", image_id,
                          expect_ok=False)
    assert read_only.returncode != 0 and "403" in read_only.stderr, read_only.stderr
    shown = cloud.osc_json("image", "show", image_id)
    assert shown["status"] == "queued"
    assert not any(k.startswith("k") for k in shown["properties"])

    cloud.osc("image", "delete", image_id)
    # The refused uploads were cleaned up by the CLI (openstacksdk deletes an image whose
    # upload failed): only what was there before is left.
    assert {i["ID"] for i in cloud.osc_json("image", "list", "--long")} == before

    # An import from a host the operator did not list (none, by default): the task is
    # made (the CLI has no task create) and fails, unresolved, and the CLI reads why.
    source = f"http://{unique('nowhere')}.invalid/disk.qcow2"
    r = httpx.post(f"{cloud.image_url}/v2/tasks", headers={"X-Auth-Token": cloud.admin_token()},
                   json={"type": "import", "input": {
                       "import_from": source, "import_from_format": "qcow2",
                       "image_properties": {"disk_format": "qcow2",
                                            "container_format": "bare"}}}, timeout=30)
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    assert task_id in {t["ID"] for t in cloud.osc_json("image", "task", "list")}
    task = cloud.osc_json("image", "task", "show", task_id)
    assert task["status"] == "failure" and "is not allowed" in task["message"], task


def test_unsafe_qcow2_is_refused_and_stays_queued(cloud: Cloud, tmp_path: Path) -> None:
    # A qcow2 whose backing file is a host file: a hypervisor would read /etc/passwd.
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", "evil.qcow2",
             cwd=tmp_path)
    evil = tmp_path / "evil.qcow2"
    stored_before = store_files(cloud)

    # Through the CLI: refused (openstacksdk then deletes the image it had created).
    refused = cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format",
                        "bare", "--file", str(evil), unique("evil"), expect_ok=False)
    assert refused.returncode != 0 and "400" in refused.stderr, refused.stderr

    # Uploaded to an image of its own, it is refused with a clear 400, and the image stays
    # queued with no data stored.
    image_id = cloud.sdk().image.create_image(name=unique("evil"), disk_format="qcow2",
                                              container_format="bare").id
    r = httpx.put(f"{cloud.image_url}/v2/images/{image_id}/file", content=evil.read_bytes(),
                  headers={"X-Auth-Token": cloud.admin_token(),
                           "Content-Type": "application/octet-stream"}, timeout=60)
    assert r.status_code == 400, r.text
    assert "backing" in r.json()["message"].lower(), r.text
    shown = cloud.osc_json("image", "show", image_id)
    assert shown["status"] == "queued" and shown.get("size") is None
    assert store_files(cloud) == stored_before
    cloud.osc("image", "delete", image_id)
