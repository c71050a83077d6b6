"""Writes of the signatures app, one module per concern.

- ``publish``: the one publish path (``objects_publish``), validation to storage;
- ``collections``: collections and the object versions in them;
- ``identity``: members in STIX: onboarding, identity objects, the keys they carry, the
  profile.

Callers import the names below from ``signatures.services``.
"""

from __future__ import annotations

from signatures.services.collections import (
    PublishForbidden,
    collection_create,
    collection_entries_remove,
    collection_objects_add,
)
from signatures.services.identity import (
    identity_publish,
    member_create,
    profile_publish,
    signing_key_register,
    signing_key_revoke,
    signing_key_rotate,
)
from signatures.services.publish import (
    ObjectOutcome,
    OutcomeStatus,
    PublishReport,
    objects_publish,
)

__all__ = [
    "ObjectOutcome",
    "OutcomeStatus",
    "PublishForbidden",
    "PublishReport",
    "collection_create",
    "collection_entries_remove",
    "collection_objects_add",
    "identity_publish",
    "member_create",
    "objects_publish",
    "profile_publish",
    "signing_key_register",
    "signing_key_revoke",
    "signing_key_rotate",
]
