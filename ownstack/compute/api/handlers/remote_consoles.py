"""Browser consoles: ``POST /servers/{id}/remote-consoles`` (2.6+), the console actions it
replaced (``os-getVNCConsole``, ``os-getSerialConsole``, ``os-getSPICEConsole``,
``os-getRDPConsole``, 2.1 to 2.5), and ``GET /os-console-auth-tokens/{token}`` (admins,
2.31+).

As in Nova, the server's host is asked for its console (its agent names the Unix socket
the guest's console listens on), then a one-time token bound to that socket is stored
(:mod:`ownstack.compute.objects.console_tokens`) and its URL returned: noVNC's page on the
noVNC proxy (``http://<host>:6080/vnc_lite.html?path=%3Ftoken%3D...``) or the serial
proxy's websocket (``ws://<host>:6083/?token=...``); :mod:`ownstack.compute.consoleproxy`
checks the token and joins the browser to the socket.

Answers, as Nova's: 404 for another project's server; 409 ``InstanceNotReady`` for a
server with no host yet, and ``InstanceInvalidState`` while it is being deleted or its
guest is not running; 400 "Unavailable console type X." for a console type that is off
(``console.vnc_enabled``, ``console.serial_enabled``), never offered (SPICE, MKS, RDP), or
missing on this server (the fake driver; a guest started before consoles existed, until it
is rebuilt); 400 "Invalid console type X" for a type of another protocol (``xvpvnc``).
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.bus import BusError, BusTimeout, RemoteError
from ownstack.common.errors import BadRequest, NotFound
from ownstack.compute import rpc
from ownstack.compute.api.common import at_least, version_of
from ownstack.compute.api.schemas import remote_consoles as schemas
from ownstack.compute.api.server_common import load_server, require_host
from ownstack.compute.errors import (
    ConsoleNotAvailable,
    ConsoleTokenNotFound,
    ConsoleTypeInvalid,
    ConsoleTypeUnavailable,
    InstanceInvalidState,
    InstanceNotReady,
)
from ownstack.compute.objects import console_tokens
from ownstack.compute.objects.models import Instance
from ownstack.compute.state import Req

RULE: Final = "os_compute_api:os-remote-consoles"
TOKENS_RULE: Final = "os_compute_api:os-console-auth-tokens"
CONSOLE_TIMEOUT: Final = 30.0       # seconds the host's agent has to name the socket
# The console type each protocol ownstack serves takes, and the kind of socket it opens.
_SERVED: Final = {"vnc": ("novnc", "vnc"), "serial": ("serial", "serial")}


# --- POST /servers/{id}/remote-consoles ---------------------------------------------------

async def create_remote_console(req: Req) -> Response:
    version = version_of(req)
    if not at_least(version, "2.6"):
        raise NotFound()
    wanted = schemas.CREATE(version).validate(await req.json())["remote_console"]
    protocol, console_type = wanted["protocol"], wanted["type"]
    async with req.svc.read() as db:
        instance = await load_server(req, db, RULE)
    if protocol == "rdp":
        raise ConsoleTypeUnavailable(protocol)
    url = await console_url(req, instance, protocol, console_type)
    return json_response({"remote_console": {"protocol": protocol, "type": console_type,
                                             "url": url}})


# --- the console actions, 2.1 to 2.5 ------------------------------------------------------

async def vnc_console_action(req: Req, data: dict[str, Any]) -> Response:
    return await _action(req, data, "os-getVNCConsole", "vnc", schemas.GET_VNC_CONSOLE)


async def serial_console_action(req: Req, data: dict[str, Any]) -> Response:
    return await _action(req, data, "os-getSerialConsole", "serial",
                         schemas.GET_SERIAL_CONSOLE)


async def spice_console_action(req: Req, data: dict[str, Any]) -> Response:
    return await _action(req, data, "os-getSPICEConsole", "spice", schemas.GET_SPICE_CONSOLE)


async def rdp_console_action(req: Req, data: dict[str, Any]) -> Response:
    """Nova removed RDP consoles with its Hyper-V driver: a 400 at every version."""
    if at_least(version_of(req), "2.6"):
        raise NotFound()
    async with req.svc.read() as db:
        await load_server(req, db, RULE)
    raise ConsoleTypeUnavailable("rdp-html5", "RDP consoles were removed from Nova with "
                                 "its Hyper-V driver.")


async def _action(req: Req, data: dict[str, Any], action: str, protocol: str,
                  validator: Any) -> Response:
    if at_least(version_of(req), "2.6"):
        raise NotFound()            # replaced by POST /servers/{id}/remote-consoles
    console_type = validator.validate(data)[action]["type"]
    async with req.svc.read() as db:
        instance = await load_server(req, db, RULE)
    url = await console_url(req, instance, protocol, console_type)
    return json_response({"console": {"type": console_type, "url": url}})


# --- the URL ------------------------------------------------------------------------------

async def console_url(req: Req, instance: Instance, protocol: str, console_type: str) -> str:
    """Ask the server's host for its ``protocol`` console and return a URL with a new
    token for it, or raise Nova's answer."""
    host = require_host(instance, f"get_{protocol}_console")
    config = req.svc.config.console
    served = _SERVED.get(protocol)
    enabled = {"vnc": config.vnc_enabled, "serial": config.serial_enabled}.get(protocol)
    if served is None or not enabled:
        raise ConsoleTypeUnavailable(console_type)
    wanted_type, kind = served
    if console_type != wanted_type:
        raise ConsoleTypeInvalid(console_type)
    where = await _console_socket(req, instance, host, kind, protocol, console_type)
    base = _access_url_base(req, console_type)
    async with req.svc.write() as db:
        token = await console_tokens.authorize(
            db, console_type=console_type, instance_uuid=instance.uuid,
            host=where["host"], path=where["path"], access_url_base=base,
            ttl=config.token_ttl)
    return console_tokens.access_url(console_type, base, token)


async def _console_socket(req: Req, instance: Instance, host: str, kind: str,
                          protocol: str, console_type: str) -> dict[str, str]:
    """``{"host", "path"}`` of the guest's console socket, from its host's agent."""
    try:
        reply = await req.svc.bus.call(rpc.compute_topic(host), "console_socket",
                                       {"uuid": instance.uuid, "kind": kind},
                                       timeout=CONSOLE_TIMEOUT)
    except BusTimeout:
        raise ConsoleNotAvailable("The console is not available: the server's compute host "
                                  "did not answer in time; retry later.") from None
    except RemoteError as exc:
        raise _refusal(exc, instance, protocol, console_type) from None
    except BusError:
        raise ConsoleNotAvailable("The console is not available: the server's compute host "
                                  "cannot be reached.") from None
    if not (isinstance(reply, dict) and isinstance(reply.get("host"), str)
            and isinstance(reply.get("path"), str)):
        raise ConsoleNotAvailable("The console is not available: the server's compute host "
                                  "gave no console socket.")
    return {"host": reply["host"], "path": reply["path"]}


def _refusal(exc: RemoteError, instance: Instance, protocol: str, console_type: str
             ) -> Exception:
    """The agent's refusal (the driver's exception, by name) as Nova's answer."""
    if exc.kind == "Unsupported":
        return ConsoleTypeUnavailable(console_type, "The server's compute driver gives "
                                      f"guests no {protocol} console.")
    if exc.kind == "ConsoleUnavailable":
        return ConsoleTypeUnavailable(console_type, exc.message[:1].upper() + exc.message[1:]
                                      + ".")
    if exc.kind == "InvalidGuestState":
        return InstanceInvalidState(f"get_{protocol}_console", instance.uuid, "vm_state",
                                    instance.vm_state)
    if exc.kind == "GuestNotFound":
        return InstanceNotReady(instance.uuid)
    return ConsoleNotAvailable(f"The console is not available: {exc.message}")


def _access_url_base(req: Req, console_type: str) -> str:
    config = req.svc.config
    if console_type == "novnc":
        return config.console.novncproxy_base_url or config.public_url(
            config.console.novncproxy_port, "/vnc_lite.html")
    return config.console.serialproxy_base_url or (
        f"ws://{config.cloud.public_host}:{config.console.serialproxy_port}/")


# --- GET /os-console-auth-tokens/{token} --------------------------------------------------

async def show_console_auth_token(req: Req) -> Response:
    """What a token opens, for admins; looking does not use the token up. Below 2.31
    Nova answers only for RDP tokens, which no longer exist: a 400."""
    req.svc.enforce(req.ctx, TOKENS_RULE)
    if not at_least(version_of(req), "2.31"):
        raise BadRequest("Console auth tokens can be shown from microversion 2.31 on.")
    async with req.svc.read() as db:
        target = await console_tokens.validate(db, req.params["console_token"])
    if target is None:
        raise ConsoleTokenNotFound()
    return json_response({"console": {
        "instance_uuid": target.instance_uuid, "host": target.host, "port": target.port,
        "internal_access_path": target.internal_access_path}})
