"""Published source documents (docs/data-format.md) read safely, validated, and loaded."""

from kpitrack.sources.loader import LoadReport, load_folder, read_folder
from kpitrack.sources.problems import DocumentError

__all__ = ["DocumentError", "LoadReport", "load_folder", "read_folder"]
