"""`ownstack up | status | down | reset` as a user runs them, in the background mode."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from helpers.process import SERVICE_PORT_OPTIONS, free_port, port_overrides


def _ownstack(tmp: Path, port: int, *args: str, check: bool = True
              ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(tmp / "state"),
               "--set", "identity.bcrypt_rounds=4",
               "--set", "network.driver=fake"]     # no host bridges from a lifecycle test
    for item in port_overrides(port):
        command += ["--set", item]
    command += list(args)
    env = {**os.environ, "HOME": str(tmp)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                            stdin=subprocess.DEVNULL, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"ownstack {' '.join(args)}: {result.stdout}\n{result.stderr}")
    return result


def test_up_status_down_up_reset(tmp_path: Path) -> None:
    port = free_port(count=len(SERVICE_PORT_OPTIONS))
    state = tmp_path / "state"
    try:
        first = _ownstack(tmp_path, port, "up")
        assert "initialised and started" in first.stdout
        assert "export OS_CLOUD=ownstack-admin" in first.stdout

        # The state directory holds what the issue promises, private where it matters.
        password_file = state / "admin-password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert (state / "ownstack.toml").exists()
        assert (state / "fernet-keys" / "0").exists()
        assert "OS_AUTH_URL" in (state / "admin-openrc").read_text()
        user_clouds = yaml.safe_load((tmp_path / ".config/openstack/clouds.yaml").read_text())
        auth = user_clouds["clouds"]["ownstack-admin"]["auth"]
        assert auth["auth_url"] == f"http://127.0.0.1:{port}/v3"
        assert auth["password"] == password_file.read_text().strip()

        # Idempotent: a second `up` finds it running.
        assert "already running" in _ownstack(tmp_path, port, "up").stdout

        status = json.loads(_ownstack(tmp_path, port, "status", "--json").stdout)
        assert status["pid"] and all(s["healthy"] for s in status["services"])
        assert [s["service"] for s in status["services"]] == [
            "identity", "image", "placement", "compute", "network", "volume", "metadata",
            "novncproxy", "serialproxy"]

        # Make some state, stop, start again: the state survives and the password is kept.
        token = _token(port, password_file.read_text().strip())
        r = httpx.post(f"http://127.0.0.1:{port}/v3/projects", headers={"X-Auth-Token": token},
                       json={"project": {"name": "survivor"}})
        assert r.status_code == 201
        down = _ownstack(tmp_path, port, "down")
        assert "stopped" in down.stdout
        assert _ownstack(tmp_path, port, "status", check=False).returncode == 1
        again = _ownstack(tmp_path, port, "up")
        assert "initialised" not in again.stdout
        token = _token(port, password_file.read_text().strip())
        r = httpx.get(f"http://127.0.0.1:{port}/v3/projects", params={"name": "survivor"},
                      headers={"X-Auth-Token": token})
        assert [p["name"] for p in r.json()["projects"]] == ["survivor"]

        # Token key rotation keeps the outstanding token valid.
        _ownstack(tmp_path, port, "token-keys", "rotate")
        r = httpx.get(f"http://127.0.0.1:{port}/v3/auth/tokens",
                      headers={"X-Auth-Token": token, "X-Subject-Token": token})
        assert r.status_code == 200

        refused = _ownstack(tmp_path, port, "reset", check=False)
        assert refused.returncode == 2 and state.exists()
        _ownstack(tmp_path, port, "reset", "--yes")
        assert not state.exists()
    finally:
        _ownstack(tmp_path, port, "down", check=False)


def _token(port: int, password: str) -> str:
    r = httpx.post(f"http://127.0.0.1:{port}/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}})
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def test_up_with_a_port_taken_names_the_service_and_starts_nothing(tmp_path: Path) -> None:
    port = free_port(count=len(SERVICE_PORT_OPTIONS))
    compute_port = port + SERVICE_PORT_OPTIONS.index("compute.port")
    with socket.create_server(("127.0.0.1", compute_port)):
        failed = _ownstack(tmp_path, port, "up", check=False)
        assert failed.returncode == 1
        assert f"compute cannot listen on 127.0.0.1:{compute_port}: Address already in use" \
            in failed.stderr
        # Nothing half-started: identity (bound first) is closed again and no pid is left.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/v3", timeout=2)
        assert not (tmp_path / "state" / "ownstack.pid").exists()
    # With the port free again, the same state directory starts.
    try:
        assert "started" in _ownstack(tmp_path, port, "up").stdout
    finally:
        _ownstack(tmp_path, port, "down", check=False)
