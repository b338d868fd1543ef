"""HTML to PDF with WeasyPrint: tagged, with metadata taken from the document's <head>."""

from functools import lru_cache

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration


@lru_cache(maxsize=1)
def font_config() -> FontConfiguration:
    # Scanning the system fonts (the CJK collection is large) once per process, not per PDF.
    return FontConfiguration()


def html_to_pdf(html: str) -> bytes:
    return HTML(string=html).write_pdf(font_config=font_config(), pdf_tags=True)
