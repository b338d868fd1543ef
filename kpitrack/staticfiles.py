"""django.contrib.staticfiles as kpitrack installs it. Not in kpitrack/apps.py: Django takes
the app's configuration from there only when it is the one AppConfig the module holds."""

from django.contrib.staticfiles.apps import StaticFilesConfig


class StaticFiles(StaticFilesConfig):
    """collectstatic leaves out what no page loads: source maps, and django-ninja's ReDoc (the
    API page is its Swagger UI). They were 5 of the 8 MB it compressed twice (gzip, brotli) at
    each deploy and each `make serve`."""

    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "*.map", "ninja/redoc*"]
