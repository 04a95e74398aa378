"""The metadata proxy's request rewriting: what a guest sends is passed on only with the
proxy's own identity headers, and requests it cannot pass safely are refused."""

from __future__ import annotations

import socket

import pytest

from ownstack.network.metadata_proxy import (
    MAX_BODY,
    MAX_HEAD,
    Refused,
    _read_head,
    parse_args,
    rewrite_head,
)

NET = b"X-Neutron-Network-ID"


def test_guest_headers_that_pose_as_the_proxy_are_dropped() -> None:
    head = (b"POST /openstack/latest/password HTTP/1.1\r\nHost: 169.254.169.254\r\n"
            b"x-forwarded-for: 10.0.0.99\r\nX-Neutron-Router-ID: r\r\n"
            b"X-NEUTRON-NETWORK-ID: n\r\nX-Instance-ID: i\r\nX-Instance-ID-Signature: s\r\n"
            b"X-Tenant-ID: t\r\nConnection: keep-alive\r\nContent-Length: 5\r\n"
            b"User-Agent: cloud-init")
    rewritten, length = rewrite_head(head, "10.0.0.5", NET, "net-1")
    assert length == 5
    assert rewritten == (
        b"POST /openstack/latest/password HTTP/1.1\r\nHost: 169.254.169.254\r\n"
        b"Content-Length: 5\r\nUser-Agent: cloud-init\r\nX-Forwarded-For: 10.0.0.5\r\n"
        b"X-Neutron-Network-ID: net-1\r\nConnection: close\r\n\r\n")


@pytest.mark.parametrize(("head", "status"), [
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked", 411),
    (b"GET / HTTP/1.1\r\nContent-Length: " + str(MAX_BODY + 1).encode(), 413),
    (b"GET / HTTP/1.1\r\nContent-Length: -1", 400),
    (b"GET / HTTP/1.1\r\n X-Forwarded-For: 1.2.3.4", 400),     # a folded line
    (b"GET / HTTP/1.1\r\nno colon here", 400),
    (b"GET /\r\nHost: x", 400),
    (b"GET / SPDY/3\r\nHost: x", 400),
])
def test_requests_the_proxy_will_not_pass(head: bytes, status: int) -> None:
    with pytest.raises(Refused) as refused:
        rewrite_head(head, "10.0.0.5", NET, "net-1")
    assert refused.value.status == status


def test_a_head_too_large_is_431() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n")
        with pytest.raises(Refused) as refused:
            _read_head(right)
    assert refused.value.status == 431


def test_exactly_one_owner_and_ids_only() -> None:
    assert parse_args(["--socket", "/s", "--network-id", "n-1"]).port == 80
    for argv in (["--socket", "/s"], ["--socket", "/s", "--network-id", "n", "--router-id", "r"],
                 ["--socket", "/s", "--router-id", "r;x"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
