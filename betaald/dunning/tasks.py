"""Background tasks of the dunning engine (django-tasks); they take ids and are idempotent."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from betaald.dunning.models import DunningRun, DunningState, RunStatus


@task()
def dunning_run_task(run_id: int) -> int:
    """Carry out a queued run ("run now"); a run that already started is left alone."""
    from betaald.dunning.services import dunning_run

    updated = DunningRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING
    )
    if not updated:
        return 0
    run = DunningRun.objects.select_related("organisation").get(pk=run_id)
    run = dunning_run(today=run.run_on, organisation=run.organisation, run=run)
    return run.executed


@task()
def dunning_daily_task(run_on: str) -> int:
    """The scheduled daily run for all organisations (`run_on` as an ISO date)."""
    from betaald.dunning.services import dunning_run

    return dunning_run(today=date.fromisoformat(run_on)).executed


@task()
def dunning_refresh_policy(policy_id: int) -> int:
    """Recompute the states of the invoices under a policy after it was changed."""
    from betaald.dunning.services import dunning_refresh_invoices

    ids = list(
        DunningState.objects.filter(policy_id=policy_id).values_list("invoice_id", flat=True)
    )
    return dunning_refresh_invoices(invoice_ids=ids)
