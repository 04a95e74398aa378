"""Compute: every URL, method and handler in one table.

Each handler runs behind microversion negotiation, which accepts both
``OpenStack-API-Version: compute X.Y`` and ``X-OpenStack-Nova-API-Version: X.Y`` and echoes
both; an unknown method gets a 405 with a generated ``Allow`` header.
"""

from __future__ import annotations

from ownstack.common.api.routing import RouteTable
from ownstack.compute.api.handlers import (
    extra_specs,
    flavor_access,
    flavors,
    keypairs,
    versions,
)
from ownstack.compute.microversions import MICROVERSIONS

_V = "/v2.1"
_FLAVOR = f"{_V}/flavors/{{flavor_id}}"

ROUTES: RouteTable = MICROVERSIONS.versioned_routes({
    "/": {"GET": versions.list_versions},
    _V: {"GET": versions.show_version},
    f"{_V}/flavors": {"GET": flavors.list_flavors, "POST": flavors.create_flavor},
    f"{_V}/flavors/detail": {"GET": flavors.list_flavors_detail},
    _FLAVOR: {"GET": flavors.show_flavor, "PUT": flavors.update_flavor,
              "DELETE": flavors.delete_flavor},
    f"{_FLAVOR}/action": {"POST": flavor_access.flavor_action},
    f"{_FLAVOR}/os-flavor-access": {"GET": flavor_access.list_flavor_access},
    f"{_FLAVOR}/os-extra_specs": {"GET": extra_specs.list_extra_specs,
                                  "POST": extra_specs.create_extra_specs},
    f"{_FLAVOR}/os-extra_specs/{{key}}": {"GET": extra_specs.show_extra_spec,
                                          "PUT": extra_specs.update_extra_spec,
                                          "DELETE": extra_specs.delete_extra_spec},
    f"{_V}/os-keypairs": {"GET": keypairs.list_keypairs, "POST": keypairs.create_keypair},
    f"{_V}/os-keypairs/{{name}}": {"GET": keypairs.show_keypair,
                                   "DELETE": keypairs.delete_keypair},
})
