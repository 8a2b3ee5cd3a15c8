"""The static site: five self-contained HTML pages plus one shared plotly.min.js.

`build_site` reads the warehouse once (dashboards.data), renders each page from those
frames with pure functions (dashboards.pages, one module per page), and writes the
files. Pages load Plotly from the bundle written beside them (include_plotlyjs='directory'),
so they open with no network.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from plotly.offline import get_plotlyjs

from dashboards.components import DISCLOSURE_ID, PAGES, PLOTLY_BUNDLE
from dashboards.data import SiteData, read_site_data
from dashboards.pages import PAGE_BUILDERS

INDEX_PAGE = PAGES[0][0]
# Written by earlier versions of this package; removed so no stale page is left linked.
RETIRED_PAGES = ("accounts.html",)

__all__ = ["DISCLOSURE_ID", "INDEX_PAGE", "PAGES", "SiteData", "build_site", "read_site_data",
           "render_pages"]


def render_pages(data: SiteData) -> dict[str, str]:
    """Page file name -> HTML, in navigation order (index first)."""
    return {name: PAGE_BUILDERS[name](data) for name, _ in PAGES}


def write_atomically(path: Path, content: str) -> None:
    """Write beside the target and rename, so a reader never opens a half-written page."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    os.replace(partial, path)


def build_site(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Render the dashboards from the warehouse into out_dir; returns the pages, index first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = render_pages(read_site_data(con))
    # Always (re)written: a bundle left by another plotly version might not draw these figures.
    write_atomically(out_dir / PLOTLY_BUNDLE, get_plotlyjs())
    written = []
    for name, content in pages.items():
        write_atomically(out_dir / name, content)
        written.append(out_dir / name)
    for retired in RETIRED_PAGES:
        (out_dir / retired).unlink(missing_ok=True)
    return written
