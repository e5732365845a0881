"""A fault rule's delay is never negative: rules saved with one before get no delay, then the check."""

import django.core.validators
from django.db import migrations, models


def clear_negative_delays(apps, schema_editor):
    FaultRule = apps.get_model("sagas", "FaultRule")
    FaultRule.objects.using(schema_editor.connection.alias).filter(delay_seconds__lt=0).update(delay_seconds=0.0)


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0006_customer_is_user_key"),
    ]

    operations = [
        migrations.RunPython(clear_negative_delays, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="faultrule",
            name="delay_seconds",
            field=models.FloatField(
                default=0.0,
                help_text="For delay; a hang lasts at least an hour.",
                validators=[django.core.validators.MinValueValidator(0.0, message="The delay cannot be negative.")],
            ),
        ),
        migrations.AddConstraint(
            model_name="faultrule",
            constraint=models.CheckConstraint(
                condition=models.Q(("delay_seconds__gte", 0)),
                name="fault_delay_not_negative",
                violation_error_message="The delay cannot be negative.",
            ),
        ),
    ]
