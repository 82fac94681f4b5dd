"""Text that carries no personal data and stays readable in a purchase's history without the codec.

Every payload carbuy writes to Temporal is encrypted (carbuy/runtime/codec.py) except the few that ops read
in the Web UI or the CLI without decoding: the static summary and details of a workflow, activity summaries,
the memo. Those are built by carbuy from non-personal fields only (order id, model, plan, city, amounts), and
marked by wrapping them in PublicText; the payload converter gives a PublicText a `carbuy-public` metadata
entry and the codec leaves such a payload as it is. Nothing else is ever left in clear.
"""

from __future__ import annotations

PUBLIC_METADATA_KEY = "carbuy-public"


class PublicText(str):
    """A str that may be stored unencrypted: build it only from fields that are not personal data."""

    __slots__ = ()
    carbuy_public = True
    """Checked by attribute, not by class: the workflow sandbox may import this module a second time."""


def public(text: str | None) -> str | None:
    """The text marked public (None stays None)."""
    return None if text is None else PublicText(text)
