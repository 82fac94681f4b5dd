"""The workflow classes carbuy's worker runs, in one list: the worker registers them, `carbuy replay` replays them."""

from __future__ import annotations

from workflows.purchase import PurchaseWorkflow
from workflows.reconciliation import ReconciliationWorkflow

WORKFLOWS: list[type] = [PurchaseWorkflow, ReconciliationWorkflow]
