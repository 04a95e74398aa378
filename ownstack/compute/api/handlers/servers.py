"""``/servers``: create, list (index and detail), show, update, delete, and ``ips``.

Nova's semantics, with the deviations of ``objects/servers.py``. ``networks`` and
``security_groups`` are checked with the caller's token (``ownstack.compute.ports``).
Known Nova list filters ownstack has no data for (``config_drive``, ``power_state``,
``progress``, ``created_at``, ``launched_at``, ``terminated_at``, ``kernel_id``, ...) are
accepted and ignored; unknown ones are ignored before 2.75 and a 400 from 2.75, as in Nova.
Before 2.75 Nova's update answers a trimmed view; ownstack answers the full one at every
version (a superset: clients read the fields they know).
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.pagination import parse_sort
from ownstack.common.booleans import FALSE_STRINGS, TRUE_STRINGS, bool_from_string, parse_bool
from ownstack.common.clients.image import ImageClientError, ImageNotFound
from ownstack.common.clients.network import NetworkClientError
from ownstack.common.errors import BadRequest, Forbidden, NotFound
from ownstack.compute import block_device, boot_volumes, netinfo, ports, states
from ownstack.compute.api.common import (
    Version,
    ask_to_schedule,
    at_least,
    body,
    check_user_data,
    collection_links,
    limit_of,
    nudge,
    reject_unknown_query,
    version_of,
)
from ownstack.compute.api.schemas import servers as schemas
from ownstack.compute.api.server_common import load_extras, show_body
from ownstack.compute.api.views import servers as views
from ownstack.compute.errors import ConcurrentUpdate, InvalidServerRequest
from ownstack.compute.objects import (
    actions,
    block_devices,
    console_tokens,
    hosts,
    models,
    random_names,
    servers,
)
from ownstack.compute.objects.instances import (
    HOLDS_PORTS,
    RELEASED,
    find_server,
    set_network_status,
    update_instance,
)
from ownstack.compute.objects.models import Instance
from ownstack.compute.objects.server_actions import check_unlocked
from ownstack.compute.objects.servers import CreateRequest, ImageFacts, ServerFilters
from ownstack.compute.state import Req

log = logging.getLogger(__name__)

_RULE = "os_compute_api:servers:"
_UUID_RE: Final = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


# --- create ------------------------------------------------------------------------------

async def create_server(req: Req) -> Response:
    version = version_of(req)
    req.svc.enforce(req.ctx, _RULE + "create")
    data: dict[str, Any] = await body(req, schemas.CREATE(version))
    if servers.forced_host_of(data["server"].get("availability_zone")):
        # Nova's legacy "zone:host[:node]" (and "zone::node") forms: the admin's.
        req.svc.enforce(req.ctx, _RULE + "create:forced_host")
    request = await _create_request(req, data)
    async with req.svc.write() as db:
        created = await servers.create_instances(db, req.ctx, req.svc.config, request)
    if request.block_devices:
        await _provide_volumes(req, created)
    await ask_to_schedule(req, [instance.uuid for instance in created])
    if bool_from_string(data["server"].get("return_reservation_id", False)):
        return json_response({"reservation_id": created[0].reservation_id}, 202)
    return json_response({"server": views.created(req, created[0], request.admin_pass)}, 202)


async def _provide_volumes(req: Req, created: list[Instance]) -> None:
    """The volumes of the new servers, reserved or asked for as the caller (see
    :mod:`ownstack.compute.boot_volumes`); on a refusal the servers are removed again and
    the refusal is the answer."""
    async with req.svc.read() as db:
        bdms = await block_devices.of_instances(db, [i.uuid for i in created])
    wanted = [(i.uuid, bdm.uuid, block_device.Mapping.of_row(bdm))
              for i in created for bdm in bdms[i.uuid]]

    async def record(bdm_uuid: str, values: dict[str, Any]) -> bool:
        async with req.svc.write() as db:
            return await block_devices.update_mapping(db, bdm_uuid, **values)
    try:
        await boot_volumes.provide(req.svc.volume.as_caller(req.ctx.auth_token or ""),
                                   req.svc.volume, wanted, record)
    except BaseException:
        async with req.svc.write() as db:
            for instance in created:
                await servers.delete_locally(db, req.ctx, instance)
                for bdm in bdms[instance.uuid]:
                    await block_devices.remove_mapping(db, bdm.uuid)
        raise


async def _create_request(req: Req, data: dict[str, Any]) -> CreateRequest:
    """The body, checked beyond its schema, and the boot image fetched as the caller."""
    server: dict[str, Any] = data["server"]
    if "personality" in server:
        raise BadRequest("Personality (file injection) is not supported: ownstack has no "
                         "file injection; pass files in user_data or the config drive.")
    min_count = int(server.get("min_count", 1))
    max_count = int(server.get("max_count", min_count))
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    if "hostname" in server and max_count > 1:
        raise BadRequest("Cannot specify a hostname when creating multiple instances; "
                         "hostnames are derived from the server names instead.")
    image, mappings = await _boot(req, server, max_count)
    networks = _networks(server.get("networks", "auto"))
    resolved = await ports.resolve_request(
        req.svc.network.as_caller(req.ctx.auth_token or ""), req.ctx, networks,
        server.get("security_groups") or [], max_count)
    hints = data.get("os:scheduler_hints") or data.get("OS-SCH-HNT:scheduler_hints") or {}
    return CreateRequest(
        name=server["name"], flavor_ref=_last_segment(str(server["flavorRef"])),
        image=image, block_devices=list(mappings.volumes),
        volume_backed=mappings.volume_backed,
        min_count=min_count, max_count=max_count,
        description=server.get("description"), hostname=server.get("hostname"),
        key_name=server.get("key_name"), availability_zone=server.get("availability_zone"),
        metadata=dict(server.get("metadata") or {}), tags=list(server.get("tags") or []),
        user_data=_user_data(server.get("user_data")),
        config_drive=bool_from_string(server.get("config_drive", False)),
        admin_pass=server.get("adminPass") or random_names.generate_password(),
        access_ip_v4=server.get("accessIPv4"), access_ip_v6=server.get("accessIPv6"),
        requested_networks=networks, network_requests=resolved.requests,
        security_groups=resolved.security_groups, group=hints.get("group"))


def _image_ref(server: dict[str, Any]) -> str | None:
    """``imageRef`` (an id or an href), checked; ``None`` when not given."""
    image_ref = _last_segment(server.get("imageRef") or "")
    if image_ref and not _UUID_RE.match(image_ref):
        raise BadRequest("Invalid imageRef provided.")
    return image_ref or None


async def _boot(req: Req, server: dict[str, Any], max_count: int
                ) -> tuple[ImageFacts | None, block_device.Request]:
    """What the server boots: an image (``imageRef``, or the one image-to-local mapping
    OSC sends for an image boot), or a volume (``block_device_mapping_v2``, checked as
    Nova checks it, as the caller); and its other volumes."""
    image_ref = _image_ref(server)
    mappings = block_device.parse(server.get("block_device_mapping_v2") or [],
                                  image_ref=image_ref, max_count=max_count)
    if mappings.volume_backed or mappings.volumes:
        caller = req.svc.volume.as_caller(req.ctx.auth_token or "")
        facts = await boot_volumes.check(caller, lambda i: _fetch_image(req, i), mappings)
        if mappings.volume_backed:
            return facts.image, mappings
    image_id = image_ref or mappings.image_boot_id
    if not image_id:
        raise BadRequest("Missing imageRef attribute")
    if not _UUID_RE.match(image_id):
        raise BadRequest("Invalid imageRef provided.")
    image = await _fetch_image(req, image_id)
    defined = boot_volumes.image_mappings(image.properties)
    if defined is None:
        return image, mappings
    # A snapshot of a volume-backed server: its mappings replace the image boot (Nova's
    # _get_image_defined_bdms, the client's image-to-local root dropped).
    asked = [item for item in server.get("block_device_mapping_v2") or []
             if not (str(item.get("boot_index")) == "0"
                     and item.get("source_type") == "image")]
    mappings = block_device.parse([*defined, *asked], image_ref=None, max_count=max_count)
    caller = req.svc.volume.as_caller(req.ctx.auth_token or "")
    await boot_volumes.check(caller, lambda i: _fetch_image(req, i), mappings)
    return image, mappings


async def _fetch_image(req: Req, image_id: str) -> ImageFacts:
    """The image as the caller sees it (their token), so private images stay private."""
    try:
        async with req.svc.image_client(req.ctx.auth_token) as images:
            info = await images.get(image_id)
    except ImageNotFound:
        raise InvalidServerRequest("Can not find requested image") from None
    except ImageClientError as exc:
        raise InvalidServerRequest(f"Can not find requested image: {exc.message}") from None
    if info.status != "active":
        raise InvalidServerRequest(f"Image {image_id} is not active.")
    return ImageFacts(id=info.id, status=info.status, disk_format=info.disk_format,
                      min_disk=info.min_disk, min_ram=info.min_ram, size=info.size,
                      virtual_size=info.virtual_size, properties=dict(info.properties))


def _networks(value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """As asked: ``none``, ``auto``, or a list of networks, ports and fixed IPs (an empty
    list is ``auto``, as before 2.37 no networks at all is)."""
    if isinstance(value, str):
        return value
    return value if value else "auto"


def _user_data(value: str | None) -> str | None:
    if value is not None:
        check_user_data(value)
    return value


def _last_segment(ref: str) -> str:
    """The id at the end of an href (or the id itself)."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


# --- list --------------------------------------------------------------------------------

async def list_servers(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_servers_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def _list(req: Req, *, detail: bool) -> Response:
    rule = _RULE + ("detail" if detail else "index")
    req.svc.enforce(req.ctx, rule)
    query = _query(req)
    filters = _filters(req, query, rule)
    sort = _sort(req, query)
    limit = limit_of(req)
    async with req.svc.read() as db:
        ip, ip6 = _one(query, "ip"), _one(query, "ip6")
        if ip is not None or ip6 is not None:
            filters.uuids = await servers.uuids_with_address(db, filters.project_id, ip, ip6)
        page = await servers.list_instances(db, filters, limit=limit,
                                            marker=_one(query, "marker"), sort=sort)
        found = page.rows
        if detail:
            shown = views.shown(req)
            extras = await load_extras(db, found, shown, page)
    if detail:
        items = [views.detail(req, shown, i, extras) for i in found]
    else:
        items = [views.summary(req, i) for i in found]
    result: dict[str, Any] = {"servers": items}
    links = collection_links(req, len(found), limit if "limit" in query else None,
                             found[-1].uuid if found else None)
    if links:
        result["servers_links"] = links
    return json_response(result)


def _query(req: Req) -> dict[str, list[str]]:
    """The query as lists of values, keeping only what the caller may filter on."""
    version = version_of(req)
    query: dict[str, list[str]] = {}
    for name, value in req.request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    reject_unknown_query(req, schemas.LIST_QUERY)
    if req.svc.allowed(req.ctx, _RULE + "allow_all_filters"):
        return query
    allowed = set(schemas.LIST_PAGING)
    for since, names in schemas.USER_FILTERS:
        if at_least(version, since):
            allowed.update(names)
    return {name: values for name, values in query.items() if name in allowed}


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _boolean(name: str, value: str) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        raise BadRequest(f"Unrecognized value '{value}' for {name}, acceptable values are: "
                         f"{', '.join(sorted(TRUE_STRINGS | FALSE_STRINGS))}")
    return parsed


def _filters(req: Req, query: dict[str, list[str]], rule: str) -> ServerFilters:
    version = version_of(req)
    filters = ServerFilters(project_id=req.ctx.project_id or "")
    all_tenants = _one(query, "all_tenants")
    if all_tenants is not None and (all_tenants == "" or _boolean("all_tenants", all_tenants)):
        req.svc.enforce(req.ctx, rule + ":get_all_tenants")
        filters.project_id = _one(query, "project_id") or _one(query, "tenant_id")
    for name, attr in (("name", "name"), ("display_name", "name"), ("hostname", "hostname"),
                       ("availability_zone", "availability_zone"), ("key_name", "key_name"),
                       ("reservation_id", "reservation_id")):
        value = _one(query, name)
        if value is not None:
            _check_regex(name, value)
            setattr(filters, attr, value)
    for name, attr in (("host", "host"), ("node", "node"), ("uuid", "uuid"),
                       ("user_id", "user_id")):
        setattr(filters, attr, _one(query, name))
    image = _one(query, "image") or _one(query, "image_ref")
    filters.image = _last_segment(image) if image else None
    flavor = _one(query, "flavor")
    filters.flavor = _last_segment(flavor) if flavor else None
    for name in ("ip", "ip6"):
        value = _one(query, name)
        if value is not None:
            _check_regex(name, value)
    if "locked" in query:
        filters.locked = _boolean("locked", _one(query, "locked") or "")
    for name in ("tags", "tags-any", "not-tags", "not-tags-any"):
        value = _one(query, name)
        if value:
            setattr(filters, name.replace("-", "_"), value.split(","))
    _time_filters(query, filters)
    _state_filters(req, query, filters, version)
    return filters


def _check_regex(name: str, value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise BadRequest(f"Invalid regular expression for {name}: {exc}") from None


def _time_filters(query: dict[str, list[str]], filters: ServerFilters) -> None:
    since, before = _one(query, "changes-since"), _one(query, "changes-before")
    if since is not None:
        filters.changes_since = servers.parse_time("changes-since", since)
    if before is not None:
        filters.changes_before = servers.parse_time("changes-before", before)
    if filters.changes_since and filters.changes_before \
            and filters.changes_since > filters.changes_before:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    if since is not None or before is not None:
        filters.deleted = None      # as Nova: changed servers include deleted ones


def _state_filters(req: Req, query: dict[str, list[str]], filters: ServerFilters,
                   version: Version) -> None:
    deleted = _one(query, "deleted")
    if deleted is not None and _boolean("deleted", deleted):
        filters.deleted = True
    statuses = [s.upper() for value in query.get("status", []) for s in value.split(",")]
    if statuses:
        vm_states: set[str] = set()
        task_states: set[str | None] | None = set()
        for status in statuses:
            if status not in states.STATUS_FILTERS:
                if at_least(version, "2.38"):
                    raise BadRequest(f"Invalid status value: {status}")
                filters.match_nothing = True
                return
            vms, tasks = states.STATUS_FILTERS[status]
            vm_states |= vms
            task_states = None if tasks is None or task_states is None \
                else task_states | tasks
        filters.vm_states = frozenset(vm_states)
        filters.task_states = frozenset(task_states) if task_states is not None else None
        if vm_states == {states.DELETED}:
            if not req.ctx.is_admin:
                raise Forbidden("Only administrators may list deleted instances")
            filters.deleted = True
    if "vm_state" in query:
        filters.vm_states = frozenset(query["vm_state"])
    if "task_state" in query:
        filters.task_states = frozenset(query["task_state"])


def _sort(req: Req, query: dict[str, list[str]]) -> list[tuple[str, str]]:
    strict = at_least(version_of(req), "2.75")
    pairs = [(name, value) for name in ("sort_key", "sort_dir")
             for value in query.get(name, [])]
    keys = [value for name, value in pairs if name == "sort_key"]
    dirs = [value for name, value in pairs if name == "sort_dir"]
    valid = set(servers.SORT_KEYS)
    if not at_least(version_of(req), "2.73"):
        valid.discard("locked")
    kept_keys, kept_dirs = [], []
    for index, key in enumerate(keys):
        if key in valid:
            kept_keys.append(("sort_key", key))
            if index < len(dirs):
                kept_dirs.append(("sort_dir", dirs[index]))
        elif strict or key not in servers.IGNORED_SORT_KEYS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
    if not kept_keys:
        return [("created_at", "desc")]
    return parse_sort(kept_keys + kept_dirs, allowed=valid, default_dir="desc")


# --- one server ----------------------------------------------------------------------------

async def show_server(req: Req) -> Response:
    async with req.svc.db.plain_read() as db:
        # A plain row with its host's service, not an entity: each status poll reads it.
        found = await servers.find_listed(req.svc, db, req.ctx, req.params["server_id"],
                                          _RULE + "show")
        return json_response(await show_body(req, db, found.row, services=found.services))


async def update_server(req: Req) -> Response:
    data = (await body(req, schemas.UPDATE(version_of(req))))["server"]
    names = {"name": "display_name", "description": "display_description",
             "accessIPv4": "access_ip_v4", "accessIPv6": "access_ip_v6",
             "hostname": "hostname"}
    values = {column: data[key] for key, column in names.items() if key in data}
    async with req.svc.write() as db:
        instance = await find_server(req.svc, db, req.ctx, req.params["server_id"],
                                     _RULE + "update")
        check_unlocked(instance, is_admin=req.ctx.is_admin)
        await servers.update_instance_fields(db, instance, values)
        return json_response(await show_body(req, db, instance, answering=views.UPDATE))


# A delete that loses a compare-and-swap to the conductor or the agent (a server moving
# from scheduling to spawning, say) reads the server again and decides again: Nova's
# delete never asks the user to retry for a change the cloud made itself.
_DELETE_ATTEMPTS: Final = 5


async def delete_server(req: Req) -> Response:
    for _ in range(_DELETE_ATTEMPTS - 1):
        with contextlib.suppress(ConcurrentUpdate):
            return await _delete_server_once(req)
    return await _delete_server_once(req)


async def _delete_server_once(req: Req) -> Response:
    async with req.svc.write() as db:
        instance = await find_server(req.svc, db, req.ctx, req.params["server_id"],
                                     _RULE + "delete")
        check_unlocked(instance, is_admin=req.ctx.is_admin)
        if instance.task_state == states.DELETING:
            return empty_response(204)
        await console_tokens.delete_for_instance(db, instance.uuid)
        host = instance.host
        service = await servers.host_service(db, host) if host else None
        down_time = req.svc.config.compute.service_down_time
        local = service is None or not hosts.agent_is_up(service, down_time)
        if local:
            await servers.delete_locally(db, req.ctx, instance)
        elif await update_instance(db, instance.uuid, expected_task_state=instance.task_state,
                                   task_state=states.DELETING):
            await actions.start_action(db, req.ctx, instance.uuid, actions.DELETE)
        else:
            raise ConcurrentUpdate()
    await _delete_shelved_image(req, instance)
    if local:
        await req.svc.placement.delete_allocations(instance.uuid)
        if instance.network_status in HOLDS_PORTS:
            await _release_ports(req, instance.uuid, instance.network_requests)
    else:
        await nudge(req, host or "", instance.uuid)
    return empty_response(204)


async def _delete_shelved_image(req: Req, instance: models.Instance) -> None:
    """A shelved server's image goes with it, as in Nova (deleted as the caller; an image
    already gone, or a refusal, does not fail the delete)."""
    image_id = (instance.task_args or {}).get("shelved_image_id")
    if image_id and instance.vm_state in (states.SHELVED, states.SHELVED_OFFLOADED):
        async with req.svc.image_client(req.ctx.auth_token) as images:
            with contextlib.suppress(ImageClientError):
                await images.delete(str(image_id))


async def _release_ports(req: Req, uuid: str, requests: list[dict[str, Any]] | None) -> None:
    """The ports of a server deleted here, as the services' user: deleted, or unbound
    when the user brought them. A network service that is down does not fail the
    delete: the row keeps ``network_status`` and the conductor's sweep tries again."""
    try:
        await ports.deallocate(req.svc.network, uuid, requests)
    except NetworkClientError as exc:
        log.warning("server %s: its ports could not be released yet: %s", uuid, exc)
        return
    async with req.svc.write() as db:
        await set_network_status(db, uuid, RELEASED, expected=list(HOLDS_PORTS))


async def list_server_ips(req: Req) -> Response:
    """Nova's ``ips`` index: addresses by network, each with its version only."""
    async with req.svc.read() as db:
        instance = await find_server(req.svc, db, req.ctx, req.params["server_id"],
                                     "os_compute_api:ips:index")
    return json_response({"addresses": netinfo.addresses(instance.network_info,
                                                         extended=False)})


async def show_server_ips(req: Req) -> Response:
    """The addresses on one network (by its name), or 404 as Nova answers."""
    async with req.svc.read() as db:
        instance = await find_server(req.svc, db, req.ctx, req.params["server_id"],
                                     "os_compute_api:ips:show")
    label = req.params["network_label"]
    found = netinfo.addresses(instance.network_info, extended=False)
    if label not in found:
        raise NotFound("Instance is not a member of specified network")
    return json_response({label: found[label]})
