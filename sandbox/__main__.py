"""Composition root of the sandbox process: `python -m sandbox`."""

from __future__ import annotations

import logging

import uvicorn

from carbuy.settings import Settings
from sandbox.app import create_app


def main() -> None:
    """Read the settings once and serve the sandbox on settings.sandbox.host:port."""
    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), host=settings.sandbox.host, port=settings.sandbox.port, log_level="info")


if __name__ == "__main__":
    main()
