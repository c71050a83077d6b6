"""The analysts' actions, one module per concern; callers import the module they need.

- ``triage``: the workflow (review, release to partners, members-only, retirement,
  revocation, TLP restriction) and the partner feed it fills;
- ``forum_objects``: the STIX objects the Forum writes (notes, opinions, campaigns,
  relationships), built by one helper and published through the one publish path;
- ``users``: the console's Forum staff users and their roles;
- ``access``: the admin role's token and dead-letter actions.

Every action writes one event to the exchange's append-only audit log
(``members.services.audit_record``) with the acting user and the Forum as actor member.
"""
