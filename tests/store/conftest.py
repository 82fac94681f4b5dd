"""Databases for the store tests: a fresh SQLite file, or a PostgreSQL schema of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import create_engine

POSTGRES_USERS = ("root", "postgres")
POSTGRES_SERVER = "127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """A URL of the local PostgreSQL test database that answers, trying the usual users."""
    for user in POSTGRES_USERS:
        url = f"postgresql+psycopg://{user}@{POSTGRES_SERVER}"
        probe = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with probe.connect():
                return url
        except OperationalError:
            continue
        finally:
            probe.dispose()
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """The PostgreSQL test database confined to a new schema, dropped afterwards (skips without PostgreSQL)."""
    url = postgres_url()
    if url is None:
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_SERVER} as {' or '.join(POSTGRES_USERS)}")
    schema = f"carbuy_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL schema shared by one test module."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A PostgreSQL schema of one test's own, empty."""
    with postgres_schema() as url:
        yield url
