"""The payload codec: AES-256-GCM per payload, a key ring with rotation, loud failures, clear payloads kept."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.converter import WorkflowSerializationContext

from carbuy.contract.public import PUBLIC_METADATA_KEY, public
from carbuy.runtime.codec import (
    COMPRESSION,
    ENCODING,
    KEY_ID,
    WORKFLOW_ID,
    CodecError,
    EncryptionCodec,
    KeyRing,
    data_converter,
    new_key,
)
from carbuy.runtime.settings import DEV_CODEC_KEY, CodecSettings, Settings
from tests.factories import ID_CARD, order_body

OLD, NEW = new_key(), new_key()


def ring(*ids: str, current: str) -> KeyRing:
    material = {"2026-11": OLD, "2026-12": NEW}
    return KeyRing.from_base64({key_id: material[key_id] for key_id in ids}, current)


def json_payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_a_payload_round_trips_and_its_bytes_hold_none_of_the_plain_text() -> None:
    codec = EncryptionCodec(ring("2026-12", current="2026-12"))
    original = json_payload(f"id card {ID_CARD}")
    (encoded,) = await codec.encode([original])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID] == b"2026-12"
    assert ID_CARD.encode() not in encoded.SerializeToString()
    (decoded,) = await codec.decode([encoded])
    assert decoded == original


async def test_the_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(ring("2026-12", current="2026-12"))
    first, second = await codec.encode([json_payload("same"), json_payload("same")])
    assert first.data != second.data


async def test_a_payload_is_compressed_only_where_that_shortens_it() -> None:
    codec = EncryptionCodec(ring("2026-12", current="2026-12"))
    long, short = await codec.encode([json_payload("Guangzhou " * 50), json_payload("x")])
    assert long.metadata[COMPRESSION] == b"zlib"
    assert len(long.data) < len(json_payload("Guangzhou " * 50).SerializeToString())
    assert COMPRESSION not in short.metadata
    assert [p.data for p in await codec.decode([long, short])] == [b'"' + b"Guangzhou " * 50 + b'"', b'"x"']


async def test_after_rotation_new_payloads_use_the_new_key_and_old_ones_still_decode() -> None:
    before = EncryptionCodec(ring("2026-11", current="2026-11"))
    (written_before,) = await before.encode([json_payload("before")])
    after = EncryptionCodec(ring("2026-11", "2026-12", current="2026-12"))
    (written_after,) = await after.encode([json_payload("after")])
    assert written_before.metadata[KEY_ID] == b"2026-11"
    assert written_after.metadata[KEY_ID] == b"2026-12"
    assert [p.data for p in await after.decode([written_before, written_after])] == [b'"before"', b'"after"']


async def test_a_payload_under_a_key_no_longer_in_the_ring_fails_naming_the_key() -> None:
    (old,) = await EncryptionCodec(ring("2026-11", current="2026-11")).encode([json_payload("x")])
    with pytest.raises(CodecError, match="'2026-11', which is not in the key ring"):
        await EncryptionCodec(ring("2026-12", current="2026-12")).decode([old])


async def test_a_tampered_ciphertext_fails_loudly() -> None:
    codec = EncryptionCodec(ring("2026-12", current="2026-12"))
    (encoded,) = await codec.encode([json_payload("x")])
    flipped = bytearray(encoded.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(encoded.metadata), data=bytes(flipped))
    with pytest.raises(CodecError, match="failed authentication"):
        await codec.decode([tampered])


async def test_changed_metadata_fails_like_a_changed_byte() -> None:
    codec = EncryptionCodec(ring("2026-12", current="2026-12")).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="purchase-ORD-1")
    )
    (encoded,) = await codec.encode([json_payload("x")])
    assert encoded.metadata[WORKFLOW_ID] == b"purchase-ORD-1"
    moved = Payload(metadata={**encoded.metadata, WORKFLOW_ID: b"purchase-ORD-2"}, data=encoded.data)
    with pytest.raises(CodecError, match="failed authentication"):
        await codec.decode([moved])


async def test_the_wrong_key_under_the_right_id_fails_loudly() -> None:
    (encoded,) = await EncryptionCodec(ring("2026-12", current="2026-12")).encode([json_payload("x")])
    impostor = EncryptionCodec(KeyRing.from_base64({"2026-12": new_key()}, "2026-12"))
    with pytest.raises(CodecError, match="failed authentication"):
        await impostor.decode([encoded])


async def test_payloads_written_before_encryption_decode_as_they_are() -> None:
    codec = EncryptionCodec(ring("2026-12", current="2026-12"))
    plain = [json_payload("old"), Payload(metadata={"encoding": b"binary/null"})]
    assert await codec.decode(plain) == plain


async def test_only_public_text_and_the_sdk_metadata_answer_stay_in_clear() -> None:
    converter = data_converter(ring("2026-12", current="2026-12"))
    summary, secret, metadata = await converter.encode(
        [public("order ORD-1: aion-ut, loan, Guangzhou"), "order ORD-1: aion-ut, loan, Guangzhou", WorkflowMetadata()]
    )
    assert summary.metadata[PUBLIC_METADATA_KEY] == b"1" and summary.metadata["encoding"] == b"json/plain"
    assert secret.metadata["encoding"] == ENCODING
    assert metadata.metadata["encoding"] == b"json/protobuf"
    assert await converter.decode([summary, secret], [str, str]) == ["order ORD-1: aion-ut, loan, Guangzhou"] * 2


async def test_a_whole_order_round_trips_through_the_converter() -> None:
    converter = data_converter(ring("2026-12", current="2026-12"))
    body = order_body()
    (encoded,) = await converter.encode([body])
    assert b"Li Lei" not in encoded.SerializeToString() and ID_CARD.encode() not in encoded.SerializeToString()
    assert await converter.decode([encoded], [dict]) == [body]


def test_settings_refuse_a_key_that_is_not_32_bytes_or_a_current_key_not_in_the_ring() -> None:
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ValidationError, match="must be 32 bytes"):
        CodecSettings(keys={"k1": SecretStr(short)}, current_key="k1")
    with pytest.raises(ValidationError, match="not one of codec.keys"):
        CodecSettings(keys={"k1": SecretStr(NEW)}, current_key="k2")
    with pytest.raises(ValidationError, match="not base64"):
        CodecSettings(keys={"k1": SecretStr("not base64!")}, current_key="k1")


def test_production_refuses_the_development_codec_key() -> None:
    assert CodecSettings().development_keys() == ["dev-1"]
    renamed = CodecSettings(keys={"prod-1": SecretStr(DEV_CODEC_KEY)}, current_key="prod-1")
    assert renamed.development_keys() == ["prod-1"]
    with pytest.raises(ValidationError, match="development codec keys must be replaced in production: dev-1"):
        Settings(environment="production", **production_secrets())


def test_codec_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBUY_CODEC__KEYS", f'{{"2026-11": "{OLD}", "2026-12": "{NEW}"}}')
    monkeypatch.setenv("CARBUY_CODEC__CURRENT_KEY", "2026-12")
    settings = Settings(environment="test")
    assert settings.codec.ring().current == "2026-12"
    assert set(settings.codec.ring().keys) == {"2026-11", "2026-12"}
    assert NEW not in repr(settings.codec)


def production_secrets() -> dict[str, Any]:
    """Every non-codec secret set to a production-grade value (so only what a test leaves out is refused)."""
    from carbuy.runtime.settings import ApiSettings, PartnerSettings, StripeSettings

    return {
        "api": ApiSettings(
            backend_token="b" * 32, ops_token="o" * 32, finance_token="f" * 32, order_digest_key="d" * 32
        ),
        "partners": PartnerSettings(callback_secret="p" * 32),
        "stripe": StripeSettings(api_base=None, api_key="sk_live_x", webhook_secret="whsec_" + "w" * 32),
    }
