"""Proxies of django-axes' login records with names in the staff member's language (`staff.models`).
No table; each proxy gets its own view permission, given to nobody but superusers."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("axes", "0010_accessattemptexpiration"),
        ("staff", "0003_export_unmasked_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoginAttempts",
            fields=[],
            options={
                "verbose_name": "access attempt",
                "verbose_name_plural": "access attempts",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("axes.accessattempt",),
        ),
        migrations.CreateModel(
            name="LoginFailure",
            fields=[],
            options={
                "verbose_name": "access failure",
                "verbose_name_plural": "access failures",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("axes.accessfailurelog",),
        ),
        migrations.CreateModel(
            name="LoginRecord",
            fields=[],
            options={
                "verbose_name": "access log",
                "verbose_name_plural": "access logs",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("axes.accesslog",),
        ),
    ]
