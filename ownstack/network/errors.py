"""The network service's error body, as Neutron writes it, and its domain errors.

Neutron answers every error with the name of the exception that raised it::

    {"NeutronError": {"type": "NetworkNotFound",
                      "message": "Network 5f0c... could not be found.", "detail": ""}}

Clients key on ``type`` (openstacksdk's ``NotFoundException`` reads the message, Tempest
checks the status), so a network error's ``code`` *is* its Neutron type name, a constant
never renamed or reused. Errors raised by the common plumbing (validation, policy, an
unknown URL, a body too large) get the webob name Neutron's fault wrapper gives them.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.errors import BadRequest, Conflict, Forbidden, NotFound, OwnstackError

# The type of an error from the common plumbing, by status, as Neutron's webob faults.
HTTP_TYPES: Final = {
    400: "HTTPBadRequest",
    401: "HTTPUnauthorized",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed",
    406: "HTTPNotAcceptable",
    409: "HTTPConflict",
    412: "HTTPPreconditionFailed",
    413: "HTTPRequestEntityTooLarge",
    415: "HTTPUnsupportedMediaType",
    501: "HTTPNotImplemented",
    503: "HTTPServiceUnavailable",
}


def format_error(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    if isinstance(exc, NetworkError):
        kind = exc.code
    elif exc.code == "ownstack.policy_not_authorized":
        kind = "PolicyNotAuthorized"
    else:
        kind = HTTP_TYPES.get(exc.status, "HTTPInternalServerError")
    return {"NeutronError": {"type": kind, "message": exc.message, "detail": ""}}, {}


class NetworkError(OwnstackError):
    """Mixed into every network domain error: its ``code`` is Neutron's type name."""


class InvalidInput(NetworkError, BadRequest):
    code = "InvalidInput"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input for operation: {reason}.")


class BadNetworkRequest(NetworkError, BadRequest):
    """Neutron's ``BadRequest``: a request that is well formed but cannot be done."""

    code = "BadRequest"

    def __init__(self, resource: str, reason: str) -> None:
        super().__init__(f"Bad {resource} request: {reason}.")


class ResourceNotFound(NetworkError, NotFound):
    """``NetworkNotFound``, ``SubnetNotFound``, ...: one class, the type from the kind."""

    def __init__(self, kind: str, resource_id: str) -> None:
        self.kind = kind
        words = "".join(part.capitalize() for part in kind.split("_"))
        label = kind.replace("_", " ").capitalize()
        super().__init__(f"{label} {resource_id} could not be found.", code=f"{words}NotFound")


class InUse(NetworkError, Conflict):
    """``NetworkInUse``, ``SubnetInUse``, ...: a resource others still depend on."""

    def __init__(self, kind: str, message: str) -> None:
        words = "".join(part.capitalize() for part in kind.split("_"))
        super().__init__(message, code=f"{words}InUse")


class NetworkNotFound(NetworkError, NotFound):
    """A 404 whose Neutron type is given where it is raised (``RouterInterfaceNotFound``,
    ``FloatingIPNotFound``, ...), where :class:`ResourceNotFound`'s name does not fit."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code=kind)


class NetworkConflict(NetworkError, Conflict):
    """A 409 whose Neutron type is given where it is raised (``IpAddressInUse``, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code=kind)


class NetworkForbidden(NetworkError, Forbidden):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code=kind)


class OverQuota(NetworkError, Conflict):
    code = "OverQuota"

    def __init__(self, resource: str) -> None:
        super().__init__(f"Quota exceeded for resources: ['{resource}'].")


class RevisionMismatch(NetworkError, OwnstackError):
    """``If-Match: revision_number=N`` named a revision the resource has moved past."""

    status = 412
    code = "RevisionNumberConstraintFailed"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")


class ConcurrentUpdate(NetworkError, Conflict):
    code = "ConcurrentUpdate"
    message = "Another request changed the same resources at the same time; retry."


class AvailabilityZoneNotFound(NetworkError, NotFound):
    code = "AvailabilityZoneNotFound"

    def __init__(self, zone: str) -> None:
        super().__init__(f"AvailabilityZone {zone} could not be found.")


class TagNotFound(NetworkError, NotFound):
    code = "TagNotFound"

    def __init__(self, resource_id: str, tag: str) -> None:
        super().__init__(f"Tag {tag} could not be found for resource {resource_id}.")


class NoNetworkAvailable(NetworkError, OwnstackError):
    """Every VXLAN id of the configured range is taken (Neutron's ResourceExhausted)."""

    status = 503
    code = "NoNetworkAvailable"
    message = ("Unable to create the network. No tenant network is available for "
               "allocation.")


class NetworkBadRequest(NetworkError, BadRequest):
    """A 400 whose Neutron type is given where it is raised (``InvalidIpForSubnet``, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code=kind)


class _InvalidRule(NetworkError, BadRequest):
    """A security-group rule Neutron refuses with 400: ``code`` is Neutron's type name.

    The messages are Neutron's, word for word, including where it ends one without a period.
    """


class SecurityGroupRuleInvalidProtocol(_InvalidRule):
    code = "SecurityGroupRuleInvalidProtocol"

    def __init__(self, protocol: object, values: tuple[str | None, ...]) -> None:
        super().__init__(f"Security group rule protocol {protocol} not supported. Only "
                         f"protocol values {values!r} and integer representations "
                         f"[0 to 255] are supported.")


class SecurityGroupRuleInvalidEtherType(_InvalidRule):
    code = "SecurityGroupRuleInvalidEtherType"

    def __init__(self, ethertype: object, values: list[str]) -> None:
        super().__init__(f"Security group rule for ethertype '{ethertype}' not supported. "
                         f"Allowed values are {values!r}.")


class SecurityGroupInvalidPortValue(_InvalidRule):
    code = "SecurityGroupInvalidPortValue"

    def __init__(self, port: object) -> None:
        super().__init__(f"Invalid value for port {port}")


class SecurityGroupInvalidPortRange(_InvalidRule):
    code = "SecurityGroupInvalidPortRange"
    message = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidProtocolForPort(_InvalidRule):
    code = "SecurityGroupInvalidProtocolForPort"

    def __init__(self, protocol: object, valid_port_protocols: str) -> None:
        super().__init__(f"Ports cannot be specified for protocol {protocol}. "
                         f"Ports are only supported for {valid_port_protocols}.")


class SecurityGroupProtocolRequiredWithPorts(_InvalidRule):
    code = "SecurityGroupProtocolRequiredWithPorts"
    message = "Must also specify protocol if port range is given."


class SecurityGroupInvalidIcmpValue(_InvalidRule):
    code = "SecurityGroupInvalidIcmpValue"

    def __init__(self, field: str, attr: str, value: int) -> None:
        super().__init__(f"Invalid value for ICMP {field} ({attr}) {value}. "
                         f"It must be 0 to 255.")


class SecurityGroupMissingIcmpType(_InvalidRule):
    code = "SecurityGroupMissingIcmpType"

    def __init__(self, value: int) -> None:
        super().__init__(f"ICMP code (port-range-max) {value} is provided but ICMP type "
                         f"(port-range-min) is missing.")


class SecurityGroupEthertypeConflictWithProtocol(_InvalidRule):
    code = "SecurityGroupEthertypeConflictWithProtocol"

    def __init__(self, ethertype: str, protocol: str) -> None:
        super().__init__(f"Invalid ethertype {ethertype} for protocol {protocol}.")


class SecurityGroupRuleParameterConflict(_InvalidRule):
    code = "SecurityGroupRuleParameterConflict"

    def __init__(self, ethertype: str, cidr: str) -> None:
        super().__init__(f"Conflicting value ethertype {ethertype} for CIDR {cidr}")


class SecurityGroupMultipleRemoteEntites(_InvalidRule):
    # Neutron's spelling ("Entites"): clients see the type name, so it is kept.
    code = "SecurityGroupMultipleRemoteEntites"
    message = ("Only one of remote_ip_prefix or remote_group_id or remote_address_group_id "
               "may be provided.")


class InvalidCIDR(_InvalidRule):
    code = "InvalidCIDR"

    def __init__(self, value: object) -> None:
        super().__init__(f"Invalid CIDR {value} given as IP prefix.")


class SecurityGroupRuleExists(NetworkError, Conflict):
    code = "SecurityGroupRuleExists"

    def __init__(self, rule_id: str) -> None:
        self.rule_id = rule_id
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class DuplicateSecurityGroupRuleInPost(NetworkError, Conflict):
    code = "DuplicateSecurityGroupRuleInPost"
    message = "Duplicate Security Group Rule in POST."


class SecurityGroupNotFound(ResourceNotFound):
    def __init__(self, group_id: str) -> None:
        super().__init__("security_group", group_id)
        self.message = f"Security group {group_id} does not exist"
        self.args = (self.message,)


class SecurityGroupRuleNotFound(ResourceNotFound):
    def __init__(self, rule_id: str) -> None:
        super().__init__("security_group_rule", rule_id)
        self.message = f"Security group rule {rule_id} does not exist"
        self.args = (self.message,)


class SecurityGroupInUse(NetworkError, Conflict):
    code = "SecurityGroupInUse"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Security Group {group_id} in use.")


class SecurityGroupCannotRemoveDefault(NetworkError, Conflict):
    code = "SecurityGroupCannotRemoveDefault"
    message = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(NetworkError, Conflict):
    code = "SecurityGroupCannotUpdateDefault"
    message = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(NetworkError, Conflict):
    code = "SecurityGroupDefaultAlreadyExists"
    message = "Default security group already exists."


class SecurityGroupNotSingleGroupRules(_InvalidRule):
    code = "SecurityGroupNotSingleGroupRules"
    message = "Only allowed to update rules for one security profile at a time"


class SecurityGroupRulesNotSingleProject(_InvalidRule):
    code = "SecurityGroupRulesNotSingleProject"
    message = "Multiple project_ids in bulk security group rule create not allowed"


class TenantQuotaNotFound(NetworkError, NotFound):
    # Neutron still raises the "Tenant" name from its quota driver; clients see it.
    code = "TenantQuotaNotFound"

    def __init__(self, project_id: str) -> None:
        super().__init__(f"Quota for project {project_id} could not be found.")


class AdminRequired(NetworkError, Forbidden):
    code = "AdminRequired"

    def __init__(self, reason: str) -> None:
        super().__init__(f"User does not have admin privileges: {reason}.")


class QuotaMissingTenant(NetworkError, BadRequest):
    code = "QuotaMissingTenant"
    message = "Tenant-id was missing from quota request."
