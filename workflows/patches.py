"""Every patch id (workflow.patched) of PurchaseWorkflow, with what it changed.

A purchase started before a patch keeps the old commands on replay: the first call of workflow.patched for an id
decides for the whole purchase. An id is never renamed or reused; its history stays in tests/histories/.
"""

WORKFLOW_CANCEL_WAIVES_FEE = "workflow-cancel-waives-fee"
"""Cancelling the workflow itself (UI, CLI, batch) is an operator's act: like ops_cancel, it waives the fee."""

COMPENSATION_CLEARS_ATTENTION = "compensation-clears-attention"
"""Compensation clears NeedsAttention: what the purchase waited on is moot once it is being undone."""

REALLOCATE = "reallocate-after-damage"
"""A car damaged in transit or failing PDI is replaced by another VIN, instead of ending the purchase."""

OFFER_FULL_PAYMENT = "offer-full-payment-after-denial"
"""A denied loan lets the customer switch to full payment within a window, instead of ending the purchase."""

LEAN_HISTORY = "lean-history"
"""The history diet (issue 8): notifications and the outcome record run as local activities, and the insurance
branch's wait for a VIN has no timer of its own."""

IN_TIME_ACTIONS = "in-time-actions"
"""Issue 16: what the customer did in time is honoured, and no handler can reorder a purchase's commands.

- After a declined payment the customer may pay again only after a short durable cool-down (so a retry is
  admitted from a later workflow task than the decline's), and has at least `retry_after_decline` for it even
  when the charge outlasted the window.
- Every wait with a deadline arms its timer even when what it waits for is there already, so timer ids never
  depend on whether a handler ran before or after the event that opened the wait.
"""

OUTAGE_GRACE = "outage-grace"
"""Issue 16: a customer's window whose expiry ran late (Temporal or every worker was down at its deadline, so
the customer's actions could not reach the purchase) is reopened for `grace_after_outage` instead of expiring."""
