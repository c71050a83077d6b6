"""The console's two roles as Django groups (docs/console.md, "Roles").

"analyst": read the console, triage, notes and campaign links, TLP restriction, release,
retire and revoke, read the audit log. "admin": all of that, plus members, tokens, signing
keys, collection grants and subscriptions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ANALYST = [
    "view_console",
    "triage_object",
    "release_object",
    "retire_object",
    "annotate_object",
    "restrict_tlp",
    "view_audit",
]
ADMIN = [*ANALYST, "manage_access", "manage_keys", "manage_subscriptions"]


def roles_create(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create the
    # console's now so the groups can be granted them in this migration.
    app_config = apps.get_app_config("console")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in (("analyst", ANALYST), ("admin", ADMIN)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="console", codename__in=codenames)
        )


def roles_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["analyst", "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_triage_and_login_failures"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, roles_remove)]
