"""Keys: every key a screen binds does something, or says in one line why it is off (once per press);
the key tables of the README and the docs list exactly the keys the screens bind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import ROOT
from textual.binding import Binding
from textual.pilot import Pilot
from ui_helpers import make_app

from atm_tui.sim.events import Event
from atm_tui.ui.app import AtmApp
from atm_tui.ui.models.captions import KEY_MARK, name_keys
from atm_tui.ui.screens.atm import AtmScenarioScreen, AtmScreen
from atm_tui.ui.screens.panes import PanesScreen
from atm_tui.ui.screens.pipeline import PipelineScenarioScreen, PipelineScreen


def bound(screen: type[PanesScreen]) -> list[Binding]:
    """The screen's own keys (Textual's focus keys, `app.`-namespaced, are not ours)."""
    return [b for b in screen.BINDINGS if isinstance(b, Binding) and "." not in b.action]


class Watch:
    """Everything a key can change: the trace, the clock, the theme, the screens, the story's step."""

    def __init__(self, app: AtmApp) -> None:
        self.app = app
        self.events = 0
        self._watched: set[int] = set()

    def _count(self, ev: Event) -> None:
        self.events += 1

    def follow(self) -> None:
        s = self.app.session
        if s.engine is not None and id(s.engine) not in self._watched:
            self._watched.add(id(s.engine))
            s.engine.world.subscribe(self._count)
        if s.pipeline is not None and id(s.pipeline) not in self._watched:
            self._watched.add(id(s.pipeline))
            s.pipeline.subscribe(self._count)

    def state(self) -> tuple[Any, ...]:
        self.follow()
        s = self.app.session
        p = s.presenter
        return (
            self.events, self.app.theme, s.pacer.paused, s.pacer.speed, s.amount, s.pipeline_mode,
            [type(x).__name__ for x in self.app.screen_stack], p.counter if p else None,
            p.state if p else None,
        )  # fmt: skip


async def press(app: AtmApp, pilot: Pilot[int], key: str) -> None:
    await pilot.press(key)
    await app.workers.wait_for_complete()
    await app.settle(0)
    await pilot.pause()


async def every_key(app: AtmApp, pilot: Pilot[int], screen: type[PanesScreen], skip: set[str]) -> list[str]:
    """Press each key `screen` binds; return what each did ("did", or the line that said why not)."""
    watch = Watch(app)
    done = []
    for b in bound(screen):
        if b.key in skip:
            continue
        assert isinstance(app.screen, screen), (b.key, app.screen)
        on = app.screen.check_action(b.action, ()) is True
        before, said = watch.state(), len(app.notices)
        await press(app, pilot, b.key)
        new = list(app.notices)[said:]
        shown = b.key_display or b.key
        if on:
            assert watch.state() != before or new, f"{shown} ({b.action}) is on and did nothing"
            done.append(f"{shown}: did")
        else:
            why = [n for n in new if n.startswith(f"{shown} is off")]
            assert len(why) == 1 and "\n" not in why[0], (shown, new)  # one line, once per press
            done.append(why[0])
        # Back to the screen under test: close a modal (amount, reset, help), undo a mode switch.
        if not isinstance(app.screen, PanesScreen):
            await press(app, pilot, "escape")
        if not isinstance(app.screen, screen) and b.action == "pipeline":
            await press(app, pilot, "p")
    return done


async def test_every_key_of_the_atm_screen_acts_or_says_why(tmp_path: Path) -> None:
    app = make_app(tmp_path, screenshot_dir=str(tmp_path / "shots"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        # Before any withdrawal, s and r have no transaction to act on: they say so, once each.
        await press(app, pilot, "s")
        await press(app, pilot, "r")
        assert list(app.notices) == [
            "s is off: it acts on the last transaction, and there is none yet: press w first",
            "r is off: it acts on the last transaction, and there is none yet: press w first",
        ]
        done = await every_key(app, pilot, AtmScreen, skip={"q"})  # q: tests/ui/test_ui_quit.py
    assert any(d.startswith("x is off: ") and "split mode" in d for d in done)
    assert sum(d.endswith(": did") for d in done) >= 18


async def test_every_key_of_the_pipeline_screen_acts_or_says_why(tmp_path: Path) -> None:
    app = make_app(tmp_path, screenshot_dir=str(tmp_path / "shots"))
    async with app.run_test(size=(120, 36)) as pilot:
        await press(app, pilot, "p")
        assert isinstance(app.screen, PipelineScreen) and app.pipeline is not None
        done = await every_key(app, pilot, PipelineScreen, skip={"q"})
    # The ATM's keys listed here are off and say where they work.
    assert "b is off: it is a key of the ATM view; p goes back to it" in done
    assert "^r is off: it is a key of the ATM view; p goes back to it" in done
    # Its own keys act (k may find the consumer down after i and I restarted things: it says so).
    own = [d for d in done if "ATM view" not in d]
    assert all(d.endswith(": did") or d.startswith("k is off: the consumer is down") for d in own), own
    assert len(own) == 15, own  # the pipeline's own keys, the class view and the shared ones


@pytest.mark.parametrize(
    ("name", "screen"), [("t123", AtmScenarioScreen), ("kafka", PipelineScenarioScreen)],
    ids=["atm", "pipeline"],
)
async def test_every_key_of_a_scenario_acts_and_the_live_keys_say_why(
    tmp_path: Path, name: str, screen: type[PanesScreen]
) -> None:
    shots = str(tmp_path / "shots")
    app = make_app(tmp_path, scenario=name, scenario_dir=str(tmp_path), screenshot_dir=shots)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        done = await every_key(app, pilot, screen, skip={"q"})
        assert all(d.endswith(": did") for d in done), done
        # The live screen's keys are refused while the story plays, each saying so once.
        for b in screen.LIVE_KEYS:
            assert isinstance(b, Binding)
            if any(b.key == own.key for own in bound(screen)):
                continue  # the same letter means the same here (t, ?, +, -, ^s, q)
            said = len(app.notices)
            await press(app, pilot, b.key)
            new = list(app.notices)[said:]
            shown = b.key_display or b.key
            assert [n for n in new if n.startswith(f"{shown} is off while a scenario plays")] == [new[0]], new
            assert len(new) == 1, new


# -- the key tables of the README and the docs are the screens' bindings -------------------------
SPOKEN = {"+": "plus", "-": "minus", "?": "question_mark", "→": "right", "←": "left", "Page Down": "pagedown",
          "Page Up": "pageup"}  # fmt: skip


def key_tables(path: Path) -> list[set[str]]:
    """Each table whose header starts `| Key |`: the keys its first column names."""
    tables: list[set[str]] = []
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("| Key |"):
            tables.append(set())
            inside = True
        elif inside and line.startswith("|"):
            first = line.split("|")[1]
            for token in re.findall(r"`([^`]+)`", first):
                tables[-1].add(SPOKEN.get(token, token))
        else:
            inside = False
    return tables


def keys_of(bindings: list[Binding]) -> set[str]:
    return {b.key for b in bindings}


ATM = keys_of(bound(AtmScreen)) | {"ctrl+p"}  # ctrl+p: Textual's command palette, on every screen
PIPELINE_OWN = keys_of([b for b in bound(PipelineScreen) if b not in bound(AtmScreen)])
PRESENTER = keys_of(bound(AtmScenarioScreen)) | {"ctrl+p"}


def test_the_readme_key_table_is_the_atm_screens_bindings() -> None:
    tables = key_tables(ROOT / "README.md")
    assert tables and tables[0] == ATM, (tables[0] - ATM, ATM - tables[0])


def test_the_ui_docs_key_tables_are_the_atm_and_pipeline_screens_bindings() -> None:
    atm, pipeline = key_tables(ROOT / "docs" / "ui.md")
    assert atm == ATM, (atm - ATM, ATM - atm)
    assert pipeline == PIPELINE_OWN, (pipeline - PIPELINE_OWN, PIPELINE_OWN - pipeline)


def test_the_presenter_docs_key_table_is_the_scenario_screens_bindings() -> None:
    (presenter,) = key_tables(ROOT / "docs" / "presenter.md")
    assert presenter == PRESENTER, (presenter - PRESENTER, PRESENTER - presenter)
    assert keys_of(bound(PipelineScenarioScreen)) == keys_of(bound(AtmScenarioScreen))


def test_the_table_reader_catches_a_missing_key(tmp_path: Path) -> None:
    doc = tmp_path / "keys.md"
    doc.write_text("| Key | Does |\n|---|---|\n| `w` | withdraw |\n| `+` / `-` | speed |\n\ntext\n")
    assert key_tables(doc) == [{"w", "plus", "minus"}]
    assert key_tables(doc)[0] != ATM


# A letter named in words: "press r", "r sends", "(m to change)". The models and widgets write
# ‹retry› (the action) instead, and the screen puts in its binding's key.
LETTER_IN_WORDS = re.compile(
    r"\b[Pp]ress [a-zA-Z?]\b|[\" (][a-zA-Z?] (?:sends|resends|drops|lists|to change)\b"
)


def test_no_model_or_widget_names_a_key_letter_in_its_words() -> None:
    ui = ROOT / "atm_tui" / "ui"
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("models", "widgets", "screens")
        for path in sorted((ui / folder).glob("*.py"))
        if path.name != "modals.py"  # the help's lesson text: prose about both screens (see its note)
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if LETTER_IN_WORDS.search(line)
    ]
    assert found == []
    assert LETTER_IN_WORDS.search('"Press r to retry."') and LETTER_IN_WORDS.search('" (m to change)"')


def test_every_key_named_in_words_is_an_action_the_atm_screen_binds() -> None:
    ui = ROOT / "atm_tui" / "ui"
    named = {m for path in ui.rglob("*.py") for m in KEY_MARK.findall(path.read_text())}
    actions = {b.action for b in bound(AtmScreen)}
    assert named and named <= actions, named - actions
    keys = {b.action: b.key_display or b.key for b in bound(AtmScreen)}
    assert name_keys("Press ‹status› to ask, or ‹retry› to retry; ‹help› lists them.", keys) == (
        "Press s to ask, or r to retry; ? lists them."
    )
