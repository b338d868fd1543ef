"""The (agency, year, quarter) index of stored outcomes, now covering what the overview reads
(issue 16). SQLite has no INCLUDE and builds the plain index, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("performance", "0010_notifications"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="outcome",
            name="performance_agency__0349a8_idx",
        ),
        migrations.AddIndex(
            model_name="outcome",
            index=models.Index(
                fields=["agency", "year", "through_quarter"],
                include=["status", "projected_status", "progress", "rate", "indicator"],
                name="outcome_quarter_covering",
            ),
        ),
    ]
