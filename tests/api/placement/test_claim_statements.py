"""A claim's statements (decision 88): a new consumer's claim deletes no allocations (it
holds none), a replacing claim still does, and one consumer on one provider is bound with
``=``, never an expanding IN list."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.inprocess import PlacementClient
from helpers.placement import call, claim, provider
from helpers.sql_log import sent_statements

DELETE = "DELETE FROM placement_allocations"


async def _usages(placement: PlacementClient, rp: str) -> dict[str, int]:
    r = await call(placement, "GET", f"/resource_providers/{rp}/usages", expect=200)
    return dict(r.json()["usages"])


async def test_a_new_consumer_deletes_nothing_a_replacing_claim_does(
        placement: PlacementClient) -> None:
    rp = await provider(placement, inventory={"VCPU": 8, "MEMORY_MB": 1024})
    other = await provider(placement, inventory={"VCPU": 8, "MEMORY_MB": 1024})
    consumer = str(uuid.uuid4())
    with sent_statements() as sent:
        await claim(placement, rp["uuid"], {"VCPU": 2, "MEMORY_MB": 256}, consumer=consumer)
    assert [s for s in sent if s.startswith(DELETE)] == []
    # One consumer, one provider: no list of one value to expand.
    placement_sent = [s for s in sent if "placement_" in s]
    assert placement_sent and all("IN (?)" not in s for s in placement_sent), placement_sent
    assert await _usages(placement, rp["uuid"]) == {"VCPU": 2, "MEMORY_MB": 256}
    # Moving the consumer to another provider deletes its old allocations.
    with sent_statements() as sent:
        await claim(placement, other["uuid"], {"VCPU": 1}, consumer=consumer, generation=1)
    assert len([s for s in sent if s.startswith(DELETE)]) == 1
    assert await _usages(placement, rp["uuid"]) == {"VCPU": 0, "MEMORY_MB": 0}
    assert await _usages(placement, other["uuid"]) == {"VCPU": 1, "MEMORY_MB": 0}
    r = await call(placement, "GET", f"/allocations/{consumer}", expect=200)
    assert r.json()["allocations"] == {other["uuid"]: {"generation": 2,
                                                       "resources": {"VCPU": 1}}}
    assert r.json()["consumer_generation"] == 2
    # The old provider's generation moved too (it lost the consumer's usage).
    r = await call(placement, "GET", f"/resource_providers/{rp['uuid']}", expect=200)
    assert r.json()["generation"] == 3


async def test_several_consumers_and_providers_still_claim_together(
        placement: PlacementClient) -> None:
    rps = [await provider(placement, inventory={"VCPU": 4}) for _ in range(2)]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    body = {consumer: {"allocations": {rp["uuid"]: {"resources": {"VCPU": 1}} for rp in rps},
                       "project_id": "p1", "user_id": "u1", "consumer_generation": None,
                       "consumer_type": "INSTANCE"} for consumer in (first, second)}
    with sent_statements() as sent:
        await call(placement, "POST", "/allocations", json=body, expect=204)
    assert [s for s in sent if s.startswith(DELETE)] == []
    assert [await _usages(placement, rp["uuid"]) for rp in rps] == [{"VCPU": 2}] * 2
    # Replacing both (one now empty: forgotten) deletes their old allocations in one go.
    body[first]["allocations"] = {}
    body[first]["consumer_generation"] = 1
    body[second]["allocations"] = {rps[0]["uuid"]: {"resources": {"VCPU": 3}}}
    body[second]["consumer_generation"] = 1
    with sent_statements() as sent:
        await call(placement, "POST", "/allocations", json=body, expect=204)
    assert len([s for s in sent if s.startswith(DELETE)]) == 1
    assert [await _usages(placement, rp["uuid"]) for rp in rps] == [{"VCPU": 3}, {"VCPU": 0}]
    r = await call(placement, "GET", f"/allocations/{first}", expect=200)
    assert r.json() == {"allocations": {}}
    # Deleting a consumer's allocations still works by its one uuid.
    await call(placement, "DELETE", f"/allocations/{second}", expect=204)
    assert await _usages(placement, rps[0]["uuid"]) == {"VCPU": 0}
    await call(placement, "DELETE", f"/allocations/{second}", expect=404)


async def test_a_known_consumer_type_opens_no_session(placement: PlacementClient,
                                                       monkeypatch: Any) -> None:
    """A claim names its consumer type; once the type is known its id comes from the cache,
    with no read session opened for it (decision 92): a claim opens its write alone, a
    plain write of Core statements with no ORM session (decision 99)."""
    rp = await provider(placement, inventory={"VCPU": 8, "MEMORY_MB": 1024})
    await claim(placement, rp["uuid"], {"VCPU": 1})         # the first use creates the type
    svc = placement.app.svc
    opened: list[str] = []
    kinds = ("read", "write", "plain_read", "plain_write")
    real = {kind: getattr(type(svc.db), kind) for kind in kinds}

    def opener(kind: str) -> Any:
        def open_(db: Any) -> Any:
            opened.append(kind)
            return real[kind](db)
        return open_

    for kind in kinds:
        monkeypatch.setattr(type(svc.db), kind, opener(kind))
    await claim(placement, rp["uuid"], {"VCPU": 1})
    assert opened == ["plain_write"]
    monkeypatch.undo()
    assert await _usages(placement, rp["uuid"]) == {"VCPU": 2, "MEMORY_MB": 0}
