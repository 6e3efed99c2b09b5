"""A real browser: headless Chromium opens `atm-tui web`, joins as dana, presses w; the bank's file has it.

Debian's `chromium` (at /usr/bin/chromium) driven by Playwright for Python, which downloads no
browser of its own. Without the browser the test skips with the reason, except under CI
(`CI=true`), where a missing browser is a failure: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from http_helpers import serve, web
from ui_helpers import query

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _browser_or_skip() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("Debian's chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (the test extra)")
    if missing:
        reason = "no browser to drive: " + ", ".join(missing) + " not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI must install it: see .ci/run)")
        print(reason)
        pytest.skip(reason)


@pytest.mark.slow
def test_a_browser_tab_joins_presses_w_and_the_bank_records_the_students_delivery(tmp_path: Path) -> None:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "class.db"
    with serve(db, "--fresh") as (_, bank_url), web(bank_url) as page_url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            seen = bytearray()  # everything the tab's app wrote to its terminal, as the browser got it

            def heard(payload: str | bytes) -> None:
                seen.extend(payload.encode() if isinstance(payload, str) else payload)

            page.on("websocket", lambda ws: ws.on("framereceived", heard))
            page.goto(page_url)
            page.wait_for_selector("body.-first-byte", timeout=30_000)  # the app's first output
            _wait_for(page, seen, "Your name")  # the app asks for the name: it is up and listening
            page.click("#terminal")
            page.keyboard.type("dana", delay=20)
            page.keyboard.press("Enter")
            _wait_for(page, seen, "dana joined")  # its log says so, and its keys are the ATM's now
            page.keyboard.press("w")
            deadline = time.monotonic() + 30
            while not query(db, "SELECT 1 FROM ledger WHERE client_id = 'dana'"):  # bounded poll of the file
                assert time.monotonic() < deadline, query(db, "SELECT txn_id, client_id FROM deliveries")
                time.sleep(0.1)
        finally:
            browser.close()
    assert query(db, "SELECT txn_id, attempt, outcome, client_id FROM deliveries") == [
        ("dana-T123", 1, "processed", "dana")]
    assert query(db, "SELECT txn_id, amount, client_id FROM ledger") == [("dana-T123", 5_000, "dana")]
    # Nothing was fetched from outside: every request went to the web server itself.
    assert asked and all(u.startswith(page_url) for u in asked), asked


def _wait_for(page: Page, seen: bytearray, text: str, limit_s: float = 30.0) -> None:
    """Until the app's output (the websocket's frames) has shown `text`; bounded."""
    start = time.monotonic()
    while text.encode() not in seen:
        assert time.monotonic() - start < limit_s, f"the tab never showed {text!r}"
        page.wait_for_timeout(50)  # lets Playwright deliver the websocket's frame events meanwhile


def test_web_on_a_taken_port_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from atm_tui.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["web", "--bank", "http://127.0.0.1:9", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--port {port}: cannot listen there" in err and err.count("\n") == 1


def test_the_page_loads_nothing_from_outside_and_names_the_host_the_browser_used() -> None:
    import httpx

    with web("http://127.0.0.1:9") as url:
        page = httpx.get(url, headers={"Host": "10.0.0.5:8080"}, timeout=10).text
    assert "googleapis" not in page and "https://" not in page
    # Every asset comes from the address the student typed (not --host), the font included.
    assets = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert assets and all(a.startswith("http://10.0.0.5:8080/static/") for a in assets), assets
    assert "http://10.0.0.5:8080/static/fonts/RobotoMono-VariableFont_wght.ttf" in assets
    assert 'data-session-websocket-url="ws://10.0.0.5:8080/ws"' in page
