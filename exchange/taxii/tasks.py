"""Celery tasks of the TAXII server: the publication of large Add Objects requests.

Thin, as the fan-out's: it takes the status id and calls the service, which claims the
status so that a second run does nothing. Acknowledged late: a task lost with its worker is
delivered again; one lost with the broker is queued again when the owner reads the status,
or by the periodic sweep.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from exchange.taxii import services


@shared_task(  # type: ignore[untyped-decorator]
    name="taxii.status_process",
    acks_late=True,
    ignore_result=True,
    # A database that went away (restart, failover) is worth waiting for; anything else is
    # a bug, left to the stale-status re-queue after it is fixed.
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def status_process(status_id: str) -> None:
    """Publish the objects of a pending Add Objects request and complete its status."""
    services.status_process(status_id=status_id)


@shared_task(name="taxii.status_sweep", ignore_result=True)  # type: ignore[untyped-decorator]
def status_sweep() -> None:
    """Queue again the pending requests whose task was lost (settings.CELERY_BEAT_SCHEDULE)."""
    services.statuses_requeue_stale()
