"""Identity v3 domain-specific configuration, and its defaults (decision 72)."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient
from helpers.names import unique

LDAP = {"identity": {"driver": "ldap"},
        "ldap": {"url": "ldap://myldap.example:389/", "user_tree_dn": "ou=Users,dc=example",
                 "password": "s3cret"}}
SHOWN = {"identity": {"driver": "ldap"},
         "ldap": {"url": "ldap://myldap.example:389/", "user_tree_dn": "ou=Users,dc=example"}}


async def _domain(identity: IdentityClient) -> str:
    r = await identity.call("POST", "/v3/domains", expect=201,
                            json={"domain": {"name": unique("dom")}})
    return str(r.json()["domain"]["id"])


async def _error(identity: IdentityClient, method: str, path: str, expect: int,
                 **kwargs: Any) -> str:
    r = await identity.call(method, path, expect=expect, **kwargs)
    assert r.json()["error"]["code"] == expect
    return str(r.json()["error"]["message"])


async def test_create_show_and_replace(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    path = f"/v3/domains/{domain_id}/config"
    r = await identity.call("PUT", path, expect=201, json={"config": LDAP})
    assert r.json() == {"config": SHOWN}     # the ldap password is stored, never shown
    assert (await identity.call("GET", path, expect=200)).json() == {"config": SHOWN}
    r = await identity.call("GET", f"{path}/ldap", expect=200)
    assert r.json() == {"config": {"ldap": SHOWN["ldap"]}}
    r = await identity.call("GET", f"{path}/ldap/url", expect=200)
    assert r.json() == {"config": {"url": "ldap://myldap.example:389/"}}
    message = await _error(identity, "GET", f"{path}/ldap/password", 404)
    assert message == ("Could not find option password in group ldap in domain "
                       f"configuration for domain {domain_id}.")
    # A second PUT replaces the whole configuration, and answers 200.
    r = await identity.call("PUT", path, expect=200,
                            json={"config": {"identity": {"list_limit": 5}}})
    assert r.json() == {"config": {"identity": {"list_limit": 5}}}
    await _error(identity, "GET", f"{path}/ldap", 404)


async def test_update_merges_and_group_and_option_urls(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    path = f"/v3/domains/{domain_id}/config"
    await identity.call("PUT", path, expect=201, json={"config": LDAP})
    r = await identity.call("PATCH", path, expect=200,
                            json={"config": {"ldap": {"suffix": "dc=example"}}})
    assert r.json()["config"]["ldap"]["suffix"] == "dc=example"
    assert r.json()["config"]["ldap"]["url"] == "ldap://myldap.example:389/"
    r = await identity.call("PATCH", f"{path}/identity", expect=200,
                            json={"config": {"identity": {"driver": "sql", "list_limit": 7}}})
    assert r.json()["config"]["identity"] == {"driver": "sql", "list_limit": 7}
    r = await identity.call("PATCH", f"{path}/identity/driver", expect=200,
                            json={"config": {"driver": "ldap"}})
    assert r.json()["config"]["identity"] == {"driver": "ldap", "list_limit": 7}
    # A sensitive option may be changed, and still is not shown.
    r = await identity.call("PATCH", f"{path}/ldap/password", expect=200,
                            json={"config": {"password": "new"}})
    assert "password" not in r.json()["config"]["ldap"]


async def test_update_errors(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    path = f"/v3/domains/{domain_id}/config"
    await identity.call("PUT", path, expect=201, json={"config": {"ldap": {"url": "ldap://a"}}})
    message = await _error(identity, "PATCH", f"{path}/ldap", 403, json={"config": {
        "ldap": {"url": "ldap://b"}, "identity": {"driver": "sql"}}})
    assert "Trying to update group ldap" in message
    message = await _error(identity, "PATCH", f"{path}/ldap", 403,
                           json={"config": {"identity": {"driver": "sql"}}})
    assert "request to update group ldap" in message
    message = await _error(identity, "PATCH", f"{path}/ldap/url", 403,
                           json={"config": {"url": "ldap://b", "suffix": "x"}})
    assert "Trying to update option url in group ldap" in message
    message = await _error(identity, "PATCH", f"{path}/ldap/url", 403,
                           json={"config": {"suffix": "x"}})
    assert "but config provided contains option suffix" in message
    # Through a group or option URL, only what is already set may be updated.
    await _error(identity, "PATCH", f"{path}/identity", 404,
                 json={"config": {"identity": {"driver": "sql"}}})
    await _error(identity, "PATCH", f"{path}/ldap/suffix", 404, json={"config": {"suffix": "x"}})
    await _error(identity, "PATCH", path, 400, json={"configuration": {}})
    await _error(identity, "PATCH", path, 400, json={"config": "ldap"})


async def test_unsupported_groups_and_options_are_403(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    path = f"/v3/domains/{domain_id}/config"
    for body, words in (({}, "No options specified"),
                        ({"token": {"expiration": 1}}, "Group token is not supported"),
                        ({"ldap": {"nope": 1}}, "Option nope in group ldap is not supported"),
                        ({"ldap": {}}, "should be a dictionary of options"),
                        ({"ldap": "x"}, "should be a dictionary of options")):
        message = await _error(identity, "PUT", path, 403, json={"config": body})
        assert message.startswith("Invalid domain specific configuration: ")
        assert words in message
    await _error(identity, "GET", f"{path}/token", 403)
    await _error(identity, "GET", f"{path}/ldap/nope", 403)
    await _error(identity, "DELETE", f"{path}/token", 403)
    await _error(identity, "PATCH", f"{path}/ldap/nope", 403, json={"config": {"nope": 1}})
    await _error(identity, "PUT", path, 400, json={"config": []})
    await _error(identity, "PUT", path, 400)
    # Nothing was stored.
    message = await _error(identity, "GET", path, 404)
    assert message == f"Could not find any options in domain configuration for domain {domain_id}."


async def test_delete_all_a_group_or_an_option(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    path = f"/v3/domains/{domain_id}/config"
    await identity.call("PUT", path, expect=201, json={"config": LDAP})
    await identity.call("DELETE", f"{path}/ldap/url", expect=204)
    await _error(identity, "GET", f"{path}/ldap/url", 404)
    await _error(identity, "DELETE", f"{path}/ldap/url", 404)
    await identity.call("DELETE", f"{path}/identity", expect=204)
    await _error(identity, "DELETE", f"{path}/identity", 404)
    await _error(identity, "GET", f"{path}/identity", 404)
    await identity.call("DELETE", path, expect=204)
    await _error(identity, "GET", path, 404)
    # The password went with the rest: a new PUT is a create again.
    await identity.call("PUT", path, expect=201, json={"config": {"ldap": {"url": "ldap://c"}}})


async def test_missing_domain_is_404(identity: IdentityClient) -> None:
    path = "/v3/domains/missing/config"
    assert "Could not find domain: missing" in await _error(identity, "GET", path, 404)
    await _error(identity, "PUT", path, 404, json={"config": LDAP})
    await _error(identity, "PATCH", f"{path}/ldap", 404, json={"config": LDAP})
    await _error(identity, "DELETE", path, 404)


async def test_deleting_the_domain_deletes_its_config(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    await identity.call("PUT", f"/v3/domains/{domain_id}/config", expect=201,
                        json={"config": LDAP})
    await identity.call("PATCH", f"/v3/domains/{domain_id}", expect=200,
                        json={"domain": {"enabled": False}})
    await identity.call("DELETE", f"/v3/domains/{domain_id}", expect=204)


async def test_an_ldap_driver_is_stored_not_obeyed(identity: IdentityClient) -> None:
    """Users of a domain whose config names ldap still live in, and log in from, SQL."""
    domain_id = await _domain(identity)
    await identity.call("PUT", f"/v3/domains/{domain_id}/config", expect=201,
                        json={"config": LDAP})
    name = unique("user")
    await identity.call("POST", "/v3/users", expect=201, json={"user": {
        "name": name, "domain_id": domain_id, "password": "pw-12345"}})
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": name, "domain": {"id": domain_id}, "password": "pw-12345"}}}}})
    assert r.status_code == 201, r.text


async def test_defaults(identity: IdentityClient) -> None:
    r = await identity.call("GET", "/v3/domains/config/default", expect=200)
    config = r.json()["config"]
    assert set(config) == {"identity", "ldap"}
    assert config["identity"] == {"driver": "sql", "list_limit": None}
    assert config["ldap"]["url"] == "ldap://localhost"
    assert "password" not in config["ldap"]
    r = await identity.call("GET", "/v3/domains/config/ldap/default", expect=200)
    assert r.json()["config"] == {"ldap": config["ldap"]}
    r = await identity.call("GET", "/v3/domains/config/ldap/user_tree_dn/default", expect=200)
    assert r.json() == {"config": {"user_tree_dn": None}}
    message = await _error(identity, "GET", "/v3/domains/config/ldap/password/default", 403)
    assert "Reading the default for option password in group ldap is not supported" in message
    await _error(identity, "GET", "/v3/domains/config/token/default", 403)
    await _error(identity, "GET", "/v3/domains/config/ldap/nope/default", 403)


async def test_only_admins_write_and_readers_read(identity: IdentityClient) -> None:
    domain_id = await _domain(identity)
    path = f"/v3/domains/{domain_id}/config"
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("PUT", path, expect=201, json={"config": LDAP})
    await _error(identity, "GET", path, 403, token=token)
    await _error(identity, "GET", "/v3/domains/config/default", 403, token=token)
    await _error(identity, "PUT", path, 403, token=token, json={"config": LDAP})
    await _error(identity, "PATCH", path, 403, token=token, json={"config": LDAP})
    await _error(identity, "DELETE", path, 403, token=token)
