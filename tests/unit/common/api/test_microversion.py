from __future__ import annotations

import pytest

from ownstack.common.api.microversion import STANDARD_HEADER, Microversions, Version, at_least
from ownstack.common.errors import BadRequest, NotAcceptable

# A sample history in the shape every service uses. Released microversions never change, so
# this list is pinned below exactly as a service's own test pins its list.
SAMPLE_VERSIONS = [
    ("2.1", "Initial version; the v2.1 API."),
    ("2.2", "Keypair type (ssh or x509)."),
    ("2.10", "Keypairs of other users, for admins."),
    ("2.47", "Flavor details embedded in the server."),
    ("2.53", "Service and hypervisor ids are UUIDs."),
]

LEGACY = "X-OpenStack-Nova-API-Version"


@pytest.fixture
def compute() -> Microversions:
    return Microversions("compute", SAMPLE_VERSIONS, legacy_header=LEGACY)


def test_sample_list_is_pinned(compute: Microversions) -> None:
    assert [(str(version), description) for version, description in compute.versions] == [
        ("2.1", "Initial version; the v2.1 API."),
        ("2.2", "Keypair type (ssh or x509)."),
        ("2.10", "Keypairs of other users, for admins."),
        ("2.47", "Flavor details embedded in the server."),
        ("2.53", "Service and hypervisor ids are UUIDs."),
    ]
    assert compute.min_version == Version(2, 1)
    assert compute.max_version == Version(2, 53)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.1", Version(2, 1)),
        ("2.10", Version(2, 10)),
        ("1.0", Version(1, 0)),
        ("10.200", Version(10, 200)),
    ],
)
def test_version_parse(text: str, expected: Version) -> None:
    assert Version.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text", ["", "2", "2.", ".1", "2.1.1", "v2.1", "2.01", "02.1", "0.1", " 2.1", "2.x", "latest"]
)
def test_version_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid microversion"):
        Version.parse(text)


def test_versions_order_numerically_not_as_text() -> None:
    assert Version(2, 10) > Version(2, 9)
    assert Version(3, 0) > Version(2, 99)
    assert sorted([Version(2, 10), Version(2, 2), Version(1, 40)]) == [
        Version(1, 40),
        Version(2, 2),
        Version(2, 10),
    ]


def test_at_least() -> None:
    assert at_least(Version(2, 47), "2.47")
    assert at_least(Version(2, 53), "2.47")
    assert not at_least(Version(2, 10), "2.47")
    assert at_least(Version(2, 10), Version(2, 9))
    with pytest.raises(ValueError):
        at_least(Version(2, 10), "2.x")


def test_absent_header_gives_the_minimum(compute: Microversions) -> None:
    assert compute.negotiate({}) == Version(2, 1)
    assert compute.negotiate({"Content-Type": "application/json"}) == Version(2, 1)


def test_standard_header(compute: Microversions) -> None:
    assert compute.negotiate({STANDARD_HEADER: "compute 2.10"}) == Version(2, 10)


def test_a_version_between_listed_ones_is_accepted(compute: Microversions) -> None:
    assert compute.negotiate({STANDARD_HEADER: "compute 2.20"}) == Version(2, 20)


def test_header_name_and_service_type_are_case_insensitive(compute: Microversions) -> None:
    assert compute.negotiate({"openstack-api-version": "COMPUTE 2.2"}) == Version(2, 2)


def test_latest(compute: Microversions) -> None:
    assert compute.negotiate({STANDARD_HEADER: "compute latest"}) == Version(2, 53)
    assert compute.negotiate({LEGACY: "Latest"}) == Version(2, 53)


def test_picks_our_entry_among_several(compute: Microversions) -> None:
    headers = {STANDARD_HEADER: "placement 1.39, compute 2.47 ,volume 3.60"}
    assert compute.negotiate(headers) == Version(2, 47)


def test_other_services_only_gives_the_minimum(compute: Microversions) -> None:
    assert compute.negotiate({STANDARD_HEADER: "placement 1.39"}) == Version(2, 1)


def test_repeated_header_lines_are_combined(compute: Microversions) -> None:
    class RawHeaders(dict[str, str]):
        """Like Starlette's Headers: items() yields a repeated header once per line."""

        def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
            return [
                ("openstack-api-version", "placement 1.2"),
                ("openstack-api-version", "compute 2.2"),
            ]

    assert compute.negotiate(RawHeaders()) == Version(2, 2)


def test_legacy_header(compute: Microversions) -> None:
    assert compute.negotiate({LEGACY: "2.10"}) == Version(2, 10)
    assert compute.negotiate({LEGACY.lower(): " 2.10 "}) == Version(2, 10)


def test_standard_header_wins_over_legacy(compute: Microversions) -> None:
    headers = {STANDARD_HEADER: "compute 2.47", LEGACY: "2.10"}
    assert compute.negotiate(headers) == Version(2, 47)


def test_legacy_header_is_used_when_standard_names_other_services(compute: Microversions) -> None:
    headers = {STANDARD_HEADER: "placement 1.10", LEGACY: "2.10"}
    assert compute.negotiate(headers) == Version(2, 10)


def test_legacy_header_is_ignored_unless_configured() -> None:
    placement = Microversions("placement", [("1.0", "Initial."), ("1.39", "Latest.")])
    assert placement.negotiate({LEGACY: "1.39"}) == Version(1, 0)


@pytest.mark.parametrize("requested", ["2.0", "2.54", "1.5", "3.0"])
def test_out_of_range_is_406_stating_the_range(compute: Microversions, requested: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        compute.negotiate({STANDARD_HEADER: f"compute {requested}"})
    assert caught.value.status == 406
    assert caught.value.message == (
        f"Version {requested} is not supported by the API. Minimum is 2.1 and maximum is 2.53."
    )


def test_out_of_range_legacy_is_406(compute: Microversions) -> None:
    with pytest.raises(NotAcceptable):
        compute.negotiate({LEGACY: "2.99"})


@pytest.mark.parametrize(
    "headers",
    [
        {STANDARD_HEADER: "compute 2.x"},
        {STANDARD_HEADER: "compute two"},
        {STANDARD_HEADER: "compute"},
        {STANDARD_HEADER: "compute 2.1 extra"},
        {STANDARD_HEADER: "compute 2.1, compute 2.2"},
        {STANDARD_HEADER: "2.1"},
        {LEGACY: "2"},
        {LEGACY: ""},
    ],
)
def test_malformed_is_400(compute: Microversions, headers: dict[str, str]) -> None:
    with pytest.raises(BadRequest) as caught:
        compute.negotiate(headers)
    assert caught.value.status == 400


def test_response_headers(compute: Microversions) -> None:
    assert compute.response_headers(Version(2, 47)) == {
        "OpenStack-API-Version": "compute 2.47",
        "X-OpenStack-Nova-API-Version": "2.47",
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }


def test_response_headers_without_legacy() -> None:
    placement = Microversions("placement", [("1.0", "Initial.")])
    assert placement.response_headers(Version(1, 0)) == {
        "OpenStack-API-Version": "placement 1.0",
        "Vary": "OpenStack-API-Version",
    }


@pytest.mark.parametrize(
    ("service_type", "versions"),
    [
        ("compute", []),
        ("compute", [("2.1", "a"), ("2.1", "b")]),
        ("compute", [("2.10", "a"), ("2.9", "b")]),
        ("compute", [("2.x", "a")]),
        ("", [("2.1", "a")]),
        ("com pute", [("2.1", "a")]),
    ],
)
def test_bad_declarations_fail_at_start_up(
    service_type: str, versions: list[tuple[str, str]]
) -> None:
    with pytest.raises(ValueError):
        Microversions(service_type, versions)
