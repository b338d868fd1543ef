import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def forget_outcomes(apps, schema_editor):
    # Outcomes are derived data: `manage.py rebuild_outcomes` writes them again with the new
    # columns filled in.
    apps.get_model("performance", "Outcome").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("budget", "0003_history_and_versions"),
        ("performance", "0005_merge_0004_outcomes_0004_workflow_periods_evidence"),
    ]

    operations = [
        migrations.RunPython(forget_outcomes, migrations.RunPython.noop),
        migrations.AddField(
            model_name="outcome",
            name="agency",
            field=models.ForeignKey(
                default=0,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="budget.agency",
                verbose_name="機關",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outcome",
            name="year",
            field=models.PositiveSmallIntegerField(
                default=2000,
                validators=[
                    django.core.validators.MinValueValidator(1912),
                    django.core.validators.MaxValueValidator(2200),
                ],
                verbose_name="年度（西元）",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outcome",
            name="entered",
            field=models.BooleanField(default=False, verbose_name="本季已有核定資料"),
        ),
        migrations.AddField(
            model_name="outcome",
            name="status",
            field=models.CharField(default="white", max_length=10, verbose_name="燈號"),
        ),
        migrations.AddField(
            model_name="outcome",
            name="rate",
            field=models.DecimalField(
                decimal_places=6, max_digits=30, null=True, verbose_name="達成率"
            ),
        ),
        migrations.AddField(
            model_name="outcome",
            name="projected_status",
            field=models.CharField(blank=True, max_length=10, verbose_name="全年預估燈號"),
        ),
        migrations.AddIndex(
            model_name="outcome",
            index=models.Index(
                fields=["agency", "year", "through_quarter"],
                name="performance_agency__0349a8_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="outcome",
            index=models.Index(
                fields=["entered", "year", "through_quarter"],
                name="performance_entered_cf9438_idx",
            ),
        ),
    ]
