"""One engine per database URL per process, migrated on first use and disposed when its last user lets go.

The worker builds several activities classes and the API its routes; they share one connection pool
instead of opening one each.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from carbuy.runtime.settings import DatabaseSettings
from carbuy.store.db import make_engine, migrate

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_users: dict[int, int] = {}


def acquire_engine(settings: DatabaseSettings) -> Engine:
    """The process's engine for the configured URL, with the schema upgraded; pair with release_engine."""
    with _lock:
        engine = _engines.get(settings.url)
        if engine is None:
            engine = make_engine(settings)
            migrate(engine)
            _engines[settings.url] = engine
        _users[id(engine)] = _users.get(id(engine), 0) + 1
        return engine


def release_engine(engine: Engine) -> None:
    """Let go of an engine from acquire_engine; the last user disposes it."""
    with _lock:
        left = _users.get(id(engine), 0) - 1
        if left > 0:
            _users[id(engine)] = left
            return
        _users.pop(id(engine), None)
        for url, shared in list(_engines.items()):
            if shared is engine:
                del _engines[url]
    engine.dispose()
