"""The institution registry: every list of institutions reads it; a setting it does not know stops the start."""

from __future__ import annotations

import pkgutil

import pytest
from pydantic import ValidationError

from activities.base import PartnerActivities
from carbuy.contract.events import INSTITUTION_OF, PartnerEventType
from carbuy.contract.finance import RECONCILE_DAY_ACTIVITY
from carbuy.contract.institutions import INSTITUTIONS, NAMES, institution
from carbuy.devtools.chaos.faults import fault_profile
from carbuy.runtime.settings import PartnerSettings, Settings
from sandbox.app import INSTITUTION_ROUTERS
from tests.workflows.fakes import FakePartners, activity_methods
from worker import activities_classes


def test_each_institution_resolves_to_its_router_and_activities_class() -> None:
    assert [router.prefix for router in INSTITUTION_ROUTERS] == [f"/{name}" for name in NAMES]
    for entry in INSTITUTIONS:
        if entry.activities is None:
            continue
        cls = pkgutil.resolve_name(entry.activities)
        assert issubclass(cls, PartnerActivities)
        assert cls.client_class.institution == entry.name
        assert cls in activities_classes()


def test_every_event_type_has_a_sender_the_registry_places() -> None:
    senders = {c.sender for i in INSTITUTIONS for c in i.callbacks}
    assert set(INSTITUTION_OF.values()) == senders
    assert INSTITUTION_OF[PartnerEventType.SERVICE_COMPLETED] == "store"
    assert INSTITUTION_OF[PartnerEventType.PDI_PASSED] == "delivery_centre"


def test_chaos_seeds_follow_the_registry_order() -> None:
    seeds = [fault_profile(1.0, 7, name, partner_timeout_s=1.0)["seed"] for name in NAMES]
    assert seeds == [700 + n for n in range(len(NAMES))]


def test_an_own_url_overrides_the_sandbox_path() -> None:
    partners = PartnerSettings.model_validate({"lender_url": "https://lender.example/api/"})
    assert partners.url_of("lender") == "https://lender.example/api/"
    assert partners.url_of("stores") == "http://127.0.0.1:8300/stores"


def test_a_url_setting_of_no_registered_institution_fails_at_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBUY_PARTNERS__STORE_URL", "https://stores.example")
    with pytest.raises(ValidationError, match=r"partners\.store_url.*partners\.stores_url"):
        Settings()


def test_an_institution_without_any_url_fails_at_start_with_its_env_var() -> None:
    with pytest.raises(ValidationError, match=r"lender \(CARBUY_PARTNERS__LENDER_URL\)"):
        PartnerSettings.model_validate({"base_url": "", **{f"{n}_url": "https://x.example" for n in NAMES[1:]}})


def test_an_unregistered_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="'nobody'.*lender"):
        institution("nobody")


def test_the_fakes_answer_every_purchase_activity_the_worker_registers() -> None:
    registered = {name for cls in activities_classes() for name in activity_methods(cls)}
    assert set(activity_methods(FakePartners)) == registered - {RECONCILE_DAY_ACTIVITY}
