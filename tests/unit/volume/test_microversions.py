"""The volume service's microversions are released API: this test pins them, and the
version openstacksdk (and so python-openstackclient) negotiates is the maximum."""

from __future__ import annotations

from openstack.block_storage.v3 import volume as sdk_volume

from ownstack.common.api.microversion import Version
from ownstack.volume.microversions import MICROVERSIONS, NOT_SERVED, VERSIONS


def test_the_list_is_pinned() -> None:
    assert [version for version, _ in VERSIONS] == [f"3.{minor}" for minor in range(0, 72)]
    assert (MICROVERSIONS.min_version, MICROVERSIONS.max_version) == \
        (Version(3, 0), Version(3, 71))
    assert MICROVERSIONS.service_type == "volume" and MICROVERSIONS.legacy_header is None
    assert all(description.strip().endswith(".") for _, description in VERSIONS)


def test_the_maximum_is_what_openstacksdk_asks_for() -> None:
    assert Version.parse(sdk_volume.Volume._max_microversion) == MICROVERSIONS.max_version


def test_every_version_says_what_it_changed() -> None:
    descriptions = [text for _, text in VERSIONS]
    assert len(set(descriptions)) == len(descriptions)
    served = {version for version, text in VERSIONS if NOT_SERVED not in text}
    assert {"3.0", "3.1", "3.3", "3.5", "3.12", "3.27", "3.30", "3.40", "3.42", "3.44",
            "3.45", "3.50", "3.53", "3.54", "3.55", "3.57", "3.59", "3.62", "3.63", "3.66",
            "3.71"} <= served
    assert {"3.8", "3.47", "3.68", "3.70"}.isdisjoint(served)
