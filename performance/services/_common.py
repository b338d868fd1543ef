"""The names the workflow modules (entry, review) import for the steps every write takes; the
steps live once, in kpitrack.core.writes."""

from kpitrack.core.writes import changed as _changed
from kpitrack.core.writes import check_fields as _check_fields
from kpitrack.core.writes import delete as _delete
from kpitrack.core.writes import require_reason as _require_reason
from kpitrack.core.writes import row_error as _row_error
from kpitrack.core.writes import save as _save

__all__ = ["_changed", "_check_fields", "_delete", "_require_reason", "_row_error", "_save"]
