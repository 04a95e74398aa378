"""What `ownstack up` prints when the background server exits during start-up."""

from __future__ import annotations

from pathlib import Path

from ownstack.cli import _start_failure


def test_shows_each_logged_error_of_this_start_once(tmp_path: Path) -> None:
    log = tmp_path / "ownstack.log"
    earlier = "2026-11-24 10:00:00,000 ERROR   ownstack.server [-] an error of an earlier start\n"
    log.write_text(earlier)
    start = log.stat().st_size
    with log.open("a") as handle:
        handle.write("2026-11-24 11:00:00,000 INFO    ownstack.server [-] identity listening\n"
                     "2026-11-24 11:00:01,000 ERROR   uvicorn.error [-] cannot run qemu\n"
                     "Traceback (most recent call last):\n"
                     "  File \"x.py\", line 1, in <module>\n"
                     "2026-11-24 11:00:01,001 ERROR   uvicorn.error [-] cannot run qemu\n")
    text = _start_failure(log, start, 3)
    assert text.splitlines()[0] == (f"ownstack failed to start (exit 3); the errors it logged "
                                    f"(all of it in {log}):")
    assert text.splitlines()[1:] == [
        "2026-11-24 11:00:01,001 ERROR   uvicorn.error [-] cannot run qemu"]


def test_without_logged_errors_shows_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "ownstack.log"
    log.write_text("".join(f"line {n}\n" for n in range(40)) + "ModuleNotFoundError: x\n")
    text = _start_failure(log, 0, 1)
    lines = text.splitlines()
    assert lines[0] == f"ownstack failed to start (exit 1); last log lines of {log}:"
    assert lines[1:] == [f"line {n}" for n in range(11, 40)] + ["ModuleNotFoundError: x"]


def test_a_missing_log_still_reports_the_exit(tmp_path: Path) -> None:
    text = _start_failure(tmp_path / "absent.log", 0, 2)
    assert text.startswith("ownstack failed to start (exit 2)")
