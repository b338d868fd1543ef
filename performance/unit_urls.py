"""Issue 17: a unit's quarter on one page (performance/unit_views.py). The year in the address is
the Gregorian one, as everywhere on the site; the page shows the ROC year."""

from django.urls import path

from . import unit_views

_BASE = "units/<slug:agency>/<slug:unit>/<int:year>/q<int:quarter>/"

urlpatterns = [
    path(_BASE, unit_views.unit_quarter, name="unit-quarter"),
    path(_BASE + "submit/", unit_views.unit_quarter_submit, name="unit-quarter-submit"),
    path(_BASE + "preview/<int:indicator>/", unit_views.unit_row_preview, name="unit-row-preview"),
    path(
        _BASE + "evidence/<int:indicator>/",
        unit_views.unit_evidence_upload,
        name="unit-evidence-upload",
    ),
    path(
        _BASE + "evidence/<int:pk>/delete/",
        unit_views.unit_evidence_delete,
        name="unit-evidence-delete",
    ),
]
