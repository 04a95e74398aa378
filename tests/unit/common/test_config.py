from pathlib import Path

import pytest

from ownstack.common.config import ConfigError, load_config


def test_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    assert config.identity.port == 5000
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'ownstack.db'}"
    assert config.identity.security_compliance.lockout_failure_attempts == 0


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    (tmp_path / "ownstack.toml").write_text(
        "[identity]\nport = 5001\ntoken_expiration = 60\n[cloud]\nregion = 'FileRegion'\n")
    env = {"OWNSTACK_IDENTITY__PORT": "5002", "OWNSTACK_CLOUD__REGION": "EnvRegion"}
    config = load_config(tmp_path, environ=env, overrides=["identity.port=5003"])
    assert config.identity.port == 5003            # flag beats env beats file
    assert config.cloud.region == "EnvRegion"      # env beats file
    assert config.identity.token_expiration == 60  # file beats default


def test_nested_sections_and_bools(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={}, overrides=[
        "identity.security_compliance.lockout_failure_attempts=3", "database.echo=yes"])
    assert config.identity.security_compliance.lockout_failure_attempts == 3
    assert config.database.echo is True


@pytest.mark.parametrize("override", [
    "identity.port=abc", "identity.nope=1", "nosection.x=1", "identity=3", "database.echo=maybe",
    "noequals", "identity.oauth1.request_token_duration=-1",
    "identity.oauth1.access_token_duration=-5",
])
def test_bad_values_are_clear_errors(tmp_path: Path, override: str) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path, environ={}, overrides=[override])


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "ownstack.toml").write_text("[identity\n")
    with pytest.raises(ConfigError, match=r"ownstack\.toml"):
        load_config(tmp_path, environ={})
