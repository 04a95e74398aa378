"""The state directory: config file, admin password, pid file, logs and client configs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import tomli_w
import yaml

from ownstack.common.config import Config, ConfigError, to_toml_tree

ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password
SERVICE_PASSWORD_FILE = "service-password"  # noqa: S105 - a file name, not a password
METADATA_SECRET_FILE = "metadata-proxy-secret"  # noqa: S105 - a file name, not a secret
PID_FILE = "ownstack.pid"
LOG_FILE = "ownstack.log"
STARTUP_FILE = "ownstack.started.json"
CLOUD_NAME = "ownstack-admin"


def prepare(config: Config) -> bool:
    """Create the state directory, config file and admin password if missing.

    Returns True when this was the first initialisation.
    """
    first = not config.config_file.exists()
    config.state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    if first:
        tree = to_toml_tree(config)
        tree.pop("state_dir", None)
        _write_private(config.config_file, tomli_w.dumps(tree))
    password_file = config.state_dir / ADMIN_PASSWORD_FILE
    if not password_file.exists():
        password = os.environ.get("OWNSTACK_ADMIN_PASSWORD") or secrets.token_urlsafe(18)
        _write_private(password_file, password + "\n")
    service_file = config.state_dir / SERVICE_PASSWORD_FILE
    if not service_file.exists():
        _write_private(service_file, secrets.token_urlsafe(24) + "\n")
    secret_file = config.state_dir / METADATA_SECRET_FILE
    if not config.metadata.proxy_shared_secret and not secret_file.exists():
        _write_private(secret_file, secrets.token_urlsafe(32) + "\n")
    return first


def read_admin_password(config: Config) -> str:
    return (config.state_dir / ADMIN_PASSWORD_FILE).read_text().strip()


def read_service_password(config: Config) -> str:
    """The password of the services' own identity user (``ownstack-service``)."""
    return (config.state_dir / SERVICE_PASSWORD_FILE).read_text().strip()


def read_metadata_secret(config: Config) -> str:
    """The metadata proxy's shared secret: ``metadata.proxy_shared_secret``, else the one
    :func:`prepare` made. :class:`ConfigError` when there is neither."""
    if config.metadata.proxy_shared_secret:
        return config.metadata.proxy_shared_secret
    try:
        secret = (config.state_dir / METADATA_SECRET_FILE).read_text().strip()
    except FileNotFoundError:
        secret = ""
    if not secret:
        raise ConfigError(f"metadata.proxy_shared_secret is empty and "
                          f"{config.state_dir / METADATA_SECRET_FILE} does not exist; "
                          f"run ownstack init or set it")
    return secret


def metadata_url(config: Config) -> str:
    """Where the metadata agent reaches the metadata service."""
    return config.metadata.url or config.public_url(config.metadata.port)


def pid_file(config: Config) -> Path:
    return config.state_dir / PID_FILE


def log_file(config: Config) -> Path:
    return config.state_dir / LOG_FILE


def write_startup(config: Config, report: dict[str, Any]) -> None:
    """What the running process started and how long each phase took, written once every
    role runs: ``ownstack up`` waits for it and prints it, ``ownstack status`` shows it."""
    path = config.state_dir / STARTUP_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(temporary, path)


def read_startup(config: Config) -> dict[str, Any] | None:
    """The start-up report of the process that runs now, or ``None`` (none running, or
    still starting)."""
    try:
        report = json.loads((config.state_dir / STARTUP_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("pid") != read_pid(config):
        return None
    return report


def read_pid(config: Config) -> int | None:
    """The pid of a running ownstack for this state dir, or None (stale files are removed)."""
    path = pid_file(config)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    except PermissionError:
        pass
    return pid


def auth_url(config: Config) -> str:
    return config.public_url(config.identity.port, "/v3")


def cloud_entry(config: Config) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": auth_url(config),
            "username": "admin",
            "password": read_admin_password(config),
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": config.cloud.region,
        "interface": "public",
        "identity_api_version": 3,
    }


def write_client_configs(config: Config, *, user_clouds_yaml: Path | None) -> list[Path]:
    """Write ``clouds.yaml`` and ``admin-openrc`` into the state dir, and merge our cloud
    into the user's clouds.yaml (other clouds there are kept)."""
    entry = cloud_entry(config)
    written = []
    local = config.state_dir / "clouds.yaml"
    _write_private(local, yaml.safe_dump({"clouds": {CLOUD_NAME: entry}}, sort_keys=False))
    written.append(local)
    auth = entry["auth"]
    openrc = config.state_dir / "admin-openrc"
    lines = [
        f"export OS_AUTH_URL={auth['auth_url']}",
        "export OS_USERNAME=admin",
        f"export OS_PASSWORD='{auth['password']}'",
        "export OS_PROJECT_NAME=admin",
        "export OS_USER_DOMAIN_NAME=Default",
        "export OS_PROJECT_DOMAIN_NAME=Default",
        f"export OS_REGION_NAME={config.cloud.region}",
        "export OS_IDENTITY_API_VERSION=3",
        "unset OS_CLOUD",
    ]
    _write_private(openrc, "\n".join(lines) + "\n")
    written.append(openrc)
    if user_clouds_yaml is not None:
        merge_user_clouds_yaml(user_clouds_yaml, {CLOUD_NAME: entry})
        written.append(user_clouds_yaml)
    return written


def merge_user_clouds_yaml(path: Path, clouds: dict[str, Any]) -> None:
    data: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text()) or {}
        if isinstance(loaded, dict):
            data = loaded
    existing = data.get("clouds")
    data["clouds"] = {**(existing if isinstance(existing, dict) else {}), **clouds}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, yaml.safe_dump(data, sort_keys=False))


def remove_from_user_clouds_yaml(path: Path) -> None:
    if not path.exists():
        return
    data = yaml.safe_load(path.read_text()) or {}
    if isinstance(data, dict) and isinstance(data.get("clouds"), dict):
        data["clouds"].pop(CLOUD_NAME, None)
        _write_private(path, yaml.safe_dump(data, sort_keys=False))


def wipe(config: Config) -> None:
    if config.state_dir.exists():
        shutil.rmtree(config.state_dir)


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
