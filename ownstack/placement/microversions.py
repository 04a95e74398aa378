"""Placement's microversions, oldest first, one line each: what that version changed.

A released microversion never changes; ``tests/unit/placement/test_microversions.py`` pins
this list. Handlers pick behaviour with ``at_least(version_of(req), "1.x")``.
"""

from __future__ import annotations

from typing import Final

from ownstack.common.api.microversion import Microversions

SERVICE_TYPE: Final = "placement"

VERSIONS: Final = (
    ("1.0", "Initial version: providers, inventories, allocations, usages."),
    ("1.1", "GET/PUT /resource_providers/{uuid}/aggregates."),
    ("1.2", "/resource_classes: custom resource classes."),
    ("1.3", "member_of filter on GET /resource_providers."),
    ("1.4", "resources filter on GET /resource_providers."),
    ("1.5", "DELETE /resource_providers/{uuid}/inventories."),
    ("1.6", "/traits and /resource_providers/{uuid}/traits."),
    ("1.7", "PUT /resource_classes/{name} is a bodiless create-or-verify."),
    ("1.8", "PUT /allocations requires project_id and user_id."),
    ("1.9", "GET /usages per project (and user)."),
    ("1.10", "GET /allocation_candidates."),
    ("1.11", "'allocations' link on resource providers."),
    ("1.12", "Allocations as a dict keyed by provider, with project_id and user_id."),
    ("1.13", "POST /allocations for several consumers at once."),
    ("1.14", "Nested providers: parent/root uuids and the in_tree filter."),
    ("1.15", "Last-Modified and Cache-Control headers."),
    ("1.16", "limit on GET /allocation_candidates."),
    ("1.17", "required traits on GET /allocation_candidates; traits in summaries."),
    ("1.18", "required traits on GET /resource_providers."),
    ("1.19", "Aggregates carry and check the provider generation."),
    ("1.20", "POST /resource_providers returns 200 with the provider."),
    ("1.21", "member_of on GET /allocation_candidates."),
    ("1.22", "Forbidden traits (!TRAIT) in required."),
    ("1.23", "Error bodies carry a stable code."),
    ("1.24", "Several member_of parameters on GET /resource_providers."),
    ("1.25", "Granular request groups (resourcesN, requiredN, member_ofN, group_policy)."),
    ("1.26", "Inventory with reserved equal to total (zero capacity)."),
    ("1.27", "Provider summaries show every resource class of a provider."),
    ("1.28", "Consumer generations."),
    ("1.29", "Nested providers in GET /allocation_candidates."),
    ("1.30", "POST /reshaper: move inventory and allocations in one transaction."),
    ("1.31", "in_tree and in_treeN on GET /allocation_candidates."),
    ("1.32", "Forbidden aggregates (member_of=!uuid, !in:) ."),
    ("1.33", "Request group suffixes of [A-Za-z0-9_-]{1,64}."),
    ("1.34", "mappings in allocation requests; accepted in allocation writes."),
    ("1.35", "root_required on GET /allocation_candidates."),
    ("1.36", "same_subtree and resourceless request groups."),
    ("1.37", "Providers may be re-parented and un-parented."),
    ("1.38", "consumer_type on allocations and per-type GET /usages."),
    ("1.39", "any-of traits (required=in:A,B) and repeated required."),
)

MICROVERSIONS: Final = Microversions(SERVICE_TYPE, VERSIONS)
