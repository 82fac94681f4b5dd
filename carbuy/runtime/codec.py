"""The data converter of every carbuy client, worker, replayer and command: pydantic JSON, then AES-256-GCM.

One place builds it (`data_converter`), so what a worker writes, a replayer, the codec server and the CLI read.

- Every payload is encrypted with the key ring's current key (AES-256-GCM from `cryptography`, a fresh 96-bit
  nonce per payload). The clear metadata says `binary/encrypted`, the key id, whether the plaintext was
  compressed (zlib, only where that makes it shorter) and, where the SDK gives it, the workflow id (for the codec
  server's log: which workflow a person decoded). All of that metadata is bound into the cipher as associated
  data, so changing any of it fails the decode like a changed byte of ciphertext does.
- Payloads under a retired key still decode while that key stays in the ring; an unknown key id, a tampered
  payload or the wrong key raise CodecError (a workflow task that meets one fails and is retried, loudly).
- Payloads written before encryption (`json/plain` and the other plain encodings) decode as they are: every
  history recorded before this change still replays.
- Left in clear, on purpose and only these: payloads carbuy marked public (PublicText: summaries, details, the
  memo; see carbuy/contract/public.py), and the SDK's workflow-metadata query result (current details), which
  ops read in the Web UI without decoding. Search attributes never pass through a codec.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from carbuy.contract.public import PUBLIC_METADATA_KEY

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
COMPRESSION = "carbuy-compression"
WORKFLOW_ID = "carbuy-workflow-id"
SCHEME = b"carbuy-aes256gcm-v1"
NONCE_BYTES = 12
KEY_BYTES = 32
CLEAR_MESSAGE_TYPES = frozenset({b"temporal.api.sdk.v1.WorkflowMetadata"})
"""SDK payloads left in clear: the metadata query's answer (query and update names, the current details)."""


class CodecError(ValueError):
    """A payload that cannot be decrypted: unknown key id, wrong key, or changed bytes."""


def decode_key(key_id: str, material: str) -> bytes:
    """The 32 raw bytes of a key given in base64; ValueError naming the key otherwise."""
    try:
        raw = base64.b64decode(material, validate=True)
    except ValueError as error:
        raise ValueError(f"codec key {key_id!r} is not base64") from error
    if len(raw) != KEY_BYTES:
        raise ValueError(f"codec key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(raw)}")
    return raw


def new_key() -> str:
    """A fresh random key, base64 (what `carbuy codec new-key` prints)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


@dataclasses.dataclass(frozen=True)
class KeyRing:
    """The keys payloads may be under, by id, and the one new payloads use."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current codec key {self.current!r} is not in the key ring")

    @classmethod
    def from_base64(cls, keys: Mapping[str, str], current: str) -> KeyRing:
        return cls({key_id: decode_key(key_id, material) for key_id, material in keys.items()}, current)


def _associated_data(key_id: bytes, compression: bytes, workflow_id: bytes) -> bytes:
    return b"\x00".join((SCHEME, key_id, compression, workflow_id))


def is_clear(payload: Payload) -> bool:
    """Whether a payload is meant to stay readable without the codec."""
    metadata = payload.metadata
    return PUBLIC_METADATA_KEY in metadata or metadata.get("messageType", b"") in CLEAR_MESSAGE_TYPES


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM over each whole payload (its metadata and data), compressed first where that is shorter."""

    def __init__(self, ring: KeyRing, *, workflow_id: str | None = None) -> None:
        self.ring = ring
        self.workflow_id = workflow_id
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            workflow_id = context.workflow_id
        if workflow_id == self.workflow_id:
            return self
        return type(self)(self.ring, workflow_id=workflow_id)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        if is_clear(payload) or payload.metadata.get("encoding") == ENCODING:
            return payload
        plain = payload.SerializeToString()
        compression = b""
        packed = zlib.compress(plain, 6)
        if len(packed) < len(plain):
            plain, compression = packed, b"zlib"
        key_id = self.ring.current.encode()
        workflow_id = (self.workflow_id or "").encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.ring.current].encrypt(
            nonce, plain, _associated_data(key_id, compression, workflow_id)
        )
        metadata = {"encoding": ENCODING, KEY_ID: key_id}
        if compression:
            metadata[COMPRESSION] = compression
        if workflow_id:
            metadata[WORKFLOW_ID] = workflow_id
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        metadata = payload.metadata
        if metadata.get("encoding") != ENCODING:
            return payload  # written in clear: before encryption, or public on purpose
        key_id = metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise CodecError(
                f"payload is under codec key {key_id!r}, which is not in the key ring ({known}): "
                "a retired key must stay in codec.keys while histories under it are kept"
            )
        compression = metadata.get(COMPRESSION, b"")
        if compression not in (b"", b"zlib"):
            raise CodecError(f"payload has an unknown compression {compression!r}")
        data = payload.data
        try:
            plain = cipher.decrypt(
                data[:NONCE_BYTES],
                data[NONCE_BYTES:],
                _associated_data(key_id.encode(), compression, metadata.get(WORKFLOW_ID, b"")),
            )
        except InvalidTag as error:
            raise CodecError(
                f"payload under codec key {key_id!r} failed authentication: its bytes or metadata were changed, "
                "or the key with that id is not the one it was written with"
            ) from error
        if compression:
            plain = zlib.decompress(plain)
        return Payload.FromString(plain)


def workflow_ids(payloads: Sequence[Payload]) -> list[str]:
    """The workflow ids named in encrypted payloads' metadata (for the codec server's log)."""
    return sorted({p.metadata[WORKFLOW_ID].decode(errors="replace") for p in payloads if WORKFLOW_ID in p.metadata})


class CarbuyPayloadConverter(PydanticPayloadConverter):
    """pydantic JSON, with PublicText marked so the codec leaves it readable (summaries, details, memo)."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if getattr(value, "carbuy_public", False) and isinstance(value, str):
                payload.metadata[PUBLIC_METADATA_KEY] = b"1"
        return payloads


def data_converter(ring: KeyRing | None) -> DataConverter:
    """The converter every carbuy client, worker and replayer uses; None: no codec (only benchmarks compare)."""
    base = dataclasses.replace(pydantic_data_converter, payload_converter_class=CarbuyPayloadConverter)
    if ring is None:
        return base
    return dataclasses.replace(base, payload_codec=EncryptionCodec(ring))


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload anywhere inside a protobuf message (a history event nests them in many places), in place,
    with the field path it sits at (map entries as `field[key]`)."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is None:
                continue
            entries = [(f"{path}.{field.name}[{key}]", entry) for key, entry in value.items()]
        elif field.is_repeated:
            entries = [(f"{path}.{field.name}", entry) for entry in value]
        else:
            entries = [(f"{path}.{field.name}", value)]
        for where, entry in entries:
            yield from payloads_in(entry, where)


def never_encoded(path: str, event: HistoryEvent) -> bool:
    """Payloads of a history event that no codec ever sees, by the SDK's design, and none carrying data of
    carbuy's: search attributes (indexed by the server), the SDK core's patch markers and its local-activity
    markers' own bookkeeping (sequence, attempt, activity id and type, times; the result beside it is encoded)."""
    if ".search_attributes" in path:
        return True
    if event.WhichOneof("attributes") != "marker_recorded_event_attributes":
        return False
    marker = event.marker_recorded_event_attributes
    return marker.marker_name == "core_patch" or (
        marker.marker_name == "core_local_activity" and ".details[data]" in path
    )
