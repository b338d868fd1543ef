"""Remove the control characters the JSON API stored before it refused them (issue 18): with them
an xlsx export of the quarter failed and the entry form refused to save until someone found the
invisible character. Only the current rows are cleaned; history keeps what was written."""

from django.db import migrations, models

from kpitrack.core.text import UNUSABLE, cleaned

# The text people or callers write, and the workbook, reports and exports print.
MODELS = ["Result", "Indicator", "StrategicGoal", "IndicatorInput", "TargetPart", "Evidence"]


def clean_stored_text(apps, schema_editor):
    # PostgreSQL cannot hold NUL in text at all, SQLite can; surrogates neither.
    pattern = "[\x01-\x08\x0b\x0c\x0e-\x1f]"
    if schema_editor.connection.vendor == "sqlite":
        pattern = "[\x00-\x08\x0b\x0c\x0e-\x1f]"
    for name in MODELS:
        model = apps.get_model("performance", name)
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField) and not f.choices
        ]
        for field in fields:
            rows = model.objects.filter(**{f"{field}__regex": pattern})
            for pk, text in rows.values_list("pk", field).iterator():
                if text and UNUSABLE.search(text):
                    model.objects.filter(pk=pk).update(**{field: cleaned(text)})


class Migration(migrations.Migration):
    dependencies = [("performance", "0007_outcome_latest_index")]

    operations = [migrations.RunPython(clean_stored_text, migrations.RunPython.noop, elidable=True)]
