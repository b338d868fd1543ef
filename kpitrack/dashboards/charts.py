"""Bar charts as SVG, drawn on the server so the same markup shows in a page and prints in a report.

Text is real text in the page's CJK font (Noto Sans CJK TC, as the PDF reports embed it); each
chart has a <title> and a <desc> that reads out every value, and every bar carries its value and
its light's name as text beside a shape, so colour is never the only carrier of status."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kpitrack.core.engine.achievement import Status
from kpitrack.core.formatting import percent
from performance.reasons import status_label

FONT = "'Noto Sans CJK TC', 'Noto Sans TC', sans-serif"
# Colours pass 3:1 against white for graphics (WCAG 1.4.11); the symbols repeat the status.
FILL = {"green": "#1e7b34", "yellow": "#a86f00", "red": "#b3261e", "white": "#6b6b6b"}
SYMBOL = {"green": "●", "yellow": "▲", "red": "■", "white": "○"}
WIDTH, HEIGHT = 640, 280
TOP, BOTTOM, LEFT, RIGHT = 34, 62, 44, 12
# Rates far above target (1,161%) would flatten every other bar: the axis stops here and a
# taller bar is drawn cut, with its real value written on it.
AXIS_CAP = Decimal(200)


@dataclass(frozen=True)
class Bar:
    label: str  # e.g. 第2季 or 民國101年
    rate: Decimal | None
    status: str  # an engine Status value
    projected: bool = False  # drawn hollow and dashed, labelled 預估


def _n(x) -> str:
    return f"{Decimal(x):.1f}"


def _bar_text(bar: Bar) -> str:
    if bar.rate is None:
        return _("無法計算")
    label = _("預估") if bar.projected else status_label(bar.status)
    return f"{percent(bar.rate)} {label}"


def description(bars: list[Bar]) -> str:
    return "；".join(f"{bar.label}：{_bar_text(bar)}" for bar in bars)


def bar_chart(*, chart_id: str, title: str, bars: list[Bar]) -> SafeString:
    """Achievement rates as bars against a 100% target line."""
    top = max([Decimal(100), *(min(b.rate, AXIS_CAP) for b in bars if b.rate is not None)])
    top = top * Decimal("1.1")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = Decimal(plot_w) / max(len(bars), 1)

    def y(rate: Decimal) -> Decimal:
        return TOP + plot_h - min(rate, AXIS_CAP) / top * plot_h

    shapes = []
    for n, bar in enumerate(bars):
        width = min(slot * Decimal("0.6"), Decimal(72))
        x = LEFT + slot * n + (slot - width) / 2
        centre = x + width / 2
        symbol = SYMBOL["white" if bar.projected else bar.status]
        if bar.rate is not None:
            bar_top = y(bar.rate)
            style = (
                f'fill="#ffffff" stroke="{FILL[bar.status]}" stroke-width="2" '
                'stroke-dasharray="6 3"'
                if bar.projected
                else f'fill="{FILL[bar.status]}"'
            )
            shapes.append(
                f'<rect x="{_n(x)}" y="{_n(bar_top)}" width="{_n(width)}" '
                f'height="{_n(TOP + plot_h - bar_top)}" {style}/>'
            )
            value_y = max(bar_top - 6, Decimal(TOP - 4))
        else:
            value_y = Decimal(TOP + plot_h - 6)
        # Plain strings, the text escaped here: format_html per shape cost more than the chart.
        shapes.append(
            f'<text x="{_n(centre)}" y="{_n(value_y)}" text-anchor="middle" class="value">'
            f"{symbol} {conditional_escape(_bar_text(bar))}</text>"
        )
        shapes.append(
            f'<text x="{_n(centre)}" y="{TOP + plot_h + 20}" text-anchor="middle">'
            f"{conditional_escape(bar.label)}</text>"
        )
    target_y = y(Decimal(100))
    return format_html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" font-family="{font}" font-size="14">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="#4a4a4a"/>'
        "{shapes}"
        '<line x1="{left}" y1="{ty}" x2="{right}" y2="{ty}" stroke="#0b4f8a" '
        'stroke-dasharray="4 4"/>'
        '<text x="{right}" y="{tly}" text-anchor="end" fill="#0b4f8a">{target}</text>'
        '<text x="{left}" y="{legend_y}" fill="#1b1b1b">{legend}</text>'
        "</svg>",
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        font=FONT,
        title=title,
        desc=description(bars),
        left=LEFT,
        right=WIDTH - RIGHT,
        base=TOP + plot_h,
        ty=_n(target_y),
        tly=_n(target_y - 4),
        target=_("目標 100%"),
        shapes=mark_safe("".join(shapes)),  # noqa: S308 (every text escaped above)
        legend_y=HEIGHT - 12,
        legend=_legend(any(b.projected for b in bars)),
    )


def _legend(with_projection: bool) -> str:
    items = [f"{SYMBOL[s.value]} {status_label(s)}" for s in Status]
    if with_projection:
        items.append(_("虛線框：預估（非實績）"))
    return "　".join(items)
