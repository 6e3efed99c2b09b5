"""Benchmark: `atm-tui web` with 30 browser sessions (websocket clients) on this machine's cores.

Run with `python3 dev.py bench -k bench_web` (ATM_WEB_TABS sets the tab count, default 30).
Prints figures and asserts only that every tab joined and its withdrawal reached the bank.

What a browser tab does is what each client here does, over the same websocket protocol as
textual-serve's page: open `/ws`, send the terminal size, type a name and Enter, press keys.
Each tab is one student-app process (textual-serve runs one per websocket), so the figures are:
- memory: the resident size of the web server and all its tab processes, from /proc;
- CPU: their user+system seconds over a busy phase (every tab withdraws once a second) and an
  idle phase of the same length, as a share of the machine's cores;
- key-to-frame: in one tab, the time from sending `u` (arm a fault: a pure redraw, no bank
  call) to receiving the frame that shows it, p50 and p95, with the other tabs idle and busy.
The baseline, in the same run: the same key-to-frame with that tab alone (one session).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import aiohttp
import pytest
from http_helpers import serve, web
from ui_helpers import query

pytestmark = pytest.mark.bench

TABS = int(os.environ.get("ATM_WEB_TABS", "30"))
KEY_SAMPLES = 25
PHASE_S = 10.0
SIZE = {"width": 100, "height": 30}
TICKS = os.sysconf("SC_CLK_TCK")


class Tab:
    """One browser tab's websocket: what it sent, and everything its app drew."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen = bytearray()
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())
        self.armed = 0  # how many times `u` was pressed

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.seen.extend(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.seen.extend(msg.data.encode())
            self.changed.set()

    async def keys(self, text: str) -> None:
        for key in text:  # one message a key press, as xterm.js in the page sends them
            await self.ws.send_str(json.dumps(["stdin", key]))

    async def until(self, text: str, limit_s: float = 60.0, since: int = 0) -> float:
        """Wait until the app has drawn `text` (after byte `since`); returns when (monotonic)."""
        needle = text.encode()
        deadline = time.monotonic() + limit_s
        while self.seen.find(needle, max(0, since - len(needle))) < 0:
            self.changed.clear()
            left = deadline - time.monotonic()
            assert left > 0, f"the tab never drew {text!r}"
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass
        return time.monotonic()


async def open_tab(session: aiohttp.ClientSession, url: str, name: str) -> Tab:
    ws = await session.ws_connect(url.replace("http://", "ws://") + f"ws?width={SIZE['width']}"
                                  f"&height={SIZE['height']}", max_msg_size=0)
    tab = Tab(ws)
    await ws.send_str(json.dumps(["resize", SIZE]))
    await tab.until("Your name", 120)
    await tab.keys(name + "\r")
    await tab.until(f"{name} joined", 120)
    return tab


def tree(pid: int) -> list[int]:
    """The process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mib(pids: list[int]) -> float:
    """Proportional set size (shared pages split between the processes sharing them), summed."""
    total_kb = 0
    for p in pids:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return total_kb / 1024


def cpu_s(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            pass
    return total / TICKS


async def key_to_frame(tab: Tab) -> list[float]:
    """Send `u` (arm a duplicate: the faults pane redraws) and time until `armed xN` is drawn."""
    out = []
    for _ in range(KEY_SAMPLES):
        tab.armed += 1
        since, start = len(tab.seen), time.monotonic()
        await tab.keys("u")
        out.append((await tab.until(f"armed x{tab.armed}", since=since) - start) * 1000)
        await asyncio.sleep(0.05)
    return out


def pcts(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    return f"p50 {statistics.median(ms):.0f} ms, p95 {q[18]:.0f} ms"


async def withdraw_every_second(tabs: list[Tab], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for tab in tabs:
            await tab.keys("w")
        await asyncio.sleep(1.0)


def test_web_with_thirty_tabs(tmp_path: Path) -> None:
    db = tmp_path / "class.db"
    with serve(db, "--fresh", "--opening-balance", "100000000") as (_, bank_url), web(bank_url) as url:
        server_pid = next(p for p in tree(os.getpid()) if _is_web(p))
        asyncio.run(_run(url, server_pid, db))


def _is_web(pid: int) -> bool:
    try:
        return b"\0web\0" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


async def _run(url: str, server_pid: int, db: Path) -> None:
    idle_server = rss_mib([server_pid])
    async with aiohttp.ClientSession() as session:
        alone = await open_tab(session, url, "solo")
        one_tab = rss_mib(tree(server_pid))
        baseline = await key_to_frame(alone)
        await alone.ws.close()
        alone.reader.cancel()
        await asyncio.sleep(1.0)

        t0 = time.monotonic()
        tabs = [await open_tab(session, url, f"s{n:02d}") for n in range(1, TABS + 1)]
        joined_s = time.monotonic() - t0
        pids = tree(server_pid)
        assert len(pids) >= TABS + 1, "one app process per tab"
        mem_all = rss_mib(pids)

        c0, w0 = cpu_s(pids), time.monotonic()
        await asyncio.sleep(PHASE_S)
        idle_cpu = (cpu_s(tree(server_pid)) - c0) / (time.monotonic() - w0)
        idle_keys = await key_to_frame(tabs[0])

        c0, w0 = cpu_s(tree(server_pid)), time.monotonic()
        busy = asyncio.create_task(withdraw_every_second(tabs[1:], PHASE_S))
        await asyncio.sleep(1.0)
        busy_keys = await key_to_frame(tabs[0])
        await busy
        busy_cpu = (cpu_s(tree(server_pid)) - c0) / (time.monotonic() - w0)
        mem_busy = rss_mib(tree(server_pid))
        for tab in tabs:
            await tab.ws.close()
            tab.reader.cancel()
    clients = {str(r[0]) for r in query(db, "SELECT DISTINCT client_id FROM ledger")}
    busy_names = {f"s{n:02d}" for n in range(2, TABS + 1)}
    assert busy_names <= clients, "every busy tab's withdrawal reached the bank"
    load = os.getloadavg()
    print(f"\natm-tui web, {TABS} tabs (one student-app process each), {os.cpu_count()} cores,"
          f" load average {load[0]:.1f}")
    print(f"  web server alone: {idle_server:.0f} MiB; with one tab: {one_tab:.0f} MiB")
    print(f"  {TABS} tabs joined in {joined_s:.1f} s; memory {mem_all:.0f} MiB"
          f" ({(mem_all - idle_server) / TABS:.0f} MiB a tab), {mem_busy:.0f} MiB after the busy phase")
    print(f"  CPU: idle {idle_cpu * 100:.0f}% of one core; busy (each tab withdraws once a second)"
          f" {busy_cpu * 100:.0f}% of one core ({busy_cpu * 50:.0f}% of two)")
    print(f"  key-to-frame in one tab: alone {pcts(baseline)}; {TABS} tabs idle {pcts(idle_keys)};"
          f" {TABS} tabs busy {pcts(busy_keys)}")
