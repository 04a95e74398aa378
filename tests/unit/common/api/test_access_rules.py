"""Access rule matching, as keystonemiddleware's ``_path_matches`` and
``validate_allowed_request`` do it."""

from __future__ import annotations

import pytest

from ownstack.common.api.access_rules import permits

IPS = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}


@pytest.mark.parametrize(("rule_path", "path", "allowed"), [
    ("/v2.1/servers/*/ips", "/v2.1/servers/abc/ips", True),
    ("/v2.1/servers/*/ips", "/v2.1/servers/abc/def/ips", False),
    ("/v2.1/servers/*/ips", "/v2.1/servers//ips", False),
    ("/v2.1/servers/{server_id}/ips", "/v2.1/servers/abc/ips", True),
    ("/v2.1/servers/**", "/v2.1/servers/abc/ips/public", True),
    ("/v2.1/servers/**", "/v2.1/servers", False),
    ("/v2.1/servers", "/v2.1/servers", True),
    ("/v2.1/servers", "/v2.1/servers/detail", False),
    ("/v2.1/servers.json", "/v2.1/serversXjson", False),   # a literal dot is a dot
])
def test_path_patterns(rule_path: str, path: str, allowed: bool) -> None:
    assert permits([{**IPS, "path": rule_path}], "compute", "GET", path) is allowed


def test_method_and_service_must_match() -> None:
    assert not permits([IPS], "compute", "POST", "/v2.1/servers/abc/ips")
    assert not permits([IPS], "compute", "HEAD", "/v2.1/servers/abc/ips")
    assert not permits([IPS], "network", "GET", "/v2.1/servers/abc/ips")
    assert permits([{**IPS, "service": "x"}, IPS], "compute", "GET", "/v2.1/servers/a/ips")
    assert not permits([], "compute", "GET", "/v2.1/servers/abc/ips")


def test_volume_answers_to_its_catalog_types() -> None:
    for service in ("volume", "block-storage", "volumev3"):
        rule = {"service": service, "method": "GET", "path": "/v3/*/volumes"}
        assert permits([rule], "volume", "GET", "/v3/p1/volumes")
    assert not permits([{"service": "volumev2", "method": "GET", "path": "/v3/*/volumes"}],
                       "volume", "GET", "/v3/p1/volumes")


def test_a_token_can_always_be_validated_by_identity() -> None:
    assert permits([IPS], "identity", "GET", "/v3/auth/tokens")
    assert not permits([IPS], "identity", "DELETE", "/v3/auth/tokens")
    assert not permits([IPS], "compute", "GET", "/v3/auth/tokens")
