"""The panes' model (ui/models/view.py), Textual-free: a real headless engine's events in, the words out."""

from __future__ import annotations

import re
from pathlib import Path

from atm_tui.bank.store import StoreConfig
from atm_tui.scenarios import load_all
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.sim.atm.config import SimConfig
from atm_tui.sim.atm.engine import Engine
from atm_tui.sim.events import Event, ReplyDelivered, Requested, Sent
from atm_tui.ui.models import outcomes
from atm_tui.ui.models.rows import REPLY
from atm_tui.ui.models.view import View


async def engine_with_view(tmp_path: Path, **config: object) -> tuple[Engine, View, list[Event]]:
    engine = await Engine.open(SimConfig(**config), StoreConfig(str(tmp_path / "bank.db"), fresh=True))  # type: ignore[arg-type]
    view = View(max_attempts=engine.config.atm.max_attempts, amount=engine.config.amount)
    view.bank_mode = engine.bank.mode
    view.ttl = engine.bank.ttl
    trace: list[Event] = []
    engine.world.subscribe(view)
    engine.world.subscribe(trace.append)
    return engine, view, trace


def replies(view: View) -> list[str]:
    return [str(r.mark) for r in view.rows if r.direction == REPLY]


async def test_h_h_w_receipt_and_beliefs_say_replay(tmp_path: Path) -> None:
    engine, view, _ = await engine_with_view(tmp_path)
    engine.drop_next_replies(2)
    engine.withdraw()
    await engine.run_until_idle()
    assert view.atm.receipt is not None and view.atm.receipt.replayed
    assert [a.state for a in view.atm.attempts][-1] == "answered ↺ replay"
    assert replies(view) == ["✓ fresh", "↺ replay", "↺ replay"]
    await engine.close()


async def test_second_h_caption_counts_what_the_toggle_counts(tmp_path: Path) -> None:
    engine, view, _ = await engine_with_view(tmp_path)
    engine.drop_next_replies(1)
    assert view.caption == "Hiccup armed: the network will lose the next reply."
    engine.drop_next_replies(1)
    assert engine.network.reply.drop_next == 2
    assert view.armed["drop_next_replies"] == 2
    assert "each of the next 2 replies" in view.caption
    engine.withdraw()
    await engine.run_until_idle()
    assert view.armed["drop_next_replies"] == engine.network.reply.drop_next == 0
    await engine.close()


async def test_duplicate_request_fresh_reply_acted_on_the_replay_ignored(tmp_path: Path) -> None:
    engine, view, trace = await engine_with_view(tmp_path)
    engine.duplicate_next_requests(1)
    engine.withdraw()
    await engine.run_until_idle()
    receipt = view.atm.receipt
    assert receipt is not None and not receipt.replayed and receipt.status == "approved"
    assert view.atm.detail == "The bank approved it: a fresh reply."
    # Both copies were answered; the belief line lists both answers in the order they came.
    answers = [ev for ev in trace if isinstance(ev, ReplyDelivered) and ev.attempt == 1]
    assert len(answers) == 2
    words = [str(outcomes.reply(ev.status, ev.replayed)) for ev in answers]
    state = view.atm.attempts[0].state
    assert state.startswith(f"answered {words[0]}") and f"; then {words[1]}" in state, state
    assert "↺ replay" not in words[0] or receipt.replayed
    await engine.close()


async def test_naive_retry_never_claims_the_bank_recognises_the_id(tmp_path: Path) -> None:
    engine, view, _ = await engine_with_view(tmp_path)
    engine.set_mode("naive")
    engine.drop_next_replies(1)
    engine.withdraw()
    await engine.advance_to(engine.now + 3_500)  # the first timeout, before the resend
    assert "never looks at the id" in view.atm.detail and "recognise" not in view.atm.detail
    await engine.run_until_idle()
    await engine.close()


async def test_in_flight_busy_is_drawn_busy_and_believed_busy(tmp_path: Path) -> None:
    engine, view, trace = await engine_with_view(tmp_path)
    engine.set_processing_time(8_000)  # slower than the ATM's timeout: the resend finds it in flight
    engine.withdraw()
    await engine.run_until_idle()
    busy = [ev for ev in trace if getattr(ev, "status", "") == "in_progress" and ev.kind == "reply_delivered"]
    assert busy, "the story needs an in-progress answer"
    for ev in busy:
        state = next(a.state for a in view.atm.attempts if a.number == ev.attempt)
        assert state.startswith("answered ⧖ busy"), state
        assert "fresh" not in state and "confirmed" not in state
    assert "⧖ busy" in replies(view)
    # The last attempt was answered busy and then timed out: the receipt says so, not "none arrived".
    receipt = view.atm.receipt
    assert receipt is not None and receipt.outcome == "unknown" and receipt.status == "in_progress"
    await engine.close()


async def test_status_query_reply_says_the_answer_not_answer(tmp_path: Path) -> None:
    engine, view, _ = await engine_with_view(tmp_path)
    engine.set_drop_all_replies(True)
    engine.withdraw()
    await engine.run_until_idle()
    engine.set_drop_all_replies(False)
    engine.status_query()
    await engine.run_until_idle()
    labels = [r.label for r in view.rows if r.direction == REPLY]
    assert labels[-1] == "T123 status = debited (approved), 1 debit"
    assert view.atm.screen == "Bank's record of T123: debited (approved)."
    assert "dispenses nothing" in view.atm.detail
    assert "approved." not in view.atm.screen.replace("(approved).", "")
    await engine.close()


async def test_storm_caption_counts_resends_on_the_wire(tmp_path: Path) -> None:
    engine, view, trace = await engine_with_view(tmp_path, amount=100)
    for direction, what in (("request", "drop"), ("reply", "drop"), ("request", "duplicate")):
        engine.set_rate(direction, what, 0.1)
    view.start_storm(40, 100)
    for _ in range(40):
        view.add_storm_id(engine.withdraw(100))
    view.storm_sent()
    await engine.run_until_idle()
    resends = sum(1 for ev in trace if isinstance(ev, Sent) and ev.op == "withdraw" and ev.attempt > 1)
    assert f" {resends} resends," in view.caption, view.caption
    await engine.close()


async def test_key_expired_is_a_row_with_the_retention_and_the_wait_is_marked(tmp_path: Path) -> None:
    engine, view, _ = await engine_with_view(tmp_path)
    engine.set_ttl(5_000)
    engine.set_auto_retry(False)
    engine.drop_next_replies(1)
    engine.withdraw()
    await engine.run_until_idle()
    await engine.wait(7_000)
    engine.retry_now()
    await engine.run_until_idle()
    labels = [r.label for r in view.rows]
    assert "⧗ T123 key expired (kept 5 s)" in labels
    assert any(label.startswith("⋯ ") and label.endswith(" s later") for label in labels)
    await engine.close()


def test_outcomes_mapping_is_total_and_distinct() -> None:
    # Every stored delivery outcome and every reply status has its own glyph and word.
    words = {
        str(outcomes.delivery(o)) for o in ("processed", "replayed", "in_progress", "rejected", "declined")
    }
    assert len(words) == 5
    statuses = {str(outcomes.reply(s, False)) for s in ("approved", "in_progress", "rejected", "declined")}
    assert statuses == {"✓ fresh", "⧖ busy", "✗ rejected", "✗ declined"}
    assert str(outcomes.reply("approved", True)) == "↺ replay"
    assert str(outcomes.reply("ok", False, "status")) == "= read"
    assert outcomes.key_line("T1", 3, "approved", 1, 3) == "T1: 3 deliveries, processed once, 2 replays"
    pal = outcomes.palette({"success": "#00FF66"})
    assert pal["fresh"] == "bold #00FF66" and set(pal) == set(outcomes.ROLES)


async def test_reads_are_named_by_what_they_ask_and_a_lost_one_times_out(tmp_path: Path) -> None:
    """`d` `w` then `s`: the lost reply is the status read's, not T123 #1's; `h` `b`: GET balance."""
    engine, view, _ = await engine_with_view(tmp_path)
    engine.set_drop_all_replies(True)
    engine.withdraw()
    await engine.run_until_idle()
    captions: list[str] = []
    engine.world.subscribe(lambda ev: captions.append(view.caption))
    engine.status_query()
    await engine.run_until_idle()
    engine.set_drop_all_replies(False)
    engine.drop_next_replies(1)
    engine.balance_inquiry()
    await engine.run_until_idle()
    said = "\n".join(captions)
    assert "GET T123 status: the bank answered but the reply was lost" in said
    assert "GET T123 status: no answer came" in said and "press s to ask again" in said
    assert "GET balance: the bank answered but the reply was lost" in said
    assert "GET balance: no answer came" in said and "press b to ask again" in said
    labels = [r.label for r in view.rows]
    assert "◷ GET T123 status timed out" in labels and "◷ GET balance timed out" in labels
    # No internal read id (B1) and no read passed off as an attempt of T123.
    assert not any("B1" in text for text in [*labels, *captions])
    assert sum(1 for text in labels if text.startswith("◷ T123 #")) == 3  # the write's own three
    await engine.close()


WITHDRAWAL_WORDS = re.compile(r"\b(cash|ATM|debit\w*|dispens\w*|withdraw\w*)\b", re.I)


async def test_each_story_speaks_its_own_words(tmp_path: Path) -> None:
    """Every scenario whose writes are payments, orders or votes: no cash, debit or ATM on screen."""
    checked = []
    for sc in load_all():
        if sc.kind != "atm":
            continue
        view = View(max_attempts=3, amount=5000)
        said: list[str] = []
        ops: set[str] = set()

        def grab(ev: Event, view: View = view, said: list[str] = said, ops: set[str] = ops) -> None:
            view(ev)
            if isinstance(ev, Requested) and ev.op not in outcomes.READS:
                ops.add(ev.op)
            if ops:
                atm = view.atm
                said.extend([view.caption, atm.screen, atm.detail, atm.hint])
                said.extend(a.state for a in atm.attempts)

        async with ScenarioPlayer(sc, str(tmp_path / f"{sc.name}.db")) as player:
            player.subscribe(grab)
            while not player.done:
                await player.next()
        if not ops or "withdraw" in ops:
            continue
        said += [r.label for r in view.rows]
        wrong = sorted({m.group(0) for text in said for m in [WITHDRAWAL_WORDS.search(text)] if m})
        assert wrong == [], (sc.name, [t for t in said if WITHDRAWAL_WORDS.search(t)][:5])
        checked.append(sc.name)
    assert {"payment", "order", "vote"} <= set(checked)
