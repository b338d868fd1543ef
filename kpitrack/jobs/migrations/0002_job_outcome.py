from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="outcome",
            field=models.JSONField(blank=True, default=dict, verbose_name="結果摘要"),
        ),
    ]
