"""Documentation guards: what a user can set is documented."""

import dataclasses

from helpers.paths import REPO
from ownstack.common.config import Config

DOCS = REPO / "docs" / "configuration.md"


def _options(cls: type, prefix: str = "") -> list[str]:
    names = []
    for field in dataclasses.fields(cls):
        kind = field.type if isinstance(field.type, type) else None
        default = field.default_factory() if callable(field.default_factory) else None
        if dataclasses.is_dataclass(default):
            names += _options(type(default), f"{prefix}{field.name}.")
        elif kind is None or not dataclasses.is_dataclass(kind):
            names.append(f"{prefix}{field.name}")
    return names


def test_every_config_option_is_documented() -> None:
    text = DOCS.read_text()
    options = _options(Config)
    assert "identity.security_compliance.lockout_failure_attempts" in options
    missing = [o for o in options if f"`{o}`" not in text]
    assert not missing, f"undocumented options: {missing}"


ARCHITECTURE = REPO / "docs" / "architecture.md"


def test_every_path_the_architecture_map_names_exists() -> None:
    import re

    text = ARCHITECTURE.read_text()
    named = set(re.findall(r"`((?:ownstack|tests|bench|tools|docs)/[^`\s]*)`", text))
    named |= {f"{m}.py" for m in re.findall(r"`(ownstack(?:/[a-z_]+)+)\.py`", text)}
    assert len(named) > 40                      # the map names modules, not a handful
    missing = sorted(path for path in named if not (REPO / path.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_no_file_holds_merge_conflict_markers() -> None:
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    marked = []
    for name in tracked:
        path = REPO / name
        if path.suffix not in (".py", ".md", ".toml", ".sh", ".cfg", ".ini", ".yaml", ""):
            continue
        try:
            lines = path.read_text().splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
            marked.append(name)
    assert marked == [], f"merge conflict markers left in {marked}"
