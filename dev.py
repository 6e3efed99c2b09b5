#!/usr/bin/env python3
"""The project's two everyday commands, needing nothing but Python 3.11+.

    python3 dev.py demo [atm-tui options]   launch the classroom app
    python3 dev.py test [pytest options]    lint, type-check, check the import contracts, run the tests
    python3 dev.py test --fast [...]        the same, without the slow tests and with fewer
                                            Hypothesis examples (the inner loop; CI runs it all)
    (both on pytest-xdist workers, two a core; `-n 0` runs in one process)
    python3 dev.py bench                    run the benchmarks (not part of `test`)

Each creates ./.venv on first use (or reuses it) and installs the project into it, again
whenever pyproject.toml changes: `demo` installs only what the app needs (pip install -e .),
`test` and `bench` add the test tools (pip install -e '.[test]').
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".atm-tui-installed"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def with_bytecode_cache() -> dict[str, str]:
    """This environment, with Python's cache of compiled modules on. Some machines (this project's
    CI among them) set PYTHONDONTWRITEBYTECODE=1; the tests then start about 250 Python processes
    (the CLI, servers, clients) that each compile atm_tui from source again, and every pytest
    worker rewrites every test module again. Measured: `atm-tui simulate` took 0.31 s with it set
    and 0.17 s without."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def ensure_venv(extra: str = "") -> None:
    """Make ./.venv hold atm-tui, plus `extra` (an extra of pyproject.toml, "" for none).

    The stamp records pyproject.toml's hash and the extra installed: `demo` needs only the app,
    `test` and `bench` need the test tools; a venv with the tools serves `demo` as it is.
    """
    # dev.py itself may run on an older system Python, so this check is real at run time.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"dev.py: Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = STAMP.read_text() if STAMP.exists() else ""
    if not needs_install(stamp, digest, extra):
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    what = "atm-tui and its test tools" if extra else "atm-tui"
    print(f"dev.py: installing {what} into .venv ...", flush=True)
    pip = (BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    code = _run(*pip, "-e", f".[{extra}]" if extra else ".")
    if code:
        sys.exit(f"dev.py: pip install failed (exit {code})")
    STAMP.write_text(stamp_after(stamp, digest, extra))


def needs_install(stamp: str, digest: str, extra: str) -> bool:
    """Whether .venv must be (re)installed: pyproject.toml changed, or `extra` is not in yet."""
    words = stamp.split()
    return words[:1] != [digest] or bool(extra) and extra not in words[1:]


def stamp_after(stamp: str, digest: str, extra: str) -> str:
    """The stamp once `extra` is installed; extras installed under the same pyproject.toml stay."""
    words = stamp.split()
    kept = words[1:] if words[:1] == [digest] else []
    return " ".join([digest, *sorted({*kept, extra} - {""})])


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "bench"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv("" if command == "demo" else "test")
    if rest[:1] == ["--"]:  # `python3 dev.py demo -- --fresh` passes the rest through as is
        rest = rest[1:]
    if command == "demo":
        return _run(BIN / "atm-tui", *rest)
    if command == "bench":
        return _run(BIN / "python", "-m", "pytest", "-m", "bench", "-s", *rest)
    for step in (
        (BIN / "ruff", "check", "atm_tui", "tests", "dev.py"),
        (BIN / "mypy",),
        (BIN / "lint-imports", "--no-cache"),  # the layers and rooms contracts in pyproject.toml
    ):
        shown = " ".join(Path(str(s)).name if i == 0 else str(s) for i, s in enumerate(step))
        print("dev.py:", shown, flush=True)
        code = _run(*step)
        if code:
            return code
    if "--fast" in rest:
        rest = [r for r in rest if r != "--fast"]
        rest = ["-m", "not bench and not slow", "--hypothesis-profile", "fast", *rest]
    return _run(BIN / "python", "-m", "pytest", *workers(rest), *rest, env=with_bytecode_cache())


def workers(rest: list[str]) -> list[str]:
    """pytest-xdist workers, two a core, when the plugin is in .venv and the options choose no -n of
    their own. A third of the suite's wall time waits on servers, subprocesses and the screen's
    pauses, not on a core, so spare workers fill it: measured on a quiet 2-core machine, one
    process 607 s, two workers 320 s, three 260 s; later, in one sitting with the bytecode cache
    on, three 254 s, four 221 s and 224 s, five 246 s."""
    chosen = any(r.startswith(("-n", "--numprocesses", "--dist")) or r == "no:xdist" for r in rest)
    if chosen or not any(VENV.glob("[Ll]ib*/**/site-packages/xdist/__init__.py")):
        return []
    return ["-n", str(2 * (os.cpu_count() or 1)), "--dist", "loadgroup"]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
