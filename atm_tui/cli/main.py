"""The `atm-tui` command: parse, then run the classroom app or one headless subcommand."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from atm_tui.bank.store import StoreError
from atm_tui.cli.parser import build_parser
from atm_tui.cli.simulate import fail, run_simulate
from atm_tui.paths import home_relative


def check_app_http(args: argparse.Namespace) -> str | None:
    from atm_tui.http.cli import check_app_serve

    return check_app_serve(args)


def run_http(args: argparse.Namespace) -> int:
    from atm_tui.http.cli import run_serve
    from atm_tui.http.client_cli import run_client

    if args.command == "client" and args.interactive and args.clients is None:
        from atm_tui.http.client_cli import student_config
        from atm_tui.ui.student_app import run_student

        return run_student(student_config(args), ask_name=args.ask_name)
    return run_serve(args) if args.command == "serve" else run_client(args)


def run_scenarios(args: argparse.Namespace) -> int:
    from atm_tui.scenarios.loader import load_all
    from atm_tui.scenarios.scenario import ScenarioError

    try:
        scenarios = load_all()
    except ScenarioError as exc:
        return fail(str(exc))
    width = max(len(sc.name) for sc in scenarios)
    for sc in scenarios:
        print(f"{sc.name:<{width}}  {sc.summary}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from atm_tui.scenarios.export import FRAME_FORMATS, ExportError, FrameOptions, export
    from atm_tui.scenarios.loader import load
    from atm_tui.scenarios.scenario import ScenarioError

    try:
        import atm_tui.ui.capture.frames  # noqa: F401  (registers --frames svg and png: the app's screen)
    except ImportError:  # pragma: no cover - the UI ships with the package
        pass

    if args.video is not None and args.frames not in (None, "png"):
        return fail(
            f"--video mp4 is made of the PNG frames; use --frames png (not {args.frames}) or leave it out"
        )
    args.frames = args.frames or ("png" if args.video else "txt")
    if args.frames not in FRAME_FORMATS:
        accepted = ", ".join(sorted(FRAME_FORMATS))
        return fail(f"--frames {args.frames}: unknown frame format; use one of {accepted}")
    if args.size is not None and args.frames != "png":
        return fail(f"--size sets the PNG frames' size; add --frames png (not {args.frames})")
    if args.clean and args.frames == "txt":
        return fail("--clean is the look of the app's screen; add --frames png or svg")
    if args.frames == "png":
        from importlib.util import find_spec

        if find_spec("PIL") is None or find_spec("fontpkg_fira_code") is None:
            return fail("--frames png needs Pillow and its font: pip install 'atm-tui[frames]'")
    if args.video is not None:
        from atm_tui.scenarios.video import VideoError, ffmpeg_exe

        try:
            ffmpeg_exe()
        except VideoError as exc:
            return fail(str(exc))
    options = FrameOptions(size=args.size or (1920, 1080), clean=args.clean, captions=args.captions,
                           starts=args.step_starts, video=args.video is not None)  # fmt: skip
    try:
        scenario = load(args.scenario)
        names = asyncio.run(export(scenario, args.out, args.seed, args.frames, options))
    except (ScenarioError, ExportError, StoreError) as exc:  # export() says a VideoError as ExportError
        return fail(str(exc))
    frames = sum(1 for n in names if n.startswith("frame-"))
    others = ", ".join(n for n in names if not n.startswith("frame-"))
    print(f"{scenario.name}: {frames} frames, {others} written to {home_relative(args.out)}")
    return 0


def run_app(args: argparse.Namespace) -> int:
    for flag, given in (("--hold", args.hold is not None), ("--exit-at-end", args.exit_at_end)):
        if given and not args.autoplay:
            return fail(f"{flag} paces --autoplay; add --autoplay --scenario NAME")
    try:
        from atm_tui.ui.launch import run as run_ui
    except ImportError as exc:  # pragma: no cover - the UI ships with the package
        return fail(f"the app cannot start ({exc})")
    return run_ui(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return run_simulate(args, lambda: vars(build_parser().parse_args(["simulate"])))
        if args.command == "scenarios":
            return run_scenarios(args)
        if args.command == "export":
            return run_export(args)
        if args.command in ("serve", "client"):
            return run_http(args)
        if args.command == "web":
            from atm_tui.ui.web import run_web

            return run_web(args)
        if args.command == "class":
            from atm_tui.ui.class_app import run_class

            return run_class(args)
        if args.command == "check":
            from atm_tui.check.cli import run as run_check

            return run_check(args)
        problem = check_app_http(args)
        if problem:
            return fail(problem)
        return run_app(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `atm-tui simulate | head -1`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
