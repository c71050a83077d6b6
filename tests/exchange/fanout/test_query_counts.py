"""Round trips of the fan-out: each query costs a round trip, so their number is a budget.

The dispatcher and the pump work for many subscriptions at once. Matching a batch of
outbox entries reads the entries once and asks the sharing policy once per subscriber
(owner), whatever the number of its subscriptions. A pump run sends the head of every
subscription's queue in rounds: a round forms the deliveries, renews the leases, reads
what they carry (once per owner) and records the attempts with the same queries for one
subscription as for many, so the round trips per delivered batch fall as subscriptions
are added. Savepoints count: in production they are the BEGIN and COMMIT of the same
transactions.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from exchange.fanout.models import Delivery, DeliveryItem, DeliveryState, Subscription
from exchange.fanout.services import outbox_dispatch, subscription_create, subscriptions_pump
from members.models import Member
from tests.exchange.fanout.conftest import Receiver, indicators, publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forum")]

#: Queries of one dispatcher run, besides the sharing policy's: its transaction (2), the
#: lock, the outbox batch, the subscriptions and their collections, the entries, the
#: items, the outbox and lock updates, the backlog bound.
DISPATCH_BUDGET = 11
#: A pump run delivering one batch to each of its subscriptions, besides the sharing
#: policy's: claim the leases, load the subscriptions; round 1: the pending heads, the
#: unbatched items, the new deliveries and their items (a transaction: 4), the lease
#: renewal, the items with their text, the attempts and the deliveries' and subscriptions' new
#: states (a transaction: 5); round 2 finds nothing to send (2); release the leases;
#: check for work that came meanwhile.
PUMP_BUDGET = 19
#: The sharing policy, once per owner: a lab's TLP:AMBER+STRICT allowed set, then which
#: of the entries it may read.
PER_OWNER = 2


def _subscribe(owners: list[Member], receivers: Callable[..., Receiver]) -> list[Receiver]:
    made = []
    for owner in owners:
        receiver = receivers()
        _, receiver.secret = subscription_create(
            owner=owner, name="hook", channel="webhook", url=receiver.url
        )
        made.append(receiver)
    return made


def _queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


@pytest.fixture
def owners(request: pytest.FixtureRequest, lab_a: Member, lab_b: Member) -> list[Member]:
    """The owners of ``count`` subscriptions: all lab B, or lab A and lab B in turn."""
    count, mixed = request.param
    return [lab_a if mixed and n % 2 else lab_b for n in range(count)]


OWNERS = pytest.mark.parametrize(
    "owners", [(1, False), (6, False), (6, True)], indirect=True, ids=["1", "6", "6-2-owners"]
)


@OWNERS
@override_settings(FANOUT_ALLOW_HTTP=True)
def test_it_dispatches_to_every_subscription_within_the_query_budget(
    owners: list[Member], lab_a: Member, receivers: Callable[..., Receiver]
) -> None:
    _subscribe(owners, receivers)
    outbox_dispatch()  # creates the lock row; dispatches the personas' identity objects
    publish(lab_a, indicators(lab_a, 5))
    queries = _queries(outbox_dispatch)
    assert DeliveryItem.objects.count() == 5 * len(owners)
    assert queries <= DISPATCH_BUDGET + PER_OWNER * len(set(owners))


@OWNERS
@override_settings(FANOUT_ALLOW_HTTP=True)
def test_it_delivers_a_batch_to_each_subscription_within_the_query_budget(
    owners: list[Member], lab_a: Member, receivers: Callable[..., Receiver]
) -> None:
    hooks = _subscribe(owners, receivers)
    ids = publish(lab_a, indicators(lab_a, 5))
    outbox_dispatch()
    subscriptions = [str(pk) for pk in Subscription.objects.values_list("pk", flat=True)]
    queries = _queries(lambda: subscriptions_pump(subscription_ids=subscriptions))
    assert [hook.ids() for hook in hooks] == [ids] * len(hooks)
    batches = Delivery.objects.filter(state=DeliveryState.DELIVERED).count()
    assert batches == len(owners)
    assert queries <= PUMP_BUDGET + PER_OWNER * len(set(owners))
    print(f"\nfan-out: {queries} queries for {batches} delivered batches")


@override_settings(FANOUT_ALLOW_HTTP=True)
def test_it_makes_the_same_queries_for_one_subscription_as_for_eight(
    lab_a: Member, lab_b: Member, receivers: Callable[..., Receiver]
) -> None:
    """The shape rather than a number: a round's queries do not grow per subscription."""

    def run(count: int) -> int:
        hooks = _subscribe([lab_b] * count, receivers)
        ids = publish(lab_a, indicators(lab_a, 3))
        outbox_dispatch()
        newest = Subscription.objects.order_by("-created_at")[:count]
        subscriptions = [str(pk) for pk in newest.values_list("pk", flat=True)]
        queries = _queries(lambda: subscriptions_pump(subscription_ids=subscriptions))
        assert [hook.ids() for hook in hooks] == [ids] * count
        return queries

    assert run(8) == run(1)
