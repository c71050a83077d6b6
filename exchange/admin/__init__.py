"""The Django admin of the members' and signatures' models.

It sits on top with the other entry points (the console, the APIs), because its actions
call the services of every layer below; Django's autodiscovery imports this package.
"""

from __future__ import annotations

from exchange.admin import members, signatures

__all__ = ["members", "signatures"]
