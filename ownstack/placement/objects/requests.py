"""What GET /allocation_candidates asks for: request groups and request-wide options."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestGroup:
    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    required: list[set[str]] = field(default_factory=list)    # AND of any-of sets
    forbidden: set[str] = field(default_factory=set)
    member_of: list[set[str]] = field(default_factory=list)   # AND of any-of sets
    forbidden_aggs: set[str] = field(default_factory=set)
    in_tree: str | None = None

    @property
    def use_same_provider(self) -> bool:
        return bool(self.suffix)


@dataclass
class RequestWide:
    limit: int | None = None
    group_policy: str | None = None
    root_required: set[str] = field(default_factory=set)
    root_forbidden: set[str] = field(default_factory=set)
    same_subtrees: list[set[str]] = field(default_factory=list)
