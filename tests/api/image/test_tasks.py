"""Tasks: ``/v2/tasks`` and the ``import`` task, in process (decision 74).

Successful imports fetch from an HTTP server on 127.0.0.1 that the test starts and its
config allows. Every refused source is refused before any packet leaves: a host the
config does not list is never even resolved.
"""

from __future__ import annotations

import asyncio
import http.server
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from helpers.inprocess import ImageClient, make_config, make_image_client
from ownstack.common.db.base import utcnow
from ownstack.common.policy import Policy
from ownstack.image import import_source
from ownstack.image.objects import tasks as task_rows
from ownstack.image.objects.models import Image, ImageTask
from ownstack.image.policy import DEFAULT_RULES

TASK_KEYS = {"id", "type", "status", "owner", "input", "result", "message", "created_at",
             "updated_at", "self", "schema", "request_id", "user_id"}
STUB_KEYS = {"id", "type", "status", "owner", "created_at", "updated_at", "self", "schema"}
FAKE_URL = "http://tempest-dummy-img-file-1234.qcow2"


# -- a local source of image data --------------------------------------------------------

Route = tuple[int, dict[str, str], bytes]


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Route | Callable[[], None]] = {}
    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Host")))
        route = self.routes.get(self.path)
        if callable(route):
            route()         # a source that never answers
            return
        status, headers, body = route or (404, {}, b"no such file")
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def source() -> Iterator[tuple[int, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"routes": {}, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("qcow2") / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1M"], check=True)
    return path.read_bytes()


async def _client(tmp_path: Path, *extra: str) -> AsyncIterator[ImageClient]:
    async for client in make_image_client(make_config(tmp_path, "image.port=15998", *extra)):
        yield client


@pytest.fixture
async def importer(tmp_path: Path, source: tuple[int, type[_Handler]]
                   ) -> AsyncIterator[ImageClient]:
    """An image service that may fetch from the test's server, and from nothing else."""
    port = source[0]
    async for client in _client(tmp_path, "image.import_allowed_hosts=127.0.0.1",
                                f"image.import_allowed_ports={port}",
                                "image.import_timeout=3"):
        yield client


# -- helpers -----------------------------------------------------------------------------

def import_body(url: str, *, disk_format: str = "qcow2", **properties: Any) -> dict[str, Any]:
    return {"type": "import", "input": {
        "import_from": url, "import_from_format": disk_format,
        "image_properties": {"name": "imported", "disk_format": disk_format,
                             "container_format": "bare", **properties}}}


async def create_task(image: ImageClient, body: Any, token: str | None = None,
                      expect: int = 201) -> dict[str, Any]:
    r = await image.call("POST", "/v2/tasks", token=token, json=body, expect=expect)
    return dict(r.json())


async def show_task(image: ImageClient, task_id: str, token: str | None = None,
                    expect: int = 200) -> dict[str, Any]:
    r = await image.call("GET", f"/v2/tasks/{task_id}", token=token, expect=expect)
    return dict(r.json())


async def finished(image: ImageClient, task_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = await show_task(image, task_id)
        if task["status"] in ("success", "failure"):
            return task
        assert time.monotonic() < deadline, f"task still {task['status']}"
        await asyncio.sleep(0.05)


async def image_count(image: ImageClient) -> int:
    async with image.app.svc.read() as db:
        return len(list(await db.scalars(select(Image.id))))


def allow_members(image: ImageClient) -> None:
    """An operator's policy that opens the tasks API to members."""
    image.app.svc.policy = Policy.load({**DEFAULT_RULES, "tasks_api_access": "role:member"},
                                       None)


# -- the import task ---------------------------------------------------------------------

async def test_import_fills_a_new_image(importer: ImageClient, source: Any,
                                        qcow2: bytes) -> None:
    port, handler = source
    handler.routes["/disk.qcow2"] = (200, {}, qcow2)
    url = f"http://127.0.0.1:{port}/disk.qcow2"
    r = await importer.call("POST", "/v2/tasks", json=import_body(url, visibility="public",
                                                                  os_distro="cirros"),
                            expect=201)
    created = r.json()
    assert r.headers["location"] == f"/v2/tasks/{created['id']}"
    assert set(created) == TASK_KEYS
    assert (created["type"], created["status"], created["result"], created["message"]) == (
        "import", "pending", None, "")
    assert created["input"]["import_from"] == url

    task = await finished(importer, created["id"])
    assert task["status"] == "success", task["message"]
    assert task["expires_at"].endswith("Z") and task["image_id"] == task["result"]["image_id"]
    assert handler.seen == [("/disk.qcow2", f"127.0.0.1:{port}")]
    r = await importer.call("GET", f"/v2/images/{task['result']['image_id']}", expect=200)
    shown = r.json()
    assert (shown["status"], shown["disk_format"], shown["size"], shown["visibility"],
            shown["os_distro"], shown["name"]) == ("active", "qcow2", len(qcow2), "public",
                                                   "cirros", "imported")
    assert shown["owner"] == task["owner"]
    r = await importer.call("GET", f"/v2/images/{shown['id']}/file", expect=200)
    assert r.content == qcow2


async def test_redirects_within_the_allowed_hosts_are_followed(
        importer: ImageClient, source: Any, qcow2: bytes) -> None:
    port, handler = source
    handler.routes["/old"] = (302, {"Location": "/new.qcow2"}, b"")
    handler.routes["/new.qcow2"] = (200, {}, qcow2)
    task = await finished(importer, (await create_task(
        importer, import_body(f"http://127.0.0.1:{port}/old")))["id"])
    assert task["status"] == "success", task["message"]
    assert [path for path, _ in handler.seen] == ["/old", "/new.qcow2"]


@pytest.mark.parametrize(("location", "reason"), [
    ("http://10.20.30.40/disk.qcow2", "host '10.20.30.40' is not allowed"),
    ("http://evil.example/disk.qcow2", "host 'evil.example' is not allowed"),
    ("file:///etc/passwd", "scheme 'file' is not allowed"),
])
async def test_a_redirect_elsewhere_fails_the_task(
        importer: ImageClient, source: Any, location: str, reason: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    port, handler = source
    real_resolve = import_source._resolve

    async def resolve(host: str, port_: int) -> list[Any]:
        assert host == "127.0.0.1", f"{host} was resolved"
        return await real_resolve(host, port_)

    monkeypatch.setattr(import_source, "_resolve", resolve)
    handler.routes["/go"] = (301, {"Location": location}, b"")
    task = await finished(importer, (await create_task(
        importer, import_body(f"http://127.0.0.1:{port}/go")))["id"])
    assert task["status"] == "failure" and reason in task["message"]
    assert task["result"] is None
    assert await image_count(importer) == 0


async def test_redirect_loops_end(importer: ImageClient, source: Any) -> None:
    port, handler = source
    handler.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    task = await finished(importer, (await create_task(
        importer, import_body(f"http://127.0.0.1:{port}/loop")))["id"])
    assert task["status"] == "failure" and "redirected more than 5" in task["message"]
    assert len(handler.seen) == 6


async def test_an_unlisted_host_is_refused_unresolved(
        image: ImageClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tempest's test_task_create_fake_image_location: by default no host is allowed."""
    async def resolve(host: str, port: int) -> list[Any]:
        raise AssertionError(f"{host} was resolved")

    monkeypatch.setattr(import_source, "_resolve", resolve)
    task = await finished(image, (await create_task(image, import_body(FAKE_URL)))["id"])
    assert task["status"] == "failure"
    assert task["message"] == (
        f"The URI {FAKE_URL!r} does not pass import filtering: host "
        f"'tempest-dummy-img-file-1234.qcow2' is not allowed (image.import_allowed_hosts "
        f"lists the hosts an import may fetch from).")
    assert "image_id" not in task and await image_count(image) == 0


async def test_an_allowed_name_that_resolves_to_an_unlisted_address_is_refused(
        tmp_path: Path, source: Any, qcow2: bytes) -> None:
    port, handler = source
    handler.routes["/disk.qcow2"] = (200, {}, qcow2)
    async for image in _client(tmp_path, "image.import_allowed_hosts=localhost",
                               f"image.import_allowed_ports={port}"):
        task = await finished(image, (await create_task(
            image, import_body(f"http://localhost:{port}/disk.qcow2")))["id"])
        assert task["status"] == "failure"
        assert "Host 'localhost' resolves to" in task["message"]
        assert "list the address in image.import_allowed_hosts" in task["message"]
        assert handler.seen == []


async def test_an_allowed_network_admits_its_addresses(tmp_path: Path, source: Any,
                                                       qcow2: bytes) -> None:
    port, handler = source
    handler.routes["/disk.qcow2"] = (200, {}, qcow2)
    async for image in _client(tmp_path, "image.import_allowed_hosts=localhost,127.0.0.0/8",
                               f"image.import_allowed_ports={port}"):
        task = await finished(image, (await create_task(
            image, import_body(f"http://localhost:{port}/disk.qcow2")))["id"])
        assert task["status"] == "success", task["message"]
        assert handler.seen == [("/disk.qcow2", f"localhost:{port}")]


async def test_a_port_not_allowed_is_refused(tmp_path: Path, source: Any) -> None:
    port, handler = source
    async for image in _client(tmp_path, "image.import_allowed_hosts=127.0.0.1"):
        task = await finished(image, (await create_task(
            image, import_body(f"http://127.0.0.1:{port}/disk.qcow2")))["id"])
        assert task["status"] == "failure"
        assert f"port {port} is not allowed" in task["message"]
        assert handler.seen == []


async def test_a_missing_source_fails_the_task(importer: ImageClient, source: Any) -> None:
    port, _ = source
    task = await finished(importer, (await create_task(
        importer, import_body(f"http://127.0.0.1:{port}/missing.qcow2")))["id"])
    assert task["status"] == "failure" and "answered 404 Not Found" in task["message"]
    assert await image_count(importer) == 0


async def test_data_not_of_the_declared_format_fails_the_task(
        importer: ImageClient, source: Any) -> None:
    port, handler = source
    handler.routes["/fake.qcow2"] = (200, {}, b"not a qcow2 at all" * 100)
    task = await finished(importer, (await create_task(
        importer, import_body(f"http://127.0.0.1:{port}/fake.qcow2", protected=True)))["id"])
    assert task["status"] == "failure" and "qcow2" in task["message"]
    assert await image_count(importer) == 0
    assert list(importer.app.svc.store_dir.iterdir()) == []


async def test_a_source_that_never_answers_fails_the_task(importer: ImageClient,
                                                          source: Any) -> None:
    port, handler = source
    handler.routes["/stall"] = lambda: time.sleep(5)
    task = await finished(importer, (await create_task(
        importer, import_body(f"http://127.0.0.1:{port}/stall")))["id"])
    assert task["status"] == "failure"
    assert task["message"] == "The import did not finish within 3 seconds."


async def test_an_unreachable_source_fails_the_task(tmp_path: Path) -> None:
    async for image in _client(tmp_path, "image.import_allowed_hosts=127.0.0.1",
                               "image.import_allowed_ports=9"):
        task = await finished(image, (await create_task(
            image, import_body("http://127.0.0.1:9/disk.qcow2")))["id"])
        assert task["status"] == "failure" and "Could not fetch" in task["message"]


async def test_tasks_left_running_fail_at_start(image: ImageClient) -> None:
    task = await create_task(image, import_body(FAKE_URL))
    await finished(image, task["id"])
    async with image.app.svc.write() as db:
        await db.execute(update(ImageTask).values(status="processing", expires_at=None))
    await image.app.svc.start()
    shown = await show_task(image, task["id"])
    assert shown["status"] == "failure"
    assert shown["message"] == "The image service stopped before the task finished."


# -- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    ([], "Body expected in request."),
    ({"input": {}}, "Task 'type' is required"),
    ({"type": "import"}, "Task 'input' is required"),
    ({"type": "export", "input": {}}, "export"),
    ({"type": "import", "input": "x"}, "object"),
    ({"type": "import", "input": {}, "color": "red"}, "Additional properties"),
    ({"type": "import", "input": {"import_from": FAKE_URL, "import_from_format": "qcow2"}},
     "image_properties"),
    (import_body(FAKE_URL, disk_format="floppy"), "floppy"),
    ({"type": "import", "input": {"import_from": FAKE_URL, "import_from_format": "qcow2",
                                  "image_properties": {"disk_format": "qcow2"}}},
     "container_format"),
    (import_body("file:///etc/passwd"), "File based imports are not allowed"),
    (import_body("ftp://example.org/x"), "list of supported uri"),
    (import_body("example.org/x"), "list of supported uri"),
    ({"type": "import", "input": {**import_body(FAKE_URL)["input"],
                                  "import_from_format": "raw"}},
     "Converting images is not supported"),
    (import_body(FAKE_URL, status="active"), "read-only"),
    (import_body(FAKE_URL, id="8a4d6b7e-9e4c-4a51-8d6b-7b3f2f0c6a11"), "may not name"),
    (import_body(FAKE_URL, visibility="everyone"), "everyone"),
])
async def test_bad_input_is_400(image: ImageClient, body: Any, message: str) -> None:
    r = await image.call("POST", "/v2/tasks", json=body, expect=400)
    error = r.json()
    assert set(error) == {"code", "title", "message"}
    assert message in error["message"]
    assert await image_count(image) == 0
    r = await image.call("GET", "/v2/tasks", expect=200)
    assert r.json()["tasks"] == []


# -- listing, showing, policy ------------------------------------------------------------

async def test_list_filters_sorts_and_pages(image: ImageClient) -> None:
    made = [(await create_task(image, import_body(FAKE_URL)))["id"] for _ in range(3)]
    for task_id in made:
        await finished(image, task_id)
    r = await image.call("GET", "/v2/tasks", expect=200)
    body = r.json()
    assert (body["first"], body["schema"]) == ("/v2/tasks", "/v2/schemas/tasks")
    assert [t["id"] for t in body["tasks"]] == made[::-1] and "next" not in body
    assert all(set(t) == STUB_KEYS | {"expires_at"} for t in body["tasks"])

    page = (await image.call("GET", "/v2/tasks", params={"limit": 2, "sort_dir": "asc"},
                             expect=200)).json()
    assert [t["id"] for t in page["tasks"]] == made[:2]
    assert page["first"] == "/v2/tasks?limit=2&sort_dir=asc"
    assert page["next"] == f"/v2/tasks?limit=2&sort_dir=asc&marker={made[1]}"
    rest = (await image.call("GET", page["next"], expect=200)).json()
    assert [t["id"] for t in rest["tasks"]] == made[2:] and "next" not in rest

    for query, count in [({"status": "failure"}, 3), ({"status": "success"}, 0),
                         ({"type": "import"}, 3), ({"sort_key": "status"}, 3),
                         ({"limit": 5000}, 3)]:
        r = await image.call("GET", "/v2/tasks", params=query, expect=200)
        assert len(r.json()["tasks"]) == count, query


@pytest.mark.parametrize(("query", "message"), [
    ({"status": "done"}, "Invalid status value: done"),
    ({"type": "export"}, "Invalid type value: export"),
    ({"sort_dir": "up"}, "Invalid sort direction: up"),
    ({"sort_key": "input"}, "Invalid sort key: input"),
    ({"marker": "nope"}, "Invalid marker format"),
    ({"marker": "8a4d6b7e-9e4c-4a51-8d6b-7b3f2f0c6a11"}, "not found"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "many"}, "limit"),
])
async def test_bad_list_queries_are_400(image: ImageClient, query: dict[str, str],
                                        message: str) -> None:
    r = await image.call("GET", "/v2/tasks", params=query, expect=400)
    assert message in r.json()["message"]


async def test_tasks_are_the_admins_by_default(image: ImageClient) -> None:
    task = await create_task(image, import_body(FAKE_URL))
    for role in ("member", "reader"):
        _, token = await image.project_user_token(role)
        await create_task(image, import_body(FAKE_URL), token=token, expect=403)
        await image.call("GET", "/v2/tasks", token=token, expect=403)
        await show_task(image, task["id"], token=token, expect=403)
        await image.call("GET", "/v2/schemas/task", token=token, expect=200)
    # An admin of another project sees every task, as in Glance.
    _, admin = await image.project_user_token("admin")
    assert (await show_task(image, task["id"], token=admin))["id"] == task["id"]


async def test_another_projects_task_is_404(image: ImageClient) -> None:
    allow_members(image)
    _, owner = await image.project_user_token()
    _, other = await image.project_user_token()
    task = await finished(image, (await create_task(image, import_body(FAKE_URL),
                                                    token=owner))["id"])
    await show_task(image, task["id"], token=owner)
    r = await image.call("GET", f"/v2/tasks/{task['id']}", token=other, expect=404)
    assert r.json()["message"] == f"Task with the given id {task['id']} not found"
    r = await image.call("GET", "/v2/tasks", token=other, expect=200)
    assert r.json()["tasks"] == []
    await image.call("GET", "/v2/tasks", token=other, params={"marker": task["id"]},
                     expect=400)
    await image.call("GET", "/v2/tasks/8a4d6b7e-9e4c-4a51-8d6b-7b3f2f0c6a11", expect=404)
    await image.call("DELETE", f"/v2/tasks/{task['id']}", expect=405)


async def test_expired_tasks_are_reaped(image: ImageClient) -> None:
    old, fresh = [(await create_task(image, import_body(FAKE_URL)))["id"] for _ in range(2)]
    for task_id in (old, fresh):
        await finished(image, task_id)
    shown = await show_task(image, fresh)
    expires = shown["expires_at"]
    assert expires > shown["updated_at"]    # 48 hours later, task_time_to_live's default
    async with image.app.svc.write() as db:
        await db.execute(update(ImageTask).where(ImageTask.id == old).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    await show_task(image, old, expect=404)
    r = await image.call("GET", "/v2/tasks", expect=200)
    assert [t["id"] for t in r.json()["tasks"]] == [fresh]
    async with image.app.svc.read() as db:
        assert await db.get(ImageTask, old) is None
    async with image.app.svc.write() as db:
        await db.execute(update(ImageTask).values(expires_at=utcnow() - timedelta(hours=1)))
        assert await task_rows.reap_expired(db) == 1


async def test_time_to_live_is_the_operators(tmp_path: Path) -> None:
    async for image in _client(tmp_path, "image.task_time_to_live=1"):
        task = await finished(image, (await create_task(image, import_body(FAKE_URL)))["id"])
        async with image.app.svc.read() as db:
            row = await db.get(ImageTask, task["id"])
            assert row is not None and row.expires_at is not None
            assert timedelta(minutes=59) < row.expires_at - row.updated_at <= timedelta(
                hours=1)


async def test_task_schemas(image: ImageClient) -> None:
    task = (await image.call("GET", "/v2/schemas/task", expect=200)).json()
    assert task["name"] == "task" and task["additionalProperties"] is False
    assert task["properties"]["status"]["enum"] == ["pending", "processing", "success",
                                                    "failure"]
    assert {"input", "result", "message", "expires_at", "owner"} <= set(task["properties"])
    listed = (await image.call("GET", "/v2/schemas/tasks", expect=200)).json()
    item = listed["properties"]["tasks"]["items"]
    assert listed["name"] == "tasks" and "input" not in item["properties"]
    assert {link["rel"] for link in listed["links"]} == {"first", "next", "describedby"}
