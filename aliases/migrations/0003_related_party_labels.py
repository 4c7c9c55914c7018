"""Related parties' field names, translatable (the account page lists them to staff). No change in
the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("aliases", "0002_export_unmasked_permission"),
    ]

    operations = [
        migrations.AlterField(
            model_name="relatedparty",
            name="end_date",
            field=models.DateField(blank=True, null=True, verbose_name="end date"),
        ),
        migrations.AlterField(
            model_name="relatedparty",
            name="name",
            field=models.CharField(max_length=256, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="relatedparty",
            name="role",
            field=models.CharField(
                choices=[
                    ("PRIMARY_HOLDER", "Primary holder"),
                    ("LEGAL_REPRESENTATIVE", "Legal representative"),
                    ("RESPONSIBLE_PARTY", "Responsible party"),
                ],
                max_length=32,
                verbose_name="role",
            ),
        ),
        migrations.AlterField(
            model_name="relatedparty",
            name="start_date",
            field=models.DateField(verbose_name="start date"),
        ),
    ]
