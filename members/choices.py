from __future__ import annotations

from django.db import models


class MemberKind(models.TextChoices):
    """What an organisation may do on the exchange."""

    LAB = "lab", "Lab (publishing member)"
    PARTNER = "partner", "Partner (read-only subscriber)"
    FORUM = "forum", "Forum (exchange operator)"


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    PUBLISH = "publish", "Publish"
    ADMIN = "admin", "Admin"
