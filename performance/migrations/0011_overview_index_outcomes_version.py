"""Issue 16: the (agency, year, quarter) index of stored outcomes, now covering what the
overview reads (SQLite has no INCLUDE and builds the plain index, as before), and the stored
outcomes' version that the overview's cache is keyed by."""

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
        migrations.CreateModel(
            name="OutcomesVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.CharField(max_length=32, verbose_name="版本")),
            ],
            options={
                "verbose_name": "計算結果版本",
                "verbose_name_plural": "計算結果版本",
            },
        ),
    ]
