"""Issue 16: the stored outcomes' version per agency instead of one for all, so a save in one
agency no longer changes the cache key of every other agency's pages. Every agency gets its
own random token (the old one is not kept: whatever was cached under it is simply not read)."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def tokens_for_every_agency(apps, schema_editor):
    Agency = apps.get_model("budget", "Agency")
    AgencyOutcomesVersion = apps.get_model("performance", "AgencyOutcomesVersion")
    AgencyOutcomesVersion.objects.bulk_create(
        AgencyOutcomesVersion(agency_id=pk, token=uuid.uuid4().hex)
        for pk in Agency.objects.order_by("pk").values_list("pk", flat=True).iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("budget", "0005_agency_separate_review_duties"),
        ("performance", "0011_overview_index_outcomes_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="AgencyOutcomesVersion",
            fields=[
                (
                    "agency",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="outcomes_version",
                        serialize=False,
                        to="budget.agency",
                        verbose_name="機關",
                    ),
                ),
                ("token", models.CharField(max_length=32, verbose_name="版本")),
            ],
            options={
                "verbose_name": "計算結果版本",
                "verbose_name_plural": "計算結果版本",
            },
        ),
        migrations.RunPython(tokens_for_every_agency, migrations.RunPython.noop),
        migrations.DeleteModel(name="OutcomesVersion"),
    ]
