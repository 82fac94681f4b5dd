"""The codec's cost on real purchases: history bytes and CPU with and without encryption, in one run.

    .venv/bin/python bench/codec.py [--repeats 200] [--json codec.json]

Takes every saved history of a completed purchase (tests/histories/completed_*.json, written by the workflow
tests) and, for each, re-encodes every payload of its events with carbuy's encrypting codec: the history's bytes
before and after (the same events, only the payloads changed, as the server would store them), and the CPU the
data converter spends on the purchase's payloads (to payload and back, as the worker and the client do) with the
codec and without it. Reported as ratios (with ÷ without), with the absolute CPU per purchase beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from temporalio.api.common.v1 import Payload  # noqa: E402
from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.client import WorkflowHistory  # noqa: E402

from carbuy.runtime.codec import ENCODING, data_converter, is_clear, never_encoded, payloads_in  # noqa: E402
from carbuy.runtime.settings import CodecSettings  # noqa: E402

BYTES_GOAL = 1.3
CPU_GOAL = 1.1


def encodable(path: str, event: HistoryEvent, payload: Payload) -> bool:
    """What the codec encrypts: neither what no codec sees nor what carbuy keeps public on purpose."""
    return not never_encoded(path, event) and not is_clear(payload) and payload.metadata.get("encoding") != ENCODING


async def measure(name: str, text: str, repeats: int) -> dict[str, Any]:
    history = WorkflowHistory.from_json(name, text)
    plain_bytes = sum(event.ByteSize() for event in history.events)
    slots = [(path, event, p) for event in history.events for path, p in payloads_in(event)]
    targets = [p for path, event, p in slots if encodable(path, event, p)]
    without = data_converter(None)
    with_codec = data_converter(CodecSettings().ring())
    values = await without.decode(targets, [Any] * len(targets))

    async def cpu(converter: Any) -> float:
        start = time.process_time()
        for _ in range(repeats):
            await converter.decode(await converter.encode(values), [Any] * len(values))
        return (time.process_time() - start) / repeats

    cpu_without = await cpu(without)
    cpu_with = await cpu(with_codec)
    encrypted = await with_codec.encode(values)
    for slot, new in zip(targets, encrypted, strict=True):
        slot.CopyFrom(new)
    encrypted_bytes = sum(event.ByteSize() for event in history.events)
    return {
        "history": name,
        "events": len(history.events),
        "payloads": len(slots),
        "encrypted": len(targets),
        "history_bytes_plain": plain_bytes,
        "history_bytes_encrypted": encrypted_bytes,
        "bytes_ratio": encrypted_bytes / plain_bytes,
        "converter_cpu_ms_plain": cpu_without * 1000,
        "converter_cpu_ms_encrypted": cpu_with * 1000,
        "codec_cpu_ms_per_purchase": (cpu_with - cpu_without) * 1000,
    }


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    opts = parser.parse_args()
    paths = sorted((ROOT / "tests" / "histories").glob("completed_*.json"))
    rows = [await measure(p.stem, p.read_text(), opts.repeats) for p in paths]
    out("| history | events | payloads (encrypted) | bytes plain → encrypted | ratio | codec CPU per purchase |")
    out("|---|---|---|---|---|---|")
    for r in rows:
        out(
            f"| {r['history']} | {r['events']} | {r['payloads']} ({r['encrypted']}) | "
            f"{r['history_bytes_plain']:,} → {r['history_bytes_encrypted']:,} | {r['bytes_ratio']:.2f}× | "
            f"{r['codec_cpu_ms_per_purchase']:.2f} ms (converter {r['converter_cpu_ms_plain']:.2f} → "
            f"{r['converter_cpu_ms_encrypted']:.2f} ms) |"
        )
    worst = max(r["bytes_ratio"] for r in rows)
    out(f"\nhistory bytes: worst {worst:.2f}× (goal ≤ {BYTES_GOAL}×)")
    if opts.json:
        opts.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
