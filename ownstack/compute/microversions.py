"""Compute's microversions, oldest first, one line each: what that version changed.

Only the versions whose changes ownstack implements for the resources it serves are
listed; versions that changed resources ownstack does not serve yet (servers and the rest)
change nothing here. The list stops at 2.85 because 2.86 makes flavor extra specs strictly
validated against Nova's registry of known keys, which ownstack does not have yet.
A released microversion never changes; ``tests/unit/compute/test_microversions.py`` pins
this list.
"""

from __future__ import annotations

from typing import Final

from ownstack.common.api.microversion import Microversions

SERVICE_TYPE: Final = "compute"
LEGACY_HEADER: Final = "X-OpenStack-Nova-API-Version"

# Versions that changed nothing ownstack serves yet are named "(servers)" and friends.
_UNCHANGED: Final = "No change to flavors, keypairs or version documents."

_CHANGES: Final = {
    "2.1": "Initial version: flavors, extra specs, flavor access, keypairs.",
    "2.2": "Keypair 'type' (ssh, x509); POST /os-keypairs answers 201, DELETE 204.",
    "2.7": "addTenantAccess to a public flavor is a 409.",
    "2.10": "Keypairs of another user, by admins: 'user_id' in create, ?user_id= elsewhere.",
    "2.35": "limit and marker on GET /os-keypairs, with keypairs_links.",
    "2.55": "Flavor 'description'; PUT /flavors/{id} updates it.",
    "2.61": "'extra_specs' inline in flavor views.",
    "2.75": "Flavor swap is 0, not \"\", when unset; unknown flavor list query params are 400.",
}

VERSIONS: Final = tuple(
    (f"2.{minor}", _CHANGES.get(f"2.{minor}", _UNCHANGED)) for minor in range(1, 86))

MICROVERSIONS: Final = Microversions(SERVICE_TYPE, VERSIONS, legacy_header=LEGACY_HEADER)
