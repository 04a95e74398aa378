"""Places where the wire differed from OpenStack's and a real client noticed, each through
the client that found it (the `openstack` CLI, openstacksdk) against the real cloud."""

from __future__ import annotations

from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_compute


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
