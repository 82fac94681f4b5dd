"""Annotated dependencies of the sandbox's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sandbox.callbacks import CallbackDispatcher
from sandbox.state import SandboxState


def get_state(request: Request) -> SandboxState:
    """The sandbox's state, built by the composition root."""
    state: SandboxState = request.app.state.sandbox
    return state


def get_dispatcher(request: Request) -> CallbackDispatcher:
    """The background callback dispatcher."""
    dispatcher: CallbackDispatcher = request.app.state.dispatcher
    return dispatcher


StateDep = Annotated[SandboxState, Depends(get_state)]
DispatcherDep = Annotated[CallbackDispatcher, Depends(get_dispatcher)]
