"""`atm-tui` with no sub-command: check the flags, pick the bank's file, and run the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from atm_tui.bank.store import StoreError, check_path
from atm_tui.paths import data_dir
from atm_tui.ui.core.settings import Settings

EXIT_STORE = 2


def default_db() -> str:
    """The persistent bank in the user's data folder (created if missing)."""
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "bank.db")


def run(args: argparse.Namespace) -> int:
    """Open the app on the chosen (or the default) database, or on a scenario's own file."""
    scenario = getattr(args, "scenario", None)
    seed = getattr(args, "seed", None)
    if scenario is None and getattr(args, "autoplay", False):
        sys.stderr.write("atm-tui: error: --autoplay plays a scenario; add --scenario NAME\n")
        return EXIT_STORE
    scenario_file = scenario_db(args, scenario) if scenario else ""
    db = live_db(args)
    for checked in (scenario_file, db):
        if checked.startswith("atm-tui: error: "):
            sys.stderr.write(checked + "\n")
            return EXIT_STORE
    settings = Settings(
        db=db,
        fresh=bool(getattr(args, "fresh", False)),
        seed=0 if seed is None else int(seed),
        opening_balance=int(getattr(args, "opening_balance", 50_000)),
        synchronous=getattr(args, "synchronous", "normal"),
        scenario=scenario,
        scenario_seed=seed,
        scenario_dir=str(Path(scenario_file).parent) if scenario else None,
        autoplay=bool(getattr(args, "autoplay", False)),
        hold=getattr(args, "hold", None),
        exit_at_end=bool(getattr(args, "exit_at_end", False)),
        no_animation=bool(getattr(args, "no_animation", False)),
        serve=getattr(args, "serve_at", None),
    )
    from atm_tui.ui.app import AtmApp

    app = AtmApp(settings)
    code = app.run()
    if app.error:
        sys.stderr.write(f"atm-tui: error: {app.error}\n")
        return EXIT_STORE
    # Textual prints an unexpected exception's traceback and sets return_code; never exit 0 then.
    return code or app.return_code or 0


def live_db(args: argparse.Namespace) -> str:
    """The bank file to explore, checked; or the one-line error (prefixed "atm-tui: error: ")."""
    try:
        db = args.db or default_db()
    except OSError as exc:
        return f"atm-tui: error: data folder {data_dir()}: {exc.strerror or exc}; use --db PATH"
    try:
        # A wrong path fails here, in one line, before the screen is taken over; a locked or
        # corrupt file is found on opening and shown on screen (and repeated here on exit).
        check_path(db)
    except StoreError as exc:
        return f"atm-tui: error: {exc}"
    return db


def scenario_db(args: argparse.Namespace, name: str) -> str:
    """A scenario's own file, <data dir>/scenarios/<name>.db: the player empties it on every run."""
    from atm_tui.scenarios.loader import load
    from atm_tui.scenarios.scenario import ScenarioError

    if getattr(args, "db", None):
        return (
            "atm-tui: error: --db with --scenario: a scenario plays on its own file (it is emptied"
            " on every step back), never on your bank; leave --db out"
        )
    try:
        scenario = load(name)
        folder = data_dir() / "scenarios"
        folder.mkdir(parents=True, exist_ok=True)
        db = str(folder / f"{scenario.name}.db")
        check_path(db)
    except ScenarioError as exc:
        return f"atm-tui: error: {exc}"
    except OSError as exc:
        return f"atm-tui: error: data folder {data_dir()}: {exc.strerror or exc}"
    except StoreError as exc:
        return f"atm-tui: error: {exc}"
    return db
