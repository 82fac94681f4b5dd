"""The lender: loan applications decided asynchronously, disbursement, cancellation."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import Response
from pydantic import BaseModel, Field

from carbuy.contract.events import PartnerEventType
from carbuy.contract.scenarios import Scenario
from sandbox.callbacks import CallbackDispatcher
from sandbox.deps import DispatcherDep, StateDep
from sandbox.errors import NOT_FOUND, POST_ERRORS, REFUSED, Refused
from sandbox.routing import IdempotencyKey
from sandbox.schemas import CallbackRequest, OrderRequest, partner_router
from sandbox.settlements import DisbursementRecord, PrincipalReturn, lines_of, to_csv
from sandbox.state import PartnerObject, new_id

MIN_DOWN_PAYMENT_BP = 1_500
TERMS = range(12, 61)
ANNUAL_RATE_BP = 350

router = partner_router("lender", "car loans")


class LoanApplicationCreate(CallbackRequest):
    """A loan application."""

    applicant_name: str = Field(min_length=1)
    applicant_id_number: str = Field(min_length=1)
    vehicle_price_fen: int = Field(gt=0)
    down_payment_fen: int = Field(ge=0)
    term_months: int


class LoanApplication(PartnerObject):
    """A loan application as the lender keeps it."""

    kind = "loan_application"

    status: Literal["submitted", "documents_required", "approved", "denied", "disbursed", "cancelled"]
    vehicle_price_fen: int
    down_payment_fen: int
    term_months: int
    principal_fen: int = 0
    annual_rate_bp: int = 0
    disbursed_fen: int = 0
    documents: list[str] = Field(default_factory=list)
    callback_url: str


class LoanApplicationPublic(BaseModel):
    """A loan application as the lender shows it."""

    application_id: str
    order_ref: str
    status: str
    principal_fen: int
    annual_rate_bp: int
    disbursed_fen: int


class DocumentsUpload(OrderRequest):
    """The documents the lender asked for."""

    documents: list[str] = Field(min_length=1)


class DisbursementCreate(OrderRequest):
    """Pay (part of) the approved principal to the platform."""

    amount_fen: int = Field(gt=0)


class Disbursement(BaseModel):
    """A disbursement made."""

    disbursement_id: str
    application_id: str
    amount_fen: int


class LoanCancellation(BaseModel):
    """A withdrawn application."""

    application_id: str
    cancelled: bool
    principal_returned_fen: int


def _public(app: LoanApplication) -> LoanApplicationPublic:
    return LoanApplicationPublic(
        application_id=app.id,
        **app.model_dump(include={"order_ref", "status", "principal_fen", "annual_rate_bp", "disbursed_fen"}),
    )


@router.post(
    "/applications",
    status_code=201,
    summary="Apply for a loan (decision by callback)",
    responses={**POST_ERRORS, **REFUSED},
)
async def apply(
    body: LoanApplicationCreate, state: StateDep, dispatcher: DispatcherDep, _key: IdempotencyKey
) -> LoanApplicationPublic:
    """File an application; loan.approved, loan.denied or loan.documents_required comes back later.

    Posting it again under the same key sends the latest decision again (also one a silent lender held back).
    """
    if body.down_payment_fen * 10_000 < body.vehicle_price_fen * MIN_DOWN_PAYMENT_BP:
        raise Refused("down_payment_too_low", "the down payment must be at least 15% of the price")
    if body.term_months not in TERMS:
        raise Refused("term_out_of_range", "the term must be 12 to 60 months")
    app = state.add(
        LoanApplication(
            id=new_id("loan"),
            order_ref=body.order_ref,
            status="submitted",
            callback_url=body.callback_url,
            **body.model_dump(include={"vehicle_price_fen", "down_payment_fen", "term_months"}),
        )
    )
    dispatcher.spawn(app.order_ref, _decide(dispatcher, app))
    return _public(app)


async def _decide(dispatcher: CallbackDispatcher, app: LoanApplication) -> None:
    state = dispatcher.state
    await dispatcher.pause()
    if state.has(app.order_ref, Scenario.LOAN_DOCUMENTS_REQUIRED):
        async with state.lock:
            if app.status != "submitted":
                return
            app.status = "documents_required"
        # the decision waits for the documents (POST .../documents)
        await dispatcher.emit(
            url=app.callback_url,
            order_ref=app.order_ref,
            reference=app.id,
            type=PartnerEventType.LOAN_DOCUMENTS_REQUIRED,
            data={"documents": "proof_of_income"},
            deliver=not state.has(app.order_ref, Scenario.LENDER_SILENT),
        )
        return
    await _announce(dispatcher, app)


async def _announce(dispatcher: CallbackDispatcher, app: LoanApplication) -> None:
    """Decide (approved unless the order's scenario says denied) and send the decision."""
    state = dispatcher.state
    # A silent lender records its answers as dropped; replaying the application sends the latest one.
    send = not state.has(app.order_ref, Scenario.LENDER_SILENT)
    async with state.lock:
        if app.status not in ("submitted", "documents_required"):
            return
        denied = state.has(app.order_ref, Scenario.LOAN_DENIED)
        app.status = "denied" if denied else "approved"
        if not denied:
            app.principal_fen = app.vehicle_price_fen - app.down_payment_fen
            app.annual_rate_bp = ANNUAL_RATE_BP
    if denied:
        await dispatcher.emit(
            url=app.callback_url,
            order_ref=app.order_ref,
            reference=app.id,
            type=PartnerEventType.LOAN_DENIED,
            data={"reason": "credit score below threshold"},
            deliver=send,
        )
        return
    await dispatcher.emit(
        url=app.callback_url,
        order_ref=app.order_ref,
        reference=app.id,
        type=PartnerEventType.LOAN_APPROVED,
        data={"principal_fen": app.principal_fen, "annual_rate_bp": app.annual_rate_bp, "term_months": app.term_months},
        deliver=send,
    )


async def _decide_with_documents(dispatcher: CallbackDispatcher, app: LoanApplication) -> None:
    await dispatcher.pause()
    await _announce(dispatcher, app)


@router.post(
    "/applications/{application_id}/documents",
    summary="Send the documents asked for",
    responses={**POST_ERRORS, **NOT_FOUND, **REFUSED},
)
async def documents(
    application_id: str, body: DocumentsUpload, state: StateDep, dispatcher: DispatcherDep, _key: IdempotencyKey
) -> LoanApplicationPublic:
    """The documents the lender asked for; the decision (loan.approved or loan.denied) follows by callback."""
    app = state.get(LoanApplication, application_id, order_ref=body.order_ref)
    if app.status != "documents_required":
        raise Refused("documents_not_required", f"the application is {app.status}")
    app.documents = list(body.documents)
    app.status = "submitted"
    dispatcher.spawn(app.order_ref, _decide_with_documents(dispatcher, app))
    return _public(app)


@router.get("/applications/{application_id}", summary="Show an application", responses=NOT_FOUND)
async def show(application_id: str, state: StateDep) -> LoanApplicationPublic:
    """The application and its decision so far."""
    return _public(state.get(LoanApplication, application_id))


@router.post(
    "/applications/{application_id}/disbursements",
    status_code=201,
    summary="Disburse the principal",
    responses={**POST_ERRORS, **NOT_FOUND, **REFUSED},
)
async def disburse(
    application_id: str, body: DisbursementCreate, state: StateDep, _key: IdempotencyKey
) -> Disbursement:
    """Pay the approved principal to the platform."""
    app = state.get(LoanApplication, application_id, order_ref=body.order_ref)
    if app.status not in ("approved", "disbursed"):
        raise Refused("application_not_approved", f"the application is {app.status}")
    if app.disbursed_fen + body.amount_fen > app.principal_fen:
        raise Refused("amount_exceeds_principal", "more than the approved principal")
    app.disbursed_fen += body.amount_fen
    app.status = "disbursed"
    made = state.add(
        DisbursementRecord(
            id=new_id("disb"), order_ref=app.order_ref, application_id=app.id, amount_fen=body.amount_fen
        )
    )
    return Disbursement(disbursement_id=made.id, application_id=app.id, amount_fen=body.amount_fen)


@router.post(
    "/applications/{application_id}/cancel", summary="Withdraw an application", responses={**POST_ERRORS, **NOT_FOUND}
)
async def cancel(application_id: str, body: OrderRequest, state: StateDep, _key: IdempotencyKey) -> LoanCancellation:
    """Withdraw the application; a disbursed principal goes back to the lender."""
    app = state.get(LoanApplication, application_id, order_ref=body.order_ref)
    returned, app.disbursed_fen, app.status = app.disbursed_fen, 0, "cancelled"
    if returned:
        state.add(
            PrincipalReturn(id=new_id("ret"), order_ref=app.order_ref, application_id=app.id, amount_fen=returned)
        )
    return LoanCancellation(application_id=app.id, cancelled=True, principal_returned_fen=returned)


@router.get(
    "/settlements/{day}.csv",
    summary="The settlement file of a day",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "day,type,reference,application_id,"
            "order_ref,amount_fen,occurred_at: every disbursement and return of the day",
        }
    },
)
async def settlement_file(day: date, state: StateDep) -> Response:
    """Every disbursement and principal return booked on this Asia/Shanghai day (an empty day: the header)."""
    return Response("".join(to_csv(lines_of(state, day))), media_type="text/csv")
