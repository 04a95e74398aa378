"""Parsing the query of GET /allocation_candidates and GET /resource_providers.

``resources=VCPU:1,MEMORY_MB:512``, ``required=HW_CPU_X86_AVX,!CUSTOM_SLOW`` (and from
1.39 ``required=in:A,B``, repeatable), ``member_of=<agg>|in:<a>,<b>|!<agg>|!in:...``,
``in_tree=<rp>``, each optionally suffixed into a request group (``resources1``,
``resources_GPU``), with Placement's rules and messages (``placement/lib.py``).
"""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.errors import BadRequest
from ownstack.common.uuids import is_uuid
from ownstack.placement.errors import BadQueryValue, DuplicateQueryKey, MissingQueryValue
from ownstack.placement.objects.requests import RequestGroup, RequestWide

_PREFIXES = "resources|required|member_of|in_tree"
_KEY = re.compile(rf"^({_PREFIXES})([1-9][0-9]*)?$")
_KEY_1_33 = re.compile(rf"^({_PREFIXES})([a-zA-Z0-9_-]{{1,64}})?$")


def parse_resources(value: str) -> dict[str, int]:
    form = "?resources=VCPU:2,MEMORY_MB:1024"
    if not value.strip():
        raise BadRequest("Badly formed resources parameter. Expected resources query string "
                         f"parameter in form: {form}. Got: empty string.")
    result: dict[str, int] = {}
    for item in value.split(","):
        parts = item.split(":")
        if len(parts) != 2:
            raise BadRequest("Badly formed resources parameter. Expected resources query "
                             f"string parameter in form: {form}. Got: {item}.")
        name, amount_text = parts
        try:
            amount = int(amount_text)
        except ValueError:
            raise BadRequest(f"Requested resource {name} expected positive integer amount. "
                             f"Got: {amount_text}.") from None
        if amount < 1:
            raise BadRequest(f"Requested resource {name} requires amount >= 1. Got: {amount}.")
        result[name] = amount
    return result


def parse_traits(values: list[str], version: Version) -> tuple[list[set[str]], set[str]]:
    """(required any-of sets, forbidden) from the ``required`` values; before 1.39 only the
    last value counts."""
    allow_forbidden = at_least(version, "1.22")
    allow_any = at_least(version, "1.39")
    required: list[set[str]] = []
    forbidden: set[str] = set()
    for value in values if allow_any else values[-1:]:
        if value.startswith("in:"):
            if not allow_any:
                raise BadRequest("Invalid query string parameters: The format "
                                 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since "
                                 f"microversion 1.39. Got: {value}")
            any_of = {part.strip() for part in value[3:].split(",")}
            if not all(any_of):
                raise BadRequest("Invalid query string parameters: Expected 'required' "
                                 "parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. "
                                 f"Got an empty trait in: {value}")
            if any(trait.startswith("!") for trait in any_of):
                raise BadRequest("Invalid query string parameters: The format "
                                 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden "
                                 f"traits. Got: {value}")
            required.append(any_of)
            continue
        traits = [part.strip() for part in value.split(",")]
        form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        if not all(trait.lstrip("!") for trait in traits):
            raise BadRequest("Invalid query string parameters: Expected 'required' parameter "
                             f"value of the form: {form}. Got an empty trait in: {value}")
        bad = [trait for trait in traits if trait.startswith("!")]
        if bad and not allow_forbidden:
            raise BadRequest("Invalid query string parameters: Expected 'required' parameter "
                             f"value of the form: {form}. Got: {value}")
        forbidden |= {trait[1:] for trait in bad}
        required += [{trait} for trait in traits if not trait.startswith("!")]
    return required, forbidden


def parse_member_of(values: list[str], version: Version, suffix: str = ""
                    ) -> tuple[list[set[str]], set[str]]:
    if len(values) > 1 and not at_least(version, "1.24"):
        raise BadRequest(f"Multiple member_of{suffix} parameters are not supported")
    required: list[set[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if "," in value and not value.startswith(("in:", "!in:")):
            raise BadRequest("Multiple values for 'member_of' must be prefixed with the 'in:' "
                             f"or '!in:' keyword using the valid microversion. Got: {value}")
        if value.startswith("!"):
            if not at_least(version, "1.32"):
                raise BadRequest(f"Forbidden member_of{suffix} parameters are not supported "
                                 "in the specified microversion")
            bad = value[4:] if value.startswith("!in:") else value[1:]
            forbidden |= _aggregates(bad.split(","))
        else:
            good = value[3:] if value.startswith("in:") else value
            required.append(_aggregates(good.split(",")))
    return required, forbidden


def _aggregates(values: list[str]) -> set[str]:
    for value in values:
        if not is_uuid(value):
            raise BadRequest("Invalid query string parameters: Expected 'member_of' parameter "
                             f"to contain valid UUID(s). Got: {value}")
    return set(values)


def parse_in_tree(value: str) -> str:
    value = value.strip()
    if not is_uuid(value):
        raise BadRequest("Invalid query string parameters: Expected 'in_tree' parameter to be "
                         f"a format of uuid. Got: {value}")
    return value


def parse_provider_filters(params: QueryParams, version: Version) -> RequestGroup:
    """The filters of GET /resource_providers, as one unsuffixed request group."""
    group = RequestGroup()
    if "member_of" in params:
        group.member_of, group.forbidden_aggs = parse_member_of(params.getlist("member_of"),
                                                                version)
    if "in_tree" in params:
        group.in_tree = parse_in_tree(params["in_tree"])
    if "resources" in params:
        group.resources = parse_resources(params["resources"])
    if "required" in params:
        group.required, group.forbidden = parse_traits(params.getlist("required"), version)
    return group


def parse_groups(params: QueryParams, version: Version, wide: RequestWide
                 ) -> dict[str, RequestGroup]:
    """Request groups by suffix ("" is the unsuffixed group), checked as Placement does."""
    pattern = _KEY_1_33 if at_least(version, "1.33") else _KEY
    groups: dict[str, RequestGroup] = {}
    for key in dict.fromkeys(params.keys()):
        found = pattern.match(key)
        if not found:
            continue
        prefix, suffix = found[1], found[2] or ""
        group = groups.setdefault(suffix, RequestGroup(suffix=suffix))
        values = params.getlist(key)
        if prefix == "resources":
            group.resources = parse_resources(values[-1])
        elif prefix == "required":
            group.required, group.forbidden = parse_traits(values, version)
        elif prefix == "member_of":
            group.member_of, group.forbidden_aggs = parse_member_of(values, version, suffix)
        else:
            group.in_tree = parse_in_tree(values[-1])
    resourceless = {s for s, g in groups.items() if not g.resources}
    if at_least(version, "1.36"):
        subtree = set().union(*wide.same_subtrees)
        if len(resourceless) == len(groups):
            raise MissingQueryValue("There must be at least one resources or resources[$S] "
                                    "parameter.")
        bad = sorted(resourceless - subtree)
        if bad:
            raise BadQueryValue("Resourceless suffixed group request should be specified in "
                                f"`same_subtree` query param: bad group(s) - {bad}.")
        unknown = sorted(subtree - groups.keys())
        if unknown:
            raise BadQueryValue(f"Real suffixes should be specified in `same_subtree`: "
                                f"{unknown} not found in {sorted(groups)}.")
    else:
        _check_orphans(groups)
    if at_least(version, "1.22"):
        conflicts = sorted(f"required{s}: ({', '.join(sorted(any_of))})"
                           for s, g in groups.items() for any_of in g.required
                           if any_of <= g.forbidden)
        if conflicts:
            raise BadRequest("Conflicting required and forbidden traits found in the "
                             f"following traits keys: {', '.join(conflicts)}")
    if not wide.group_policy and sum(1 for g in groups.values() if g.use_same_provider) > 1:
        raise BadRequest('The "group_policy" parameter is required when specifying more than '
                         'one "resources{N}" parameter.')
    return groups


def _check_orphans(groups: dict[str, RequestGroup]) -> None:
    orphans = [f"required{s}" for s, g in groups.items() if g.required and not g.resources]
    if orphans:
        raise BadRequest("All traits parameters must be associated with resources.  Found the "
                         f"following orphaned traits keys: {', '.join(orphans)}")
    orphans = [f"member_of{s}" for s, g in groups.items()
               if not g.resources and (g.member_of or g.forbidden_aggs)]
    if orphans:
        raise BadRequest("All member_of parameters must be associated with resources. Found "
                         f"the following orphaned member_of keys: {', '.join(orphans)}")
    if not all(g.resources for g in groups.values()):
        raise BadRequest("All request groups must specify resources.")
    if not groups:
        raise BadRequest("At least one request group (`resources` or `resources{$S}`) is "
                         "required.")


def parse_wide(params: QueryParams) -> RequestWide:
    wide = RequestWide()
    if "limit" in params:
        wide.limit = int(params.getlist("limit")[0])
    if "group_policy" in params:
        wide.group_policy = params.getlist("group_policy")[0]
    roots = params.getlist("root_required")
    if len(roots) > 1:
        raise DuplicateQueryKey("Query parameter 'root_required' may be specified only once.")
    if roots:
        traits = [part.strip() for part in roots[0].split(",")]
        if not all(trait.lstrip("!") for trait in traits):
            raise BadRequest("Invalid query string parameters: Expected 'required' parameter "
                             "value of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty "
                             f"trait in: {roots[0]}")
        wide.root_required = {t for t in traits if not t.startswith("!")}
        wide.root_forbidden = {t[1:] for t in traits if t.startswith("!")}
        conflicts = wide.root_required & wide.root_forbidden
        if conflicts:
            raise BadQueryValue("Conflicting required and forbidden traits found in "
                                f"root_required: {', '.join(sorted(conflicts))}")
    for value in params.getlist("same_subtree"):
        suffixes = {part.strip() for part in value.split(",")}
        if "" in suffixes:
            raise BadQueryValue("Empty string (unsuffixed group) can not be specified in "
                                "`same_subtree` ")
        wide.same_subtrees.append(suffixes)
    return wide
