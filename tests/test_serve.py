"""``gencor serve``: the HTTP API (FastAPI's TestClient) and the page in a real headless Chromium."""

from __future__ import annotations

import argparse
import io
import re
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import shapes_image

fastapi_testclient = pytest.importorskip("fastapi.testclient", reason="gencor serve needs FastAPI (the 'serve' extra)")
TestClient = fastapi_testclient.TestClient

from gencor.serve import app as serve_app  # noqa: E402  (needs FastAPI, checked above)
from gencor.serve.app import JOB_ID, Job, create_app  # noqa: E402

#: Longest wait for one small job (seconds).
JOB_TIMEOUT_S = 20.0
#: Longest wait for a real deblur of the crop (about 10 s alone; 30 to 50 s measured on a busy machine).
REAL_DEBLUR_S = 120.0
#: Side of the photos of the fast tests.
SMALL = 64
#: Side of the crop of the bundled photo that the deblur tests use.
DEBLUR_SIDE = 96
BLURRED = Path(str(files("gencor") / "data" / "astronaut_blurred.jpg"))


def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def color_png(n: int = SMALL) -> bytes:
    gray = shapes_image(n)
    return png_bytes(np.dstack([gray, gray[::-1], gray[:, ::-1]]))


def blurred_crop(n: int = DEBLUR_SIDE) -> bytes:
    """A real camera-shake photo, cropped so that a deblur takes a few seconds."""
    with Image.open(BLURRED) as im:
        w, h = im.size
        left, top = (w - n) // 2, (h - n) // 2
        buf = io.BytesIO()
        im.crop((left, top, left + n, top + n)).save(buf, format="PNG")
    return buf.getvalue()


def huge_header_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A 100-byte PNG whose header declares ten gigapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


@pytest.fixture
def client() -> Iterator[Any]:
    with TestClient(create_app(workers=1)) as c:
        yield c


def upload(client: Any, data: bytes, **params: str) -> Any:
    return client.post("/api/jobs", params=params, content=data, headers={"Content-Type": "application/octet-stream"})


def wait(client: Any, job_id: str, timeout: float = JOB_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] in ("done", "error", "cancelled"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def assert_one_line_error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    assert "gencor-serve-" not in message  # no server path
    return message


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# -- the page and its files ------------------------------------------------------------------------


def test_page_and_static_files_are_all_local(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    refs = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert refs and all(ref.startswith("/static/") or ref == "#" for ref in refs), refs
    for ref in refs:
        if ref != "#":
            assert client.get(ref).status_code == 200
    for name in ("app.js", "style.css"):
        text = client.get(f"/static/{name}").text
        assert "http://" not in text and "https://" not in text and "@import" not in text
    for path in ("/docs", "/redoc", "/openapi.json"):  # FastAPI's docs load scripts from a CDN
        assert client.get(path).status_code == 404
    config = client.get("/api/config").json()
    assert config["max_upload_bytes"] == serve_app.MAX_UPLOAD_BYTES and config["workers"] == 1


# -- jobs ------------------------------------------------------------------------------------------


def test_smooth_job_result_and_download(client: Any) -> None:
    response = upload(client, color_png(), task="smooth", lam="0.03", name="holiday photo.PNG")
    assert response.status_code == 202, response.text
    job = response.json()
    assert JOB_ID.fullmatch(job["id"]) and job["state"] in ("queued", "running")
    assert (job["width"], job["height"]) == (SMALL, SMALL) and job["options"] == {"lam": 0.03}
    status = wait(client, job["id"])
    assert status["state"] == "done", status
    assert status["report"] is None and set(status["files"]) == {"input", "result"}
    before = decode(client.get(status["files"]["input"]).content)
    after = client.get(status["files"]["result"])
    assert after.headers["content-type"] == "image/png"
    assert decode(after.content).size == before.size == (SMALL, SMALL)
    download = client.get(status["download"])
    assert download.status_code == 200
    assert 'filename="holiday_photo_smooth.png"' in download.headers["content-disposition"]
    assert decode(download.content).mode == "RGB" and decode(download.content).size == (SMALL, SMALL)


def test_sketch_job_and_its_color_option(client: Any) -> None:
    status = wait(client, upload(client, color_png(), task="sketch").json()["id"])
    assert status["state"] == "done", status
    assert decode(client.get(status["download"]).content).mode == "L"  # a pencil drawing is gray
    status = wait(client, upload(client, color_png(), task="sketch", color="true").json()["id"])
    assert decode(client.get(status["download"]).content).mode == "RGB"
    message = assert_one_line_error(upload(client, png_bytes(shapes_image(SMALL)), task="sketch", color="true"))
    assert "color photo" in message


def test_deblur_job_reports_confidence_kernel_and_psi(client: Any) -> None:
    seen: list[dict[str, Any]] = []
    job = upload(client, blurred_crop(), task="deblur", kernel_size="auto", force="true").json()
    deadline = time.monotonic() + REAL_DEBLUR_S
    while (status := client.get(f"/api/jobs/{job['id']}").json())["state"] not in ("done", "error"):
        seen.append(status["progress"])
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status["state"] == "done", status
    assert any(p["total"] > 0 and 0 < p["done"] <= p["total"] for p in seen), "no progress was reported"
    report = status["report"]
    assert 0.0 <= report["confidence"] <= 1.0
    assert report["decision"] in ("deblurred", "conservative", "tentative", "unchanged")
    assert isinstance(report["warnings"], list) and report["kernel_size"] % 2 == 1
    assert set(status["files"]) == {"input", "result", "kernel", "psi"}
    kernel = decode(client.get(status["files"]["kernel"]).content)
    assert kernel.size == (report["kernel_size"], report["kernel_size"])
    assert decode(client.get(status["files"]["psi"]).content).width > 100
    assert decode(client.get(status["download"]).content).size == (DEBLUR_SIDE, DEBLUR_SIDE)


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "params", "expect"),
    [
        pytest.param(b"", {}, "no file", id="empty"),
        pytest.param(b"this is not a photo at all", {}, "not an image", id="text"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, {}, "cannot read", id="broken-png"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 40, {}, "not an image", id="broken-jpeg"),
        pytest.param(None, {"task": "inpaint"}, "unknown task", id="task"),
        pytest.param(None, {"kernel_size": "14"}, "odd integer", id="even-kernel"),
        pytest.param(None, {"kernel_size": "../../etc"}, "odd integer", id="path-kernel"),
        pytest.param(None, {"kernel_size": "999"}, "odd integer", id="huge-kernel"),
        pytest.param(None, {"task": "smooth", "lam": "nan"}, "lam", id="lam-nan"),
        pytest.param(None, {"task": "smooth", "lam": "-1"}, "lam", id="lam-negative"),
        pytest.param(None, {"task": "smooth", "lam": "abc"}, "lam", id="lam-text"),
        pytest.param(None, {"force": "maybe"}, "force", id="force"),
        pytest.param(None, {"kernel_size": "\u00b3"}, "odd integer", id="superscript-digit"),
        pytest.param("tiny", {"task": "smooth"}, "at least", id="tiny-photo"),
    ],
)
def test_bad_uploads_get_a_one_line_400(client: Any, data: bytes | str | None, params: dict[str, str], expect: str) -> None:
    body = color_png() if data is None else png_bytes(np.zeros((4, 4))) if data == "tiny" else data
    message = assert_one_line_error(upload(client, body, **params))
    assert expect in message, message
    assert list(client.app.state.queue.root.iterdir()) == []  # the refused upload left nothing behind


def test_too_many_pixels_is_refused_from_the_header() -> None:
    with TestClient(create_app(workers=1, max_pixels=SMALL * SMALL - 1)) as client:
        message = assert_one_line_error(upload(client, color_png()))
        assert "above the limit" in message
        start = time.perf_counter()
        assert_one_line_error(upload(client, huge_header_png()))
        assert time.perf_counter() - start < 2.0  # refused from the header, not decoded
        assert upload(client, png_bytes(shapes_image(32)), task="smooth").status_code == 202


def test_upload_size_is_limited_while_it_streams(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data = color_png()
    monkeypatch.setattr(serve_app, "MAX_UPLOAD_BYTES", len(data) - 1)
    assert_one_line_error(upload(client, data), status=413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        yield data[:100]
        yield data[100:]

    assert_one_line_error(client.post("/api/jobs", content=chunks()), status=413)
    assert list(client.app.state.queue.root.iterdir()) == []


def test_cross_site_uploads_and_foreign_hosts_are_refused() -> None:
    app = create_app(workers=1, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert_one_line_error(client.post("/api/jobs", content=color_png(), headers={"Origin": "http://evil.example"}), 403)
        assert client.get("/api/config", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding
        same = client.post("/api/jobs", params={"task": "smooth"}, content=color_png(), headers={"Origin": "http://127.0.0.1:8000"})
        assert same.status_code == 202


# -- paths, queue and clean-up ---------------------------------------------------------------------


def test_job_ids_and_file_names_cannot_reach_other_paths(client: Any) -> None:
    status = wait(client, upload(client, color_png(), task="smooth", name="../../../etc/passwd").json()["id"])
    job_id = status["id"]
    assert status["download_name"] == "passwd_smooth.png"
    root: Path = client.app.state.queue.root
    assert sorted(p.name for p in root.iterdir()) == [job_id]
    assert sorted(p.name for p in (root / job_id).iterdir()) == ["input.png", "result.png", "upload.png"]
    probes = [
        "/api/jobs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/jobs/%2e%2e/files/result",
        f"/api/jobs/{job_id}/files/..%2Fupload.png",
        f"/api/jobs/{job_id}/files/upload",
        f"/api/jobs/{job_id}/files/result.png",
        f"/api/jobs/{job_id}/files/kernel",  # not made by a smooth
        f"/api/jobs/{job_id[:-1]}{'B' if job_id.endswith('A') else 'A'}/download",  # one character off
        f"/api/jobs/{job_id}%00/download",
        f"/api/jobs/{job_id}/../../static/app.js/download",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
    ]
    for url in probes:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "error" in response.json(), url


def test_queue_positions_and_cancel(client: Any) -> None:
    """One worker: the first job runs (held by a test runner), the others wait in order."""
    queue = client.app.state.queue
    release = threading.Event()

    def held(job: Job, max_pixels: int, progress: Any) -> None:
        while not release.wait(0.01):
            progress(0, 0, "held by the test")  # raises once the job is cancelled

    queue.runner = held
    ids = [upload(client, color_png(), task="smooth").json()["id"] for _ in range(3)]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while client.get(f"/api/jobs/{ids[0]}").json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    positions = [client.get(f"/api/jobs/{i}").json()["position"] for i in ids]
    assert positions == [0, 1, 2]
    assert client.delete(f"/api/jobs/{ids[1]}").json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{ids[1]}").status_code == 404
    assert client.get(f"/api/jobs/{ids[2]}").json()["position"] == 1
    assert client.delete(f"/api/jobs/{ids[0]}").json()["state"] == "cancelling"
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while client.get(f"/api/jobs/{ids[0]}").status_code != 404:  # a cancelled job goes with its files
        assert time.monotonic() < deadline
        time.sleep(0.01)
    release.set()
    assert wait(client, ids[2])["state"] == "done"


def test_finished_jobs_expire_and_shutdown_removes_everything() -> None:
    app = create_app(workers=1, ttl=60.0)
    with TestClient(app) as client:
        queue = app.state.queue
        root: Path = queue.root
        status = wait(client, upload(client, color_png(), task="sketch").json()["id"])
        assert queue.sweep() == 0  # still fresh
        assert queue.sweep(now=time.monotonic() + 61.0) == 1
        assert client.get(f"/api/jobs/{status['id']}").status_code == 404
        assert list(root.iterdir()) == []
        upload(client, color_png(), task="smooth")  # left waiting or running at shutdown
        assert root.is_dir()
    assert not root.exists()


def test_cli_parser_and_a_busy_port() -> None:
    from gencor.cli import serve as cli_serve
    from gencor.serve.server import is_loopback, listen

    parser = argparse.ArgumentParser()
    cli_serve.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.jobs, args.max_megapixels) == ("127.0.0.1", 8000, None, cli_serve.MAX_MEGAPIXELS)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--port", "70000"])
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    sock = listen("127.0.0.1", 0)
    try:
        with pytest.raises(ValueError, match="cannot listen"):
            listen("127.0.0.1", sock.getsockname()[1])
    finally:
        sock.close()


# -- the page in a real browser --------------------------------------------------------------------


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def until(page: Any, expression: str, timeout: float = JOB_TIMEOUT_S) -> None:
    """Wait until ``expression`` is true in the page, asked from here: Playwright's own
    ``wait_for_function`` evaluates strings, which the page's CSP refuses once it has to poll."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true in {timeout} s: {expression}"
        time.sleep(0.05)


def test_page_in_headless_chromium(tmp_path: Path) -> None:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium executable found (apt-get install chromium); the browser test needs one")
    from playwright.sync_api import sync_playwright

    from gencor.serve.server import in_thread

    photo = tmp_path / "blurred crop.png"
    photo.write_bytes(blurred_crop(DEBLUR_SIDE))
    not_a_photo = tmp_path / "notes.png"
    not_a_photo.write_bytes(b"not a photo")
    with in_thread(create_app(workers=1)) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(accept_downloads=True)
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.wait_for_selector("body[data-state=ready]")

            # a bad upload: the server's one-line message shows in the page
            page.set_input_files("#file", str(not_a_photo))
            page.click("#submit")
            page.wait_for_selector("#error:not([hidden])")
            assert "not an image" in page.inner_text("#error")

            # a deblur of a real blurred photo, end to end; then, if it was withheld, deblur anyway
            page.set_input_files("#file", str(photo))
            page.click("#submit")
            page.wait_for_selector("body[data-state=done]", timeout=REAL_DEBLUR_S * 1000)
            until(
                page,
                "['before', 'after', 'kernel', 'psi'].every(id => document.getElementById(id).complete && document.getElementById(id).naturalWidth > 0)",
            )
            assert page.is_visible("#result") and page.is_hidden("#error")
            assert page.evaluate("document.getElementById('after').naturalWidth") == DEBLUR_SIDE
            assert re.fullmatch(r"[01]\.\d\d", page.inner_text("#confidence"))
            decision = page.get_attribute("#decision", "data-decision")
            title = {"deblurred": "Deblurred", "conservative": "Deblurred", "tentative": "Tentative", "unchanged": "Returned unchanged"}[decision or ""]
            assert page.inner_text("#result-title").startswith(title)
            assert page.is_visible("#deblur-anyway") == (decision in ("tentative", "unchanged"))
            if page.is_visible("#deblur-anyway"):
                page.click("#deblur-anyway")
                page.wait_for_selector("#forced:not([hidden])", timeout=REAL_DEBLUR_S * 1000)
                until(page, "document.getElementById('forced').complete && document.getElementById('forced').naturalWidth > 0")
                assert page.inner_text("#forced-caption").startswith("Deblurred")
                assert page.is_visible("#returned") and page.is_visible("#forced")
            page.locator("#slider").fill("25")
            assert page.evaluate("getComputedStyle(document.getElementById('compare')).getPropertyValue('--split').trim()") == "25%"

            with page.expect_download() as info:
                page.click("#download")
            download = info.value
            assert download.suggested_filename == "blurred_crop_deblur.png"
            saved = tmp_path / "download.png"
            download.save_as(saved)
            with Image.open(saved) as im:
                assert im.size == (DEBLUR_SIDE, DEBLUR_SIDE)
            assert all(r.startswith(url) for r in requests), [r for r in requests if not r.startswith(url)]
            assert errors == []
        finally:
            browser.close()


@pytest.mark.parametrize("task", ["smooth", "sketch"])
def test_smooth_and_sketch_report_progress_and_stop_when_cancelled(client: Any, task: str) -> None:
    """The real runner: a running smooth or sketch reports its steps and stops at the next one
    once cancelled (before, both ran to the end whatever the page asked)."""
    seen: list[tuple[int, int, str]] = []
    queue = client.app.state.queue
    real = queue.runner

    def watched(job: Job, max_pixels: int, progress: Any) -> Any:
        def spy(done: int, total: int, phase: str) -> None:
            seen.append((done, total, phase))
            if done >= 3:  # hold the job after a few steps, until the page cancels it
                while not job.cancel.wait(0.01):
                    pass
            progress(done, total, phase)

        return real(job, max_pixels, spy)

    queue.runner = watched
    job_id = upload(client, color_png(), task=task).json()["id"]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while len(seen) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert client.delete(f"/api/jobs/{job_id}").json()["state"] == "cancelling"
    while client.get(f"/api/jobs/{job_id}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    steps = [s for s in seen if s[1] > 0]
    assert steps and steps[0][1] > 3 and all(d <= t for d, t, _ in steps)  # a real count of steps
    assert max(d for d, _, _ in steps) < steps[0][1]  # stopped before the end


def test_smooth_and_sketch_count_every_step_to_the_end() -> None:
    from gencor import sketch, smooth

    photo = np.kron(np.random.default_rng(0).uniform(size=(8, 8)), np.ones((8, 8)))
    for run in (lambda cb: smooth(photo, progress=cb), lambda cb: sketch(photo, progress=cb)):
        calls: list[tuple[int, int]] = []
        run(lambda d, t, _, calls=calls: calls.append((d, t)))
        done = [d for d, _ in calls]
        assert done == sorted(done) and calls[-1][0] == calls[-1][1] and len({t for _, t in calls}) == 1


def test_uploads_are_checked_against_the_memory_of_one_job_from_their_header() -> None:
    """A tiny file that decodes to a huge photo (a zlib bomb under the pixel limit) is refused for
    the tasks that would not fit in one job's memory, before any pixel is decoded."""
    from gencor.serve.app import job_memory

    side = 2000
    bomb = huge_header_png(side, side)  # a header and no pixel data: decoding would fail, not the check
    budget = job_memory("deblur", side * side) + 1  # deblur fits, smooth and sketch do not
    with TestClient(create_app(workers=1, job_bytes=budget)) as client:
        for task in ("smooth", "sketch"):
            message = assert_one_line_error(upload(client, bomb, task=task), status=413)
            assert "GiB" in message and "megapixels" in message, message
        assert list(client.app.state.queue.root.iterdir()) == []
        assert upload(client, png_bytes(shapes_image(32)), task="smooth").status_code == 202


def test_head_of_the_page_and_a_stalled_upload(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.head("/").status_code == 200
    monkeypatch.setattr(serve_app, "UPLOAD_IDLE_S", 0.2)

    def stalled() -> Iterator[bytes]:
        yield color_png()[:100]
        time.sleep(1.0)  # the client stops sending
        yield b"rest"

    assert_one_line_error(client.post("/api/jobs", content=stalled()), status=408)
    assert list(client.app.state.queue.root.iterdir()) == []


def test_a_client_that_never_finishes_its_request_head_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    from urllib.parse import urlsplit
    from urllib.request import urlopen

    from gencor.serve import server

    monkeypatch.setattr(server, "HEAD_TIMEOUT_S", 0.5)
    with server.in_thread(create_app(workers=1)) as url:
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
            slow.settimeout(10)
            start = time.monotonic()
            assert slow.recv(100) == b""  # closed by the server
            assert time.monotonic() - start < 5
        assert urlopen(url, timeout=10).status == 200  # whole requests are served as before


# -- parameters and thresholds (issue #29) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "params", "expect"),
    [
        pytest.param("post", "/api/jobs", {"blur": "local", "bogus": "1"}, "'blur', 'bogus'", id="two-unknown"),
        pytest.param("post", "/api/jobs", {"task": "smooth", "Lam": "0.1"}, "'Lam'", id="case"),
        pytest.param("post", "/api/jobs", {"task": "smooth", "force": "true"}, "force", id="deblur-option-on-smooth"),
        pytest.param("post", "/api/jobs", {"lam": "0.1"}, "lam", id="smooth-option-on-deblur"),
        pytest.param("post", "/api/jobs", {"task": "deblur", "color": "false"}, "color", id="sketch-option-on-deblur"),
        pytest.param("post", "/api/jobs", [("task", "smooth"), ("task", "deblur")], "'task'", id="repeated"),
        pytest.param("get", "/api/config", {"x": "1"}, "'x'", id="config"),
    ],
)
def test_unknown_or_foreign_parameters_are_refused(client: Any, method: str, url: str, params: Any, expect: str) -> None:
    """Before, ``?blur=local&bogus=1`` was accepted (202) and ignored, as was an option of another task."""
    if method == "post":
        response = client.post(url, params=params, content=color_png(), headers={"Content-Type": "application/octet-stream"})
    else:
        response = client.get(url, params=params)
    message = assert_one_line_error(response)
    assert expect in message, message
    assert list(client.app.state.queue.root.iterdir()) == []


def test_unknown_parameters_of_a_job_and_its_files_are_refused(client: Any) -> None:
    status = wait(client, upload(client, color_png(), task="smooth").json()["id"])
    base = f"/api/jobs/{status['id']}"
    for url in (base, f"{base}/files/input", f"{base}/download"):
        assert client.get(url).status_code == 200
        assert "'v'" in assert_one_line_error(client.get(url, params={"v": "2"}))
    assert "'now'" in assert_one_line_error(client.delete(base, params={"now": "1"}))
    assert client.get(base).status_code == 200  # the refused DELETE did not cancel it


def test_config_serves_the_thresholds_of_the_pipeline(client: Any) -> None:
    """The page's confidence bands come from the server (they were 0.35 and 0.6 in the page, where
    the pipeline trusts from 0.7 and answers, gently, from 0.5 on clean photos)."""
    from gencor.assess import GRADED_MAX_NOISE, GRADED_THRESHOLD, TRUST_THRESHOLD

    config = client.get("/api/config").json()
    assert config["trust_threshold"] == TRUST_THRESHOLD and config["graded_threshold"] == GRADED_THRESHOLD
    assert config["graded_max_noise"] == GRADED_MAX_NOISE
    page = client.get("/").text
    assert "0.35" not in page and '0.6"' not in page  # no band hard-coded in the page


# -- the decision of a deblur, and "deblur anyway" (issue #29) -------------------------------------

#: What the fake deblur answers, by the photo's width: decision, why withheld, confidence, noise,
#: warnings. At noise 0.001 the pipeline answers (gently) from 0.5; at 0.01 only from 0.7.
FAKE_DECISIONS: dict[int, tuple[str, str, float, float, list[str]]] = {
    64: ("deblurred", "", 0.86, 0.001, []),
    66: ("conservative", "", 0.78, 0.001, []),
    68: ("tentative", "", 0.62, 0.001, ["moderate confidence (0.62 < 0.7); deblurred gently with a stronger prior: compare with the input"]),
    70: ("unchanged", "confidence", 0.58, 0.01, ["no trustworthy kernel found (confidence 0.58 < 0.6); the photo is returned unchanged"]),
    72: ("unchanged", "cut", 0.97, 0.001, ["a kernel found is cut by the largest window tried; the photo is returned unchanged"]),
}


@pytest.fixture
def fake_deblur(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """gencor's deblur replaced at the server's task boundary (the page and the server run as they
    are): the photo's width picks the decision, a forced run deblurs; the list of each call's force."""
    from gencor.kernels.estimate import KernelEstimate, ScaleRecord
    from gencor.tasks import deblur as task

    calls: list[bool] = []

    def deblur(image: np.ndarray, *, force: bool = False, progress: Any = None, **_: Any) -> Any:
        calls.append(force)
        decision, withheld, confidence, sigma, warnings = FAKE_DECISIONS[image.shape[1]]
        if force:
            decision, withheld, warnings = "deblurred", "", [f"low confidence ({confidence:.2f}); deblurred anyway because of --force"]
        if progress is not None:
            progress(1, 2, "estimating the kernel")
        kernel = np.zeros((7, 7))
        kernel[3, 1:6] = 0.2
        history = [ScaleRecord(image.shape[:2], 7, kernel, psi=[np.array([1.0, 0.8, 0.7])])]
        report = task.DeblurReport(
            kernel_size=7, noise_sigma=sigma, confidence=confidence, decision=decision, seconds=0.1, withheld=withheld, warnings=warnings
        )
        out = image if decision == "unchanged" else 1.0 - image  # a result that differs from the input at a glance
        return task.DeblurResult(image=out, kernel=kernel, estimate=KernelEstimate(kernel, history), report=report)

    monkeypatch.setattr(task, "deblur", deblur)
    return calls


def test_the_report_says_why_and_carries_the_bands_of_the_decision(client: Any, fake_deblur: list[bool]) -> None:
    from gencor.assess import GRADED_THRESHOLD, NOISY_GRADED_THRESHOLD, NOISY_TRUST_THRESHOLD, TRUST_THRESHOLD

    for width, (decision, withheld, confidence, _, warnings) in FAKE_DECISIONS.items():
        report = wait(client, upload(client, color_png(width)).json()["id"])["report"]
        assert (report["decision"], report["withheld"], report["confidence"], report["warnings"]) == (decision, withheld, confidence, warnings)
        noisy = width == 70  # the noisy photo has its own bands
        bands = {"trusted": NOISY_TRUST_THRESHOLD, "answered": NOISY_GRADED_THRESHOLD} if noisy else {"trusted": TRUST_THRESHOLD, "answered": GRADED_THRESHOLD}
        assert report["thresholds"] == bands


def test_deblur_anyway_reruns_the_kept_upload_with_force(client: Any, fake_deblur: list[bool]) -> None:
    status = wait(client, upload(client, color_png(70), name="dark room.png").json()["id"])
    assert status["report"]["decision"] == "unchanged"
    url = f"/api/jobs/{status['id']}/rerun"
    first = client.post(url, params={"force": "true"})
    assert first.status_code == 202, first.text
    again = client.post(url, params={"force": "1"})  # a double click: the same job, not a second one
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    forced = wait(client, first.json()["id"])
    assert forced["state"] == "done" and forced["options"] == {"kernel_size": "auto", "force": True}
    assert forced["report"]["decision"] == "deblurred" and "deblurred anyway" in forced["report"]["warnings"][0]
    assert forced["download_name"] == "dark_room_deblur.png" and (forced["width"], forced["height"]) == (70, 70)
    assert fake_deblur == [False, True]  # one forced run for the two clicks
    returned, result = (decode(client.get(s["files"]["result"]).content) for s in (status, forced))
    assert np.array_equal(np.asarray(returned), np.asarray(decode(client.get(status["files"]["input"]).content)))
    assert not np.array_equal(np.asarray(returned), np.asarray(result))  # both kept, and they differ
    assert client.post(url, params={"force": "true"}).json()["id"] == forced["id"]  # done: still the same
    assert "forced already" in assert_one_line_error(client.post(f"/api/jobs/{forced['id']}/rerun", params={"force": "true"}), 409)


@pytest.mark.parametrize(
    ("params", "status", "expect"),
    [
        pytest.param({}, 400, "force=true", id="no-force"),
        pytest.param({"force": "false"}, 400, "force=true", id="force-false"),
        pytest.param({"force": "maybe"}, 400, "true or false", id="force-maybe"),
        pytest.param({"force": "tru\u0435"}, 400, "true or false", id="force-cyrillic"),
        pytest.param({"force": "x" * 5000}, 400, "true or false", id="force-long"),
        pytest.param({"force": "true", "kernel_size": "9"}, 400, "'kernel_size'", id="other-option"),
        pytest.param([("force", "true"), ("force", "false")], 400, "more than once", id="repeated"),
    ],
)
def test_deblur_anyway_refuses_bad_force_values(client: Any, fake_deblur: list[bool], params: Any, status: int, expect: str) -> None:
    job = wait(client, upload(client, color_png(68)).json()["id"])
    message = assert_one_line_error(client.post(f"/api/jobs/{job['id']}/rerun", params=params), status)
    assert expect in message and len(message) < 300, message
    assert fake_deblur == [False] and len(list(client.app.state.queue.root.iterdir())) == 1


def test_deblur_anyway_of_jobs_it_cannot_change(client: Any, fake_deblur: list[bool]) -> None:
    queue = client.app.state.queue
    deblurred = wait(client, upload(client, color_png(64)).json()["id"])
    smoothed = wait(client, upload(client, color_png(), task="smooth").json()["id"])
    forced = wait(client, upload(client, color_png(70), force="true").json()["id"])
    for job, expect in ((deblurred, "deblurred already"), (smoothed, "only a deblur"), (forced, "forced already")):
        assert expect in assert_one_line_error(client.post(f"/api/jobs/{job['id']}/rerun", params={"force": "true"}), 409)
    for job_id in ("A" * 22, "../../etc/passwd", "A" * 5000):
        assert_one_line_error(client.post(f"/api/jobs/{job_id}/rerun", params={"force": "true"}), 404)
    assert_one_line_error(client.post(f"/api/jobs/{deblurred['id']}/rerun", params={"force": "true"}, headers={"Origin": "http://evil.example"}), 403)
    unchanged = wait(client, upload(client, color_png(72)).json()["id"])
    queue.max_waiting = 0  # a full queue: 503, and nothing left behind
    assert_one_line_error(client.post(f"/api/jobs/{unchanged['id']}/rerun", params={"force": "true"}), 503)
    queue.max_waiting = 8
    (queue.root / unchanged["id"] / "upload.png").unlink()  # its files went (expiry) while the job was still listed
    assert "upload the photo again" in assert_one_line_error(client.post(f"/api/jobs/{unchanged['id']}/rerun", params={"force": "true"}), 404)
    assert queue.sweep(now=time.monotonic() + queue.ttl + 1) == 4  # expired: the job is gone
    assert "expired" in assert_one_line_error(client.post(f"/api/jobs/{unchanged['id']}/rerun", params={"force": "true"}), 404)
    assert list(queue.root.iterdir()) == [] and fake_deblur == [False, True, False]


def test_deblur_anyway_of_a_job_still_running_and_a_second_click_while_it_runs(client: Any, fake_deblur: list[bool]) -> None:
    queue = client.app.state.queue
    release = threading.Event()
    real = queue.runner

    def held(job: Job, max_pixels: int, progress: Any) -> Any:
        while job.options.force and not release.wait(0.01):
            progress(0, 0, "held by the test")
        return real(job, max_pixels, progress)

    queue.runner = held
    job = wait(client, upload(client, color_png(68)).json()["id"])
    first = client.post(f"/api/jobs/{job['id']}/rerun", params={"force": "true"}).json()
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while client.get(f"/api/jobs/{first['id']}").json()["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert "the job is running" in assert_one_line_error(client.post(f"/api/jobs/{first['id']}/rerun", params={"force": "true"}), 409)
    clicks = [client.post(f"/api/jobs/{job['id']}/rerun", params={"force": "true"}) for _ in range(5)]
    assert {c.status_code for c in clicks} == {200} and {c.json()["id"] for c in clicks} == {first["id"]}
    assert client.delete(f"/api/jobs/{first['id']}").json()["state"] == "cancelling"
    while client.get(f"/api/jobs/{first['id']}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    release.set()
    second = client.post(f"/api/jobs/{job['id']}/rerun", params={"force": "true"})  # the cancelled one is not given again
    assert second.status_code == 202 and second.json()["id"] != first["id"]
    assert wait(client, second.json()["id"])["state"] == "done"


#: The page's expectations per fake decision: the title's start, words of the summary, whether
#: "Deblur anyway" is offered, and the color of the confidence meter as Chromium draws it.
PAGE_DECISIONS = {
    64: ("Deblurred: ", "at or above 0.70", False, "green"),
    66: ("Deblurred, with a stronger prior: ", "gentler deconvolution", False, "green"),
    68: ("Tentative: deblurred gently: ", "from 0.50 up to 0.70", True, "amber"),
    70: ("Returned unchanged: ", "confidence 0.58, below 0.60", True, "red"),  # was green with the page's own bands
    72: ("Returned unchanged: ", "runs out of the largest window", True, "gray"),  # trusted kernel, withheld as cut
}


def meter_color(png: bytes) -> str:
    """The color of the filled part of a meter's screenshot (its left tenth, middle row)."""
    with Image.open(io.BytesIO(png)) as im:
        rgb = im.convert("RGB")
        r, g, b = (int(c) for c in rgb.getpixel((rgb.width // 10, rgb.height // 2)))
    if max(r, g, b) - min(r, g, b) < 30:
        return "gray"
    if g > r + 40:
        return "green"
    if r > 200 and g > 120 and b < 80:
        return "amber"
    return "red" if r > g + 80 else f"rgb({r}, {g}, {b})"


def test_page_follows_the_decision_and_deblurs_anyway_in_headless_chromium(tmp_path: Path, fake_deblur: list[bool]) -> None:
    """One photo of each decision (the deblur faked at the server's task boundary, so each decision
    is certain and fast), and "Deblur anyway" on an unchanged and a tentative one, twice clicked,
    and once after the server forgot the job (the page sends its photo again)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium executable found (apt-get install chromium); the browser test needs one")
    from playwright.sync_api import sync_playwright

    from gencor.serve.server import in_thread

    app = create_app(workers=1)
    with in_thread(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url)
            page.wait_for_selector("body[data-state=ready]")

            def run(width: int) -> None:
                photo = tmp_path / f"photo {width}.png"
                photo.write_bytes(color_png(width))
                page.set_input_files("#file", str(photo))
                page.click("#submit")
                page.wait_for_selector("body[data-state=done]", timeout=JOB_TIMEOUT_S * 1000)
                until(page, "document.getElementById('after').complete && document.getElementById('after').naturalWidth > 0")

            for width, (title, summary, offered, color) in PAGE_DECISIONS.items():
                run(width)
                assert page.inner_text("#result-title").startswith(title), (width, page.inner_text("#result-title"))
                assert summary in page.inner_text("#result-summary"), (width, page.inner_text("#result-summary"))
                assert page.is_visible("#deblur-anyway") == offered, width
                assert page.is_hidden("#side")
                assert meter_color(page.locator("#confidence-meter").screenshot()) == color, width
                assert page.get_attribute("#decision", "data-decision") == FAKE_DECISIONS[width][0]

            # a smooth keeps its title, with no summary and no button
            photo = tmp_path / "smooth.png"
            photo.write_bytes(color_png())
            page.set_input_files("#file", str(photo))
            page.check("input[name=task][value=smooth]")
            page.click("#submit")
            page.wait_for_selector("body[data-state=done]", timeout=JOB_TIMEOUT_S * 1000)
            assert page.inner_text("#result-title").startswith("Smoothed: ")
            assert page.is_hidden("#result-summary") and page.is_hidden("#deblur-anyway") and page.is_hidden("#deblur-facts")
            page.check("input[name=task][value=deblur]")

            for width in (70, 68):  # unchanged, then tentative: deblur anyway, double-clicked
                run(width)
                calls = len(fake_deblur)
                page.dblclick("#deblur-anyway")
                page.wait_for_selector("#forced:not([hidden])", timeout=JOB_TIMEOUT_S * 1000)
                until(page, "['returned', 'forced'].every(id => document.getElementById(id).complete && document.getElementById(id).naturalWidth > 0)")
                assert fake_deblur[calls:] == [True], "one forced run for a double click"
                returned, forced = page.locator("#returned").bounding_box(), page.locator("#forced").bounding_box()
                assert returned and forced and forced["x"] >= returned["x"] + returned["width"] and abs(forced["y"] - returned["y"]) < 2  # beside it
                assert page.is_visible("#compare") and page.is_visible("#returned") and page.is_visible("#forced")
                assert page.inner_text("#forced-caption").startswith(f"Deblurred anyway: confidence {FAKE_DECISIONS[width][2]:.2f}")
                assert page.inner_text("#returned-caption") == f"As returned ({FAKE_DECISIONS[width][0]})"
                assert page.inner_text("#result-title").startswith(PAGE_DECISIONS[width][0])  # the returned one keeps its title
                assert page.is_hidden("#deblur-anyway") and page.is_visible("#forced-download")
                assert page.get_attribute("#forced", "src") != page.get_attribute("#returned", "src")

            # the server forgot the job (expired): the page sends the photo it still holds, forced
            run(72)
            app.state.queue.sweep(now=time.monotonic() + app.state.queue.ttl + 1)
            page.click("#deblur-anyway")
            page.wait_for_selector("#forced:not([hidden])", timeout=JOB_TIMEOUT_S * 1000)
            assert page.inner_text("#forced-caption").startswith("Deblurred anyway: confidence 0.97") is False  # trusted: plain title
            assert page.inner_text("#forced-caption").startswith("Deblurred: confidence 0.97")
            assert fake_deblur[-1] is True and page.is_hidden("#error")
            assert errors == [] and all(r.startswith(url) for r in requests)
        finally:
            browser.close()


#: Parameter names a hostile client sends: near misses of real ones, look-alikes, odd characters.
HOSTILE_NAMES = ["bogus", "blur", "Force", "force ", "force[]", "", "t\u0430sk", "x" * 10000, "a\nb", "\x00", "name\u202e", "kernel-size", "colour"]
#: Values of force, with whether the server takes them (the empty value is the default, false).
HOSTILE_FORCE = {"": True, "TRUE": True, " true ": True, "1": True, "on": True, "2": False, "-1": False, "truee": False, "nan": False}
HOSTILE_FORCE |= {"tru\u0435": False, "\uff54\uff52\uff55\uff45": False, "x" * 5000: False, "\x00": False, "true\x00": False, "[true]": False}


def test_hostile_parameters_and_reruns(client: Any, fake_deblur: list[bool]) -> None:
    """The hostile pass of issue #29 on the page's server, kept as a test: odd parameters on every
    API route, odd force values on the upload and on "deblur anyway", and 30 clicks at once."""
    unchanged = wait(client, upload(client, color_png(70)).json()["id"])
    smoothed = wait(client, upload(client, color_png(), task="smooth").json()["id"])
    base = f"/api/jobs/{smoothed['id']}"
    routes = [("post", "/api/jobs"), ("post", f"/api/jobs/{unchanged['id']}/rerun"), ("get", "/api/config"), ("get", base)]
    routes += [("get", f"{base}/files/result"), ("get", f"{base}/download"), ("delete", base)]
    for method, url in routes:
        for name in HOSTILE_NAMES:
            params = {name: "1", **({"force": "true"} if url.endswith("rerun") else {})}
            assert_one_line_error(getattr(client, method)(url, params=params, **({"content": color_png()} if method == "post" else {})))
    assert client.get(base).status_code == 200 and fake_deblur == [False]  # no refused request did anything
    assert len(assert_one_line_error(upload(client, color_png(), **{f"p{i}": "1" for i in range(2000)}))) < 300
    for value, taken in HOSTILE_FORCE.items():
        response = upload(client, color_png(68), force=value)
        assert response.status_code == (202 if taken else 400), value[:20]
        if taken:
            wait(client, response.json()["id"])
    rerun = f"/api/jobs/{unchanged['id']}/rerun"
    created = False
    for value, taken in HOSTILE_FORCE.items():
        forced = taken and bool(value.strip())  # a re-run must say force=true: the empty value is refused there
        assert client.post(rerun, params={"force": value}).status_code == (400 if not forced else 200 if created else 202), value[:20]
        created |= forced
    with ThreadPoolExecutor(8) as pool:
        clicks = list(pool.map(lambda _: client.post(rerun, params={"force": "true"}), range(30)))
    assert {c.status_code for c in clicks} == {200} and len({c.json()["id"] for c in clicks}) == 1
