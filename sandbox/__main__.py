"""Composition root of the sandbox process: `python -m sandbox`."""

from __future__ import annotations

import uvicorn

from carbuy.runtime.settings import Settings
from observability.logs import configure_logging
from observability.metrics import serve_metrics
from sandbox.app import create_app


def main() -> None:
    """Read the settings once and serve the sandbox on settings.sandbox.host:port."""
    settings = Settings()
    configure_logging("sandbox")
    serve_metrics(settings.metrics.host, settings.metrics.sandbox_port)
    uvicorn.run(create_app(settings), host=settings.sandbox.host, port=settings.sandbox.port, log_config=None)


if __name__ == "__main__":
    main()
