"""A holder's version number (`RegistryModel.version`): 1 when created, one more with every
change; the API's `ETag` (docs/api.md §12)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('holders', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='holder',
            name='version',
            field=models.PositiveIntegerField(default=1, editable=False, verbose_name='version'),
        ),
    ]
