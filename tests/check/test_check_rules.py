"""`atm-tui check` against real servers: our bank (every rule holds), its naive mode, and the gallery.

Every target is a real process or a real uvicorn on a real port; the verdicts are read from the
checker's JSON and cross-checked with what the target stored (the bank's ledger and deliveries,
the gallery's effect counter).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from check_gallery import create_app, served
from http_helpers import ledger, serve

from atm_tui.check.probe import Options
from atm_tui.check.runner import run_check
from atm_tui.check.target import Target

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"baseline", "replay-after-lost-reply", "retry-after-lost-request", "duplicate-one-effect",
            "late-original-one-effect", "concurrent-one-effect", "concurrent-409", "mismatch-refused",
            "missing-key-400"}


def check(url: str, *flags: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "atm_tui", "check", url, "--json", *flags],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {r["rule"]: r["verdict"] for r in report["rules"]}


def rule(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in report["rules"] if r["rule"] == name)


def deliveries(db: Path, key: str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [str(r[0]) for r in conn.execute("SELECT outcome FROM deliveries WHERE txn_id = ? ORDER BY id",
                                                 (key,))]
    finally:
        conn.close()


def test_every_rule_holds_against_atm_tui_serve_with_no_flag_but_the_url(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with serve(db) as (_proc, url):
        code, report = check(url)
    got = verdicts(report)
    assert code == 0 and report["ok"] is True
    assert {name for name, v in got.items() if v == "pass"} == REQUIRED
    assert got["decline-policy"] == "info"
    assert "stored (as Stripe" in rule(report, "decline-policy")["evidence"]
    assert got["restart-keeps-key"] == "skip" and got["key-expiry"] == "skip"
    # What the bank stored agrees, key by key: one debit each, and the proxy's faults really happened.
    key = f"check-{report['run']}-"
    debits = ledger(db)
    for case in ("baseline", "lost-reply", "lost-request", "duplicate", "late", "concurrent", "mismatch"):
        assert debits[key + case] == 1, case
    assert key + "decline" not in debits
    assert deliveries(db, key + "lost-reply") == ["processed", "replayed"]  # the reply was lost, not the work
    assert deliveries(db, key + "lost-request") == ["processed"]  # the dropped request never arrived
    assert deliveries(db, key + "duplicate") == ["processed", "replayed"]
    assert deliveries(db, key + "late") == ["processed", "replayed"]  # the retry first, the original late
    assert len(deliveries(db, key + "concurrent")) == 5
    assert deliveries(db, key + "mismatch") == ["processed", "rejected"]


def test_the_naive_bank_fails_the_replay_and_duplicate_rules_with_the_double_effect_counted(
        tmp_path: Path) -> None:
    db = tmp_path / "naive.db"
    with serve(db, "--mode", "naive") as (_proc, url):
        code, report = check(url)
    got = verdicts(report)
    failed = {name for name, v in got.items() if v == "fail"}
    assert code == 1 and report["ok"] is False
    assert failed == {"replay-after-lost-reply", "duplicate-one-effect", "late-original-one-effect",
                      "concurrent-one-effect", "mismatch-refused"}
    assert rule(report, "replay-after-lost-reply")["effects"] == 2
    assert rule(report, "duplicate-one-effect")["effects"] == 2
    assert rule(report, "concurrent-one-effect")["effects"] == 5
    assert "not kept (as Checkout.com" in rule(report, "decline-policy")["evidence"]
    key = f"check-{report['run']}-"
    debits = ledger(db)  # the counts are the ledger's, not a guess
    assert (debits[key + "lost-reply"], debits[key + "duplicate"], debits[key + "concurrent"]) == (2, 2, 5)


GALLERY = {
    "good": set(),
    "no-dedup": {"replay-after-lost-reply", "duplicate-one-effect", "late-original-one-effect",
                 "concurrent-one-effect", "mismatch-refused"},
    "no-stored-reply": {"replay-after-lost-reply"},
    "memory-only": set(),  # until a restart: see the restart test
    "no-fingerprint": {"mismatch-refused"},
    "conflict-500": {"concurrent-409"},
}


def gallery_target(url: str) -> Target:
    return Target.with_defaults(url, path="/charges", body='{"amount": 100}', effect_url=f"{url}/effects",
                                effect_pointer="/count", decline_body='{"amount": 2000000}')


@pytest.mark.parametrize("kind", sorted(GALLERY))
async def test_each_broken_server_fails_exactly_its_rules(kind: str, tmp_path: Path) -> None:
    db = tmp_path / f"{kind}.db"
    with served(create_app(kind, str(db))) as url:
        outcome = await run_check(gallery_target(url), Options())
    failed = {v.rule for v in outcome.verdicts if v.verdict == "fail"}
    assert failed == GALLERY[kind], [(v.rule, v.evidence) for v in outcome.verdicts]
    assert outcome.ok is (not GALLERY[kind])
    by_rule = {v.rule: v for v in outcome.verdicts}
    if kind == "no-dedup":
        assert by_rule["duplicate-one-effect"].effects == 2
        assert by_rule["concurrent-one-effect"].effects == 5
    if kind == "no-stored-reply":
        assert "the retry got 200, the first answer was 201" in by_rule["replay-after-lost-reply"].evidence
        assert by_rule["replay-after-lost-reply"].effects == 1  # no double effect: the answer is the bug
    if kind == "conflict-500":
        assert "500" in by_rule["concurrent-409"].evidence
        assert by_rule["concurrent-one-effect"].passed
    # The effect counter is the server's own: the checker's counts add up to it.
    counted = sum(v.effects or 0 for v in outcome.verdicts if v.effects is not None)
    stored = sqlite3.connect(db).execute("SELECT count FROM effects").fetchone()[0]
    assert counted == stored


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _restartable(tmp_path: Path, command: list[str]) -> tuple[str, str, Path]:
    """Start `command` through check_restart.py; returns (url, the --restart-cmd, its pidfile)."""
    import shlex

    port = _free_port()
    pidfile = tmp_path / "server.pid"
    argv = [sys.executable, str(ROOT / "tests" / "check_restart.py"), "--pidfile", str(pidfile),
            "--port", str(port), "--", *[c.replace("PORT", str(port)) for c in command]]
    subprocess.run(argv, check=True, timeout=60)
    return f"http://127.0.0.1:{port}", shlex.join(argv), pidfile


def _stop(pidfile: Path) -> None:
    import os
    import signal

    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "holds"), [("atm-tui serve", True), ("memory-only", False)])
def test_a_key_survives_a_crash_and_restart_only_where_it_is_stored(kind: str, holds: bool,
                                                                    tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    if kind == "atm-tui serve":
        command = [sys.executable, "-m", "atm_tui", "serve", "--port", "PORT", "--db", str(db), "--quiet"]
        flags: list[str] = []
    else:
        command = [sys.executable, str(ROOT / "tests" / "check_gallery.py"), kind, "--db", str(db),
                   "--port", "PORT"]
        flags = ["--path", "/charges", "--effect", "URL/effects", "--effect-pointer", "/count"]
    url, restart, pidfile = _restartable(tmp_path, command)
    try:
        first_pid = pidfile.read_text()
        code, report = check(url, "--only", "restart-keeps-key", "--restart-cmd", restart,
                             *[f.replace("URL", url) for f in flags])
        assert pidfile.read_text() != first_pid  # it really was killed and started again
    finally:
        _stop(pidfile)
    got = verdicts(report)
    assert list(got) == ["baseline", "restart-keeps-key"]
    failed = {name for name, v in got.items() if v == "fail"}
    assert failed == (set() if holds else {"restart-keeps-key"}), rule(report, "restart-keeps-key")
    assert code == (0 if holds else 1)
    assert rule(report, "restart-keeps-key")["effects"] == (1 if holds else 2)


def test_the_expiry_probe_reports_a_forgotten_key_and_a_remembered_one(tmp_path: Path) -> None:
    with serve(tmp_path / "short.db", "--ttl", "200") as (_proc, url):
        _code, late = check(url, "--only", "key-expiry", "--expiry-probe", "0.5")
        _code, soon = check(url, "--only", "key-expiry", "--expiry-probe", "0")
    assert [r["rule"] for r in late["rules"]] == ["baseline", "key-expiry"]
    assert rule(late, "key-expiry")["verdict"] == "info"
    assert "forgotten within 0.5 s" in rule(late, "key-expiry")["evidence"]
    assert rule(late, "key-expiry")["effects"] == 2
    assert "still remembered after 0 s" in rule(soon, "key-expiry")["evidence"]
    assert rule(soon, "key-expiry")["effects"] == 1
