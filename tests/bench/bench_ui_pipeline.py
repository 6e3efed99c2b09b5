"""Pipeline-mode UI benchmark (run with `python3 dev.py bench`): key to screen during a burst."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from bench_ui import verdict
from textual import events
from ui_helpers import make_app

pytestmark = pytest.mark.bench

_CYCLE = {"naive": "idempotent", "idempotent": "transactional", "transactional": "naive"}


async def test_bench_pipeline_keypress_latency_during_burst(tmp_path: Path) -> None:
    # The real wall clock at 1x, as in class: 100 messages flow (one every 200 ms, each charged and
    # committed) while `i` switches the consumer's mode again and again.
    app = make_app(tmp_path, wall=time.monotonic, speed=1.0, opening_balance=10_000_000)
    latencies: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("p")
        while app.pipeline is None:
            await asyncio.sleep(0.001)
        pipeline = app.pipeline
        await pilot.press(*["S"] * 5)
        base = app.screen_stack[0]
        while pipeline.remaining and len(latencies) < 200:
            expected = _CYCLE[pipeline.config.consumer]
            started = time.perf_counter()
            app.post_message(events.Key("i", "i"))
            while pipeline.config.consumer != expected:
                await asyncio.sleep(0.0005)
            while base._layout_required or base._dirty_widgets:
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        charged = app.pipe_model.counts["charged"]
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"\nkey 'i' to screen update in pipeline mode, 100-message burst ({charged} charged while"
          f" measuring): {len(latencies)} presses, p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms,"
          f" max {latencies[-1] * 1000:.1f} ms (target p95 <= 100 ms: {verdict(p95 <= 0.100)})")
    assert len(latencies) >= 20
