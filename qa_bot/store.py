"""The one way qa-bot opens its SQLite files (the sources registry, the journal of answers,
ratings and conversations): WAL mode, so readers never block the writer and a crash mid-write
loses only that write; a 30 s busy wait, so a ``qa-bot`` command run beside ``qa-bot serve`` waits
its turn instead of failing; autocommit, with ``BEGIN IMMEDIATE`` where a read and a write must
happen together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_MADE: set[tuple[str, str]] = set()  # (file, schema) pairs already created by this process


@contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` (created with ``schema`` when new), closed on exit. Rows read as
    ``sqlite3.Row``. Statements commit one by one unless wrapped in ``BEGIN IMMEDIATE``/``COMMIT``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = (str(path.resolve()), schema)
    new = not path.exists()  # (a file deleted since this process made it is made again)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable except on power loss
        if new or key not in _MADE:
            con.executescript(schema)
            _MADE.add(key)
        con.row_factory = sqlite3.Row
        yield con
    finally:
        con.close()
