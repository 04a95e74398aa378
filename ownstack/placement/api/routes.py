"""Placement: every URL, method and handler in one table (Placement's ROUTE_DECLARATIONS).

Each handler runs behind microversion negotiation; an unknown method gets a 405 with a
generated ``Allow`` header.
"""

from __future__ import annotations

from ownstack.common.api.routing import RouteTable
from ownstack.placement.api.handlers import (
    aggregates,
    allocation_candidates,
    allocations,
    inventories,
    reshaper,
    resource_classes,
    resource_providers,
    root,
    traits,
    usages,
)
from ownstack.placement.microversions import MICROVERSIONS

_RP = "/resource_providers/{uuid}"

ROUTES: RouteTable = MICROVERSIONS.versioned_routes({
    "/": {"GET": root.home},
    "/resource_classes": {"GET": resource_classes.list_resource_classes,
                          "POST": resource_classes.create_resource_class},
    "/resource_classes/{name}": {"GET": resource_classes.show_resource_class,
                                 "PUT": resource_classes.update_resource_class,
                                 "DELETE": resource_classes.delete_resource_class},
    "/resource_providers": {"GET": resource_providers.list_resource_providers,
                            "POST": resource_providers.create_resource_provider},
    _RP: {"GET": resource_providers.show_resource_provider,
          "PUT": resource_providers.update_resource_provider,
          "DELETE": resource_providers.delete_resource_provider},
    f"{_RP}/inventories": {"GET": inventories.list_inventories,
                           "POST": inventories.create_inventory,
                           "PUT": inventories.set_inventories,
                           "DELETE": inventories.delete_inventories},
    f"{_RP}/inventories/{{resource_class}}": {"GET": inventories.show_inventory,
                                              "PUT": inventories.update_inventory,
                                              "DELETE": inventories.delete_inventory},
    f"{_RP}/usages": {"GET": usages.list_provider_usages},
    f"{_RP}/aggregates": {"GET": aggregates.list_aggregates, "PUT": aggregates.set_aggregates},
    f"{_RP}/allocations": {"GET": allocations.list_provider_allocations},
    f"{_RP}/traits": {"GET": traits.list_provider_traits, "PUT": traits.set_provider_traits,
                      "DELETE": traits.delete_provider_traits},
    "/allocations": {"POST": allocations.set_allocations},
    "/allocations/{consumer_uuid}": {"GET": allocations.show_consumer_allocations,
                                     "PUT": allocations.set_consumer_allocations,
                                     "DELETE": allocations.delete_consumer_allocations},
    "/allocation_candidates": {"GET": allocation_candidates.list_allocation_candidates},
    "/traits": {"GET": traits.list_traits},
    "/traits/{name}": {"GET": traits.show_trait, "PUT": traits.put_trait,
                       "DELETE": traits.delete_trait},
    "/usages": {"GET": usages.total_usages},
    "/reshaper": {"POST": reshaper.post_reshaper},
})
