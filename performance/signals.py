"""What the workflow tells the layers above it, which it may not import (docs/architecture.md):
they connect their receivers."""

from django.dispatch import Signal

# The approval of an agency's last result of a quarter (every indicator of the agency's year
# has final figures for it), sent inside the approving transaction with agency, year, quarter
# and user; sent only when settings.PRERENDER_ON_APPROVAL is on, since finding out costs a
# query per approval. kpitrack.reports.exports pre-renders the reports on commit.
quarter_approved = Signal()
