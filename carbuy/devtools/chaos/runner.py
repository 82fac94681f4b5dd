"""The chaos run: its own stack on free ports, N randomised purchases under partner faults, worker kills and
Temporal restarts, an ops desk, then the check of every purchase and the money audit."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
from temporalio.service import RPCError

from carbuy.contract.purchase import STAGE_KEY, STATE_KEY, purchase_workflow_id
from carbuy.devtools.chaos.api import Api, Cards, sleep_unless
from carbuy.devtools.chaos.config import ChaosConfig, chaos_stack
from carbuy.devtools.chaos.customers import ChaosCustomer, CustomerLog
from carbuy.devtools.chaos.disrupt import Disruptor, Progress
from carbuy.devtools.chaos.faults import injected_faults, set_faults
from carbuy.devtools.chaos.ops import ChaosOps
from carbuy.devtools.chaos.plan import Outcome, PurchasePlan, plan_disruptions, plan_purchases
from carbuy.devtools.chaos.summary import AuditReport, ChaosSummary, PurchaseReport, ReplayCheck, reached_outcome
from carbuy.devtools.devstack import DevStack
from carbuy.devtools.replay import replay_histories
from carbuy.finance.audit.money import audit_money
from carbuy.runtime.settings import Settings
from carbuy.runtime.temporal import connect


async def run_chaos(config: ChaosConfig, base: Settings, say: Callable[[str], None]) -> ChaosSummary:
    """Start a stack, run the purchases and the disruptions, check everything, stop the stack."""
    state_dir = config.state_dir or Path(tempfile.mkdtemp(prefix="carbuy-chaos-"))
    stack = chaos_stack(base, state_dir, config)
    settings = stack.settings
    say(f"starting a stack of its own (state and logs in {state_dir}) ...")
    started = time.monotonic()
    summary: ChaosSummary | None = None
    try:
        await stack.start()
        stack_up_s = time.monotonic() - started
        say(
            f"up in {stack_up_s:.1f}s: API {stack.api_url}, Temporal {settings.temporal.address}, "
            f"UI {settings.temporal.ui_url}"
        )
        summary = await _run(config, stack, settings, say, stack_up_s)
        return summary
    finally:
        stack.stop()
        if config.state_dir is None and summary is not None and summary.ok:
            shutil.rmtree(state_dir, ignore_errors=True)
        else:
            say(f"state and logs kept in {state_dir}")


async def _run(
    config: ChaosConfig, stack: DevStack, settings: Settings, say: Callable[[str], None], stack_up_s: float
) -> ChaosSummary:
    plans = plan_purchases(config.purchases, config.seed, max_delay_s=config.max_delay_s)
    backend = Api(stack.api_url, settings.api.backend_token)
    ops_api = Api(stack.api_url, settings.api.ops_token)
    sandbox = httpx.AsyncClient(base_url=settings.partners.base_url, timeout=30.0)
    try:
        await set_faults(sandbox, config.fault_rate, config.seed, partner_timeout_s=config.partner_timeout_s)
        run = _Run(config, stack, settings, plans, backend, ops_api, sandbox, say)
        start = time.monotonic()
        try:
            await run.play()
        finally:
            run.cards.close()
        wall_s = time.monotonic() - start
        seen_in_temporal = await _unseen_ends(settings, run.logs.values())
        reports = [run.report(plan, seen_in_temporal.get(plan.order_id)) for plan in plans]
        faults = await injected_faults(sandbox)
        audit = await _audit(settings, [log.order_id for log in run.logs.values() if log.placed])
        say("replaying every history of the run on today's code ...")
        replay = await _replay(settings)
        problems = [f"{p.name} is not running at the end:\n{p.log_tail(10)}" for p in stack.processes if not p.running]
        return ChaosSummary(
            seed=config.seed,
            concurrency=config.concurrency,
            fault_rate=config.fault_rate,
            wall_s=wall_s,
            stack_up_s=stack_up_s,
            purchases=reports,
            faults_injected=faults,
            disruptions=run.disruptor.records,
            ops_actions=dict(run.ops.actions),
            ops_refused=run.ops.refused,
            api_unavailable=backend.unavailable + ops_api.unavailable,
            audit=audit,
            replay=replay,
            problems=problems,
        )
    finally:
        await backend.aclose()
        await ops_api.aclose()
        await sandbox.aclose()


async def _unseen_ends(settings: Settings, logs: Iterable[CustomerLog]) -> dict[str, str]:
    """What Temporal says of each placed purchase whose customer did not see it end (describe, no query)."""
    unseen = [log.order_id for log in logs if log.placed and log.final is None]
    if not unseen:
        return {}
    found: dict[str, str] = {}
    try:
        client = await connect(settings)
        for order_id in unseen:
            description = await client.get_workflow_handle(purchase_workflow_id(order_id)).describe()
            attributes = description.typed_search_attributes
            status = description.status.name if description.status else "UNKNOWN"
            found[order_id] = (
                f"Temporal: {status}, PurchaseStage {attributes.get(STAGE_KEY)}, "
                f"PurchaseState {attributes.get(STATE_KEY)}"
            )
    except RPCError as err:
        return {order_id: f"Temporal unavailable: {err.message}" for order_id in unseen}
    return found


async def _replay(settings: Settings) -> ReplayCheck:
    """`carbuy replay` over the run's own server: every purchase's history, with the worker's converter."""
    try:
        report = await replay_histories(await connect(settings))
    except RPCError as err:
        return ReplayCheck(ran=False, error=f"Temporal unavailable: {err.message}")
    return ReplayCheck(
        ran=True,
        total=report.total,
        replayed=report.replayed,
        failures=[f"{f.workflow_id}: {f.error}" for f in report.failures],
    )


async def _audit(settings: Settings, order_refs: list[str]) -> AuditReport:
    try:
        audit = await audit_money(settings, order_refs=order_refs)
    except Exception as err:  # the run's verdict says the audit did not run, with why
        return AuditReport(ran=False, ok=False, error=f"{type(err).__name__}: {err}")
    return AuditReport(
        ran=True,
        ok=audit.ok,
        purchases=audit.purchases_audited,
        discrepancies=[f"{d.order_ref} {d.kind.value}: {d.explanation}" for d in audit.discrepancies],
    )


class _Run:
    """One run's customers, ops desk and disruptor, and what they saw."""

    def __init__(
        self,
        config: ChaosConfig,
        stack: DevStack,
        settings: Settings,
        plans: list[PurchasePlan],
        backend: Api,
        ops_api: Api,
        sandbox: httpx.AsyncClient,
        say: Callable[[str], None],
    ) -> None:
        self.config, self.settings, self.plans, self.say = config, settings, plans, say
        self.backend, self.sandbox = backend, sandbox
        self.cards = Cards(settings.stripe)
        self.logs: dict[str, CustomerLog] = {}
        self.progress = Progress()
        self.ops = ChaosOps(ops_api, {p.order_id for p in plans})
        schedule = plan_disruptions(
            config.seed,
            purchases=config.purchases,
            kills=config.kills,
            temporal_restarts=config.temporal_restarts,
            max_delay_s=config.disruption_delay_s,
        )
        self.disruptor = Disruptor(stack, schedule, self.progress, ops_api, self._an_active_purchase, say)
        self.fee_fen = settings.purchase.policy().cancellation_fee_fen
        self.give_up = asyncio.Event()

    def _an_active_purchase(self) -> str | None:
        return next((oid for oid, log in self.logs.items() if log.placed and log.final is None), None)

    async def play(self) -> None:
        """Every customer (C at a time), with the ops desk and the disruptor alongside, until all have ended."""
        deadline = time.monotonic() + self.config.timeout_s
        gate = asyncio.Semaphore(self.config.concurrency)
        finished, ops_stop = asyncio.Event(), asyncio.Event()

        async def one(plan: PurchasePlan) -> None:
            async with gate:
                customer = ChaosCustomer(plan, self.backend, self.sandbox, self.cards, poll_s=self.config.poll_s)
                self.logs[plan.order_id] = customer.log
                self.progress.started += 1
                await customer.play(deadline, self.give_up)

        ops = asyncio.create_task(self.ops.run(ops_stop))
        disruptor = asyncio.create_task(self.disruptor.run(finished))
        reporter = asyncio.create_task(self._report_progress(finished))
        watcher = asyncio.create_task(self._watch_for_stall(finished))
        try:
            await asyncio.gather(*(one(plan) for plan in self.plans))
        finally:
            finished.set()
            await disruptor
            ops_stop.set()
            await ops
            await reporter
            await watcher

    async def _watch_for_stall(self, finished: asyncio.Event) -> None:
        """Once every customer has started, give up when no purchase has ended for stall_s."""
        ended, progressed = 0, time.monotonic()
        while not await sleep_unless(finished, 1.0):
            now_ended = sum(1 for log in self.logs.values() if log.ended is not None)
            if now_ended != ended or self.progress.started < len(self.plans):
                ended, progressed = now_ended, time.monotonic()
            elif time.monotonic() - progressed > self.config.stall_s:
                self.say(
                    f"no purchase ended for {self.config.stall_s:.0f}s: giving up on the {len(self.plans) - ended} left"
                )
                self.give_up.set()
                return

    async def _report_progress(self, finished: asyncio.Event, every_s: float = 10.0) -> None:
        start = time.monotonic()
        while not await sleep_unless(finished, every_s):
            ended = Counter(log.final.stage.value for log in self.logs.values() if log.final is not None)
            self.say(
                f"{time.monotonic() - start:5.0f}s: {self.progress.started}/{len(self.plans)} started, "
                f"ended {dict(ended)}, ops {dict(self.ops.actions)}, disruptions {len(self.disruptor.records)}"
            )

    def report(self, plan: PurchasePlan, temporal: str | None = None) -> PurchaseReport:
        """The purchase's expected and reached outcome, from the last status its customer read."""
        log = self.logs.get(plan.order_id, CustomerLog(plan.order_id))
        status = log.final or log.last
        reached = Outcome.UNREADABLE if log.unreadable else reached_outcome(status, fee_fen=self.fee_fen)
        base = PurchaseReport(
            order_id=plan.order_id,
            plan=plan.plan.value,
            scenarios=[s.value for s in plan.scenarios],
            behaviour=plan.behaviour,
            expected=plan.expected,
            reached=reached,
            temporal=temporal,
            problems=log.problems,
            actions=log.actions,
            duration_s=None if log.ended is None else round(log.ended - log.started, 1),
        )
        if status is None:
            return base
        timeline = [] if base.ok else [f"{e.at:%H:%M:%S} [{e.stage.value}] {e.event}" for e in status.timeline]
        return base.model_copy(
            update={
                "timeline": timeline,
                "stage": status.stage.value,
                "state": status.state.value,
                "reason": status.reason,
                "waiting_for": [w.what + (" (breached)" if w.breached else "") for w in status.waiting_for],
                "attention": status.attention.reasons,
                "paid_fen": status.amounts.paid,
                "refunded_fen": status.amounts.refunded,
            }
        )
