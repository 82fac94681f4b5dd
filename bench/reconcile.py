"""Benchmark: reconcile a generated day of N processor payments; wall time and peak memory at each size.

    .venv/bin/python bench/reconcile.py                                  # 10,000 and 100,000 payments
    .venv/bin/python bench/reconcile.py --sizes 10000,100000,300000 --processor stripe-server

The ledger (and the purchases' outcomes) go into a real SQLite file through carbuy's migrations. The processor
side is either a generated stream fed through the same parsing as Stripe's objects (`stream`, the default), or a
small Stripe-list-shaped HTTP server in its own process read by the real StripeProcessor with the stripe SDK's
auto-pagination (`stripe-server`: adds the SDK's and HTTP's cost). The lender's file is a generated stream. Each
size is measured in a fresh process: its peak RSS against its RSS just before the run shows what the run took.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from carbuy.finance.model import LenderLine, ProcessorObject  # noqa: E402
from carbuy.finance.processor import charge_of, refund_of  # noqa: E402

REGULAR = re.compile(r"^(pi|re)_(B\d{7})_(d|b)$")


class GeneratedProcessor:
    """The processor side as a generated stream, parsed by the same functions as Stripe's objects."""

    def __init__(self, day: dataset.Day) -> None:
        self.day = day
        self.skipped = 0

    def objects(self, start: datetime, end: datetime) -> Iterator[ProcessorObject]:
        """Every charge, then every refund (the order StripeProcessor reads them in)."""
        for intent in dataset.charges(self.day):
            yield charge_of(intent)
        for refund in dataset.refunds(self.day):
            yield refund_of(refund, refund["payment_intent"])

    def find(self, reference: str) -> ProcessorObject | None:
        """One object by id (regenerated for a regular purchase; searched among the few planted ones)."""
        match = REGULAR.match(reference)
        candidates: Iterator[dict[str, Any]]
        if match:
            i = int(match.group(2)[1:])
            one = dataset.Day(payments=(i + 1) * dataset.OBJECTS_PER_10 // 10 + 19, plants_per_type=0)
            candidates = (o for o in [*dataset.charges(one), *dataset.refunds(one)] if o["id"] == reference)
        else:
            plants = dataset.Day(payments=0, plants_per_type=self.day.plants_per_type)
            candidates = (o for o in [*dataset.charges(plants), *dataset.refunds(plants)] if o["id"] == reference)
        found = next(candidates, None)
        if found is None:
            return None
        return charge_of(found) if found["object"] == "payment_intent" else refund_of(found, found["payment_intent"])


class GeneratedLender:
    """The lender's settlement file of the benchmark's day."""

    def __init__(self, day: dataset.Day) -> None:
        self.day = day

    def lines(self, day: date) -> Iterator[LenderLine]:
        """The day's lines (other days have none)."""
        if day != dataset.DAY:
            return
        for line in dataset.lender_lines(self.day):
            yield LenderLine(day=day, **line)


def build(path: Path, day: dataset.Day) -> dict[str, int]:
    """The ledger and the outcomes of the day in a migrated SQLite file; row counts."""
    from sqlalchemy import insert

    from carbuy.runtime.settings import DatabaseSettings
    from carbuy.store.db import make_engine, migrate
    from carbuy.store.ledger import LedgerEntry
    from carbuy.store.outcomes import PurchaseOutcome

    path.unlink(missing_ok=True)
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(engine)
    counts = {}
    for name, table, rows in (
        ("ledger_rows", LedgerEntry, dataset.ledger(day)),
        ("outcomes", PurchaseOutcome, dataset.outcomes(day)),
    ):
        counts[name] = 0
        with engine.begin() as connection:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 10_000:
                    connection.execute(insert(table), batch)
                    counts[name] += len(batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)
                counts[name] += len(batch)
    engine.dispose()
    return counts


def measure(db: Path, day: dataset.Day, stripe_url: str | None, trace: bool) -> dict[str, Any]:
    """Reconcile the day once, in this (fresh) process; figures as a dict."""
    import tracemalloc

    import psutil

    from carbuy.finance.book import LedgerBook
    from carbuy.finance.engine import reconcile
    from carbuy.finance.processor import StripeProcessor
    from carbuy.runtime.settings import DatabaseSettings, StripeSettings
    from carbuy.store.db import make_engine

    engine = make_engine(DatabaseSettings(url=f"sqlite:///{db}"))
    processor: Any = (
        StripeProcessor(StripeSettings(api_key="sk_test_bench", api_base=stripe_url, timeout_s=60))
        if stripe_url
        else GeneratedProcessor(day)
    )
    rss_before = psutil.Process().memory_info().rss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = reconcile(dataset.DAY, book=LedgerBook(engine), processor=processor, lender=GeneratedLender(day))
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] if trace else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    by_type = {k.value: v for k, v in report.by_type.items()}
    return {
        "payments": report.processor_objects,
        "ledger_rows": report.ledger_rows,
        "lender_lines": report.lender_lines,
        "purchases_ended": report.purchases_ended,
        "seconds": round(seconds, 2),
        "rss_before_mib": round(rss_before / 2**20, 1),
        "peak_rss_mib": round(peak / 2**20, 1),
        "growth_mib": round((peak - rss_before) / 2**20, 1),
        "tracemalloc_peak_mib": None if traced is None else round(traced / 2**20, 1),
        "discrepancies": len(report.discrepancies),
        "by_type": by_type,
        "found_every_plant": all(n == day.plants_per_type for n in by_type.values()),
    }


def serve(day: dataset.Day, port: int) -> None:
    """A Stripe-list-shaped API over the generated objects (list with starting_after, retrieve by id)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    lists = {"payment_intents": list(dataset.charges(day)), "refunds": list(dataset.refunds(day))}
    position = {name: {o["id"]: n for n, o in enumerate(objects)} for name, objects in lists.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            parts = url.path.strip("/").split("/")
            query = parse_qs(url.query)
            if len(parts) == 2 and parts[1] in lists:
                objects, after = lists[parts[1]], query.get("starting_after", [None])[0]
                start = 0 if after is None else position[parts[1]][after] + 1
                limit = int(query.get("limit", ["10"])[0])
                body: dict[str, Any] = {
                    "object": "list",
                    "url": url.path,
                    "data": objects[start : start + limit],
                    "has_more": start + limit < len(objects),
                }
                self._answer(200, body)
            elif len(parts) == 3 and parts[1] in lists and parts[2] in position[parts[1]]:
                self._answer(200, lists[parts[1]][position[parts[1]][parts[2]]])
            else:
                self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such object"}})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _child(args: list[str], *, timeout: float = 900) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _one_size(payments: int, workdir: Path, processor: str, trace: bool) -> dict[str, Any]:
    from carbuy.devtools.processes import ManagedProcess, free_port

    db = workdir / f"bench-{payments}.db"
    built = _child(["_build", "--payments", str(payments), "--db", str(db)])
    server, url = None, None
    if processor == "stripe-server":
        port = free_port()
        server = ManagedProcess(
            "stripe-bench",
            [sys.executable, __file__, "_serve", "--payments", str(payments), "--port", str(port)],
            workdir / "server.log",
            cwd=ROOT,
        ).start()
        url = f"http://127.0.0.1:{port}"
        server.wait_until_ready(url=f"{url}/v1/refunds?limit=1", timeout_s=300)
    try:
        measured = _child(
            [
                "_measure",
                "--payments",
                str(payments),
                "--db",
                str(db),
                *(["--stripe", url] if url else []),
                *(["--tracemalloc"] if trace else []),
            ]
        )
    finally:
        if server is not None:
            server.stop()
    return {**built, **measured}


def main() -> None:
    """Build and measure each size; print a table (and the figures as JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "_build", "_measure", "_serve"])
    parser.add_argument("--sizes", default="10000,100000", help="processor payments per day, comma-separated")
    parser.add_argument("--processor", choices=["stream", "stripe-server"], default="stream")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the generated databases go")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--payments", type=int, default=0)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--stripe", default=None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    day = dataset.Day(payments=args.payments)
    if args.command == "_build":
        sys.stdout.write(json.dumps(build(args.db, day)) + "\n")
        return
    if args.command == "_measure":
        sys.stdout.write(json.dumps(measure(args.db, day, args.stripe, args.tracemalloc)) + "\n")
        return
    if args.command == "_serve":
        serve(day, args.port)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="carbuy-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = [_one_size(int(size), workdir, args.processor, args.tracemalloc) for size in args.sizes.split(",")]
    header = (
        f"{'payments':>9} {'ledger':>8} {'lender':>7} {'ended':>7} {'seconds':>8} {'RSS before':>10} "
        f"{'peak RSS':>9} {'growth':>7} {'py peak':>8} {'found':>6}  every plant"
    )
    sys.stdout.write(f"processor: {args.processor}; cpus: {os.cpu_count()}; MiB\n{header}\n")
    for r in rows:
        traced = "-" if r["tracemalloc_peak_mib"] is None else f"{r['tracemalloc_peak_mib']:.1f}"
        sys.stdout.write(
            f"{r['payments']:>9} {r['ledger_rows']:>8} {r['lender_lines']:>7} {r['purchases_ended']:>7} "
            f"{r['seconds']:>8.2f} {r['rss_before_mib']:>10.1f} {r['peak_rss_mib']:>9.1f} "
            f"{r['growth_mib']:>7.1f} {traced:>8} {r['discrepancies']:>6}  {r['found_every_plant']}\n"
        )
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
