"""The rules that turn the day's differences into discrepancies; every movement lands in at most one.

Processor objects and ledger rows are paired by the processor's id (pi_…, re_…); lender lines and ledger rows
by the disbursement id, or for a principal return by the application id. What pairs up is checked for its
amount; what does not is looked up once more in carbuy's database (any day) or at the counterparty (by id),
because a movement can be booked on one side of midnight and happen on the other. What still has no partner
is classified, most specific cause first. One module per rule family: processor, lender.
"""

from __future__ import annotations

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.finance.model import Discrepancy, OutcomeNets
from carbuy.finance.rules.common import cny
from carbuy.finance.rules.lender import LenderRules
from carbuy.finance.rules.processor import ProcessorRules

__all__ = ["Rules", "cny"]


class Rules(ProcessorRules, LenderRules):
    """Classifies one day's differences, reading the scratch database, carbuy's database and the counterparties."""

    def net_differs(self, nets: OutcomeNets) -> Discrepancy | None:
        """A purchase that ended on the day, if its ledger's nets are not what its outcome should cost."""
        processor_off = nets.ledger_processor_fen != nets.expected_processor_fen
        lender_off = nets.ledger_lender_fen != nets.expected_lender_fen
        if not (processor_off or lender_off):
            return None
        parts = [
            f"{name} net {cny(actual)} where a {nets.state} purchase should net {cny(expected)}"
            for name, off, actual, expected in (
                ("processor", processor_off, nets.ledger_processor_fen, nets.expected_processor_fen),
                ("lender", lender_off, nets.ledger_lender_fen, nets.expected_lender_fen),
            )
            if off
        ]
        expected, actual = (
            (nets.expected_processor_fen, nets.ledger_processor_fen)
            if processor_off
            else (nets.expected_lender_fen, nets.ledger_lender_fen)
        )
        return Discrepancy(
            type=T.NET_DIFFERS_FROM_OUTCOME,
            purchase_id=nets.purchase_id,
            order_ref=nets.order_ref,
            kind="processor net" if processor_off else "lender net",
            expected_fen=expected,
            actual_fen=actual,
            explanation=f"its ledger shows a {'; and a '.join(parts)}",
        )
