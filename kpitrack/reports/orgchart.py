"""The organisation chart (組織系統圖) as an SVG tree drawn from the unit hierarchy.

Unit names are set vertically, one character per line, as Taiwanese organisation charts are
printed: thirteen units then fit side by side across an A4 page and stay legible.
"""

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from .pdf import print_font_family

FONT = 14  # px in the viewBox; the SVG scales to the page width
BOX_W = 30
GAP = 10
ROOT_PAD = 12
LEVEL_GAP = 34
PAD = 6


@dataclass
class _Node:
    label: str
    children: list["_Node"] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0
    w: float = BOX_W
    h: float = 0.0


def _tree(agency, units) -> _Node:
    nodes = {u.pk: _Node(u.name) for u in units}
    root = _Node(agency.name)
    for u in units:
        parent = nodes.get(u.parent_id) if u.parent_id else None
        (parent or root).children.append(nodes[u.pk])
    return root


def _layout(node: _Node, depth_y: list[float], level: int, next_x: list[float]):
    if node.children:
        for child in node.children:
            _layout(child, depth_y, level + 1, next_x)
        first, last = node.children[0], node.children[-1]
        node.x = (first.x + last.x + last.w) / 2 - node.w / 2
    else:
        node.x = next_x[0]
        next_x[0] += node.w + GAP


def _heights(node: _Node, level: int, per_level: dict[int, float], root=False):
    if root:
        node.w = max(BOX_W, len(node.label) * FONT + 2 * ROOT_PAD)
        node.h = FONT + 2 * PAD + 4
    else:
        node.h = len(node.label) * FONT + 2 * PAD
    per_level[level] = max(per_level.get(level, 0), node.h)
    for child in node.children:
        _heights(child, level + 1, per_level)


def _place_y(node: _Node, level: int, tops: dict[int, float]):
    node.y = tops[level]
    for child in node.children:
        _place_y(child, level + 1, tops)


def _line(x1, y1, x2, y2) -> str:
    return f'<line stroke="#1b1b1b" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


def _draw(node: _Node, out: list[str], root=False):
    out.append(
        f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.w:.1f}" height="{node.h:.1f}" '
        'rx="3" fill="#ffffff" stroke="#1b1b1b" stroke-width="1.2"/>'
    )
    cx = node.x + node.w / 2
    if root:
        out.append(
            f'<text x="{cx:.1f}" y="{node.y + node.h / 2 + FONT * 0.36:.1f}" '
            f'text-anchor="middle" font-size="{FONT + 2}" font-weight="bold">'
            f"{escape(node.label)}</text>"
        )
    else:
        spans = "".join(
            f'<tspan x="{cx:.1f}" y="{node.y + PAD + FONT * (i + 0.85):.1f}">{escape(ch)}</tspan>'
            for i, ch in enumerate(node.label)
        )
        out.append(f'<text text-anchor="middle" font-size="{FONT}">{spans}</text>')
    if node.children:
        bottom = node.y + node.h
        bus = bottom + LEVEL_GAP / 2
        centres = [c.x + c.w / 2 for c in node.children]
        out.append(_line(cx, bottom, cx, bus))
        out.append(_line(min(centres + [cx]), bus, max(centres + [cx]), bus))
        for child, c in zip(node.children, centres, strict=True):
            out.append(_line(c, bus, c, child.y))
            _draw(child, out)


def org_chart_svg(agency, units) -> str:
    """An inline SVG; `units` need `parent_id` and come in printed order."""
    root = _tree(agency, units)
    per_level: dict[int, float] = {}
    _heights(root, 0, per_level, root=True)
    _layout(root, [], 0, [GAP])
    tops, y = {}, GAP
    for level in sorted(per_level):
        tops[level] = y
        y += per_level[level] + LEVEL_GAP
    _place_y(root, 0, tops)
    xs = [GAP]

    def extent(n):
        xs.append(n.x + n.w)
        xs.append(n.x)
        for c in n.children:
            extent(c)

    extent(root)
    shift = GAP - min(xs)
    width = max(xs) - min(xs) + 2 * GAP

    def move(n):
        n.x += shift
        for c in n.children:
            move(c)

    move(root)
    height = y - LEVEL_GAP + GAP
    out: list[str] = []
    _draw(root, out, root=True)
    title = escape(_("%(agency)s組織系統圖") % {"agency": agency.name})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.1f} {height:.1f}" '
        f'role="img" aria-labelledby="orgchart-title" class="orgchart" '
        f"font-family='{print_font_family()}' fill=\"#1b1b1b\">"
        f'<title id="orgchart-title">{title}</title>'
        f'<g stroke-width="1.2">{"".join(out)}</g></svg>'
    )
