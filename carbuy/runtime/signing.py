"""HMAC signatures of webhook bodies: `Carbuy-Signature: t=<unix seconds>,v1=<hex sha256 hmac of "t.body">`."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Carbuy-Signature"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """A missing, malformed, wrong or stale signature."""


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The header value that signs this body now (or at timestamp)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(body: bytes, header: str | None, secret: str, *, tolerance_s: int = DEFAULT_TOLERANCE_S) -> None:
    """Raise SignatureError unless the header signs this body with this secret, recently enough."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError) as exc:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header") from exc
    if abs(time.time() - t) > tolerance_s:
        raise SignatureError("signature timestamp outside the tolerance")
    expected = sign(body, secret, timestamp=t).split("v1=", 1)[1]
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8")):
        raise SignatureError("signature does not match")
