"""The partner institutions, declared once: every list of institutions in carbuy is read from INSTITUTIONS.

An institution's name is its sandbox path prefix (`/stores/...`), its fault-injection key (`/_sandbox/faults/stores`)
and its settings entry (`partners.stores_url`, env CARBUY_PARTNERS__STORES_URL). The worker registers its activities
class, the sandbox mounts its router, the starter's webhook accepts the callbacks it sends, chaos sets its faults and
the tests' fakes answer for it. Adding one is docs/institutions.md.

Classes and routers are named by dotted path ("module:attribute"), so the contract imports no code above it; the
worker and the sandbox import them at start, and a path that does not resolve stops them there with its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Callbacks:
    """One sender of asynchronous answers: the name it signs callbacks as and the event-type prefixes it may send."""

    sender: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Institution:
    """One partner institution."""

    name: str
    title: str
    activities: str | None = None
    """The worker's activities class ("module:Class"); None when another part calls it (the notifier's outbox)."""
    callbacks: tuple[Callbacks, ...] = field(default=())
    """Who it calls back as and with which event types (the carrier also answers for the delivery centre)."""

    @property
    def setting(self) -> str:
        """Its base URL's field in `partners`."""
        return f"{self.name}_url"

    @property
    def env_var(self) -> str:
        """The environment variable of its base URL."""
        return f"CARBUY_PARTNERS__{self.setting.upper()}"

    @property
    def router(self) -> str:
        """The sandbox's router for it ("module:attribute")."""
        return f"sandbox.routes.{self.name}:router"


INSTITUTIONS: tuple[Institution, ...] = (
    Institution(
        "lender",
        "the lender",
        "activities.financing:FinancingActivities",
        (Callbacks("lender", ("loan",)),),
    ),
    Institution("battery", "the battery operator", "activities.battery:BatteryActivities"),
    Institution("insurer", "the insurer", "activities.insurance:InsuranceActivities"),
    Institution(
        "registry",
        "the vehicle registry",
        "activities.registration:RegistrationActivities",
        (Callbacks("registry", ("registration",)),),
    ),
    Institution(
        "inventory",
        "the OEM's inventory",
        "activities.inventory:InventoryActivities",
        (Callbacks("inventory", ("inventory",)),),
    ),
    Institution(
        "carrier",
        "the carrier and the delivery centre",
        "activities.logistics:LogisticsActivities",
        (Callbacks("carrier", ("shipment",)), Callbacks("delivery_centre", ("pdi",))),
    ),
    Institution(
        "stores",
        "the after-sales stores",
        "activities.stores:StoresActivities",
        (Callbacks("store", ("service",)),),
    ),
    Institution("notifier", "the SMS and e-mail notifier"),
)
"""Every institution, in a fixed order: chaos derives each one's fault seed from its place here."""

NAMES: tuple[str, ...] = tuple(i.name for i in INSTITUTIONS)


def institution(name: str) -> Institution:
    """The registered institution of that name (KeyError naming the known ones otherwise)."""
    for candidate in INSTITUTIONS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no institution {name!r} is registered (known: {', '.join(NAMES)})")


SENDER_OF_PREFIX: dict[str, str] = {p: c.sender for i in INSTITUTIONS for c in i.callbacks for p in c.prefixes}
"""Which sender may send the event types of each prefix ("loan" -> "lender")."""

INSTITUTION_OF_SENDER: dict[str, str] = {c.sender: i.name for i in INSTITUTIONS for c in i.callbacks}
"""The institution playing each sender ("store" -> "stores", "delivery_centre" -> "carrier")."""
