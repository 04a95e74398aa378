"""HTTP connections as the real clients use them: kept alive between requests."""

from __future__ import annotations

import http.client
import time

import pytest

from helpers.process import Cloud

pytestmark = pytest.mark.functional

CLI_POLL_INTERVAL = 5.0        # osc_lib.utils.wait_for_status, behind every --wait


def test_an_idle_connection_outlives_the_clis_polling_interval(cloud: Cloud) -> None:
    """`openstack server create --wait` polls every 5 s on one kept-alive connection; a
    server that closes idle connections after 5 s closes it just as the next poll goes
    out, and the CLI fails with "Connection reset by peer"."""
    connection = http.client.HTTPConnection("127.0.0.1", cloud.port + 3, timeout=10)
    try:
        for _ in range(2):
            connection.request("GET", "/v2.1")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            time.sleep(CLI_POLL_INTERVAL + 1)
        connection.request("GET", "/v2.1")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
