"""Reports rendered from their templates (HTML for people, CSV for spreadsheets) and stored one per day."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.finance.model import Discrepancy, KindTotal, ReconciliationReport
from carbuy.finance.render import ReportRenderer
from carbuy.finance.run import keep
from carbuy.store.db import session_scope
from carbuy.store.reports import get_report, list_reports
from tests.finance.conftest import UI_URL

DAY = date(2026, 11, 25)
HOSTILE_ORDER = '=HYPERLINK("http://evil.example")<script>alert(1)</script>'


def report(*discrepancies: Discrepancy, day: date = DAY) -> ReconciliationReport:
    return ReconciliationReport(
        day=day,
        generated_at=datetime(2026, 11, 26, 18, 0, tzinfo=UTC),
        ledger_rows=4,
        processor_objects=4,
        lender_lines=1,
        purchases_ended=2,
        skipped_objects=0,
        discrepancies=list(discrepancies),
        totals=[
            KindTotal(
                kind="deposit_charged",
                direction="in",
                counterparty="processor",
                ledger_count=2,
                ledger_fen=20_000,
                counterpart_count=2,
                counterpart_fen=20_000,
            ),
            KindTotal(
                kind="balance_charged",
                direction="in",
                counterparty="processor",
                ledger_count=1,
                ledger_fen=2_330_788,
                counterpart_count=2,
                counterpart_fen=2_830_788,
            ),
            KindTotal(
                kind="cancellation_fee_kept",
                direction="info",
                counterparty="processor",
                ledger_count=1,
                ledger_fen=10_000,
            ),
        ],
    )


def missing(order_ref: str = "ORD-1") -> Discrepancy:
    return Discrepancy(
        type=T.MISSING_IN_LEDGER,
        purchase_id=f"purchase-{order_ref}",
        order_ref=order_ref,
        kind="balance_charged",
        expected_fen=None,
        actual_fen=500_000,
        reference="pi_123",
        explanation="the processor moved charge pi_123 of 5,000.00 CNY; the ledger has no row for it",
    )


@pytest.fixture
def renderer() -> ReportRenderer:
    return ReportRenderer(ui_url=UI_URL, namespace="default")


def test_the_html_report_links_every_discrepancy_to_its_purchase_and_shows_totals(renderer: ReportRenderer) -> None:
    html = renderer.html(report(missing("ORD-1"), missing("ORD-2")))

    assert "2 discrepancies to resolve" in html
    assert f'href="{UI_URL}/namespaces/default/workflows/purchase-ORD-1"' in html
    assert f'href="{UI_URL}/namespaces/default/workflows/purchase-ORD-2"' in html
    assert "23,307.88 CNY" in html and "28,307.88 CNY" in html and "5,000.00 CNY" in html  # ledger, Stripe, gap
    assert "not reconciled" in html  # the fee kept is informational
    assert html.count('data-type="missing_in_ledger"') == 2


def test_a_clean_report_says_so_and_lists_no_discrepancy(renderer: ReportRenderer) -> None:
    html = renderer.html(report())
    rows = list(csv.reader(io.StringIO(renderer.csv(report()))))

    assert "Clean: the ledger, the processor and the lender agree" in html
    assert 'id="discrepancies"' not in html
    assert rows == [
        ["day", "type", "purchase_id", "order_ref", "kind", "expected_fen", "actual_fen", "reference", "explanation"]
    ]


def test_the_csv_report_has_one_row_per_discrepancy(renderer: ReportRenderer) -> None:
    rows = list(csv.DictReader(io.StringIO(renderer.csv(report(missing("ORD-1"), missing("ORD-2"))))))

    assert [
        (r["day"], r["type"], r["purchase_id"], r["expected_fen"], r["actual_fen"], r["reference"]) for r in rows
    ] == [("2026-11-25", "missing_in_ledger", f"purchase-ORD-{n}", "", "500000", "pi_123") for n in (1, 2)]
    assert rows[0]["explanation"].startswith("the processor moved charge pi_123 of 5,000.00 CNY;")


def test_text_from_outside_is_escaped_in_html_and_never_a_formula_in_csv(renderer: ReportRenderer) -> None:
    hostile = report(missing(HOSTILE_ORDER))

    html = renderer.html(hostile)
    row = next(csv.DictReader(io.StringIO(renderer.csv(hostile))))

    assert "<script>" not in html and "&lt;script&gt;" in html
    assert row["order_ref"] == "'" + HOSTILE_ORDER
    assert row["purchase_id"] == f"purchase-{HOSTILE_ORDER}"


def test_a_rerun_replaces_the_days_stored_report(engine: Engine, renderer: ReportRenderer) -> None:
    keep(engine, report(missing("ORD-1"), missing("ORD-2")), renderer)
    keep(engine, report(day=date(2026, 11, 24)), renderer)

    keep(engine, report(missing("ORD-3")), renderer)

    with session_scope(engine) as session:
        stored = get_report(session=session, day=DAY)
        listed = list_reports(session=session)
        assert get_report(session=session, day=date(2026, 11, 23)) is None
    assert stored is not None
    assert (stored.discrepancies, stored.by_type) == (1, {"missing_in_ledger": 1})
    assert "purchase-ORD-3" in stored.html and "purchase-ORD-1" not in stored.html
    assert "purchase-ORD-3" in stored.csv
    assert ReconciliationReport.model_validate_json(stored.report).discrepancies == [missing("ORD-3")]
    assert [(s.day, s.discrepancies, s.movements) for s in listed] == [(DAY, 1, 9), (date(2026, 11, 24), 0, 9)]
