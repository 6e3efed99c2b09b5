"""The `stripe` scenario draws T123 as the real HTTP bank answers it: same routes, codes, headers."""

from __future__ import annotations

from pathlib import Path

import httpx
from http_helpers import WITHDRAW, http_bank

from atm_tui.scenarios import load
from atm_tui.scenarios.player import ScenarioPlayer
from atm_tui.sim.events import Replied
from atm_tui.ui.models.view import View


async def drawn(tmp_path: Path) -> tuple[list[str], list[Replied]]:
    view = View(max_attempts=3, amount=5000)
    async with ScenarioPlayer(load("stripe"), str(tmp_path / "stripe.db")) as player:
        for ev in player.events:
            view(ev)
        player.subscribe(view)
        while not player.done:
            await player.next()
        replies = [ev for ev in player.events if isinstance(ev, Replied)]
    return [r.label for r in view.rows], replies


async def test_stripe_draws_what_the_http_bank_answers(tmp_path: Path) -> None:
    labels, replies = await drawn(tmp_path)
    expected = [("approved", False), ("approved", True), ("approved", True)]
    assert [(r.status, r.replayed) for r in replies] == expected
    # The same three POSTs to the real server `atm-tui serve` runs.
    with http_bank(tmp_path) as running:
        answers = [
            httpx.post(running.url + WITHDRAW, json={"amount": 5000}, headers={"Idempotency-Key": "T123"})
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    # The diagram: each attempt is that POST with the key; each reply its code; replays flagged.
    assert labels.count(f"POST {WITHDRAW}") == 3
    assert labels.count("  Idempotency-Key: T123") == 1
    assert labels.count("  same Idempotency-Key: T123") == 2
    codes = [label.split()[0] for label in labels if label.endswith(("T123 #1", "T123 #2", "T123 #3"))
             and label[0].isdigit()]
    assert codes == [str(a.status_code) for a in answers]
    assert labels.count("Idempotent-Replayed: true") == sum(
        1 for a in answers if a.headers.get("Idempotent-Replayed") == "true"
    )
