"""Saved Idempotency-Key answers are purged by age every minute: index their creation time."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0007_fault_delay_not_negative"),
    ]

    operations = [
        migrations.AlterField(
            model_name="idempotentrequest",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, db_index=True),
        ),
    ]
