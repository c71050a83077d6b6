"""exchange/fanout/tasks.py: the names the heartbeat and the services queue tasks by."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from exchange.celery import app
from exchange.fanout import tasks
from exchange.fanout.models import Subscription
from members.models import Member


def test_it_registers_every_task_under_the_name_it_is_queued_by(settings: Any) -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "fanout.dispatch" in scheduled
    for name, task in [
        ("fanout.dispatch", tasks.dispatch),
        ("fanout.pump", tasks.pump),
    ]:
        assert app.tasks[name].run is task.run
        assert app.tasks[name].acks_late


@pytest.mark.django_db
def test_it_does_nothing_for_a_subscription_that_is_gone(lab_a: Member) -> None:
    gone = str(uuid.uuid4())
    tasks.pump(gone)
    assert not Subscription.objects.exists()
