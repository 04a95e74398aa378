"""Placement's microversions and error codes are released API: this test pins them."""

from __future__ import annotations

from helpers.paths import REPO
from ownstack.common.api.microversion import Version
from ownstack.placement import errors
from ownstack.placement.microversions import MICROVERSIONS, VERSIONS

DOCS = REPO / "docs" / "placement.md"


def test_the_list_is_pinned() -> None:
    assert [version for version, _ in VERSIONS] == [f"1.{minor}" for minor in range(40)]
    assert MICROVERSIONS.min_version == Version(1, 0)
    assert MICROVERSIONS.max_version == Version(1, 39)
    assert MICROVERSIONS.service_type == "placement"
    assert all(description.strip() for _, description in VERSIONS)


def test_error_codes_are_placements_own() -> None:
    assert errors.ALL_CODES == (
        "placement.undefined_code", "placement.inventory.inuse", "placement.concurrent_update",
        "placement.duplicate_name", "placement.resource_provider.inuse",
        "placement.resource_provider.cannot_delete_parent",
        "placement.resource_provider.not_found", "placement.query.duplicate_key",
        "placement.query.bad_value", "placement.query.missing_value")


def test_every_error_code_and_microversion_is_documented() -> None:
    text = DOCS.read_text()
    assert not [code for code in errors.ALL_CODES if f"`{code}`" not in text]
    assert not [v for v, _ in VERSIONS if f"| {v} |" not in text]
