"""The control API (`/_sandbox`): scenarios per order, run-time config, faults, inspection and reset.

Tests and demos use it; production requests never do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from carbuy.contract.institutions import NAMES
from carbuy.contract.scenarios import Scenario
from sandbox.deps import DispatcherDep, StateDep
from sandbox.errors import BAD_REQUEST, NOT_FOUND, NotFound
from sandbox.faults import FaultKind, InstitutionFaults
from sandbox.settlements import PlantedLine, PlantedLineCreate, SettlementLine, planted_line
from sandbox.state import CallbackRecord, RequestRecord, SandboxConfig, new_id

if TYPE_CHECKING:
    Institution = str
else:
    Institution = Literal[NAMES]
    """A registered institution's name (carbuy/contract/institutions.py), an enum in the control API's schema."""

router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])


class ScenarioChoice(BaseModel):
    """The scenarios an order runs (replacing any chosen before); empty means everything succeeds."""

    scenarios: list[Scenario] = Field(default_factory=list, examples=[["loan_denied", "no_stock"]])


class OrderScenarios(ScenarioChoice):
    """An order and its scenarios."""

    order_ref: str


class OrderView(OrderScenarios):
    """Everything the sandbox holds for an order."""

    requests: list[RequestRecord]
    objects: list[dict[str, Any]]
    callbacks: list[CallbackRecord]
    scripts_running: int = Field(
        description="partner scripts about the order still running: at 0 it gets no callback until a new request"
    )


class InstitutionFaultsView(BaseModel):
    """An institution's faults in force and the faults injected into it so far."""

    faults: InstitutionFaults
    injected: dict[FaultKind, int]


class FaultsView(BaseModel):
    """Every institution's faults and counts, and the count of every fault injected."""

    institutions: dict[Institution, InstitutionFaultsView]
    injected_total: int


class ConfigUpdate(BaseModel):
    """The knobs to change; absent ones keep their value."""

    callback_delay_s: float | None = Field(default=None, ge=0, le=3600)
    latency_ms: int | None = Field(default=None, ge=0, le=60_000)
    callback_attempts: int | None = Field(default=None, ge=1, le=20)
    callback_backoff_s: float | None = Field(default=None, ge=0, le=60)


@router.put("/orders/{order_ref}/scenarios", summary="Choose an order's scenarios", responses=BAD_REQUEST)
async def choose_scenarios(order_ref: str, body: ScenarioChoice, state: StateDep) -> OrderScenarios:
    """Replace the scenarios of an order (before or while it runs)."""
    async with state.lock:
        state.order(order_ref).scenarios = set(body.scenarios)
    return OrderScenarios(order_ref=order_ref, scenarios=sorted(body.scenarios))


@router.get("/orders/{order_ref}", summary="Inspect an order", responses=NOT_FOUND)
async def inspect_order(order_ref: str, state: StateDep, dispatcher: DispatcherDep) -> OrderView:
    """Requests handled, objects made and callbacks sent (with their delivery status) for an order."""
    record = state.orders.get(order_ref)
    if record is None:
        raise NotFound("order", order_ref)
    return OrderView(
        order_ref=order_ref,
        scenarios=sorted(record.scenarios),
        requests=record.requests,
        objects=state.objects_of(order_ref),
        callbacks=record.callbacks,
        scripts_running=dispatcher.running(order_ref),
    )


@router.get("/config", summary="Show the run-time config")
async def show_config(state: StateDep) -> SandboxConfig:
    """The callback delay and added latency in force."""
    return state.config


@router.put("/config", summary="Change the run-time config", responses=BAD_REQUEST)
async def change_config(body: ConfigUpdate, state: StateDep) -> SandboxConfig:
    """Change the callback delay (running scripts pick it up at their next pause), latency or retries."""
    async with state.lock:
        state.config = state.config.model_copy(update=body.model_dump(exclude_none=True))
    return state.config


@router.put("/faults/{institution}", summary="Inject faults into an institution", responses=BAD_REQUEST)
async def inject_faults(institution: Institution, body: InstitutionFaults, state: StateDep) -> InstitutionFaults:
    """Replace the institution's faults: failed, slow or timed-out requests, duplicate, late or lost callbacks."""
    async with state.lock:
        state.faults.set(institution, body)
    return body


@router.get("/faults", summary="Show the faults in force and injected")
async def show_faults(state: StateDep) -> FaultsView:
    """Each institution's faults (fail_next counts down) and how many of each kind were injected."""
    institutions = {
        name: InstitutionFaultsView(
            faults=state.faults.by_institution.get(name, InstitutionFaults()), injected=state.faults.injected_of(name)
        )
        for name in NAMES
    }
    total = sum(sum(view.injected.values()) for view in institutions.values())
    return FaultsView(institutions=institutions, injected_total=total)


@router.delete("/faults", status_code=204, summary="Remove every fault")
async def clear_faults(state: StateDep) -> Response:
    """Remove every institution's faults and forget the counts."""
    async with state.lock:
        state.faults.clear()
    return Response(status_code=204)


@router.post(
    "/lender/settlement-lines", status_code=201, summary="Plant a line in a settlement file", responses=BAD_REQUEST
)
async def plant_settlement_line(body: PlantedLineCreate, state: StateDep) -> SettlementLine:
    """Add a line to the lender's file of a day (a wrong amount, a movement that never happened, ...)."""
    async with state.lock:
        planted = state.add(
            PlantedLine(
                id=new_id("adj"), **body.model_dump(exclude={"reference"}), reference=body.reference or new_id("adj")
            )
        )
    return planted_line(planted)


@router.post("/reset", status_code=204, summary="Forget everything")
async def reset(state: StateDep, dispatcher: DispatcherDep) -> Response:
    """Stop pending callbacks, drop every order, object, key, fault and fault count; restore the initial config."""
    await dispatcher.cancel_all()
    async with state.lock:
        state.reset()
    return Response(status_code=204)
