"""A tiny workflow that records every workflow-side metric once and logs once (sandbox-safe: no test imports)."""

from __future__ import annotations

from temporalio import workflow

from workflows import metrics


@workflow.defn(name="MetricsProbe")
class MetricsProbe:
    """Calls each function of workflows/metrics.py the way the purchase does."""

    @workflow.run
    async def run(self, order_ref: str) -> str:
        """Record, log, and end."""
        workflow.logger.info("probe for %s in stage deposit", order_ref, extra={"stage": "deposit"})
        metrics.purchase_started("loan")
        metrics.stage_entered("deposit")
        metrics.stage_left("deposit", 42.0)
        metrics.sla_breached("logistics")
        metrics.compensation_ran("refund_deposit", ok=True)
        metrics.compensation_ran("cancel_loan", ok=False)
        metrics.purchase_ended("cancelled", "loan")
        return "done"
