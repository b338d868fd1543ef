"""HTML to PDF with WeasyPrint: tagged, with metadata taken from the document's <head>.

WeasyPrint is imported when a PDF is made, not with this module: importing it costs about
0.6 s of CPU (its C bindings), which every process that loads the URLs — each app server
worker, each `manage.py` command, each test's fresh interpreter — would otherwise pay."""

import re
from functools import lru_cache

from django.conf import settings
from django.utils.safestring import mark_safe

# An official print face, Ming (Noto Serif CJK TC, fonts-noto-cjk) or Kai (AR PL UKai TC,
# fonts-arphic-ukai), whichever is installed first; Noto Sans CJK TC as the last resort. Each is
# named: a generic `serif` would pick the Japanese forms of shared glyphs.
DEFAULT_PRINT_FACES = ("Noto Serif CJK TC", "AR PL UKai TC", "Noto Sans CJK TC")


def print_font_family() -> str:
    """The CSS font-family of printed reports, from `settings.REPORT_PRINT_FACES` if set."""
    faces = getattr(settings, "REPORT_PRINT_FACES", DEFAULT_PRINT_FACES)
    # Family names are letters, digits and spaces; anything else could end the CSS string.
    return mark_safe(", ".join('"{}"'.format(_FAMILY_UNSAFE.sub("", face)) for face in faces))


_FAMILY_UNSAFE = re.compile(r"[^\w \-]")


@lru_cache(maxsize=1)
def font_config():
    """WeasyPrint's FontConfiguration."""
    from weasyprint.text.fonts import FontConfiguration

    # Scanning the system fonts (the CJK collection is large) once per process, not per PDF.
    return FontConfiguration()


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    source = HTML(string=html)
    keep_labels_with_their_text(source.etree_element)
    document = source.render(font_config=font_config(), pdf_tags=True)
    # Laid out again while a row had to move to a new page: each move shifts the rows after it,
    # and may cut off another name. A moved row opens its page, so this ends.
    while push_rows_with_names_cut_off(document):
        document = source.render(font_config=font_config(), pdf_tags=True)
    mark_continued_cells(document)
    return document.write_pdf(pdf_tags=True)


def keep_labels_with_their_text(root) -> None:
    """A line of an analysis cell that ends in 「：」 (「(二)困難度：」, a part's own label)
    introduces the lines below it: it never ends a page; nor does a cell's first line, nor do
    its last two start one. Set in the parsed tree, for print only, as the transcribed text
    decides which lines these are."""
    for cell in root.iter("div"):
        if "analysis" not in (cell.get("class") or "").split():
            continue
        lines = list(cell.iter("p"))
        for line in lines:
            if "".join(line.itertext()).rstrip().endswith("："):
                _add_style(line, "break-after: avoid")
        # Orphans and widows for the cell as a whole (each printed line is its own <p>): a
        # page break leaves two lines at least, and takes three at least to the next page.
        for line in {*lines[1:2], *lines[-2:]} - {lines[0]} if lines else ():
            _add_style(line, "break-before: avoid")


def _add_style(element, declaration: str) -> None:
    style = element.get("style") or ""
    element.set("style", f"{style}; {declaration}".lstrip("; "))


def push_rows_with_names_cut_off(document) -> bool:
    """Moves to the next page each row that starts with a cell left empty.

    A goal's or indicator's name (`td.carry > .name`, kept whole by print.html) taller than
    the room left on the page goes whole to the next page, and so does an analysis whose first
    lines may not stand alone; either would leave a cell empty where the row starts. Such a
    row starts on the next page instead: its element gets `break-before: page` in the parsed
    tree, for the next layout. True if any did.
    """
    from weasyprint.formatting_structure import boxes

    pushed = False
    seen: set[int] = set()
    for page in document.pages:
        for table in page._page_box.descendants():
            if not isinstance(table, boxes.TableBox):
                continue
            rows = [
                row
                for group in table.children
                if isinstance(group, boxes.TableRowGroupBox) and not group.is_header
                for row in group.children
            ]
            for index, row in enumerate(rows):
                if row.element is None or id(row.element) in seen:
                    continue
                seen.add(id(row.element))
                if index and any(_name_cut_off(cell) for cell in row.children):
                    _add_style(row.element, "break-before: page")
                    pushed = True
    return pushed


def _name_cut_off(cell) -> bool:
    """Whether the cell starts here with nothing of its text: a name kept whole that did not
    fit, or an analysis whose first lines may not stand alone (see keep_labels_with_their_text)."""
    from weasyprint.formatting_structure import boxes

    if cell.element is None or not "".join(cell.element.itertext()).strip():
        return False
    return not any(
        isinstance(box, boxes.TextBox)
        and box.text.strip()
        and not box.element_tag.endswith("::before")
        for box in cell.descendants()
    )


def mark_continued_cells(document) -> None:
    """Shows 「（續）」 at the top of each `td.carry` that continues from the previous page.

    CSS cannot select a cell by the page it lands on, so this works on the laid-out pages: the
    first body row of a table on a page continues either a row split by the page break (its cell
    was already on an earlier page) or a goal whose first row is earlier (class `more`). Such a
    cell gets a copy of the hidden `::before` label that print.html gives every carry cell.
    """
    from weasyprint.formatting_structure import boxes

    label = None
    seen: set[int] = set()
    for page in document.pages:
        carried = []
        for table in page._page_box.descendants():
            if not isinstance(table, boxes.TableBox):
                continue
            rows = [
                row
                for group in table.children
                if isinstance(group, boxes.TableRowGroupBox) and not group.is_header
                for row in group.children
            ]
            for cell in rows[0].children if rows else ():
                if _is_carry(cell) and (id(cell.element) in seen or "more" in _classes(cell)):
                    carried.append(cell)
        for box in page._page_box.descendants():
            if isinstance(box, boxes.TableCellBox) and _is_carry(box):
                seen.add(id(box.element))
                if label is None:
                    label = next((c for c in map(_unwrap, box.children) if _is_label(c)), None)
        if label is not None:
            for cell in carried:
                _show_label(cell, label)


def _classes(box) -> list[str]:
    return (box.element.get("class") or "").split() if box.element is not None else []


def _is_carry(box) -> bool:
    from weasyprint.formatting_structure import boxes

    return isinstance(box, boxes.TableCellBox) and "carry" in _classes(box)


def _unwrap(box):
    # Absolutely positioned boxes sit in their parent behind a placeholder.
    return getattr(box, "_box", box)


def _is_label(box) -> bool:
    return box.element_tag.endswith("::before")


def _show_label(cell, label) -> None:
    if any(
        _is_label(child) and child.style["visibility"] == "visible"
        for child in map(_unwrap, cell.children)
    ):
        return
    copy = label.deepcopy()
    copy.translate(cell.content_box_x() - label.position_x, cell.content_box_y() - label.position_y)
    for box in copy.descendants():
        box.style = box.style.copy()
        box.style["visibility"] = "visible"
    # A cell split by the page break goes on with its own text at the top: the label takes the
    # first line and the text moves below it instead of being printed over.
    for child in cell.children:
        if not _is_label(_unwrap(child)):
            child.translate(0, copy.margin_height())
    cell.children = [*cell.children, copy]
