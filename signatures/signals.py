"""Signals the signatures app sends, so that the layers above it can react without it
importing them."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent once a transaction that put collection entries in the outbox has committed. The
#: fan-out listens so that it dispatches at once instead of at its next heartbeat: a latency
#: shortcut only, as the outbox rows themselves are the record that nothing is missed.
outbox_filled = Signal()
