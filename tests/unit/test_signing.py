"""Webhook signatures: `Carbuy-Signature: t=<unix seconds>,v1=<hex hmac-sha256 of "t.body">`."""

from __future__ import annotations

import time

import pytest

from carbuy.runtime.signing import DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, SignatureError, sign, verify

SECRET = "whsec_test"
BODY = b'{"event":"approved"}'


def now() -> int:
    return int(time.time())


def test_a_signature_has_a_timestamp_and_a_hex_hmac_of_timestamp_dot_body() -> None:
    # printf '1700000000.{"event":"approved"}' | openssl dgst -sha256 -hmac whsec_test
    assert sign(BODY, SECRET, timestamp=1_700_000_000) == (
        "t=1700000000,v1=d86a688bf99bd65b99d442945e9299119be8f36c5650e6e0ca128ea6f174c48f"
    )


def test_a_signature_made_now_carries_the_current_time() -> None:
    before = now()
    t = int(sign(BODY, SECRET).split(",")[0].removeprefix("t="))
    assert before <= t <= now()


def test_a_signed_body_verifies() -> None:
    verify(BODY, sign(BODY, SECRET), SECRET)


def test_an_empty_body_signs_and_verifies() -> None:
    verify(b"", sign(b"", SECRET), SECRET)


def test_the_header_is_named_carbuy_signature_with_a_five_minute_tolerance() -> None:
    assert SIGNATURE_HEADER == "Carbuy-Signature"
    assert DEFAULT_TOLERANCE_S == 300


def test_a_tampered_body_does_not_verify() -> None:
    header = sign(BODY, SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        verify(b'{"event":"denied"}', header, SECRET)


def test_a_body_with_one_byte_more_does_not_verify() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY + b" ", sign(BODY, SECRET), SECRET)


def test_a_signature_made_with_another_secret_does_not_verify() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, sign(BODY, "whsec_other"), SECRET)


def test_a_signature_whose_timestamp_was_changed_does_not_verify() -> None:
    t = now()
    mac = sign(BODY, SECRET, timestamp=t).split("v1=")[1]
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, f"t={t - 1},v1={mac}", SECRET)


def test_a_tampered_mac_does_not_verify() -> None:
    header = sign(BODY, SECRET)
    flipped = header[:-1] + ("0" if header[-1] != "0" else "1")
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, flipped, SECRET)


def test_a_stale_signature_is_refused() -> None:
    header = sign(BODY, SECRET, timestamp=now() - DEFAULT_TOLERANCE_S - 60)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(BODY, header, SECRET)


def test_a_signature_from_the_future_is_refused() -> None:
    header = sign(BODY, SECRET, timestamp=now() + DEFAULT_TOLERANCE_S + 60)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(BODY, header, SECRET)


def test_a_signature_a_little_old_is_still_accepted() -> None:
    verify(BODY, sign(BODY, SECRET, timestamp=now() - DEFAULT_TOLERANCE_S + 30), SECRET)


def test_the_tolerance_can_be_set_per_call() -> None:
    header = sign(BODY, SECRET, timestamp=now() - 120)
    verify(BODY, header, SECRET, tolerance_s=600)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(BODY, header, SECRET, tolerance_s=60)


def test_a_stale_signature_is_refused_even_with_a_wrong_mac() -> None:
    with pytest.raises(SignatureError):
        verify(BODY, f"t={now() - 3600},v1={'0' * 64}", SECRET)


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureError, match="missing Carbuy-Signature"):
        verify(BODY, header, SECRET)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=abc,v1=0123",  # timestamp not a number
        "v1=0123",  # no timestamp
        "t=1700000000",  # no mac
        "t=1700000000;v1=0123",  # wrong separator
        "t=1700000000,v1=0123,trailing",
        "t=,v1=",
        ",",
    ],
)
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError, match="malformed"):
        verify(BODY, header, SECRET)


def test_a_header_with_a_non_ascii_mac_is_refused_as_a_signature_error() -> None:
    with pytest.raises(SignatureError):
        verify(BODY, f"t={now()},v1=é", SECRET)
