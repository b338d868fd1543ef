"""Characters no text of ours may hold, and text as a spreadsheet must receive it: the one home
of the rule the middleware, the API, the document loader, the stored-text cleanup and every
xlsx/CSV writer share.

PostgreSQL refuses NUL in text, XML (so xlsx) refuses the other C0 controls, and a lone UTF-16
surrogate cannot be encoded at all; none belongs in a figure, a name or a narrative. Tab, line
feed and carriage return stay: multi-line text carries them.
"""

import re

UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def has_unusable(text: str) -> bool:
    return UNUSABLE.search(text) is not None


def shown(text: str) -> str:
    """`text` fit to quote in a message: each unusable character a visible U+FFFD."""
    return UNUSABLE.sub("\N{REPLACEMENT CHARACTER}", text)


def cleaned(text: str) -> str:
    """`text` without its unusable characters (invisible ones a person never meant to type)."""
    return UNUSABLE.sub("", text)


def neutral(text: str) -> str:
    """Text that a spreadsheet opening a CSV shows as typed: a leading ' stops evaluation."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def keep_as_text(cell) -> None:
    """An openpyxl cell holding a string keeps it as the text it is: openpyxl would store one
    that starts with "=" as a live formula (「=HYPERLINK(…)」 typed as a narrative)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
