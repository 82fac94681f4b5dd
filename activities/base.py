"""The base of every activities class: what the worker needs of it, written once.

`from_settings` builds it with its clients, `all()` lists its activity methods for `Worker(activities=...)`,
`aclose()` closes the partner client and lets go of the database engine `from_settings` took.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from sqlalchemy import Engine

from activities.partner_http import PartnerClient
from carbuy.runtime.settings import Settings
from carbuy.store.engines import release_engine

ClientT = TypeVar("ClientT", bound=PartnerClient)


class Activities:
    """Activities that hold clients, nothing per purchase."""

    owned_engine: Engine | None = None
    """The process's engine taken by from_settings (acquire_engine), released by aclose."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built with its clients from the settings."""
        raise NotImplementedError(f"{cls.__name__}.from_settings")

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods (those under @activity.defn), to register."""
        return [
            getattr(self, name)
            for name, member in inspect.getmembers(type(self), inspect.isfunction)
            if hasattr(member, "__temporal_activity_definition")
        ]

    async def aclose(self) -> None:
        """Let go of the engine taken by from_settings."""
        if self.owned_engine is not None:
            release_engine(self.owned_engine)
            self.owned_engine = None


class PartnerActivities(Activities, Generic[ClientT]):
    """Activities on one partner institution, through its HTTP client."""

    client_class: ClassVar[type[PartnerClient]]

    def __init__(self, client: ClientT, *, owned_engine: Engine | None = None) -> None:
        self.client = client
        self.owned_engine = owned_engine

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built on the institution's client as the partner settings place it."""
        return cls(cast(ClientT, cls.client_class.from_settings(settings)))

    async def aclose(self) -> None:
        """Close the client, then let go of the engine."""
        await self.client.aclose()
        await super().aclose()
