"""Fixtures of the browser tests: Debian Chromium, ``ipcsim serve`` and a tab per test.

One server (``ipcsim serve`` on a free port, from the project folder so the shipped scenarios
are offered) serves every browser test, and one browser each test module; each test opens its
own tab, which is its own Shiny session. Chromium is installed by ``scripts/ensure-chromium``
when absent; the tests skip, saying why, only when that is impossible.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.web.pagetools import RUN_TIMEOUT_MS

try:
    from playwright import sync_api as playwright_api
except ImportError:  # pragma: no cover - the dev lock has it
    playwright_api = None

CHROMIUM = Path("/usr/bin/chromium")
ENSURE = ROOT / "scripts" / "ensure-chromium"


@pytest.fixture(scope="session")
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
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ipcsim serve`` on a free port; stopped (SIGINT, as Ctrl+C) at the end.

    Its output goes to a file (a pipe nobody reads would fill and stall the server); a test
    that fails shows the file's tail.
    """
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "ipcsim", "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"ipcsim serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
    yield url
    sys.stderr.write(log.read_text()[-3000:])  # pytest shows it when a test fails
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hung server is a failure
        process.kill()
        pytest.fail("ipcsim serve did not stop on SIGINT")


# Per module: Playwright's sync API keeps an asyncio loop running in this thread while the
# browser is open, and asyncio.run() in a later test (tests/web/test_whatif.py) would fail.
@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    if playwright_api is None:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.lock)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(RUN_TIMEOUT_MS)
    tab.goto(server)
    tab.wait_for_selector("#staff_0")
    tab.wait_for_selector("#expected-referrals")
    yield tab
    context.close()
