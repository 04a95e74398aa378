"""Places where the wire differed from OpenStack's and a real client noticed, each through
the client that found it (the `openstack` CLI, openstacksdk) against the real cloud."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    member_cloud,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

# Nova's canonical form of the longest spelling of an IPv6 address (45 characters, more
# than the 39-character column holds).
LONGEST_IPV6 = "0000:0000:0000:0000:0000:FFFF:255.255.255.255"


def test_application_credential_expiry_as_keystone_writes_it(cloud: Cloud) -> None:
    _, member = member_cloud(cloud, "expiry")
    # The CLI sends a datetime's isoformat() ("2099-01-02T03:04:05").
    cred = cloud.osc_json("application", "credential", "create", "--expiration",
                          "2099-01-02T03:04:05", unique("cred"), cloud=member)
    assert cred["Expires At"] == "2099-01-02T03:04:05.000000"
    # openstacksdk passes the string through: microseconds come back as sent.
    conn = cloud.sdk(member)
    sent = "2099-01-02T03:04:05.123456"
    made = conn.identity.create_application_credential(
        conn.current_user_id, name=unique("cred"), expires_at=sent)
    assert made.expires_at == sent
    shown = conn.identity.get_application_credential(conn.current_user_id, made.id)
    assert shown.expires_at == sent
    conn.close()


def test_a_revoked_token_with_the_token_method_is_keystones_404(cloud: Cloud) -> None:
    project, member = member_cloud(cloud, "rescope")
    token = cloud.osc_json("token", "issue", cloud=member)["id"]
    cloud.osc("token", "revoke", token, cloud=member)
    env = {"OS_AUTH_TYPE": "v3token", "OS_TOKEN": token, "OS_AUTH_URL": cloud.auth_url,
           "OS_PROJECT_ID": project, "OS_IDENTITY_API_VERSION": "3"}
    refused = cloud.osc("token", "issue", cloud="", env=env, expect_ok=False)
    assert refused.returncode != 0
    assert "Failed to validate token (HTTP 404)" in refused.stderr, refused.stderr


def test_an_x509_keypair_made_through_openstacksdk(cloud: Cloud) -> None:
    """openstacksdk asks for keypairs at 2.10: an x509 one without a public key is made by
    the cloud, as Nova makes it, and its private key comes back once."""
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    wait_for_compute(cloud)
    conn = cloud.sdk()
    made = conn.compute.create_keypair(name=unique("winrm"), type="x509")
    try:
        _, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(made.private_key), None)
        assert cert == x509.load_pem_x509_certificate(made.public_key.encode())
        assert conn.compute.get_keypair(made.name).private_key is None
    finally:
        conn.compute.delete_keypair(made.name)
        conn.close()


@dataclass
class Project:
    """A project with a member (``cloud``) and a reader (``reader``) and, made by the
    member through openstacksdk, an ACTIVE server whose accessIPv6 was sent in its longest
    spelling."""

    id: str
    cloud: str
    reader: str
    conn: Any
    server: Any
    image: str


@pytest.fixture(scope="module")
def project(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    project_id, member = member_cloud(cloud, "wire")
    admin = cloud.sdk()
    reader = admin.identity.create_user(name=unique("wire-reader"), password="pw",
                                        default_project_id=project_id, domain_id="default")
    admin.identity.assign_project_role_to_user(project_id, reader,
                                               admin.identity.find_role("reader"))
    project_name = admin.identity.get_project(project_id).name
    reader_cloud = cloud.add_cloud(unique("wire-reader"), reader.name, "pw", project_name)
    image = make_image(cloud, tmp_path_factory.mktemp("wire"))
    flavor = unique("m1.wire")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "64", "--disk", "1", flavor)
    conn = cloud.sdk(member)
    server = conn.compute.create_server(
        name=unique("wire-vm"), image_id=admin.image.find_image(image).id,
        flavor_id=admin.compute.find_flavor(flavor).id, networks="none",
        access_ipv6=LONGEST_IPV6)
    server = conn.compute.wait_for_server(server, wait=60)
    try:
        yield Project(project_id, member, reader_cloud, conn, server, image)
    finally:
        conn.compute.delete_server(server)
        conn.close()
        admin.close()


def test_access_addresses_canonical_on_every_database(project: Project) -> None:
    conn, server = project.conn, project.server
    assert conn.compute.get_server(server).access_ipv6 == "::ffff:255.255.255.255"
    conn.compute.update_server(server, access_ipv6="2001:DB8:0:0:0:0:0:0A",
                               access_ipv4="192.0.2.10")
    shown = conn.compute.get_server(server)
    assert (shown.access_ipv6, shown.access_ipv4) == ("2001:db8::a", "192.0.2.10")


def test_update_answers_the_fields_of_the_microversion_asked(project: Project) -> None:
    """Through openstacksdk's own adapter, at the versions Tempest and the SDK ask for."""
    conn, server = project.conn, project.server
    old = conn.compute.put(f"/servers/{server.id}", microversion="2.1",
                           json={"server": {"name": "wire-renamed"}}).json()["server"]
    assert old["name"] == "wire-renamed"
    assert not {"key_name", "OS-EXT-STS:vm_state", "OS-EXT-AZ:availability_zone",
                "security_groups", "os-extended-volumes:volumes_attached"} & set(old)
    new = conn.compute.put(f"/servers/{server.id}", microversion="2.75",
                           json={"server": {"name": "wire-vm"}}).json()["server"]
    shown = conn.compute.get(f"/servers/{server.id}", microversion="2.75").json()["server"]
    assert new.keys() == shown.keys()


def test_snapshots_through_novas_image_proxy(project: Project) -> None:
    """Tempest's createImage tests: the snapshot is shown, tagged and deleted through
    compute's /images, which openstacksdk's compute proxy still offers."""
    conn, server = project.conn, project.server
    snapshot = conn.compute.create_server_image(server, unique("wire-snap"), wait=True,
                                                timeout=60)
    image = conn.compute.get_image(snapshot.id)
    assert (image.status, image.progress) == ("ACTIVE", 100)
    raw = conn.compute.get(f"/images/{snapshot.id}").json()["image"]
    assert raw["server"]["id"] == server.id
    assert [i.id for i in conn.compute.images(server=server.id)] == [snapshot.id]
    conn.compute.set_image_metadata(snapshot.id, purpose="wire")
    assert conn.compute.fetch_image_metadata(snapshot.id).metadata["purpose"] == "wire"
    conn.compute.delete_image_metadata(snapshot.id, ["purpose"])
    assert "purpose" not in conn.compute.fetch_image_metadata(snapshot.id).metadata
    conn.compute.delete_image(snapshot.id)
    assert conn.image.find_image(snapshot.id) is None


def test_a_reader_changes_nothing(cloud: Cloud, project: Project) -> None:
    """A project's reader, through the CLI, reads the project's image and server and
    changes neither (Glance's and Nova's defaults: writes are a member's)."""
    image = project.conn.image.create_image(name=unique("wire-own"), disk_format="raw",
                                            container_format="bare", data=b"x" * 512)
    assert cloud.osc_json("image", "show", image.id, cloud=project.reader)["id"] == image.id
    for args in (("image", "set", "--property", "hacked=yes", image.id),
                 ("image", "set", "--name", "hacked", image.id),
                 ("image", "delete", image.id),
                 ("server", "stop", project.server.id),
                 ("server", "set", "--name", "hacked", project.server.id)):
        refused = cloud.osc(*args, cloud=project.reader, expect_ok=False)
        assert refused.returncode != 0, args
        assert "403" in refused.stderr or "Forbidden" in refused.stderr or \
            "not allowed" in refused.stderr or "authorized" in refused.stderr, refused.stderr
    shown = project.conn.image.get_image(image.id)
    assert shown.name == image.name and "hacked" not in shown.properties
    assert project.conn.compute.get_server(project.server).status == "ACTIVE"
    project.conn.image.delete_image(image)
