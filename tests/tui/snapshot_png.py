"""Render snapshot SVGs to PNG cell by cell: ``python -m tests.tui.snapshot_png OUT_DIR SVG...``.

Rich writes each run of same-styled cells as one ``<text>`` with ``textLength``; ``rsvg-convert``
ignores ``textLength`` and drops a run's leading non-breaking spaces, so a PNG made from the SVG
as it is shows right-aligned cells and space-led runs shifted left — columns that line up in the
terminal seem not to. This rewrites every run as one ``<tspan>`` per cell at the cell's own x
(what a terminal does) before handing it to ``rsvg-convert``, so what you look at is the grid.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

from rich.cells import cell_len

TEXT = re.compile(r'<text ([^>]*?)x="([\d.]+)"([^>]*?)textLength="([\d.]+)"([^>]*)>([^<]*)</text>')


def _cells(match: re.Match[str]) -> str:
    before, x, between, length, after, body = match.groups()
    text = html.unescape(body)
    width = cell_len(text)
    if width == 0:
        return match.group(0)
    cell = float(length) / len(text) if len(text) == width else float(length) / width
    spans, offset = [], 0
    for char in text:
        if not char.isspace():
            spans.append(f'<tspan x="{float(x) + offset * cell:.1f}">{html.escape(char)}</tspan>')
        offset += cell_len(char)
    return f"<text {before}{between}{after}>{''.join(spans)}</text>"


def grid_svg(svg: str) -> str:
    return TEXT.sub(_cells, svg)


def main(argv: list[str]) -> None:
    out, *svgs = argv
    Path(out).mkdir(parents=True, exist_ok=True)
    for name in svgs:
        source = Path(name)
        target = Path(out) / f"{source.stem}.png"
        subprocess.run(
            ["rsvg-convert", "-w", "1400", "-o", str(target)], input=grid_svg(source.read_text()).encode(), check=True
        )
        print(target)


if __name__ == "__main__":
    main(sys.argv[1:])
