from __future__ import annotations

from django.apps import AppConfig


class FanoutConfig(AppConfig):
    """Pushes newly published signatures to subscribers (webhooks and TAXII push)."""

    name = "exchange.fanout"
    label = "fanout"
    verbose_name = "Fan-out"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exchange.fanout.services import outbox_filled_receive
        from signatures.signals import outbox_filled

        # The publish transaction lives below the fan-out and cannot call it; it announces
        # filled outboxes instead (weak=False: the receiver is a module-level function).
        outbox_filled.connect(outbox_filled_receive, weak=False, dispatch_uid="fanout-kick")
