"""Compute's error body, as Nova's ``wsgi.Fault`` writes it, and its domain errors.

Nova names the body's one key after the status::

    {"itemNotFound": {"code": 404, "message": "Flavor m1.huge could not be found."}}

A status Nova has no name for (406 among them) is a ``computeFault``. A 401 comes from
keystonemiddleware in front of Nova, so it has that middleware's shape instead.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotImplementedYet,
    OwnstackError,
)

FAULT_NAMES: Final = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
DEFAULT_FAULT: Final = "computeFault"


def format_error(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    if exc.status == 401:
        return {"error": {"code": 401, "title": "Unauthorized", "message": exc.message}}, headers
    name = FAULT_NAMES.get(exc.status, DEFAULT_FAULT)
    return {name: {"code": exc.status, "message": exc.message}}, headers


class Gone(OwnstackError):
    """An API Nova removed (410), with webob's message, as Nova raises it."""

    status = 410
    code = "compute.gone"
    message = "This resource is no longer available.  No forwarding address is given."


class FlavorNotFound(NotFound):
    def __init__(self, flavor_id: str) -> None:
        super().__init__(f"Flavor {flavor_id} could not be found.")


class FlavorExists(Conflict):
    code = "compute.flavor_exists"


class FlavorAccessExists(Conflict):
    code = "compute.flavor_access_exists"


class ExtraSpecNotFound(NotFound):
    def __init__(self, flavor_id: str, key: str) -> None:
        super().__init__(f"Flavor {flavor_id} has no extra specs with key {key}.")


class KeypairNotFound(NotFound):
    def __init__(self, name: str, user_id: str) -> None:
        super().__init__(f"Keypair {name} not found for user {user_id}")


class KeypairExists(Conflict):
    code = "compute.keypair_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Key pair '{name}' already exists.")


class InvalidKeypair(BadRequest):
    code = "compute.invalid_keypair"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Keypair data is invalid: {reason}")


class ConcurrentUpdate(Conflict):
    code = "compute.concurrent_update"
    message = "Another request changed the same server at the same time; retry."


class ServerNotFound(NotFound):
    code = "compute.server_not_found"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"Instance {server_id} could not be found.")


class InstanceInvalidState(Conflict):
    """Nova's ``InstanceInvalidState``: the action does not fit the server's state."""

    code = "compute.instance_invalid_state"

    def __init__(self, action: str, server_id: str, attr: str, state: str | None) -> None:
        super().__init__(f"Cannot '{action}' instance {server_id} while it is in "
                         f"{attr} {state}")


class InstanceLocked(Conflict):
    code = "compute.instance_locked"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"Instance {server_id} is locked")


class QuotaExceeded(Forbidden):
    """Nova's ``TooManyInstances``/``OverQuota`` message, one resource at a time."""

    code = "compute.quota_exceeded"

    def __init__(self, resource: str, requested: int, used: int, allowed: int) -> None:
        super().__init__(f"Quota exceeded for {resource}: Requested {requested}, but "
                         f"already used {used} of {allowed} {resource}")


class InvalidServerRequest(BadRequest):
    """A server create or update that names something ownstack cannot use (image, flavor,
    key, zone, network, block device mapping...)."""

    code = "compute.invalid_server_request"


class QuotaBelowUsage(BadRequest):
    code = "compute.quota_below_usage"

    def __init__(self, resource: str, limit: int, minimum: int) -> None:
        super().__init__(f"Quota limit {limit} for {resource} must be greater than or "
                         f"equal to already used and reserved {minimum}.")


# --- operator APIs: services, hypervisors, server groups, extra-spec validation ----------

class ServiceNotFound(NotFound):
    code = "compute.service_not_found"

    def __init__(self, service_id: str) -> None:
        super().__init__(f"Service {service_id} could not be found.")


class ServiceHostsInstances(Conflict):
    code = "compute.service_hosts_instances"
    message = ("Unable to delete compute service that is hosting instances. Migrate or "
               "delete the instances first.")


class HostNotFound(NotFound):
    """No compute service on the host: Nova's ``HostMappingNotFound`` (a host it never
    mapped to a cell, which only a compute service's host is)."""

    code = "compute.host_not_found"

    def __init__(self, host: str) -> None:
        super().__init__(f"Host '{host}' is not mapped to any cell")


class ComputeHostNotFound(NotFound):
    """A compute service whose host has no node (yet): Nova's ``ComputeHostNotFound``."""

    code = "compute.compute_host_not_found"

    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


class FeatureNotSupported(NotImplementedYet):
    """Nova's ``raise_feature_not_supported``: the hypervisor driver has no such operation
    (for libvirt, and every ownstack driver: host power actions and maintenance mode)."""

    code = "compute.feature_not_supported"
    message = "The requested functionality is not supported."


class HypervisorNotFound(NotFound):
    code = "compute.hypervisor_not_found"

    def __init__(self, hypervisor_id: str) -> None:
        super().__init__(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


class ServerGroupNotFound(NotFound):
    code = "compute.server_group_not_found"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Instance group {group_id} could not be found.")


class ServerGroupQuotaExceeded(Forbidden):
    code = "compute.server_group_quota_exceeded"
    message = "Quota exceeded, too many server groups."


class InvalidExtraSpec(BadRequest):
    """Nova's extra-spec ValidationError (2.86+): a known namespace, a bad key or value."""

    code = "compute.invalid_extra_spec"


# --- server actions, metadata, tags and instance actions ---------------------------------

class InstanceNotReady(Conflict):
    """Nova's ``InstanceNotReady``: the server has no host (yet) to act on."""

    code = "compute.instance_not_ready"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"Instance {server_id} is not ready")


class ConsoleNotAvailable(Conflict):
    code = "compute.console_not_available"


class ConsoleTypeUnavailable(BadRequest):
    """Nova's ``ConsoleTypeUnavailable``: that kind of console is off, or this server has
    none (its driver gives none, or its guest was started without one)."""

    code = "compute.console_type_unavailable"

    def __init__(self, console_type: str, why: str = "") -> None:
        super().__init__(f"Unavailable console type {console_type}."
                         + (f" {why}" if why else ""))


class ConsoleTypeInvalid(BadRequest):
    """Nova's ``ConsoleTypeInvalid``: the type does not belong to the protocol."""

    code = "compute.console_type_invalid"

    def __init__(self, console_type: str) -> None:
        super().__init__(f"Invalid console type {console_type}")


class ConsoleTokenNotFound(NotFound):
    code = "compute.console_token_not_found"
    message = "Token not found"


class MetadataItemNotFound(NotFound):
    code = "compute.metadata_item_not_found"
    message = "Metadata item was not found"


class ServerTagNotFound(NotFound):
    code = "compute.server_tag_not_found"

    def __init__(self, server_id: str, tag: str) -> None:
        super().__init__(f"Server {server_id} has no tag '{tag}'")


class InstanceActionNotFound(NotFound):
    code = "compute.instance_action_not_found"

    def __init__(self, request_id: str, server_id: str) -> None:
        super().__init__(f"Action for request_id {request_id} on instance {server_id} "
                         "not found")


class TooManyTags(BadRequest):
    code = "compute.too_many_tags"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The number of tags exceeded the per-server limit {limit}")


class ImageServiceUnavailable(OwnstackError):
    """The image service did not answer (or answered 5xx) for an image an action needs."""

    status = 503
    code = "compute.image_service_unavailable"
    message = "The image service failed to answer; retry later."


class NetworkServiceUnavailable(OwnstackError):
    """The network service did not answer (or answered 5xx) for a check a request needs."""

    status = 503
    code = "compute.network_service_unavailable"
    message = "The network service failed to answer; retry later."


class NetworkConflict(Conflict):
    """Nova's 409s about networks: ``PortInUse``, ``NetworkAmbiguous``."""

    code = "compute.network_conflict"


class NetworkForbidden(Forbidden):
    """Nova's ``ExternalNetworkAttachForbidden``."""

    code = "compute.network_forbidden"


# --- host aggregates (os-aggregates) -------------------------------------------------------

class AggregateNotFound(NotFound):
    code = "compute.aggregate_not_found"

    def __init__(self, aggregate_id: str | int) -> None:
        super().__init__(f"Aggregate {aggregate_id} could not be found.")


class AggregateNameExists(Conflict):
    code = "compute.aggregate_name_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Aggregate {name} already exists.")


class AggregateHostExists(Conflict):
    code = "compute.aggregate_host_exists"

    def __init__(self, aggregate_id: int, host: str) -> None:
        super().__init__(f"Aggregate {aggregate_id} already has host {host}.")


class AggregateHostNotFound(NotFound):
    """What Nova's remove_host answers for a host that is unknown or not in the
    aggregate (it logs the reason and says only this)."""

    code = "compute.aggregate_host_not_found"

    def __init__(self, aggregate_id: int | str, host: str) -> None:
        super().__init__(f"Cannot remove host {host} in aggregate {aggregate_id}")


class InvalidAggregateAction(OwnstackError):
    """Nova's ``InvalidAggregateAction*``: the change would break a zone rule. Nova answers
    it 409 on add_host and remove_host, 400 on update, set_metadata and delete."""

    code = "compute.invalid_aggregate_action"
    _WHAT = {"add": ("Cannot add host to aggregate", 409),
             "remove": ("Cannot remove host from aggregate", 409),
             "delete": ("Cannot remove host from aggregate", 400),
             "update": ("Cannot update aggregate", 400),
             "update_meta": ("Cannot update metadata of aggregate", 400)}

    def __init__(self, action: str, aggregate_id: int, reason: str) -> None:
        what, self.status = self._WHAT[action]
        super().__init__(f"{what} {aggregate_id}. Reason: {reason}.")
