"""The issue's user story, through the real `openstack` CLI."""

from __future__ import annotations

from helpers.names import unique
from helpers.process import Cloud


def test_token_issue(cloud: Cloud) -> None:
    token = cloud.osc_json("token", "issue")
    assert token["id"] and token["project_id"] and token["user_id"]
    assert token["expires"]


def test_project_user_role_and_isolation(cloud: Cloud) -> None:
    demo, other, alice = unique("demo"), unique("other"), unique("alice")
    project = cloud.osc_json("project", "create", demo)
    assert project["name"] == demo and project["domain_id"] == "default"
    cloud.osc_json("project", "create", other)
    user = cloud.osc_json("user", "create", "--project", demo, "--password", "s3cret", alice)
    assert user["default_project_id"] == project["id"]
    cloud.osc("role", "add", "--project", demo, "--user", alice, "member")

    assignments = cloud.osc_json("role", "assignment", "list", "--user", alice,
                                 "--project", demo, "--names")
    assert [a["Role"] for a in assignments] == ["member"]

    # As alice (the admin cloud entry with user overrides, exactly as the README shows).
    listed = cloud.osc("--os-username", alice, "--os-password", "s3cret",
                       "--os-project-name", demo, "project", "list", "-f", "json")
    names = [p["Name"] for p in __import__("json").loads(listed.stdout)]
    assert names == [demo], names

    # alice cannot see the other project, nor list users, nor grant herself a role.
    alice_cloud = cloud.add_cloud(unique("alice-cloud"), alice, "s3cret", demo)
    assert cloud.osc("project", "show", other, cloud=alice_cloud, expect_ok=False).returncode
    denied = cloud.osc("user", "list", cloud=alice_cloud, expect_ok=False)
    assert denied.returncode != 0 and "403" in denied.stderr
    # The server answers 403; this OSC version still exits 0 on a refused grant, so check
    # the outcome as the admin: alice did not get the role.
    cloud.osc("role", "add", "--project", demo, "--user", alice, "admin",
              cloud=alice_cloud, expect_ok=False)
    assignments = cloud.osc_json("role", "assignment", "list", "--user", alice,
                                 "--project", demo, "--names")
    assert [a["Role"] for a in assignments] == ["member"]


def test_catalog_list(cloud: Cloud) -> None:
    catalog = cloud.osc_json("catalog", "list")
    identity = next(c for c in catalog if c["Type"] == "identity")
    assert f"http://127.0.0.1:{cloud.port}/v3" in str(identity["Endpoints"])


def test_role_implications_and_domain_lookups(cloud: Cloud) -> None:
    roles = {r["Name"] for r in cloud.osc_json("role", "list")}
    assert {"admin", "member", "reader"} <= roles
    implied = cloud.osc_json("implied", "role", "list")
    pairs = {(i["Prior Role Name"], i["Implied Role Name"]) for i in implied}
    assert {("admin", "member"), ("member", "reader")} <= pairs
    # `Default` is a name, not an id: the CLI falls back from GET /v3/domains/Default to ?name=.
    assert cloud.osc_json("domain", "show", "Default")["id"] == "default"


def test_user_lifecycle_and_password_change(cloud: Cloud) -> None:
    project, name = unique("proj"), unique("bob")
    cloud.osc("project", "create", project)
    cloud.osc("user", "create", "--project", project, "--password", "first-pw", name)
    cloud.osc("role", "add", "--project", project, "--user", name, "member")
    bob = cloud.add_cloud(unique("bob-cloud"), name, "first-pw", project)
    cloud.osc("user", "password", "set", "--original-password", "first-pw",
              "--password", "second-pw", cloud=bob)
    assert cloud.osc("token", "issue", cloud=bob, expect_ok=False).returncode != 0
    bob2 = cloud.add_cloud(unique("bob-cloud"), name, "second-pw", project)
    assert cloud.osc_json("token", "issue", cloud=bob2)["project_id"]
    cloud.osc("user", "set", "--disable", name)
    assert cloud.osc("token", "issue", cloud=bob2, expect_ok=False).returncode != 0
    cloud.osc("user", "delete", name)
    cloud.osc("project", "delete", project)
    assert cloud.osc("user", "show", name, expect_ok=False).returncode != 0


def test_groups_and_application_credentials(cloud: Cloud) -> None:
    project, name, group = unique("proj"), unique("carol"), unique("group")
    cloud.osc("project", "create", project)
    cloud.osc("user", "create", "--password", "pw-carol", name)
    cloud.osc("group", "create", group)
    cloud.osc("group", "add", "user", group, name)
    cloud.osc("role", "add", "--project", project, "--group", group, "member")
    carol = cloud.add_cloud(unique("carol-cloud"), name, "pw-carol", project)
    token = cloud.osc_json("token", "issue", cloud=carol)
    assert token["project_id"]

    # Its access rules allow identity's project list only (decision 72).
    rules = '[{"service": "identity", "method": "GET", "path": "/v3/auth/projects"}]'
    cred = cloud.osc_json("application", "credential", "create", "--secret", "app-secret",
                          "--role", "member", "--access-rules", rules, unique("cred"),
                          cloud=carol)
    assert cred["Secret"] == "app-secret"
    [rule] = cloud.osc_json("access", "rule", "list", cloud=carol)
    assert (rule["Service"], rule["Method"], rule["Path"]) == (
        "identity", "GET", "/v3/auth/projects")
    listed = cloud.osc_json("application", "credential", "list", cloud=carol)
    assert [c["ID"] for c in listed] == [cred["ID"]]
    # Authenticate with the application credential itself.
    app_env = {"OS_AUTH_TYPE": "v3applicationcredential",
               "OS_APPLICATION_CREDENTIAL_ID": cred["ID"],
               "OS_APPLICATION_CREDENTIAL_SECRET": "app-secret",
               "OS_AUTH_URL": cloud.auth_url, "OS_IDENTITY_API_VERSION": "3"}
    issued = cloud.osc("token", "issue", "-f", "json", cloud="", env=app_env)
    assert token["project_id"] in issued.stdout
    # What the rules do not name is refused, in every service: here the image service.
    assert cloud.osc("image", "list", cloud="", env=app_env, expect_ok=False).returncode != 0
    # A rule in use cannot be deleted; once its credential is gone it can.
    assert cloud.osc("access", "rule", "delete", rule["ID"], cloud=carol,
                     expect_ok=False).returncode != 0
    cloud.osc("application", "credential", "delete", cred["ID"], cloud=carol)
    cloud.osc("access", "rule", "delete", rule["ID"], cloud=carol)
    assert cloud.osc("token", "issue", cloud="", env=app_env, expect_ok=False).returncode != 0
    cloud.osc("group", "remove", "user", group, name)
    assert cloud.osc("token", "issue", cloud=carol, expect_ok=False).returncode != 0


def test_catalog_management(cloud: Cloud) -> None:
    region = unique("Region")
    cloud.osc("region", "create", region)
    service = cloud.osc_json("service", "create", "--name", unique("svc"), "compute")
    endpoint = cloud.osc_json("endpoint", "create", "--region", region, service["id"],
                              "public", "http://127.0.0.1:8774/v2.1")
    assert endpoint["url"] == "http://127.0.0.1:8774/v2.1"
    listed = cloud.osc_json("endpoint", "list", "--service", service["id"])
    assert [e["ID"] for e in listed] == [endpoint["id"]]
    cloud.osc("endpoint", "delete", endpoint["id"])
    cloud.osc("service", "delete", service["id"])
    cloud.osc("region", "delete", region)


def test_credentials_and_ec2_key_pairs(cloud: Cloud) -> None:
    """`openstack credential` and `openstack ec2 credentials`, as the admin for itself."""
    cert = cloud.osc_json("credential", "create", "admin", "-----BEGIN CERT-----")
    assert (cert["type"], cert["blob"]) == ("cert", "-----BEGIN CERT-----")
    ec2 = cloud.osc_json("credential", "create", "--type", "ec2", "--project", "admin",
                         "admin", '{"access": "AKIA-cli", "secret": "one"}')
    assert ec2["project_id"] and len(ec2["id"]) == 64
    listed = cloud.osc_json("credential", "list", "--type", "ec2", "--user", "admin")
    assert ec2["id"] in [c["ID"] for c in listed] and cert["id"] not in [c["ID"] for c in listed]
    cloud.osc("credential", "set", "--user", "admin", "--type", "ec2", "--project", "admin",
              "--data", '{"access": "AKIA-cli", "secret": "two"}', ec2["id"])
    shown = cloud.osc_json("credential", "show", ec2["id"])
    assert shown["blob"] == '{"access": "AKIA-cli", "secret": "two"}'
    cloud.osc("credential", "delete", ec2["id"], cert["id"])
    assert cloud.osc("credential", "show", cert["id"], expect_ok=False).returncode != 0

    pair = cloud.osc_json("ec2", "credentials", "create")
    assert pair["access"] and pair["secret"] and pair["project_id"]
    listed = cloud.osc_json("ec2", "credentials", "list")
    assert pair["access"] in [c["Access"] for c in listed]
    assert cloud.osc_json("ec2", "credentials", "show", pair["access"])["secret"] == \
        pair["secret"]
    cloud.osc("ec2", "credentials", "delete", pair["access"])
    assert pair["access"] not in [c["Access"] for c in
                                  cloud.osc_json("ec2", "credentials", "list")]


def test_oauth1_consumer_and_delegation(cloud: Cloud) -> None:
    """OS-OAUTH1 (decision 76): a consumer, the admin delegating its member role on the
    admin project to it, and the consumer's own token through keystoneauth's v3oauth1."""
    consumer = cloud.osc_json("consumer", "create", "--description", "ci bot")
    assert len(consumer["secret"]) == 32
    cloud.osc("consumer", "set", "--description", "the ci bot", consumer["id"])
    assert cloud.osc_json("consumer", "show", consumer["id"])["description"] == "the ci bot"
    keys = ("--consumer-key", consumer["id"], "--consumer-secret", consumer["secret"])
    request = cloud.osc_json("request", "token", "create", *keys, "--project", "admin")
    verifier = cloud.osc_json("request", "token", "authorize", "--request-key",
                              request["key"], "--role", "member")["oauth_verifier"]
    access = cloud.osc_json("access", "token", "create", *keys, "--request-key",
                            request["key"], "--request-secret", request["secret"],
                            "--verifier", verifier)
    oauth_cloud = cloud.add_oauth1_cloud(unique("oauth-cloud"), consumer, access)
    token = cloud.osc_json("token", "issue", cloud=oauth_cloud)
    admin = cloud.osc_json("token", "issue")
    assert (token["project_id"], token["user_id"]) == (admin["project_id"], admin["user_id"])
    cloud.osc("consumer", "delete", consumer["id"])
