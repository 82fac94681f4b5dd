"""Structured JSON logs for every carbuy process (no PII: ids, stages and activity types only)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

_EXTRA_FIELDS = ("workflow_id", "run_id", "activity", "stage", "order_ref")

# The SDK's loggers put the context on the record as a dict (extra "temporal_activity" / "temporal_workflow"):
# flattened into the line under these names.
_ACTIVITY_FIELDS = {
    "workflow_id": "workflow_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_type": "activity",
    "activity_id": "activity_id",
    "attempt": "attempt",
    "task_queue": "task_queue",
}
_WORKFLOW_FIELDS = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_type": "workflow_type",
    "attempt": "workflow_task_attempt",
    "task_queue": "task_queue",
    "update_name": "update",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, process role, logger, message and known context fields."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "process": self.role,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for extra, names in (("temporal_activity", _ACTIVITY_FIELDS), ("temporal_workflow", _WORKFLOW_FIELDS)):
            _flatten(entry, getattr(record, extra, None), names)
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _flatten(entry: dict[str, object], details: Any, names: Mapping[str, str]) -> None:
    if isinstance(details, Mapping):
        for key, name in names.items():
            if details.get(key) is not None:
                entry[name] = details[key]


def configure_logging(role: str, level: int = logging.INFO) -> None:
    """Send every log line of this process to stderr as JSON (the SDK's context as fields, not in the message)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(role))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
