"""The teacher's class view (key `l`): one lane per client, and every count is the database's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from ui_helpers import make_app, query

from atm_tui.bank.queries import client_lanes
from atm_tui.bank.store import connect
from atm_tui.cli.main import main
from atm_tui.http.student import StudentAtm, StudentConfig
from atm_tui.ui.models.class_view import ClassModel
from atm_tui.ui.screens.class_view import ClassScreen
from atm_tui.ui.widgets.class_lanes import ClassLanes

WITHDRAW = "/accounts/A-1001/withdrawals"


def student(url: str, name: str) -> StudentAtm:
    # Short waits: a lost reply or request costs one timeout, and the retry follows at once.
    return StudentAtm(StudentConfig(url=url, name=name, amount=1_000, timeout_ms=150, retry="fixed",
                                    backoff_base=0, max_attempts=3))


def lane_from_the_file(db: str, client: str) -> tuple[str, ...]:
    """The lane's cells asked of the file with SQL of the test's own, as a teacher's sqlite3 would."""

    def one(sql: str) -> int:
        return int(query(db, sql, client)[0][0])

    deliveries = "SELECT count(*) FROM deliveries WHERE client_id = ?"
    return (
        client,
        str(one("SELECT count(DISTINCT txn_id) FROM deliveries WHERE client_id = ?")),
        str(one(deliveries)),
        str(one(deliveries + " AND outcome = 'processed'")),
        str(one(deliveries + " AND outcome = 'declined'")),
        str(one(deliveries + " AND outcome = 'replayed'")),
        str(one(deliveries + " AND outcome = 'in_progress'")),
        str(one(deliveries + " AND outcome = 'rejected'")),
        str(one("SELECT count(*) FROM ledger WHERE client_id = ?")),
        "0",
    )


async def test_three_named_clients_make_three_lanes_whose_counts_are_the_databases(tmp_path: Path) -> None:
    app = make_app(tmp_path, serve=("127.0.0.1", 0))
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.served.http is not None
        url = app.served.http.url
        alice, bob, chen = (student(url, n) for n in ("alice", "bob", "chen"))
        try:
            alice.faults.next_replies_lost = 1  # answered, lost, retried: processed then replayed
            assert await alice.withdraw() == "dispensed"
            bob.faults.next_duplicated = 1  # sent twice at once: one debit, the twin replayed or 409
            assert await bob.withdraw() == "dispensed"
            assert await bob.withdraw() == "dispensed"
            for _ in range(3):
                assert await chen.withdraw() == "dispensed"
            # chen presents alice's key: refused (422), recorded under chen, nothing debited.
            async with httpx.AsyncClient(base_url=url) as raw:
                answer = await raw.post(WITHDRAW, json={"amount": 1_000},
                                        headers={"Idempotency-Key": "alice-T123", "Client-Id": "chen"})
            assert answer.status_code == 422
        finally:
            for s in (alice, bob, chen):
                await s.close()
        await pilot.press("l")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClassScreen)
        await screen.reread()  # one read after every request above has committed
        table = screen.query_one(ClassLanes)
        shown = {str(table.get_row_at(i)[0]): tuple(str(c) for c in table.get_row_at(i))
                 for i in range(table.row_count)}
        assert sorted(shown) == ["alice", "bob", "chen"]
        db = app.settings.db
        for name in ("alice", "bob", "chen"):
            assert shown[name] == lane_from_the_file(db, name)
        # What the lesson needs to see in them, checked against the file too:
        assert shown["alice"][2:6] == ("2", "1", "0", "1")  # 2 deliveries: processed, then replayed
        # chen: its three keys and alice's (refused: one 422), three debits.
        assert shown["chen"][1] == "4" and shown["chen"][7] == "1" and shown["chen"][8] == "3"
        assert int(shown["bob"][2]) == 3 and int(shown["bob"][8]) == 2  # the twin arrived; 2 debits
        # Busiest first: the most deliveries at the top.
        order = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert order == sorted(order, key=lambda n: (-int(shown[n][2]), n))
        assert "no key debited twice" in str(screen.query_one("#class-verdict").render())
        await pilot.press("l")  # the same key closes it
        await pilot.pause()
        assert not isinstance(app.screen, ClassScreen)


def test_a_key_debited_twice_is_flagged_on_its_lane(tmp_path: Path) -> None:
    # A naive bank handed duplicates debits twice: the lane and the verdict must say so.
    db = str(tmp_path / "naive.db")
    argv = ["simulate", "--db", db, "--mode", "naive", "--withdrawals", "1", "--drop-next-replies", "1"]
    assert main(argv) == 0
    conn = connect(db)
    try:
        lanes = client_lanes(conn)
    finally:
        conn.close()
    model = ClassModel.of(lanes)
    rows = model.rows()
    assert len(rows) == 1 and rows[0].doubled
    doubled = query(db, "SELECT txn_id, count(*) FROM ledger GROUP BY txn_id HAVING count(*) > 1")
    assert doubled and rows[0].cells[-1] == f"{doubled[0][0]} x{doubled[0][1]}"
    assert model.verdict().startswith("⚠ DEBITED TWICE")


def test_thirty_lanes_are_readable_busiest_first_at_120_by_36() -> None:
    from atm_tui.bank.queries import ClientLane

    lanes = [ClientLane(f"s{n:02d}", 5, n, 5, 0, n - 5, 0, 0, 5, 500, 0, (), n) for n in range(5, 40)]
    model = ClassModel.of(lanes)
    assert [r.client for r in model.rows()][:3] == ["s39", "s38", "s37"]
    assert max(len(line) for line in model.total_line().splitlines()) <= 118  # fits, with the padding
    assert model.total_line().startswith("total of 35 clients: 175 keys")


def test_the_class_views_model_loads_no_textual() -> None:
    import subprocess
    import sys

    code = ("import sys, atm_tui.ui.models.class_view, atm_tui.http.student, atm_tui.http.class_run\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
            "assert not loaded, loaded\nprint('clean')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "clean"



def test_atm_tui_class_refuses_what_is_not_a_bank_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`atm-tui class --db`: a missing file or another file is one line and exit 2, nothing created."""
    missing, other = tmp_path / "none.db", tmp_path / "notes.txt"
    other.write_text("not a bank\n")
    for db, said in ((missing, "no such bank file"), (other, "cannot read its deliveries")):
        assert main(["class", "--db", str(db)]) == 2, db
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err and str(db) in err, err
    assert not missing.exists() and other.read_text() == "not a bank\n"


async def test_atm_tui_class_shows_the_lanes_of_a_bank_file_and_q_quits(tmp_path: Path) -> None:
    """The class view on its own (`atm-tui class --db FILE`): the file's clients, one lane each."""
    from textual.widgets import DataTable

    from atm_tui.ui.class_app import ClassApp

    db = tmp_path / "bank.db"
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:  # the teacher's app writes as client `atm`
        await pilot.press("w")
        await app.settle(30)
    lanes = client_lanes(connect(str(db)))
    assert [lane.client for lane in lanes] == ["atm"]
    viewer = ClassApp(str(db), str(db))
    async with viewer.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = viewer.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert [row[0] for row in rows] == ["atm"], rows
        assert rows[0][2] == str(lanes[0].deliveries), rows
        await pilot.press("q")
    assert viewer.return_code == 0
