"""The production worker passes carbuy's workflow modules through the sandbox; the tests' workers do not."""

from __future__ import annotations

import inspect

from temporalio.worker.workflow_sandbox import SandboxRestrictions

from tests.workflows import driver
from worker import LEAN_SANDBOX


def test_the_worker_passes_through_only_the_workflows_package_beyond_the_defaults() -> None:
    added = LEAN_SANDBOX.restrictions.passthrough_modules - SandboxRestrictions.default.passthrough_modules
    assert added == {"workflows"}
    assert not LEAN_SANDBOX.restrictions.passthrough_all_modules
    # the rest of the defaults (restricted calls such as datetime.now) still apply to everything else
    assert LEAN_SANDBOX.restrictions.invalid_module_members == SandboxRestrictions.default.invalid_module_members


def test_the_workflow_tests_run_the_strict_default_sandbox() -> None:
    # the time-skipping tests are where a non-deterministic call in workflows/ must fail: their worker keeps
    # the default runner, which imports workflows/ inside the sandbox and intercepts such calls
    source = inspect.getsource(driver.purchase_worker)
    assert "Worker(" in source and "workflow_runner" not in source
