"""Shared by every test: temporary files in memory where the machine has a RAM folder, the
Hypothesis profiles (registered before the tests are collected), the throwaway PostgreSQL server
with the fixtures that give each test a bank on it (pg_server.py), and the default export of a
scenario, made once for the tests that only read it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import profiles  # noqa: F401  (registers the `fast` profile for --hypothesis-profile)
import pytest
from pg_server import PgServer, Unavailable, start_server

RAM_FOLDER = Path("/dev/shm")


def temporary_files_in_memory() -> None:
    """tmp_path, tempfile and the processes the tests start write under /dev/shm (Linux's RAM
    folder) unless TMPDIR names a folder already: the banks' commits then wait for no disk. Same
    files, same checks; measured side by side, a SQLite-heavy property took 3.3 s instead of 5.6 s."""
    if os.environ.get("TMPDIR") or not (RAM_FOLDER.is_dir() and os.access(RAM_FOLDER, os.W_OK | os.X_OK)):
        return
    os.environ["TMPDIR"] = str(RAM_FOLDER)
    tempfile.tempdir = None  # tempfile reads TMPDIR again on its next call


temporary_files_in_memory()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(exc: Unavailable) -> NoReturn:
    """No server: skip with the reason printed (-ra shows it), or fail under CI, which must prove both."""
    if in_ci():
        pytest.fail(f"PostgreSQL tests cannot run under CI: {exc}")
    pytest.skip(f"PostgreSQL tests skipped: {exc}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session. Without binaries: skipped, or failed under CI."""
    try:
        server = start_server()
    except Unavailable as exc:
        unavailable(exc)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of an empty database of this test's own on the session's server."""
    return pg_server.new_database()


BACKENDS = ("sqlite", "postgres")


def backend_db(request: pytest.FixtureRequest, folder: Path) -> str:
    """A new bank's location for the backend in `request.param`: a file name in `folder`, or a URL."""
    if request.param == "postgres":
        server: PgServer = request.getfixturevalue("pg_server")
        return server.new_database()
    return str(folder / "bank.db")


@pytest.fixture(params=BACKENDS)
def bank_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs twice: on a new SQLite file, and on a new PostgreSQL database."""
    return backend_db(request, tmp_path)


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`atm-tui export --scenario NAME --out DIR` with every other option at its default, run once
    per name for the whole session: the folder is shared, so a test only reads it (a byte-identity
    test compares it with an export of its own)."""
    from atm_tui.cli.main import main

    done: dict[str, Path] = {}

    def export(name: str) -> Path:
        if name not in done:
            out = tmp_path_factory.mktemp(f"export-{name}") / "out"
            assert main(["export", "--scenario", name, "--out", str(out)]) == 0
            done[name] = out
        return done[name]

    return export
