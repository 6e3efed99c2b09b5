"""Finding scenarios: the built-in ones in the lesson's order, a teacher's own file by its path.

The built-in scenarios ship inside this package, in data/ (read with importlib.resources); each
says its place in the lesson with `lesson = N`. A path ending in .toml loads a teacher's own file.
Checking a file's text is parsing.py's work.
"""

from __future__ import annotations

import os
import stat
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from atm_tui.paths import quoted
from atm_tui.scenarios.parsing import lesson_of, parse
from atm_tui.scenarios.scenario import Scenario, ScenarioError
from atm_tui.scenarios.source_lines import SourceLines

PACKAGE = "atm_tui.scenarios"
DATA = "data"  # the folder of built-in scenarios inside PACKAGE
SHOWN = "atm_tui/scenarios/data"  # how messages name that folder
MAX_FILE_BYTES = 1_048_576  # a scenario is a few kilobytes; 1 MiB is far past any real one


def builtin_folder() -> Traversable:
    return resources.files(PACKAGE).joinpath(DATA)


def scenario_files(folder: Traversable) -> dict[str, Traversable]:
    """The .toml files in a folder by scenario name (the file's name without .toml)."""
    return {p.name.removesuffix(".toml"): p for p in folder.iterdir() if p.name.endswith(".toml")}


def in_lesson_order(folder: Traversable, shown: str) -> list[str]:
    """The names of a folder's scenarios sorted by their `lesson = N`, each N used once.

    A file without a lesson, with one that is not a whole number, or with another file's number
    is one ScenarioError naming the file as `shown`/NAME.toml.
    """
    taken: dict[int, str] = {}  # lesson -> the file that has it
    places: list[tuple[int, str]] = []
    for name, path in sorted(scenario_files(folder).items()):
        source, text = f"{shown}/{path.name}", path.read_text(encoding="utf-8")
        lesson = lesson_of(text, source)
        if lesson in taken:
            at = SourceLines(text)
            line = at.key("lesson", at.section(None))
            raise ScenarioError(
                f"scenario {source}, line {line}: lesson = {lesson} is also {taken[lesson]}'s;"
                " expected a number no other built-in scenario has"
            )
        taken[lesson] = source
        places.append((lesson, name))
    return [name for _, name in sorted(places)]


def builtin_names() -> list[str]:
    """The scenarios shipped with the package, in the order the lesson tells them."""
    return in_lesson_order(builtin_folder(), SHOWN)


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a file by path (anything ending in .toml)."""
    if name_or_path.endswith(".toml"):
        return parse(read_file(name_or_path), Path(name_or_path).stem, name_or_path)
    resource = scenario_files(builtin_folder()).get(name_or_path)
    if resource is None:
        accepted = f"{', '.join(builtin_names())} or a path to a .toml file"
        raise ScenarioError(f"scenario {name_or_path!r}: no such scenario; use one of {accepted}")
    return parse(resource.read_text(encoding="utf-8"), name_or_path, f"{SHOWN}/{name_or_path}.toml")


def load_all() -> list[Scenario]:
    return [load(n) for n in builtin_names()]


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
            f"scenario {shown}: not UTF-8 text (byte {exc.start:,}); save it as UTF-8"
        ) from None
