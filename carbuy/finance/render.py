"""A reconciliation report rendered from its Jinja2 templates: HTML for a person, CSV for a spreadsheet."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import jinja2

from carbuy.finance.model import ReconciliationReport
from carbuy.finance.rules import cny

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates" / "finance"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: object) -> str:
    """One CSV cell of text: quoted when it needs to be, and never read as a formula by a spreadsheet."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text  # order refs come from outside: "=HYPERLINK(...)" must stay text
    if any(c in text for c in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_number(value: int | None) -> str:
    """One CSV cell of a whole number (empty when there is none)."""
    return "" if value is None else str(int(value))


class ReportRenderer:
    """Renders reports; every discrepancy links to its purchase's workflow in the Temporal UI."""

    def __init__(self, *, ui_url: str, namespace: str, directory: Path = TEMPLATES_DIR) -> None:
        self.workflows_url = f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            keep_trailing_newline=True,
        )
        self.env.filters.update(cny=cny, csv_text=csv_text, csv_number=csv_number)
        self.env.globals["purchase_url"] = self.purchase_url

    def purchase_url(self, purchase_id: str) -> str:
        """The purchase's workflow page in the Temporal UI."""
        return f"{self.workflows_url}/{quote(purchase_id, safe='')}"

    def html(self, report: ReconciliationReport) -> str:
        """The report for a person: totals, counts per type, and every discrepancy linked to its purchase."""
        return self.env.get_template("report.html.j2").render(**self._context(report))

    def csv(self, report: ReconciliationReport) -> str:
        """The discrepancies, one per row, for a spreadsheet."""
        return self.env.get_template("report.csv.j2").render(**self._context(report))

    def _context(self, report: ReconciliationReport) -> dict[str, object]:
        ledger_in, counterpart_in = report.totals_of("in")
        ledger_out, counterpart_out = report.totals_of("out")
        return {
            "report": report,
            "by_type": report.by_type,
            "ledger_in": ledger_in,
            "ledger_out": ledger_out,
            "counterpart_in": counterpart_in,
            "counterpart_out": counterpart_out,
        }
