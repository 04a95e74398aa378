"""Security-group rules: Neutron's conversions, its checks in its order, its error types and
messages, its duplicate check and its default rules."""

from __future__ import annotations

from typing import Any

import pytest

from ownstack.common.errors import BadRequest, OwnstackError
from ownstack.network import errors
from ownstack.network.sg_rules import (
    SUPPORTED_PROTOCOLS,
    RuleSpec,
    check_duplicates,
    default_group_rules,
    duplicate_key,
    normalise_rule,
    protocol_number,
)

GROUP = "5b1d0d4e-7f5e-4c7e-9d7a-0f6f5c0f2a11"
OTHER_GROUP = "9a3c7b52-1111-4f0a-8e34-6d2f5c9b7e01"


def rule(**fields: Any) -> RuleSpec:
    return normalise_rule({"direction": "ingress", **fields})


def neutron_body(exc: OwnstackError) -> dict[str, Any]:
    body, _ = errors.format_error(exc, "req-1")
    return body


def refused(fields: dict[str, Any]) -> OwnstackError:
    with pytest.raises(OwnstackError) as caught:
        normalise_rule(fields)
    return caught.value


# --- defaults and the plain fields -------------------------------------------------------

def test_a_bare_ingress_rule_is_ipv4_any_protocol_from_anywhere() -> None:
    spec = normalise_rule({"direction": "ingress"})
    assert spec == RuleSpec(direction="ingress", ethertype="IPv4", protocol=None,
                            port_range_min=None, port_range_max=None,
                            remote_ip_prefix=None, remote_group_id=None)
    assert spec.normalized_cidr is None


def test_explicit_nulls_are_the_defaults_except_ethertype() -> None:
    spec = normalise_rule({"direction": "egress", "protocol": None, "port_range_min": None,
                           "port_range_max": None, "remote_ip_prefix": None,
                           "remote_group_id": None})
    assert spec == RuleSpec(direction="egress")
    exc = refused({"direction": "egress", "ethertype": None})
    assert neutron_body(exc)["NeutronError"] == {
        "type": "SecurityGroupRuleInvalidEtherType",
        "message": "Security group rule for ethertype 'None' not supported. "
                   "Allowed values are ['IPv4', 'IPv6'].",
        "detail": ""}


def test_direction_is_required() -> None:
    exc = refused({"protocol": "tcp"})
    assert exc.status == 400
    assert neutron_body(exc)["NeutronError"]["type"] == "HTTPBadRequest"
    assert exc.message == "Failed to parse request. Required attribute 'direction' not specified"


@pytest.mark.parametrize("direction", ["sideways", "INGRESS", None, 1])
def test_direction_must_be_ingress_or_egress_exactly(direction: object) -> None:
    exc = refused({"direction": direction})
    assert type(exc) is BadRequest
    assert neutron_body(exc)["NeutronError"]["type"] == "HTTPBadRequest"
    assert exc.message == (f"Invalid input for direction. Reason: {direction} "
                           f"is not in valid_values.")


@pytest.mark.parametrize(("given", "stored"), [
    ("IPv4", "IPv4"), ("ipv4", "IPv4"), ("IPV6", "IPv6"), ("ipv6", "IPv6")])
def test_ethertype_is_case_insensitive_and_stored_canonical(given: str, stored: str) -> None:
    assert rule(ethertype=given).ethertype == stored


@pytest.mark.parametrize("ethertype", ["IPv5", "", "ARP", 4])
def test_other_ethertypes_are_refused(ethertype: object) -> None:
    exc = refused({"direction": "ingress", "ethertype": ethertype})
    assert isinstance(exc, errors.SecurityGroupRuleInvalidEtherType)
    assert exc.status == 400
    assert exc.message == (f"Security group rule for ethertype '{ethertype}' not supported. "
                           "Allowed values are ['IPv4', 'IPv6'].")


# --- protocol ----------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("tcp", "tcp"), ("TCP", "tcp"), ("Udp", "udp"), ("icmp", "icmp"), ("gre", "gre"),
    ("vrrp", "vrrp"), ("hopopt", "hopopt"), ("ip", "ip"), ("udplite", "udplite"),
    ("6", "6"), (6, "6"), ("0", "0"), (255, "255"), ("06", "6"), (" 17 ", "17"),
    (None, None), ("any", None), ("ANY", None)])
def test_protocols_are_stored_lower_case_or_as_a_decimal_number(
        given: object, stored: str | None) -> None:
    assert rule(protocol=given).protocol == stored


def test_every_name_in_neutrons_list_is_accepted() -> None:
    names = [name for name in SUPPORTED_PROTOCOLS if name not in (None, "any")]
    assert len(names) == 25
    ipv6_only = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts",
                 "ipv6-route"}
    for name in names:
        assert name is not None
        ethertype = "IPv6" if name in ipv6_only else "IPv4"
        expected = "ipv6-icmp" if name == "icmpv6" else name
        assert rule(protocol=name, ethertype=ethertype).protocol == expected


@pytest.mark.parametrize("protocol", ["encap", "foo", "256", 256, -1, "-1", "", "6.0", 6.0,
                                      True, ["tcp"]])
def test_unknown_protocols_are_refused_with_neutrons_list(protocol: object) -> None:
    exc = refused({"direction": "ingress", "protocol": protocol})
    assert isinstance(exc, errors.SecurityGroupRuleInvalidProtocol)
    assert neutron_body(exc)["NeutronError"]["type"] == "SecurityGroupRuleInvalidProtocol"
    assert exc.message == (
        f"Security group rule protocol {protocol} not supported. Only protocol values "
        "(None, 'any', 'ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'igmp', 'ip', "
        "'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', "
        "'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp') and "
        "integer representations [0 to 255] are supported.")


@pytest.mark.parametrize(("given", "stored"), [
    ("icmp", "ipv6-icmp"), ("ICMP", "ipv6-icmp"), ("icmpv6", "ipv6-icmp"),
    ("ipv6-icmp", "ipv6-icmp"), ("1", "58"), (1, "58"), ("58", "58")])
def test_icmp_with_ipv6_is_stored_as_ipv6_icmp(given: object, stored: str) -> None:
    assert rule(ethertype="IPv6", protocol=given).protocol == stored


def test_icmp_with_ipv4_stays_icmp() -> None:
    assert rule(protocol="icmp").protocol == "icmp"
    assert rule(protocol="1").protocol == "1"


@pytest.mark.parametrize("protocol", ["ipv6-icmp", "icmpv6", "58", "ipv6-encap", "ipv6-frag",
                                      "ipv6-nonxt", "ipv6-opts", "ipv6-route", "41", "43",
                                      "44", "59", "60"])
def test_ipv6_only_protocols_are_refused_with_ipv4(protocol: str) -> None:
    exc = refused({"direction": "egress", "protocol": protocol})
    assert isinstance(exc, errors.SecurityGroupEthertypeConflictWithProtocol)
    assert exc.status == 400
    assert exc.message == f"Invalid ethertype IPv4 for protocol {protocol}."


def test_protocol_number() -> None:
    assert protocol_number(None) is None
    assert protocol_number("tcp") == protocol_number("6") == 6
    assert protocol_number("icmpv6") == protocol_number("ipv6-icmp") == 58
    assert protocol_number("200") == 200


# --- ports -------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", ["tcp", "udp", "sctp", "dccp", "udplite", "6", "17",
                                      "132", "33", "136"])
def test_port_protocols_take_a_port_range(protocol: str) -> None:
    spec = rule(protocol=protocol, port_range_min=22, port_range_max=22)
    assert (spec.port_range_min, spec.port_range_max) == (22, 22)
    spec = rule(protocol=protocol, port_range_min="1000", port_range_max="2000")
    assert (spec.port_range_min, spec.port_range_max) == (1000, 2000)


def test_the_whole_port_range_is_stored_as_no_range() -> None:
    spec = rule(protocol="tcp", port_range_min=1, port_range_max=65535)
    assert (spec.port_range_min, spec.port_range_max) == (None, None)
    assert spec == rule(protocol="tcp")
    # Neutron does this before it looks at the protocol: even gre and icmp pass.
    assert rule(protocol="gre", port_range_min=1, port_range_max=65535).port_range_min is None
    assert rule(protocol="icmp", port_range_min="1", port_range_max="65535").port_range_max \
        is None


def test_nearly_the_whole_range_stays_a_range() -> None:
    spec = rule(protocol="udp", port_range_min=1, port_range_max=65534)
    assert (spec.port_range_min, spec.port_range_max) == (1, 65534)


@pytest.mark.parametrize("port", ["abc", 65536, -1, "65536", "", 22.0, True, [22], "2 2"])
def test_a_port_that_is_not_0_to_65535_is_refused(port: object) -> None:
    exc = refused({"direction": "ingress", "protocol": "tcp", "port_range_min": port,
                   "port_range_max": 22})
    assert isinstance(exc, errors.SecurityGroupInvalidPortValue)
    assert neutron_body(exc)["NeutronError"]["type"] == "SecurityGroupInvalidPortValue"
    assert exc.message == f"Invalid value for port {port}"


def test_the_port_value_is_checked_before_the_protocol_needs_ports() -> None:
    exc = refused({"direction": "ingress", "port_range_max": "x"})
    assert isinstance(exc, errors.SecurityGroupInvalidPortValue)


@pytest.mark.parametrize(("low", "high"), [(0, 22), (22, 0), (0, 0)])
def test_port_zero_is_refused_for_port_protocols(low: int, high: int) -> None:
    exc = refused({"direction": "ingress", "protocol": "udp", "port_range_min": low,
                   "port_range_max": high})
    assert isinstance(exc, errors.SecurityGroupInvalidPortValue)
    assert exc.message == "Invalid value for port 0"


@pytest.mark.parametrize(("low", "high"), [(23, 22), (22, None), (None, 22), (65535, 1)])
def test_a_port_range_must_be_min_to_max(low: int | None, high: int | None) -> None:
    exc = refused({"direction": "ingress", "protocol": "tcp", "port_range_min": low,
                   "port_range_max": high})
    assert isinstance(exc, errors.SecurityGroupInvalidPortRange)
    assert exc.status == 400
    assert exc.message == "For TCP/UDP protocols, port_range_min must be <= port_range_max"


@pytest.mark.parametrize(("low", "high"), [(22, 22), (22, None), (None, 22)])
def test_ports_without_a_protocol_are_refused(low: int | None, high: int | None) -> None:
    for protocol in (None, "any"):
        exc = refused({"direction": "ingress", "protocol": protocol, "port_range_min": low,
                       "port_range_max": high})
        assert isinstance(exc, errors.SecurityGroupProtocolRequiredWithPorts)
        assert exc.message == "Must also specify protocol if port range is given."


@pytest.mark.parametrize(("protocol", "number"), [
    ("gre", 47), ("47", 47), ("esp", 50), ("vrrp", 112), ("200", 200), ("ip", 0),
    ("hopopt", 0)])
def test_ports_for_a_protocol_without_ports_are_refused(protocol: str, number: int) -> None:
    exc = refused({"direction": "ingress", "protocol": protocol, "port_range_min": 10,
                   "port_range_max": 20})
    assert isinstance(exc, errors.SecurityGroupInvalidProtocolForPort)
    assert neutron_body(exc)["NeutronError"]["type"] == "SecurityGroupInvalidProtocolForPort"
    assert exc.message == (f"Ports cannot be specified for protocol {number}. Ports are only "
                           "supported for DCCP, SCTP, TCP, UDP, UDPLITE.")


# --- ICMP type and code ------------------------------------------------------------------

@pytest.mark.parametrize(("ethertype", "protocol"), [
    ("IPv4", "icmp"), ("IPv4", "1"), ("IPv6", "ipv6-icmp"), ("IPv6", "icmp"), ("IPv6", "58")])
def test_icmp_ports_are_type_and_code(ethertype: str, protocol: str) -> None:
    spec = rule(ethertype=ethertype, protocol=protocol, port_range_min=8, port_range_max=0)
    assert (spec.port_range_min, spec.port_range_max) == (8, 0)
    spec = rule(ethertype=ethertype, protocol=protocol, port_range_min=0)
    assert (spec.port_range_min, spec.port_range_max) == (0, None)
    spec = rule(ethertype=ethertype, protocol=protocol, port_range_min=255, port_range_max=255)
    assert (spec.port_range_min, spec.port_range_max) == (255, 255)


def test_an_icmp_code_may_be_smaller_than_the_type() -> None:
    spec = rule(protocol="icmp", port_range_min=3, port_range_max=1)
    assert (spec.port_range_min, spec.port_range_max) == (3, 1)


@pytest.mark.parametrize(("low", "high", "message"), [
    (256, None, "Invalid value for ICMP type (port_range_min) 256. It must be 0 to 255."),
    (8, 256, "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255."),
    (300, 300, "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."),
    (None, 65534, "Invalid value for ICMP code (port_range_max) 65534. It must be 0 to 255.")])
def test_icmp_type_and_code_are_0_to_255(low: int | None, high: int | None,
                                         message: str) -> None:
    exc = refused({"direction": "ingress", "protocol": "icmp", "port_range_min": low,
                   "port_range_max": high})
    assert isinstance(exc, errors.SecurityGroupInvalidIcmpValue)
    assert exc.status == 400
    assert exc.message == message


def test_an_icmp_code_without_a_type_is_refused() -> None:
    exc = refused({"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp",
                   "port_range_max": 4})
    assert isinstance(exc, errors.SecurityGroupMissingIcmpType)
    assert neutron_body(exc)["NeutronError"]["type"] == "SecurityGroupMissingIcmpType"
    assert exc.message == ("ICMP code (port-range-max) 4 is provided but ICMP type "
                           "(port-range-min) is missing.")


def test_icmpv6_with_ipv4_reports_its_ports_before_its_ethertype() -> None:
    # Neutron checks the range (icmpv6 is ICMP, number 58) before the ethertype.
    exc = refused({"direction": "ingress", "protocol": "icmpv6", "port_range_min": 999})
    assert isinstance(exc, errors.SecurityGroupInvalidIcmpValue)
    exc = refused({"direction": "ingress", "protocol": "icmpv6", "port_range_min": 128})
    assert isinstance(exc, errors.SecurityGroupEthertypeConflictWithProtocol)


# --- the remote end ----------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored", "cidr"), [
    ("10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8"),
    ("10.0.0.5/24", "10.0.0.5/24", "10.0.0.0/24"),
    ("192.168.1.10", "192.168.1.10/32", "192.168.1.10/32"),
    ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"),
    ("10.0.0.0/255.255.255.0", "10.0.0.0/24", "10.0.0.0/24")])
def test_an_ipv4_prefix_gets_its_length_and_keeps_its_host_bits(
        given: str, stored: str, cidr: str) -> None:
    spec = rule(remote_ip_prefix=given)
    assert spec.remote_ip_prefix == stored
    assert spec.normalized_cidr == cidr


@pytest.mark.parametrize(("given", "stored", "cidr"), [
    ("2001:DB8::1/64", "2001:db8::1/64", "2001:db8::/64"),
    ("2001:0db8:0000::", "2001:db8::/128", "2001:db8::/128"),
    ("::/0", "::/0", "::/0")])
def test_an_ipv6_prefix_is_written_compressed_in_lower_case(
        given: str, stored: str, cidr: str) -> None:
    spec = rule(ethertype="IPv6", remote_ip_prefix=given)
    assert spec.remote_ip_prefix == stored
    assert spec.normalized_cidr == cidr


def test_an_empty_prefix_is_no_prefix() -> None:
    assert rule(remote_ip_prefix="").remote_ip_prefix is None


@pytest.mark.parametrize("prefix", ["10.0.0.0/33", "10.0.0", "300.1.1.1", "fe80::1%eth0/64",
                                    "2001:db8::/129", "nonsense", 167772160, ["10.0.0.0/8"]])
def test_a_prefix_that_is_no_cidr_is_refused(prefix: object) -> None:
    exc = refused({"direction": "ingress", "remote_ip_prefix": prefix})
    assert isinstance(exc, errors.InvalidCIDR)
    assert neutron_body(exc)["NeutronError"]["type"] == "InvalidCIDR"
    assert exc.message == f"Invalid CIDR {prefix} given as IP prefix."


@pytest.mark.parametrize(("ethertype", "prefix", "shown"), [
    ("IPv6", "10.0.0.1", "10.0.0.1/32"), ("IPv4", "2001:db8::/32", "2001:db8::/32"),
    ("IPv6", "0.0.0.0/0", "0.0.0.0/0")])
def test_the_prefix_must_be_of_the_ethertype(ethertype: str, prefix: str, shown: str) -> None:
    exc = refused({"direction": "ingress", "ethertype": ethertype, "remote_ip_prefix": prefix})
    assert isinstance(exc, errors.SecurityGroupRuleParameterConflict)
    assert exc.status == 400
    assert exc.message == f"Conflicting value ethertype {ethertype} for CIDR {shown}"


def test_a_default_ethertype_conflicts_with_an_ipv6_prefix() -> None:
    exc = refused({"direction": "egress", "remote_ip_prefix": "::/0"})
    assert isinstance(exc, errors.SecurityGroupRuleParameterConflict)


def test_a_remote_group_is_kept_as_given() -> None:
    assert rule(remote_group_id=GROUP).remote_group_id == GROUP
    assert rule(remote_group_id="").remote_group_id is None


def test_a_remote_group_id_must_be_a_string() -> None:
    exc = refused({"direction": "ingress", "remote_group_id": 5})
    assert isinstance(exc, errors.InvalidInput)
    assert exc.status == 400


def test_a_remote_group_and_a_prefix_together_are_refused() -> None:
    exc = refused({"direction": "ingress", "remote_group_id": GROUP,
                   "remote_ip_prefix": "10.0.0.0/8"})
    assert isinstance(exc, errors.SecurityGroupMultipleRemoteEntites)
    assert neutron_body(exc)["NeutronError"]["type"] == "SecurityGroupMultipleRemoteEntites"
    assert exc.message == ("Only one of remote_ip_prefix or remote_group_id or "
                           "remote_address_group_id may be provided.")


def test_fields_outside_the_rule_are_not_read() -> None:
    spec = normalise_rule({"direction": "ingress", "security_group_id": GROUP,
                           "description": "ssh", "project_id": "p"})
    assert spec == RuleSpec(direction="ingress")


# --- the order of Neutron's checks -------------------------------------------------------

@pytest.mark.parametrize(("fields", "error"), [
    ({"direction": "up", "protocol": "nope"}, BadRequest),
    ({"direction": "ingress", "protocol": "nope", "port_range_min": "x"},
     errors.SecurityGroupRuleInvalidProtocol),
    ({"direction": "ingress", "port_range_min": "x", "ethertype": "IPv5"},
     errors.SecurityGroupInvalidPortValue),
    ({"direction": "ingress", "ethertype": "IPv5", "remote_ip_prefix": "x"},
     errors.SecurityGroupRuleInvalidEtherType),
    ({"direction": "ingress", "remote_ip_prefix": "x", "port_range_min": 5},
     errors.InvalidCIDR),
    ({"direction": "ingress", "port_range_min": 5, "ethertype": "IPv6",
      "remote_ip_prefix": "10.0.0.0/8"}, errors.SecurityGroupProtocolRequiredWithPorts),
    ({"direction": "ingress", "protocol": "ipv6-icmp", "remote_ip_prefix": "::/0"},
     errors.SecurityGroupRuleParameterConflict),
    ({"direction": "ingress", "protocol": "ipv6-frag", "remote_group_id": GROUP,
      "remote_ip_prefix": "10.0.0.0/8"}, errors.SecurityGroupEthertypeConflictWithProtocol),
])
def test_the_first_error_is_the_one_neutron_reports(
        fields: dict[str, Any], error: type[OwnstackError]) -> None:
    assert type(refused(fields)) is error


# --- duplicates --------------------------------------------------------------------------

@pytest.mark.parametrize(("first", "second"), [
    ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
     {"protocol": "6", "port_range_min": "22", "port_range_max": "22"}),
    ({"protocol": "TCP"}, {"protocol": 6}),
    ({"protocol": "tcp"}, {"protocol": "tcp", "port_range_min": 1, "port_range_max": 65535}),
    ({"protocol": "any"}, {}),
    ({"protocol": "ip"}, {"protocol": "0"}),
    ({"remote_ip_prefix": "0.0.0.0/0"}, {}),
    ({"ethertype": "IPv6", "remote_ip_prefix": "::/0"}, {"ethertype": "ipv6"}),
    ({"ethertype": "IPv6", "protocol": "icmp"}, {"ethertype": "IPv6", "protocol": "58"}),
    ({"ethertype": "IPv6", "protocol": "icmpv6"}, {"ethertype": "IPv6", "protocol": "1"}),
    ({"remote_ip_prefix": "10.0.0.1"}, {"remote_ip_prefix": "10.0.0.1/32"}),
    ({"remote_group_id": GROUP}, {"remote_group_id": GROUP}),
])
def test_rules_that_neutron_calls_the_same(first: dict[str, Any],
                                           second: dict[str, Any]) -> None:
    assert duplicate_key(rule(**first)) == duplicate_key(rule(**second))


@pytest.mark.parametrize(("first", "second"), [
    ({"protocol": "tcp"}, {"protocol": "udp"}),
    ({"protocol": "tcp"}, {}),
    ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
     {"protocol": "tcp", "port_range_min": 22, "port_range_max": 23}),
    ({"protocol": "icmp", "port_range_min": 8}, {"protocol": "icmp", "port_range_min": 8,
                                                 "port_range_max": 0}),
    ({"protocol": "hopopt"}, {"protocol": "ip"}),
    ({"protocol": "icmp"}, {"ethertype": "IPv6", "protocol": "icmp"}),
    ({}, {"direction": "egress"}),
    ({"remote_ip_prefix": "10.0.0.5/24"}, {"remote_ip_prefix": "10.0.0.0/24"}),
    ({"remote_ip_prefix": "10.0.0.0/8"}, {}),
    ({"remote_group_id": GROUP}, {"remote_group_id": OTHER_GROUP}),
    ({"remote_group_id": GROUP}, {}),
])
def test_rules_that_neutron_keeps_apart(first: dict[str, Any],
                                        second: dict[str, Any]) -> None:
    assert duplicate_key(rule(**first)) != duplicate_key(rule(**second))


def test_a_repeated_existing_rule_is_a_409_naming_that_rule() -> None:
    existing = [("rule-a", rule(protocol="udp")), ("rule-b", rule(protocol="tcp"))]
    with pytest.raises(errors.SecurityGroupRuleExists) as caught:
        check_duplicates([rule(protocol="6")], existing)
    exc = caught.value
    assert exc.status == 409
    assert exc.rule_id == "rule-b"
    assert neutron_body(exc)["NeutronError"] == {
        "type": "SecurityGroupRuleExists",
        "message": "Security group rule already exists. Rule id is rule-b.", "detail": ""}


def test_the_same_rule_twice_in_one_post_is_a_409() -> None:
    with pytest.raises(errors.DuplicateSecurityGroupRuleInPost) as caught:
        check_duplicates([rule(protocol="tcp"), rule(protocol="udp"), rule(protocol="TCP")],
                         [("rule-b", rule(protocol="tcp"))])
    assert caught.value.status == 409
    assert caught.value.message == "Duplicate Security Group Rule in POST."


def test_distinct_new_rules_pass() -> None:
    check_duplicates([rule(protocol="tcp"), rule(protocol="udp")],
                     [("rule-a", rule(protocol="icmp")), ("rule-b", rule(direction="egress"))])
    check_duplicates([], [("rule-a", rule())])


# --- default rules -----------------------------------------------------------------------

def test_a_new_group_may_send_anything_anywhere_and_receives_nothing() -> None:
    assert default_group_rules(GROUP, is_default=False) == (
        RuleSpec(direction="egress", ethertype="IPv4"),
        RuleSpec(direction="egress", ethertype="IPv6"))


def test_the_default_group_also_receives_from_its_own_members() -> None:
    rules = default_group_rules(GROUP, is_default=True)
    assert rules == (
        RuleSpec(direction="egress", ethertype="IPv4"),
        RuleSpec(direction="egress", ethertype="IPv6"),
        RuleSpec(direction="ingress", ethertype="IPv4", remote_group_id=GROUP),
        RuleSpec(direction="ingress", ethertype="IPv6", remote_group_id=GROUP))
    # They are rules a client could have sent, and no two are the same rule.
    sent = [normalise_rule({"direction": r.direction, "ethertype": r.ethertype,
                            "remote_group_id": r.remote_group_id}) for r in rules]
    assert tuple(sent) == rules
    check_duplicates(rules, [])


def test_a_default_rule_blocks_the_same_rule_sent_again() -> None:
    existing = [(f"rule-{n}", spec)
                for n, spec in enumerate(default_group_rules(GROUP, is_default=True))]
    with pytest.raises(errors.SecurityGroupRuleExists) as caught:
        check_duplicates([rule(remote_group_id=GROUP, ethertype="ipv6")], existing)
    assert caught.value.rule_id == "rule-3"
    with pytest.raises(errors.SecurityGroupRuleExists):
        check_duplicates([normalise_rule({"direction": "egress",
                                          "remote_ip_prefix": "0.0.0.0/0"})], existing)


def test_rule_specs_are_frozen() -> None:
    spec = rule()
    with pytest.raises(AttributeError):
        spec.direction = "egress"  # type: ignore[misc]
