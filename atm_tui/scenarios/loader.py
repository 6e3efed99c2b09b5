"""Finding scenarios: the built-in ones in the lesson's order, a teacher's own file by its path.

The built-in scenarios ship inside this package (read with importlib.resources); a path ending
in .toml loads a teacher's own file. Checking a file's text is parsing.py's work.
"""

from __future__ import annotations

import os
import stat
from importlib import resources
from pathlib import Path

from atm_tui.paths import quoted
from atm_tui.scenarios.parsing import parse
from atm_tui.scenarios.scenario import Scenario, ScenarioError

PACKAGE = "atm_tui.scenarios"
MAX_FILE_BYTES = 1_048_576  # a scenario is a few kilobytes; 1 MiB is far past any real one


def builtin_names() -> list[str]:
    """The scenarios shipped with the package, in the order the lesson tells them."""
    names = sorted(
        p.name.removesuffix(".toml") for p in resources.files(PACKAGE).iterdir() if p.name.endswith(".toml")
    )
    order = {n: i for i, n in enumerate(LESSON_ORDER)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


LESSON_ORDER = (
    "t123",
    "naive",
    "hook",
    "lost-request",
    "duplicate",
    "payment",
    "order",
    "vote",
    "get-vs-post",
    "in-flight",
    "mismatch",
    "two-atms",
    "expiry",
    "crash-gap",
    "kafka",
)


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a file by path (anything ending in .toml)."""
    if name_or_path.endswith(".toml"):
        return parse(read_file(name_or_path), Path(name_or_path).stem, name_or_path)
    names = builtin_names()
    if name_or_path not in names:
        accepted = f"{', '.join(names)} or a path to a .toml file"
        raise ScenarioError(f"scenario {name_or_path!r}: no such scenario; use one of {accepted}")
    resource = resources.files(PACKAGE).joinpath(f"{name_or_path}.toml")
    return parse(resource.read_text(encoding="utf-8"), name_or_path, f"atm_tui/scenarios/{name_or_path}.toml")


def read_file(name: str) -> str:
    """A scenario file's text: a regular file of at most MAX_FILE_BYTES, in UTF-8.

    A symlink to /dev/zero or a FIFO would never end, and a huge file would fill the memory, so
    the file's kind is checked first and no more than the cap is ever read.
    """
    shown = quoted(name)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
        with os.fdopen(os.open(name, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ScenarioError(f"scenario {shown}: not a regular file; give a .toml file")
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"scenario {shown}: no such file") from None
    except OSError as exc:
        raise ScenarioError(f"scenario {shown}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"scenario {shown}: over {MAX_FILE_BYTES:,} bytes; a scenario file is a few kilobytes of TOML"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"scenario {shown}: not UTF-8 text (byte {exc.start:,}); save it as UTF-8") from None


def load_all() -> list[Scenario]:
    return [load(n) for n in builtin_names()]
