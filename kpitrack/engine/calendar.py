"""The Republic of China (民國) calendar: ROC year 1 is 1912."""

ROC_OFFSET = 1911
FIRST_YEAR = 1912
LAST_YEAR = 2200


def to_roc(year: int) -> int:
    return year - ROC_OFFSET


def from_roc(roc_year: int) -> int:
    return roc_year + ROC_OFFSET


def is_valid_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR
