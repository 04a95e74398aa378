"""Compute version discovery and microversion negotiation, in process."""

from __future__ import annotations

from helpers.inprocess import ServiceClient


async def test_root_lists_v20_and_v21_without_a_token(compute: ServiceClient) -> None:
    r = await compute.http.get("/")
    assert r.status_code == 200
    versions = r.json()["versions"]
    assert [(v["id"], v["status"], v["min_version"], v["version"]) for v in versions] == [
        ("v2.0", "SUPPORTED", "", ""), ("v2.1", "CURRENT", "2.1", "2.96")]
    assert versions[1]["links"] == [{"rel": "self", "href": "http://compute.test/v2.1/"}]


async def test_v21_document(compute: ServiceClient) -> None:
    r = await compute.http.get("/v2.1")
    assert r.status_code == 200
    version = r.json()["version"]
    assert {k: version[k] for k in ("id", "status", "version", "min_version")} == {
        "id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1"}
    assert version["media-types"][0]["base"] == "application/json"
    assert (await compute.http.get("/v2.1/")).status_code == 200


async def test_default_version_is_echoed_in_both_headers(compute: ServiceClient) -> None:
    r = await compute.call("GET", "/v2.1/flavors", expect=200)
    assert r.headers["OpenStack-API-Version"] == "compute 2.1"
    assert r.headers["X-OpenStack-Nova-API-Version"] == "2.1"
    assert "X-OpenStack-Nova-API-Version" in r.headers["Vary"]
    assert "OpenStack-API-Version" in r.headers["Vary"]


async def test_both_request_headers_are_accepted(compute: ServiceClient) -> None:
    legacy = await compute.call("GET", "/v2.1/flavors", expect=200,
                                headers={"X-OpenStack-Nova-API-Version": "2.55"})
    assert legacy.headers["OpenStack-API-Version"] == "compute 2.55"
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.55"
    standard = await compute.call("GET", "/v2.1/flavors", expect=200,
                                  headers={"OpenStack-API-Version": "compute 2.61"})
    assert standard.headers["X-OpenStack-Nova-API-Version"] == "2.61"
    latest = await compute.call("GET", "/v2.1/flavors", expect=200,
                                headers={"OpenStack-API-Version": "compute latest"})
    assert latest.headers["OpenStack-API-Version"] == "compute 2.96"


async def test_out_of_range_is_406_in_novas_body(compute: ServiceClient) -> None:
    for header in ({"OpenStack-API-Version": "compute 2.97"},
                   {"X-OpenStack-Nova-API-Version": "3.0"},
                   {"X-OpenStack-Nova-API-Version": "2.0"}):
        r = await compute.call("GET", "/v2.1/flavors", expect=406, headers=header)
        fault = r.json()["computeFault"]
        assert fault["code"] == 406
        assert "Minimum is 2.1 and maximum is 2.96" in fault["message"]


async def test_malformed_version_is_400(compute: ServiceClient) -> None:
    for value in ("2", "two.one", "2.01"):
        r = await compute.call("GET", "/v2.1/flavors", expect=400,
                               headers={"X-OpenStack-Nova-API-Version": value})
        assert r.json()["badRequest"]["code"] == 400


async def test_errors_use_novas_fault_names(compute: ServiceClient) -> None:
    missing = await compute.call("GET", "/v2.1/flavors/nope", expect=404)
    assert missing.json()["itemNotFound"]["message"] == "Flavor nope could not be found."
    assert missing.headers["X-OpenStack-Nova-API-Version"] == "2.1"
    r = await compute.call("PATCH", "/v2.1/flavors", expect=405)
    assert r.json()["badMethod"]["code"] == 405
    assert r.headers["Allow"] == "GET, HEAD, POST"
    r = await compute.http.get("/v2.1/flavors")
    assert r.status_code == 401 and r.json()["error"]["code"] == 401


async def test_every_root_link_leads_to_its_document(compute: ServiceClient) -> None:
    # Tempest's test_get_version_details follows each self link of the root.
    for listed in (await compute.http.get("/")).json()["versions"]:
        [link] = [x for x in listed["links"] if x["rel"] == "self"]
        r = await compute.http.get(link["href"].replace("http://compute.test", ""))
        assert r.status_code == 200, link
        document = r.json()["version"]
        assert document["id"] == listed["id"]
        assert [x for x in document["links"] if x["rel"] == "self"] == [link]
    # The legacy endpoint's document only: its API is v2.1's.
    assert (await compute.http.get("/v2/servers")).status_code in (401, 404)
