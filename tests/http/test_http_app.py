"""`atm-tui --serve`: the HTTP bank in the app's process; requests show in the diagram and the bank pane."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from textual.widgets import Digits
from ui_helpers import balance, make_app, query

from atm_tui.cli.main import main
from atm_tui.http.live import LiveHttpBank, diagram_label
from atm_tui.http.observe import RequestRecord
from atm_tui.ui.widgets.bank_pane import BankPane


async def test_live_http_bank_serves_the_file_and_reports_each_request(tmp_path: Path) -> None:
    from atm_tui.bank.store import StoreConfig, open_sync

    db = str(tmp_path / "bank.db")
    open_sync(StoreConfig(db)).close()
    seen: list[RequestRecord] = []
    live = LiveHttpBank(db, 0, seen.append)
    url = await live.start()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(2):
                answer = await client.post("/accounts/A-1001/withdrawals", json={"amount": 5000},
                                           headers={"Idempotency-Key": "T900"})
                assert answer.status_code == 201
    finally:
        await live.stop()
    assert [diagram_label(r) for r in seen] == ["HTTP 127.0.0.1 POST T900 → 201 processed",
                                               "HTTP 127.0.0.1 POST T900 → 201 replayed"]
    assert query(db, "SELECT txn_id FROM ledger") == [("T900",)]
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:  # stopped means the port is closed again
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_the_app_with_serve_shows_http_requests(tmp_path: Path) -> None:
    app = make_app(tmp_path, serve=("127.0.0.1", 0))
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.served.http is not None and app.served.http.url
        async with httpx.AsyncClient(base_url=app.served.http.url) as client:
            for _ in range(3):
                answer = await client.post("/accounts/A-1001/withdrawals", json={"amount": 5000},
                                           headers={"Idempotency-Key": "S1"})
                assert answer.status_code == 201
        await pilot.pause()
        await app.settle(0.5)
        labels = [row.label for row in app.view.rows if row.label.startswith("HTTP ")]
        assert labels == ["HTTP 127.0.0.1 POST S1 → 201 processed", "HTTP 127.0.0.1 POST S1 → 201 replayed",
                          "HTTP 127.0.0.1 POST S1 → 201 replayed"]
        assert balance(app.settings.db) == 45_000
        # The HTTP rows are on the engine's virtual time line, like the simulated ATM's.
        assert app.engine is not None
        [(at,)] = query(app.settings.db, "SELECT at FROM ledger")
        assert 0 <= at <= app.engine.now  # virtual ms, not wall-clock ms since 1970
        assert app.query_one("#bank", BankPane).query_one(Digits).value == "45,000"  # read from the file
        url = app.served.http.url
    with pytest.raises(httpx.TransportError):  # the server stopped with the app
        httpx.get(url + "/accounts/A-1001", timeout=2)


def test_serve_on_a_taken_port_is_one_line_before_the_screen(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["--serve", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--serve {port}" in err and "cannot listen there" in err and err.count("\n") == 1
