"""FaultRule.operation stops listing the order's operations as choices: the participants register
their fault points (sagas.participant.faults.register_fault_points) and the admin offers those.

Only the field's choices change: no column, no value, so every rule is kept as it is, and the
migration runs back just as well (a rule on a point the old choices lacked stays too).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sagas", "0011_queued_bench_task_path"),
    ]

    operations = [
        migrations.AlterField(
            model_name="faultrule",
            name="operation",
            field=models.CharField(
                help_text="The participant operation, such as payments.payment_charge.", max_length=64
            ),
        ),
    ]
