"""The report in a real browser: headless Chromium opens report.html and finds it whole.

Chromium (Debian's ``chromium``) is installed by ``scripts/ensure-chromium`` when absent; the
test skips, saying why, only when that is impossible. The browser is driven through the Chrome
DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-separated
JSON), so no driver or extra Python package is needed and no port is opened.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ipcsim.present.report import PlotOptions, write_report
from ipcsim.run import run_scenario, write_run
from tests.conftest import ROOT, make_scenario
from tests.present.test_report import make_experiment_folder

CHROMIUM = Path("/usr/bin/chromium")
ENSURE = ROOT / "scripts" / "ensure-chromium"
TIMEOUT_S = 60.0
BASH = shutil.which("bash") or "/bin/bash"
ALLOWED_SCHEMES = ("file:", "data:", "about:")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
)


class CdpError(RuntimeError):
    """The browser answered a DevTools command with an error, or did not answer in time."""


def _high_fd(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or more (the original is closed)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    """A headless Chromium driven over the DevTools pipe; one page at a time.

    Parameters
    ----------
    executable
        The Chromium binary.
    user_data_dir
        A fresh, empty profile folder.
    """

    def __init__(self, executable: Path, user_data_dir: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Move the child's ends above 9, so they cannot collide with fds 3 and 4 below.
        to_chrome_r, from_chrome_w = (_high_fd(to_chrome_r), _high_fd(from_chrome_w))
        args = [*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"]
        # bash (dash allows only one-digit fds) moves the pipe ends to fds 3 (commands in)
        # and 4 (replies out), where Chromium expects them.
        script = (
            f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} '
            f"{to_chrome_r}<&- {from_chrome_w}>&-"
        )
        self.process = subprocess.Popen(
            [BASH, "-c", script, str(executable), *args],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self._messages.put(json.loads(raw))
        self._messages.put(None)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = TIMEOUT_S,
    ) -> dict[str, Any]:
        """Send one command and wait for its reply, keeping events that arrive meanwhile."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._get(deadline, method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, *, session: str, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        """Wait for an event of the page (one already received counts)."""
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._get(deadline, method)
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def _get(self, deadline: float, what: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CdpError(f"{what}: no answer from Chromium in {TIMEOUT_S:g} s")
        try:
            message = self._messages.get(timeout=remaining)
        except queue.Empty as e:
            raise CdpError(f"{what}: no answer from Chromium in {TIMEOUT_S:g} s") from e
        if message is None:
            raise CdpError(f"{what}: Chromium closed the pipe (exit {self.process.poll()})")
        return message

    def close(self) -> None:
        """Ask the browser to close, then make sure it has."""
        with contextlib.suppress(CdpError, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)


def open_page(browser: Browser, url: str) -> str:
    """Open ``url`` in a new tab with console, log and network events on; the session id."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired", session=session)
    return session


IMAGES_JS = """
Array.from(document.images).map(img => {
  const box = img.getBoundingClientRect();
  return {id: img.id, src: img.src.slice(0, 30), complete: img.complete,
          naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
          width: box.width, height: box.height};
})
"""


def page_problems(events: list[dict[str, Any]], session: str) -> list[str]:
    """Console errors, uncaught exceptions, failed loads and requests leaving the file."""
    problems = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            problems.append(f"console {params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"log error: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed request: {params.get('errorText')}")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(ALLOWED_SCHEMES):
                problems.append(f"external request: {url}")
    return problems


def screenshot(
    browser: Browser, session: str, path: Path, *, max_height: int | None = None
) -> None:
    """A PNG of the whole page (or its top ``max_height`` CSS pixels)."""
    metrics = browser.send("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    height = size["height"] if max_height is None else min(size["height"], max_height)
    shot = browser.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": height, "scale": 1},
        },
        session=session,
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def inspect_page(
    page: Path, shot: Path, user_data_dir: Path, *, max_height: int | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Open ``page`` in headless Chromium, save a screenshot, and say what went wrong.

    Returns
    -------
    (list of str, list of dict)
        The page's problems (see :func:`page_problems`) and what it reported about each image.
    """
    browser = Browser(CHROMIUM, user_data_dir)
    try:
        session = open_page(browser, page.resolve().as_uri())
        images = browser.send(
            "Runtime.evaluate",
            {"expression": IMAGES_JS, "returnByValue": True},
            session=session,
        )["result"]["value"]
        screenshot(browser, session, shot, max_height=max_height)
        # A last round trip, so events sent before it have all arrived.
        browser.send("Runtime.evaluate", {"expression": "1"}, session=session)
        problems = page_problems(browser.events, session)
    finally:
        browser.close()
    return problems, images


def assert_renders_whole(page: Path, shot: Path, user_data_dir: Path) -> list[dict[str, Any]]:
    """No console errors or failed or external requests; every image drawn with a size."""
    problems, images = inspect_page(page, shot, user_data_dir)
    assert problems == [], problems
    assert images, "the report has no images"
    for image in images:
        assert image["complete"], image
        assert image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image
        assert image["width"] > 0 and image["height"] > 0, image
    assert shot.stat().st_size > 10_000
    return images


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Chromium, installed by scripts/ensure-chromium when absent (skip if impossible)."""
    if not CHROMIUM.exists():
        found = subprocess.run(
            ["bash", str(ENSURE)], capture_output=True, text=True, timeout=900, check=False
        )
        if found.returncode != 0 or not CHROMIUM.exists():
            tail = (found.stderr or found.stdout).strip().splitlines()[-3:]
            pytest.skip(
                "headless Chromium is not installed and scripts/ensure-chromium could not "
                f"install it (exit {found.returncode}): {' | '.join(tail)}"
            )
    if not Path(BASH).exists():  # pragma: no cover - Debian always has bash
        pytest.skip(f"no {BASH} to hand Chromium its DevTools pipe")
    return CHROMIUM


def test_run_report_renders_in_chromium(chromium: Path, tmp_path: Path) -> None:
    scenario = make_scenario({"run": {"horizon_days": 240}})
    run_dir = write_run(run_scenario(scenario), tmp_path / "run")
    report = write_report(run_dir, options=PlotOptions(trajectory=(40.0, 80.0)))
    images = assert_renders_whole(report, tmp_path / "report-run.png", tmp_path / "profile")
    # Pathway (once in the body, once in STRESS-DES 2.1) and the five run figures.
    assert {i["id"] for i in images} >= {
        "img-pathway",
        "img-throughput",
        "img-waits",
        "img-utilisation",
        "img-queues",
        "img-cost",
    }
    assert (tmp_path / "report-run.png").exists()


def test_experiment_report_renders_in_chromium(chromium: Path, tmp_path: Path) -> None:
    folder = make_experiment_folder(tmp_path / "experiment", sensitivity=True)
    report = write_report(
        folder,
        options=PlotOptions(
            targets={"wait_referral_to_first_conversation_mean": 20.0}, trajectory=(100.0, 140.0)
        ),
        image_format="svg",
    )
    images = assert_renders_whole(report, tmp_path / "report-experiment.png", tmp_path / "profile")
    ids = {i["id"] for i in images}
    assert "img-capacity-wait_referral_to_first_conversation_mean" in ids
    assert {"img-fan", "img-pathway"} <= ids
    assert any(i.startswith("img-tornado-") for i in ids)


def test_the_browser_check_sees_a_broken_page(chromium: Path, tmp_path: Path) -> None:
    # Loopback only: port 9 (discard) refuses, so the request fails without leaving the machine.
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>broken</p>"
        '<img id="missing" src="missing.png">'
        '<img id="remote" src="http://127.0.0.1:9/x.png">'
        '<script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    problems, images = inspect_page(page, tmp_path / "broken.png", tmp_path / "profile")
    text = " ".join(problems)
    assert "console error" in text and "boom" in text
    assert "external request: http://127.0.0.1:9/x.png" in text
    assert "failed request" in text
    assert {i["id"]: i["naturalWidth"] for i in images} == {"missing": 0, "remote": 0}
