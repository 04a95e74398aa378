"""Security-group rules: what one means, how a request body becomes one, and when two are the same.

What a rule means on the wire
-----------------------------
A security group is a set of *allow* rules applied to every port that is a member of it.
Nothing is ever denied by a rule; the group's behaviour comes from two defaults:

- **Ingress is denied by default.** A packet arriving at a port is dropped unless some rule
  of some group of that port, with ``direction: ingress``, matches it.
- **Egress is allowed only by rules too**, but every new group starts with two egress rules
  that allow everything (IPv4 and IPv6), so in practice egress is open until you delete them.
- **Rules are stateful.** A rule matches the first packet of a connection; the replies of a
  connection that was allowed are let through whatever the rules say. So an ingress rule for
  TCP port 22 is enough for ssh: the server's answers need no egress rule, and the guest's own
  outgoing connections get their answers in even though ingress has no rule for them.

One rule matches a packet when all of these hold:

- ``direction``: ``ingress`` (towards the port) or ``egress`` (leaving it);
- ``ethertype``: ``IPv4`` or ``IPv6`` (Neutron's default is IPv4);
- ``protocol``: ``None`` (any protocol), a name (``tcp``, ``icmp``...) or an IP protocol number
  ``"0"``-``"255"``;
- ports: for tcp, udp, sctp, dccp and udplite, ``port_range_min``..``port_range_max`` is the
  destination port range (both ``None``: every port). For icmp and ipv6-icmp the same two
  fields are the ICMP *type* and *code* (``None``: any). Other protocols take no ports;
- the remote end (the source for ingress, the destination for egress): ``remote_ip_prefix``
  (a CIDR), or ``remote_group_id`` (any address of a port in that group), or neither (anywhere).

Examples: ``{"direction": "ingress", "protocol": "tcp", "port_range_min": 22,
"port_range_max": 22}`` lets ssh in from anywhere; ``{"direction": "ingress", "protocol":
"icmp", "port_range_min": 8}`` lets ping (echo request, any code) in;
``{"direction": "ingress", "remote_group_id": <the group's own id>}`` lets members of the group
talk to one another on everything, as the ``default`` group does.

This module is pure: no SQL, no HTTP. :func:`normalise_rule` turns the fields of a POSTed
``security_group_rule`` into a :class:`RuleSpec` exactly as Neutron (neutron/extensions/
securitygroup.py and neutron/db/securitygroups_db.py) converts and validates them, raising
Neutron's error types; :func:`duplicate_key` and :func:`check_duplicates` are Neutron's
duplicate-rule check; :func:`default_group_rules` are the rules a new group starts with.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ownstack.common.errors import BadRequest
from ownstack.network.errors import (
    DuplicateSecurityGroupRuleInPost,
    InvalidCIDR,
    InvalidInput,
    SecurityGroupEthertypeConflictWithProtocol,
    SecurityGroupInvalidIcmpValue,
    SecurityGroupInvalidPortRange,
    SecurityGroupInvalidPortValue,
    SecurityGroupInvalidProtocolForPort,
    SecurityGroupMissingIcmpType,
    SecurityGroupMultipleRemoteEntites,
    SecurityGroupProtocolRequiredWithPorts,
    SecurityGroupRuleExists,
    SecurityGroupRuleInvalidEtherType,
    SecurityGroupRuleInvalidProtocol,
    SecurityGroupRuleParameterConflict,
)

Direction = Literal["ingress", "egress"]
Ethertype = Literal["IPv4", "IPv6"]

DIRECTIONS: Final[tuple[Direction, ...]] = ("ingress", "egress")
ETHERTYPES: Final[list[str]] = ["IPv4", "IPv6"]

# neutron_lib.constants.IP_PROTOCOL_MAP, in its order (the order shows in an error message).
# "icmpv6" is Neutron's legacy name for ipv6-icmp, kept for backward compatibility.
IP_PROTOCOL_MAP: Final[dict[str, int]] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
# Number (as a string) to name; where two names share a number the later one wins ("0" is
# "ip", not "hopopt"), and "58" is "ipv6-icmp", never the legacy "icmpv6".
_NUMBER_TO_NAME: Final[dict[str, str]] = {
    str(number): name for name, number in IP_PROTOCOL_MAP.items() if name != "icmpv6"}
# What Neutron's error message lists as the accepted protocol values.
SUPPORTED_PROTOCOLS: Final[tuple[str | None, ...]] = (None, "any", *IP_PROTOCOL_MAP)

# Protocols whose rules take a destination port range.
PORT_PROTOCOL_NUMBERS: Final = frozenset({33, 132, 6, 17, 136})
_PORT_PROTOCOL_LIST: Final = "DCCP, SCTP, TCP, UDP, UDPLITE"
ICMP_PROTOCOL_NUMBERS: Final = frozenset({1, 58})
# Names and numbers of protocols that exist only over IPv6: refused with IPv4.
_IPV6_ONLY_PROTOCOLS: Final = frozenset({
    "ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route",
    "41", "44", "58", "59", "60", "43"})
# The whole port range, which Neutron stores as "no range".
PORT_RANGE_MIN: Final = 1
PORT_RANGE_MAX: Final = 65535
_ANY_PREFIXES: Final = frozenset({"0.0.0.0/0", "::/0"})
_DIGITS: Final = re.compile(r"\s*\+?[0-9]+\s*")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One security-group rule's matching fields, in the form Neutron stores and returns.

    Invariants (all established by :func:`normalise_rule`):

    - ``protocol`` is ``None`` (any), a lower-case name from :data:`IP_PROTOCOL_MAP`, or a
      decimal number ``"0"``..``"255"``; with IPv6, ``icmp``/``icmpv6`` are ``ipv6-icmp`` and
      ``"1"`` is ``"58"``; protocols that only exist over IPv6 never appear with IPv4.
    - Ports are ``None`` or ints. For a port protocol both are set, ``1 <= min <= max <= 65535``,
      or both are ``None``; for icmp/ipv6-icmp each is ``0..255`` and ``max`` is set only if
      ``min`` is; for any other protocol, and for no protocol, both are ``None``.
    - ``remote_ip_prefix`` is ``None`` or an address with a prefix length, of ``ethertype``'s
      version, host bits kept as given (``"10.0.0.5/24"``): see :attr:`normalized_cidr`.
    - At most one of ``remote_ip_prefix`` and ``remote_group_id`` is set.
    """

    direction: Direction
    ethertype: Ethertype = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None

    @property
    def normalized_cidr(self) -> str | None:
        """The network of ``remote_ip_prefix``, host bits cleared: Neutron's read-only field.

        ``"10.0.0.5/24"`` gives ``"10.0.0.0/24"``; this is what the firewall really matches.
        """
        if self.remote_ip_prefix is None:
            return None
        return str(ipaddress.ip_interface(self.remote_ip_prefix).network)


def normalise_rule(body: Mapping[str, object]) -> RuleSpec:
    """Convert and validate the matching fields of a POSTed ``security_group_rule``.

    ``body`` is the object inside ``{"security_group_rule": {...}}``. Only ``direction``,
    ``ethertype``, ``protocol``, ``port_range_min``, ``port_range_max``, ``remote_ip_prefix``
    and ``remote_group_id`` are read; the caller's JSON schema refuses unknown fields (this
    service does not support ``remote_address_group_id``) and handles ``security_group_id``,
    ``description`` and the project. ``remote_group_id`` is not checked to exist here.

    Checks run in Neutron's order, so the first error a client sees is Neutron's:
    ``direction`` (required), then the conversions of protocol, ports, ethertype and prefix,
    then the port range, the prefix's version, the protocol's ethertype, and the remotes.

    Postconditions: the returned :class:`RuleSpec` holds its invariants; ``protocol`` given
    as ``"any"`` (any case) or ``None`` is ``None``; a port range of exactly 1-65535 is stored
    as no range (``None``, ``None``), as Neutron does, for every protocol.

    :raises BadRequest: (``HTTPBadRequest``) ``direction`` missing or not ingress/egress.
    :raises SecurityGroupRuleInvalidProtocol, SecurityGroupRuleInvalidEtherType,
        SecurityGroupInvalidPortValue, InvalidCIDR: a field that does not convert;
        InvalidInput a ``remote_group_id`` that is not a string.
    :raises SecurityGroupProtocolRequiredWithPorts, SecurityGroupInvalidPortValue,
        SecurityGroupInvalidPortRange, SecurityGroupInvalidIcmpValue,
        SecurityGroupMissingIcmpType, SecurityGroupInvalidProtocolForPort,
        SecurityGroupRuleParameterConflict, SecurityGroupEthertypeConflictWithProtocol,
        SecurityGroupMultipleRemoteEntites: fields that convert but do not fit together.
    """
    direction = _direction(body)
    protocol = _protocol(body.get("protocol"))
    port_min = _port(body.get("port_range_min"))
    port_max = _port(body.get("port_range_max"))
    ethertype = _ethertype(body.get("ethertype", "IPv4"))
    prefix = _prefix(body.get("remote_ip_prefix"))
    remote_group_id = _remote_group_id(body.get("remote_group_id"))

    # Neutron stores IPv6 ICMP under one name whatever legacy spelling was sent.
    if ethertype == "IPv6":
        if protocol in ("icmp", "icmpv6"):
            protocol = "ipv6-icmp"
        elif protocol == "1":
            protocol = "58"
    if port_min == PORT_RANGE_MIN and port_max == PORT_RANGE_MAX:
        port_min = port_max = None
    _check_ports(protocol, port_min, port_max)
    if prefix is not None and ethertype != f"IPv{prefix.version}":
        raise SecurityGroupRuleParameterConflict(ethertype, str(prefix))
    if ethertype == "IPv4" and protocol in _IPV6_ONLY_PROTOCOLS:
        raise SecurityGroupEthertypeConflictWithProtocol(ethertype, protocol)
    if prefix is not None and remote_group_id is not None:
        raise SecurityGroupMultipleRemoteEntites()
    return RuleSpec(direction=direction, ethertype=ethertype, protocol=protocol,
                    port_range_min=port_min, port_range_max=port_max,
                    remote_ip_prefix=None if prefix is None else str(prefix),
                    remote_group_id=remote_group_id)


def protocol_number(protocol: str | None) -> int | None:
    """The IP protocol number of a :class:`RuleSpec`'s ``protocol``; ``None`` for any.

    ``"tcp"`` and ``"6"`` both give 6; ``"icmpv6"`` gives 58.
    """
    if protocol is None:
        return None
    if protocol in IP_PROTOCOL_MAP:
        return IP_PROTOCOL_MAP[protocol]
    return int(protocol)


RuleKey = tuple[str, str, int | None, int | None, tuple[str, str] | None, str | None, str | None]


def duplicate_key(rule: RuleSpec) -> RuleKey:
    """The key under which two rules of one security group are the same rule.

    Neutron's ``_rule_to_key``: every matching field compared as stored, except that

    - a protocol name and its number are equal (``"tcp"`` and ``"6"``), as Neutron pairs each
      with its name and number; ``"hopopt"`` stays distinct from ``"ip"``/``"0"`` as in Neutron;
    - a ``remote_ip_prefix`` of ``0.0.0.0/0`` or ``::/0`` equals no prefix.

    Other prefixes compare as stored: ``10.0.0.5/24`` and ``10.0.0.0/24`` are different rules to
    Neutron (both show ``normalized_cidr`` ``10.0.0.0/24``). Ports compare after
    :func:`normalise_rule`, so 1-65535 equals no range, and protocols without ports have none.

    Postcondition: ``duplicate_key(a) == duplicate_key(b)`` exactly when Neutron would answer
    409 to creating ``b`` in a group that holds ``a``.
    """
    prefix = None if rule.remote_ip_prefix in _ANY_PREFIXES else rule.remote_ip_prefix
    return (rule.direction, rule.ethertype, rule.port_range_min, rule.port_range_max,
            _protocol_pair(rule.protocol), rule.remote_group_id, prefix)


def check_duplicates(new_rules: Sequence[RuleSpec],
                     existing: Iterable[tuple[str, RuleSpec]]) -> None:
    """Refuse rules that repeat one another or a rule the group already holds.

    ``new_rules`` are the rules of one POST (one, or a bulk create), all for one group;
    ``existing`` are ``(rule_id, rule)`` for the rules that group already holds.
    Postcondition: returns only if every key of ``new_rules`` is distinct and none is the key
    of an existing rule.

    :raises DuplicateSecurityGroupRuleInPost: two of ``new_rules`` are the same rule.
    :raises SecurityGroupRuleExists: a new rule is an existing one; the message names the
        first such existing rule's id, as Neutron's does.
    """
    keys: set[RuleKey] = set()
    for rule in new_rules:
        key = duplicate_key(rule)
        if key in keys:
            raise DuplicateSecurityGroupRuleInPost()
        keys.add(key)
    for rule_id, rule in existing:
        if duplicate_key(rule) in keys:
            raise SecurityGroupRuleExists(rule_id)


def default_group_rules(group_id: str, *, is_default: bool) -> tuple[RuleSpec, ...]:
    """The rules Neutron gives a new security group on a default install.

    Every group gets egress to anywhere, IPv4 then IPv6. A project's ``default`` group also
    gets ingress from its own members, IPv4 then IPv6 (``remote_group_id`` = ``group_id``).
    These are the four "Legacy default SG rule" templates a fresh Neutron (2023.2 and later)
    installs, which reproduce the rules older releases hard-coded.

    Postcondition: two rules, or four with ``is_default``; every field not named above is
    ``None`` (any protocol, any port, no prefix).
    """
    egress = (RuleSpec(direction="egress", ethertype="IPv4"),
              RuleSpec(direction="egress", ethertype="IPv6"))
    if not is_default:
        return egress
    return (*egress,
            RuleSpec(direction="ingress", ethertype="IPv4", remote_group_id=group_id),
            RuleSpec(direction="ingress", ethertype="IPv6", remote_group_id=group_id))


def _direction(body: Mapping[str, object]) -> Direction:
    # Neutron's API layer answers these two as a plain webob HTTPBadRequest.
    if "direction" not in body:
        raise BadRequest("Failed to parse request. Required attribute 'direction' not specified")
    value = body["direction"]
    for direction in DIRECTIONS:
        if value == direction:
            return direction
    raise BadRequest(f"Invalid input for direction. Reason: {value} is not in valid_values.")


def _protocol(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value.lower() == "any"):
        # Neutron passes "ANY" through and then fails to store it: any case means any here.
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    elif isinstance(value, str) and value.lower() in IP_PROTOCOL_MAP:
        return value.lower()
    if number is None or not 0 <= number <= 255:
        raise SecurityGroupRuleInvalidProtocol(value, SUPPORTED_PROTOCOLS)
    # Canonical decimal: Neutron would keep "06" as sent and then fail to store it.
    return str(number)


def _port(value: object) -> int | None:
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    if number is None or not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(value)
    return number


def _ethertype(value: object) -> Ethertype:
    if isinstance(value, str):
        if value.lower() == "ipv4":
            return "IPv4"
        if value.lower() == "ipv6":
            return "IPv6"
    raise SecurityGroupRuleInvalidEtherType(value, ETHERTYPES)


def _prefix(value: object) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """The prefix as an address with its length: ``10.0.0.5`` is ``10.0.0.5/32``."""
    if value is None or value == "":
        return None
    # ipaddress would take an int, bytes or an IPv6 scope ("%eth0"); netaddr, Neutron's, none.
    if not isinstance(value, str) or "%" in value:
        raise InvalidCIDR(value)
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        raise InvalidCIDR(value) from None


def _remote_group_id(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        # Neutron has no check here and would look the value up as a group id; a JSON
        # number or object is no id, so it is refused before that.
        raise InvalidInput("remote_group_id must be a string")
    return value


def _check_ports(protocol: str | None, port_min: int | None, port_max: int | None) -> None:
    """Neutron's ``_validate_port_range``, on converted values."""
    if port_min is None and port_max is None:
        return
    number = protocol_number(protocol)
    if number is None:
        raise SecurityGroupProtocolRequiredWithPorts()
    if number in PORT_PROTOCOL_NUMBERS:
        if port_min == 0 or port_max == 0:
            raise SecurityGroupInvalidPortValue(0)
        if port_min is None or port_max is None or port_min > port_max:
            raise SecurityGroupInvalidPortRange()
    elif number in ICMP_PROTOCOL_NUMBERS:
        for value, field, attr in ((port_min, "type", "port_range_min"),
                                   (port_max, "code", "port_range_max")):
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(field, attr, value)
        if port_min is None and port_max is not None:
            raise SecurityGroupMissingIcmpType(port_max)
    else:
        raise SecurityGroupInvalidProtocolForPort(number, _PORT_PROTOCOL_LIST)


def _protocol_pair(protocol: str | None) -> tuple[str, str] | None:
    """Neutron's ``_get_ip_proto_name_and_num`` on a stored protocol: (name, number)."""
    if protocol is None:
        return None
    if protocol in IP_PROTOCOL_MAP:
        return (protocol, str(IP_PROTOCOL_MAP[protocol]))
    return (_NUMBER_TO_NAME.get(protocol, protocol), protocol)
