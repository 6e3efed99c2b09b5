"""`q` quits: in a real terminal (a pty) from the ATM, pipeline and presenter screens, with exit 0;
the palette's Quit does the same, and ctrl+c's hint names a key that really quits."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from textual.command import CommandPalette
from ui_helpers import make_app

ROOT = Path(__file__).resolve().parents[2]
WAIT = 90.0  # seconds: generous, the machine may be busy; the test ends as soon as the app does


class Terminal:
    """The app in a pseudo-terminal of 120x36: read what it draws, type keys at it."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
                   TERM="xterm-256color", COLUMNS="120", LINES="36")  # fmt: skip
        argv = [sys.executable, "-m", "atm_tui", "--no-animation", *args]
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        os.set_blocking(self.master, False)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
                                     close_fds=True)  # fmt: skip
        os.close(slave)
        self.seen = b""
        self.deadline = time.monotonic() + WAIT

    def _read(self) -> bool:
        ready, _, _ = select.select([self.master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed its side
                return False
            self.seen += chunk
        return True

    def wait_for(self, text: bytes, since: int | None = None) -> None:
        """Read until `text` is drawn (after what was seen so far, or from byte `since`)."""
        start = len(self.seen) if since is None else since
        while text not in self.seen[start:] and self.proc.poll() is None and time.monotonic() < self.deadline:
            if not self._read():
                break
        assert text in self.seen[start:], (text, self.seen[-3000:])

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def exit_code(self) -> int | None:
        """The app's exit status once it has ended (None if it is still running at the deadline)."""
        while self.proc.poll() is None and time.monotonic() < self.deadline:
            if not self._read():
                break
        try:
            return self.proc.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "before_q", "shown"),
    [
        (["--db", "bank.db", "--fresh"], "", b"Balance"),  # the ATM screen
        (["--db", "bank.db", "--fresh"], "p", b"payments log"),  # the pipeline screen
        (["--scenario", "t123"], "", b" back "),  # the presenter (its key bar: next, back)
    ],
    ids=["atm", "pipeline", "presenter"],
)
def test_q_quits_with_exit_0_in_a_real_terminal(tmp_path: Path, args: list[str], before_q: str,
                                                 shown: bytes) -> None:  # fmt: skip
    term = Terminal(tmp_path, *args)
    try:
        term.wait_for(b"quit")  # the key bar is drawn: the app is taking keys
        if before_q:
            term.type(before_q)
        term.wait_for(shown, since=0)
        term.type("q")
        code = term.exit_code()
    finally:
        term.close()
    assert code == 0, term.seen[-3000:]


async def test_palette_quit_exits_with_0(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Quit")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_code == 0


async def test_ctrl_c_names_q_and_q_then_quits(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert any("q[/b] to quit" in n for n in app.notices), list(app.notices)
        assert app.return_code is None  # ctrl+c itself did not quit
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
