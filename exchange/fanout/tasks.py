"""Celery tasks of the fan-out: thin wrappers that take ids and call the services.

All are idempotent and acknowledged late: a task lost with its worker is run again (or
re-queued by the heartbeat), and running one twice does no double work.
"""

from __future__ import annotations

from celery import shared_task

from exchange.fanout import services


@shared_task(name="fanout.dispatch", acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
def dispatch(send: bool = False) -> None:
    """The heartbeat (settings.CELERY_BEAT_SCHEDULE); with ``send``, the after-publish
    kick, which also sends for what it matched."""
    if send:
        services.outbox_send()
    else:
        services.heartbeat()


@shared_task(name="fanout.pump", acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
def pump(subscription_id: str) -> None:
    """Send one subscription's due deliveries, in order (queued by earlier versions)."""
    services.subscription_pump(subscription_id=subscription_id)


@shared_task(name="fanout.pumps", acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
def pumps(subscription_ids: list[str]) -> None:
    """Send the due deliveries of several subscriptions, each in order, side by side."""
    services.subscriptions_pump(subscription_ids=subscription_ids)
