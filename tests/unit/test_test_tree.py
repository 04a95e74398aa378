"""The test tree keeps its shape: test files mirror the package, and test modules share code
only through the helper package (tests/helpers), never by importing one another or a
``conftest.py``.

Where a test file may live:

- ``tests/unit/`` and, below it, the path of any package of ``ownstack/``
  (tests/unit/compute/drivers/ for ownstack/compute/drivers/);
- ``tests/api/`` (the sweeps over every service) and ``tests/api/<service>/`` for a service
  with an API (ownstack/<service>/api/);
- ``tests/functional/`` (real processes, the fake driver) and ``tests/e2e/`` (real QEMU).
"""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from helpers.paths import REPO

TESTS = REPO / "tests"
PACKAGE = REPO / "ownstack"


def _packages() -> set[PurePosixPath]:
    return {PurePosixPath(init.parent.relative_to(PACKAGE).as_posix())
            for init in PACKAGE.rglob("__init__.py")}


def allowed_dirs() -> set[PurePosixPath]:
    """The directories of tests/ where test files and conftest.py may live."""
    packages = _packages()
    services = {p for p in packages if len(p.parts) == 1 and p / "api" in packages} \
        - {PurePosixPath("common")}
    unit = {PurePosixPath("unit") / p for p in packages}
    api = {PurePosixPath("api") / p for p in services}
    roots = {PurePosixPath(name) for name in ("unit", "api", "functional", "e2e")}
    return unit | api | roots | {PurePosixPath(".")}


def misplaced(files: list[PurePosixPath], allowed: set[PurePosixPath]) -> list[str]:
    """The files (paths relative to tests/) that break the layout, with the reason."""
    problems = []
    for path in files:
        if path.suffix != ".py" or "__pycache__" in path.parts:
            continue
        if path.parts[0] == "helpers":
            if path.name.startswith("test_") or path.name == "conftest.py":
                problems.append(f"{path}: the helper package holds no tests and no fixtures")
            continue
        if not (path.name.startswith("test_") or path.name == "conftest.py"):
            problems.append(f"{path}: shared code belongs in tests/helpers/")
        elif path.name == "conftest.py" and path.parent == PurePosixPath("."):
            continue
        elif path.parent not in allowed or path.parent == PurePosixPath("."):
            problems.append(f"{path}: not in a directory of the layout")
    return problems


def forbidden_imports(source: str) -> list[str]:
    """The imports in ``source`` of a conftest, of a test module, or relative to the file."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "a relative import"))
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if "conftest" in parts or any(part.startswith("test_") for part in parts):
                found.append((node.lineno, f"imports {name}"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def _files() -> list[PurePosixPath]:
    return sorted(PurePosixPath(p.relative_to(TESTS).as_posix()) for p in TESTS.rglob("*.py"))


def test_every_test_file_is_where_the_layout_puts_it() -> None:
    problems = misplaced(_files(), allowed_dirs())
    assert not problems, "\n".join(problems)


def test_no_test_module_imports_a_conftest_or_another_test_module() -> None:
    problems = [f"tests/{path}: {problem}" for path in _files() if "__pycache__" not in path.parts
                for problem in forbidden_imports((TESTS / path).read_text())]
    assert not problems, "\n".join(problems)


def test_the_layout_mirrors_the_package() -> None:
    allowed = allowed_dirs()
    assert PurePosixPath("unit/compute/drivers/qemu") in allowed
    assert PurePosixPath("unit/common/api") in allowed
    assert {PurePosixPath(f"api/{s}") for s in ("identity", "image", "placement", "compute")} \
        <= allowed
    assert PurePosixPath("api/common") not in allowed
    assert PurePosixPath("unit/nowhere") not in allowed
    assert PurePosixPath("functional/compute") not in allowed


def test_the_rules_catch_what_they_forbid() -> None:
    allowed = allowed_dirs()
    files = [PurePosixPath(p) for p in (
        "conftest.py", "unit/compute/agent/test_reconcile.py", "api/image/conftest.py",
        "helpers/compute.py", "e2e/test_qemu_cloud.py",
        "api/image_helpers.py", "unit/nowhere/test_x.py", "test_top.py",
        "functional/compute/test_x.py", "helpers/test_helpers.py", "unit/__init__.py")]
    assert misplaced(files, allowed) == [
        "api/image_helpers.py: shared code belongs in tests/helpers/",
        "unit/nowhere/test_x.py: not in a directory of the layout",
        "test_top.py: not in a directory of the layout",
        "functional/compute/test_x.py: not in a directory of the layout",
        "helpers/test_helpers.py: the helper package holds no tests and no fixtures",
        "unit/__init__.py: shared code belongs in tests/helpers/",
    ]
    source = ("from conftest import unique\nimport test_users\n"
              "def f():\n    from test_placement_cli import wait\n"
              "from . import sibling\nfrom helpers.names import unique\nimport ownstack.cli\n")
    assert forbidden_imports(source) == [
        "line 1: imports conftest", "line 2: imports test_users",
        "line 4: imports test_placement_cli", "line 5: a relative import"]
