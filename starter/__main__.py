"""Run the starter API: `python -m starter`."""

import uvicorn

from carbuy.runtime.settings import Settings
from observability.logs import configure_logging
from observability.metrics import serve_metrics
from starter.app import create_app


def main() -> None:
    """Serve the API on the configured host and port."""
    settings = Settings()
    configure_logging("api")
    serve_metrics(settings.metrics.host, settings.metrics.api_port)
    uvicorn.run(create_app(settings), host=settings.api.host, port=settings.api.port, log_config=None)


if __name__ == "__main__":
    main()
