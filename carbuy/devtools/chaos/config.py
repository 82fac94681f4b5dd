"""How big and how rough a chaos run is, and the stack of its own it runs on."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from carbuy.devtools.devstack import DevStack, stack_settings
from carbuy.devtools.processes import free_port
from carbuy.runtime.settings import Settings

CHAOS_TIME_SCALE = 4 / (90 * 86_400)
"""90 days of policy become 4 s: the first service is due 4 s after handover."""


class ChaosConfig(BaseModel):
    """How big and how rough a chaos run is."""

    purchases: int = Field(default=20, ge=1)
    seed: int = 1
    concurrency: int = Field(default=20, ge=1)
    fault_rate: float = Field(default=1.0, ge=0, description="multiplies every partner fault rate")
    kills: int = Field(default=2, ge=0, description="worker SIGKILLs, each followed by a restart")
    temporal_restarts: int = Field(default=1, ge=0)
    timeout_s: float = Field(default=600.0, gt=0, description="from the first purchase until every one must end")
    stall_s: float = Field(
        default=300.0,
        gt=0,
        description="give up on the purchases left once every customer has started and none has ended for this long",
    )
    time_scale: float = Field(default=CHAOS_TIME_SCALE, gt=0)
    deadline_floor_s: float = Field(default=20.0, ge=0, description="shortest scaled window or SLA")
    max_delay_s: float = Field(default=1.0, ge=0, description="longest pause of a customer before an action")
    disruption_delay_s: float = Field(default=12.0, gt=0, description="longest pause before a disruption strikes")
    poll_s: float = Field(default=0.5, gt=0, description="how often a customer reads its purchase's status")
    callback_delay_s: float = Field(default=0.2, ge=0)
    partner_timeout_s: float = Field(default=3.0, gt=0, description="the worker's partner client timeout")
    state_dir: Path | None = Field(
        default=None, description="kept; default: a temporary directory, removed after a run that is OK"
    )


def chaos_stack(base: Settings, state_dir: Path, config: ChaosConfig) -> DevStack:
    """A stack of its own: free ports, state under state_dir, fast time, short partner timeouts."""
    temporal_port, ui_port, localstripe_port = free_port(), free_port(), free_port()
    settings = stack_settings(
        base,
        temporal_port=temporal_port,
        ui_port=ui_port,
        localstripe_port=localstripe_port,
        api_port=free_port(),
        sandbox_port=free_port(),
        codec_port=free_port(),
        state_dir=state_dir,
        time_scale=config.time_scale,
        deadline_floor_s=config.deadline_floor_s,
    )
    settings = settings.model_copy(
        update={
            "sandbox": settings.sandbox.model_copy(update={"callback_delay_s": config.callback_delay_s}),
            "partners": settings.partners.model_copy(update={"timeout_s": config.partner_timeout_s}),
        }
    )
    return DevStack(settings, state_dir, temporal_port, ui_port, localstripe_port)
