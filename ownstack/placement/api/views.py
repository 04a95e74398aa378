"""Placement's response bodies, each in the shape of the negotiated microversion."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version
from ownstack.placement.api.common import at_least, rp_url
from ownstack.placement.objects.allocations import ConsumerAllocations
from ownstack.placement.objects.candidates import Candidates
from ownstack.placement.objects.inventories import InventoryRecord
from ownstack.placement.objects.providers import Provider


def provider(rp: Provider, version: Version) -> dict[str, Any]:
    url = rp_url(rp.uuid)
    rels = ["inventories", "usages"]
    if at_least(version, "1.1"):
        rels.append("aggregates")
    if at_least(version, "1.6"):
        rels.append("traits")
    if at_least(version, "1.11"):
        rels.append("allocations")
    view: dict[str, Any] = {
        "uuid": rp.uuid, "name": rp.name, "generation": rp.generation,
        "links": [{"rel": "self", "href": url}, *({"rel": rel, "href": f"{url}/{rel}"}
                                                  for rel in rels)],
    }
    if at_least(version, "1.14"):
        view["parent_provider_uuid"] = rp.parent_provider_uuid
        view["root_provider_uuid"] = rp.root_provider_uuid
    return view


def provider_aggregates(rp: Provider, aggregates: list[str], version: Version
                        ) -> dict[str, Any]:
    view: dict[str, Any] = {"aggregates": aggregates}
    if at_least(version, "1.19"):
        view["resource_provider_generation"] = rp.generation
    return view


def provider_traits(rp: Provider, traits: list[str]) -> dict[str, Any]:
    return {"traits": traits, "resource_provider_generation": rp.generation}


def provider_usages(rp: Provider, usages: dict[str, int]) -> dict[str, Any]:
    return {"resource_provider_generation": rp.generation, "usages": usages}


def resource_class(name: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": f"/resource_classes/{name}"}]}


def inventory(record: InventoryRecord, rp: Provider) -> dict[str, Any]:
    return {**record.fields(), "resource_provider_generation": rp.generation}


def inventories(records: list[InventoryRecord], rp: Provider) -> dict[str, Any]:
    return {"resource_provider_generation": rp.generation,
            "inventories": {r.resource_class: r.fields() for r in records}}


# --- allocations ---------------------------------------------------------------------------

def consumer_allocations(found: ConsumerAllocations, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {"allocations": {
        rp: {"generation": generation, "resources": resources}
        for rp, (generation, resources) in found.providers.items()}}
    if found.providers and at_least(version, "1.12"):
        view["project_id"], view["user_id"] = found.project_id, found.user_id
        if at_least(version, "1.28"):
            view["consumer_generation"] = found.generation
        if at_least(version, "1.38"):
            view["consumer_type"] = found.consumer_type
    return view


def provider_allocations(rp: Provider, by_consumer: dict[str, dict[str, Any]],
                         version: Version) -> dict[str, Any]:
    """``by_consumer``: consumer uuid -> its resources and consumer generation."""
    if not at_least(version, "1.28"):
        by_consumer = {consumer: {k: v for k, v in entry.items() if k != "consumer_generation"}
                       for consumer, entry in by_consumer.items()}
    return {"allocations": by_consumer, "resource_provider_generation": rp.generation}


# --- allocation candidates -----------------------------------------------------------------

def allocation_candidates(found: Candidates, version: Version) -> dict[str, Any]:
    return {"allocation_requests": _allocation_requests(found, version),
            "provider_summaries": _provider_summaries(found, version)}


def _allocation_requests(found: Candidates, version: Version) -> list[dict[str, Any]]:
    uuids, classes = found.uuids, found.classes
    out: list[dict[str, Any]] = []
    as_dict = at_least(version, "1.12")
    with_mappings = at_least(version, "1.34")
    named: dict[int, dict[str, int]] = {}   # requests of a group share their amount dicts
    for request in found.requests:
        by_rp: dict[str, dict[str, int]] = {}
        for rp, amounts in request.amounts.items():
            resources = named.get(id(amounts))
            if resources is None:
                resources = named[id(amounts)] = {classes[rc]: n for rc, n in amounts.items()}
            by_rp[uuids[rp]] = resources
        if as_dict:
            item: dict[str, Any] = {"allocations": {rp: {"resources": res}
                                                    for rp, res in by_rp.items()}}
            if with_mappings:
                item["mappings"] = {suffix: [uuids[rp] for rp in rps]
                                    for suffix, rps in request.mappings.items()}
        else:
            item = {"allocations": [{"resource_provider": {"uuid": rp}, "resources": res}
                                    for rp, res in by_rp.items()]}
        out.append(item)
    return out


def _provider_summaries(found: Candidates, version: Version) -> dict[str, Any]:
    uuids, classes = found.uuids, found.classes
    with_traits = at_least(version, "1.17")
    all_classes = at_least(version, "1.27")
    nested = at_least(version, "1.29")
    out: dict[str, Any] = {}
    for rp in found.summary_ids:
        stock = found.stock.get(rp, {})
        summary: dict[str, Any] = {"resources": {
            classes[rc]: {"capacity": s[5], "used": s[1]}
            for rc, s in stock.items() if all_classes or rc in found.requested_classes}}
        if with_traits:
            summary["traits"] = found.traits.get(rp, [])
        if nested:
            parent = found.parents[rp]
            summary["parent_provider_uuid"] = uuids[parent] if parent is not None else None
            summary["root_provider_uuid"] = uuids[found.roots[rp]]
        out[uuids[rp]] = summary
    return out


# --- version discovery ---------------------------------------------------------------------

def versions(low: str, high: str) -> dict[str, Any]:
    # A relative self link, as Placement: it never tracks the address it is reached by.
    return {"versions": [{"id": f"v{low}", "max_version": high, "min_version": low,
                          "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}]}
