"""The functional and e2e suites run the `openstack` CLI forked from a zygote that has
imported it (helpers.cli); what a command prints and returns must be what a plain
`openstack` process gives, and a command that hangs must be killed at its timeout
without taking the zygote with it."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from helpers import cli

ENV = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
AUTH = ["--os-username", "u", "--os-password", "p", "--os-project-name", "p",
        "--os-user-domain-id", "default", "--os-project-domain-id", "default"]


def run(mode: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    monkeypatch.setenv("OWNSTACK_TEST_CLI", mode)
    return cli.run_openstack(args, ENV, timeout=timeout)


@pytest.mark.parametrize("args", [
    ["--version"],
    ["no-such-command"],                                   # argparse's exit 2
    ["network", "list", "--os-auth-url", "http://127.0.0.1:9/v3", *AUTH],   # refused
])
def test_a_forked_command_gives_what_a_fresh_openstack_gives(
        args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    forked, fresh = run("fork", args, monkeypatch), run("exec", args, monkeypatch)
    assert (forked.returncode, forked.stdout, forked.stderr) == \
        (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.args == fresh.args


def test_the_environment_is_the_commands_own(monkeypatch: pytest.MonkeyPatch) -> None:
    first = run("fork", ["server", "list", "--os-auth-url", "http://127.0.0.1:9/v3", *AUTH],
                monkeypatch)
    assert "127.0.0.1', port=9" in first.stderr, first.stderr
    # The next command's environment has no auth-url: nothing of the last one's is left.
    assert "Missing value auth-url" in run("fork", ["server", "list"], monkeypatch).stderr


def test_a_hanging_command_is_killed_at_its_timeout_and_the_next_one_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:          # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v3"
        with pytest.raises(subprocess.TimeoutExpired):
            run("fork", ["network", "list", "--os-auth-url", url, *AUTH], monkeypatch,
                timeout=3)
    assert run("fork", ["--version"], monkeypatch).stdout.startswith("openstack ")
