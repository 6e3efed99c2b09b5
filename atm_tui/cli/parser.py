"""`atm-tui`'s parser: every subcommand's flags and what each accepts. Builds fast: it loads no Textual."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, TypeVar

from atm_tui.argtypes import client_name, file_path, int_in, probability
from atm_tui.bank.core import MODES
from atm_tui.bank.money import MAX_BALANCE, AmountError, parse_amount
from atm_tui.cli.pipeline import add_pipeline_options
from atm_tui.cli.simulate import EXIT_USAGE
from atm_tui.paths import data_dir, home_relative
from atm_tui.sim.atm.config import RETRY_POLICIES

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line naming the input and what is accepted: no usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


def _amount(text: str) -> int:
    try:
        return parse_amount(text)
    except AmountError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace(f"amount {text!r} ", f"{text!r} ")) from None


def _opening(text: str) -> int:
    return int_in(0, MAX_BALANCE, "whole rupees")(text.replace(",", ""))


def _scenario(text: str) -> str:
    """Validate a scenario name or .toml path now, so a typo is one line before anything starts."""
    from atm_tui.scenarios.loader import load
    from atm_tui.scenarios.scenario import ScenarioError

    try:
        load(text)
    except ScenarioError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _hold(text: str) -> float:
    from atm_tui.scenarios.timing import MAX_HOLD, MIN_SET_HOLD

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not MIN_SET_HOLD <= value <= MAX_HOLD:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds, from {MIN_SET_HOLD:g} to {MAX_HOLD:g}")
    return value


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    ok = len(parts) == 2 and all(p.isdigit() and len(p) < 6 for p in parts)
    w, h = (int(parts[0]), int(parts[1])) if ok else (0, 0)
    if not (320 <= w <= 7680 and 180 <= h <= 4320):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected WIDTHxHEIGHT in pixels, from 320x180 to 7680x4320, such as 1920x1080"
        )
    return w, h


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("atm-tui")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        return "unknown"


def app_epilog() -> str:
    db = home_relative(data_dir() / "bank.db")
    return (
        "With no COMMAND, atm-tui opens the classroom app (a full-screen terminal UI); none of the\n"
        "commands above opens it. The app keeps its bank in a SQLite file, by default\n"
        f"  {db}\n"
        "(--db PATH picks another; --fresh starts it again from the opening balance).\n"
        "In the app, q quits (ctrl+q too), ? lists every key.\n"
        "Each command has its own help: atm-tui export --help, atm-tui simulate --help, ..."
    )


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `simulate` and the app: the bank's file and the run's randomness."""
    p.add_argument("--db", type=file_path(), metavar="PATH",
                   help="the bank's SQLite file (created if missing)")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1, "a seed"), default=0, metavar="N",
                   help="seed of the one RNG every network decision draws (default 0; a scenario: its own)")
    p.add_argument("--opening-balance", type=_opening, default=50_000, metavar="RS",
                   help="opening balance of a new account, whole rupees (default 50000)")
    p.add_argument("--synchronous", choices=("normal", "full"), default="normal",
                   help="SQLite synchronous level in WAL mode (default normal; see README)")


def build_parser() -> Parser:
    parser = Parser(
        prog="atm-tui",
        description="Exactly-once is at-least-once delivery plus idempotent processing.",
        epilog=app_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}",
                        help="print atm-tui's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add_engine_options(parser)
    parser.add_argument("--fresh", action="store_true", help="start the bank again from the opening balance")
    parser.add_argument("--scenario", type=_scenario, metavar="NAME",
                        help="present a scenario step by step (see `atm-tui scenarios`), or a .toml file")
    parser.add_argument("--autoplay", action="store_true",
                        help="with --scenario: play every step with fixed pacing (for a recording)")
    parser.add_argument("--hold", type=_hold, default=None, metavar="SECONDS",
                        help="with --autoplay: every step stays this long (default: its own hold,"
                        " or its caption's reading time)")
    parser.add_argument("--exit-at-end", action="store_true",
                        help="with --autoplay: quit with exit 0 after the last step's hold")
    parser.add_argument("--no-animation", action="store_true",
                        help="no Textual animations; a scenario's step jumps to its end (clean captures)")
    # The app's --seed: a scenario keeps its own seed unless one is given; a live run uses 0.
    parser.set_defaults(seed=None)
    add_app_http_options(parser)

    sub.add_parser("scenarios", help="list the built-in scenarios, one line each",
                   description="List every built-in scenario with a one-line summary.")
    exp = sub.add_parser("export", help="play a scenario headless and write its trace, summary and frames",
                         description="Play a scenario headless; write events.jsonl, summary.json and"
                                     " one frame per step into a folder.")
    exp.add_argument("--scenario", type=_scenario, required=True, metavar="NAME",
                     help="a built-in scenario name or a .toml file")
    exp.add_argument("--seed", type=int_in(0, 2**63 - 1, "a seed"), default=None, metavar="N",
                     help="override the scenario's seed")
    exp.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    exp.add_argument("--frames", default=None, metavar="EXT",
                     help="frame format by extension: txt (default), svg (the app's real screen),"
                     " or png (pictures of it, a title frame first)")
    exp.add_argument("--size", type=_size, default=None, metavar="WxH",
                     help="with --frames png: picture size in pixels (default 1920x1080)")
    exp.add_argument("--clean", action="store_true",
                     help="with --frames png or svg: the recording look, no key bar")
    exp.add_argument("--captions", choices=("both", "burned", "vtt"), default="both",
                     help="where the captions go: burned into the frames (no captions.vtt), vtt (captions.vtt"
                     " only, left out of the frames and the cast) or both (default)")
    exp.add_argument("--step-starts", action="store_true",
                     help="also a still at the start of each step (frame-NNN-start), before its time runs")
    exp.add_argument("--video", choices=("mp4",), default=None,
                     help="also assemble the PNG frames at autoplay's timing into NAME.mp4 (H.264, with the"
                     " ffmpeg bundled by imageio-ffmpeg: pip install 'atm-tui[video]'); implies --frames png")

    sim = sub.add_parser("simulate", help="run the engine headless and print a report",
                         description="Run withdrawals through the lossy network and the bank, headless.")
    add_engine_options(sim)
    sim.add_argument("--fresh", action="store_true", help="empty an existing database first")
    sim.add_argument("--withdrawals", type=int_in(0, 10_000_000, "a count"), default=1, metavar="N",
                     help="customers, one after another at one ATM (default 1)")
    sim.add_argument("--amount", type=_amount, default=None, metavar="RS",
                     help="rupees per withdrawal (or message), a positive multiple of 100 (default 5000;"
                     " 500 with --pipeline)")
    sim.add_argument("--mode", choices=MODES, default="idempotent",
                     help="the bank's mode (default idempotent)")
    sim.add_argument("--drop-request", type=probability(), default=0.0, metavar="P",
                     help="chance a request is lost")
    sim.add_argument("--drop-reply", type=probability(), default=0.0, metavar="P",
                     help="chance a reply is lost")
    sim.add_argument("--duplicate", type=probability(), default=0.0, metavar="P",
                     help="chance a request arrives twice")
    sim.add_argument("--drop-next-replies", type=int_in(0, 1_000_000, "a count"), default=0, metavar="N",
                     help="lose the next N replies (the lesson's story uses 2)")
    sim.add_argument("--drop-next-requests", type=int_in(0, 1_000_000, "a count"), default=0, metavar="N",
                     help="lose the next N requests")
    sim.add_argument("--duplicate-next", type=int_in(0, 1_000_000, "a count"), default=0, metavar="N",
                     help="deliver the next N requests twice")
    sim.add_argument("--max-attempts", type=int_in(1, 100, "a count"), default=3, metavar="N",
                     help="attempts per withdrawal, the first included (default 3)")
    sim.add_argument("--retry", choices=RETRY_POLICIES, default="backoff",
                     help="retry policy (default backoff, with full jitter)")
    sim.add_argument("--timeout", type=int_in(1, 86_400_000, "milliseconds"), default=3_000, metavar="MS",
                     help="virtual ms the ATM waits for a reply (default 3000)")
    sim.add_argument("--processing", type=int_in(0, 86_400_000, "milliseconds"), default=300, metavar="MS",
                     help="virtual ms the bank takes per delivery (default 300)")
    sim.add_argument("--ttl", type=int_in(1, 10**12, "milliseconds"), default=86_400_000, metavar="MS",
                     help="how long the bank remembers a key, virtual ms (default 24 h); with --pipeline"
                          " log, the idempotent consumer's dedup window")
    sim.add_argument("--first-id", type=int_in(0, 10**12, "an id number"), default=None, metavar="N",
                     help="number of the first transaction id (default 123, or after the last one stored)")
    sim.add_argument("--crash-in-gap", type=int_in(0, 1_000_000, "a count"), default=0, metavar="N",
                     help="split mode: the bank dies between debit and key, the next N times")
    sim.add_argument("--hard-crash", action="store_true",
                     help="with --crash-in-gap: SIGKILL this process at the crash point")
    sim.add_argument("--bridge", choices=("inline", "aiosqlite"), default="inline",
                     help="run transactions inline (default) or on aiosqlite's thread, as the app does")
    sim.add_argument("--name", type=client_name, default=None, metavar="NAME",
                     help="this ATM's client id (default simulate-<random>, new each run); give the same"
                          " name to a rerun that resends earlier keys (--first-id), or they are refused")
    sim.add_argument("--trace", metavar="FILE", help="write every event as a JSON line")
    sim.add_argument("--check", action="store_true", help="exit 1 if an invariant is violated")
    sim.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_pipeline_options(sim)
    add_http_commands(sub)
    add_check_command(sub)
    return parser


def add_check_command(sub: argparse._SubParsersAction) -> None:
    """`check BASE_URL`: the checker for anyone's Idempotency-Key server (atm_tui/check/)."""
    from atm_tui.check.cli import add_parser

    add_parser(sub)


def add_http_commands(sub: argparse._SubParsersAction) -> None:
    """`serve` and `client`: the bank over real HTTP (atm_tui/http/)."""
    from atm_tui.http.cli import add_serve_parser
    from atm_tui.http.client_cli import add_client_parser

    add_serve_parser(sub)
    add_client_parser(sub)
    from atm_tui.ui.web import add_web_parser

    add_web_parser(sub)
    add_class_parser(sub)


def add_class_parser(sub: argparse._SubParsersAction) -> None:
    """`class --db FILE|URL` (its app, atm_tui/ui/class_app.py, loads only when it runs)."""
    p = sub.add_parser(
        "class", help="the teacher's class view alone: one lane per client of a bank (file or PostgreSQL)",
        description="Show one lane per client of a bank, read from its tables twice a second: a SQLite"
                    " file that `serve` or the app writes, or a PostgreSQL database that several `serve`"
                    " processes share. It only reads. q quits.",
    )
    p.add_argument("--db", required=True, metavar="FILE|URL",
                   help="the bank: an existing SQLite file, or postgresql://USER@HOST:PORT/DBNAME")


def add_app_http_options(parser: argparse.ArgumentParser) -> None:
    """The app's `--serve [PORT]` (atm_tui/http/)."""
    from atm_tui.http.cli import add_app_serve_options

    add_app_serve_options(parser)
