"""The static site: six self-contained HTML pages plus one shared plotly.min.js, and the
pre-negotiation briefs of the open deals (briefs/, when there are at most BRIEF_LIMIT).

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

from dashboards.brief import BRIEF_LIMIT, BRIEFS_DIR, BriefBatch, write_brief
from dashboards.components import DISCLOSURE_ID, PAGES, PLOTLY_BUNDLE
from dashboards.data import SiteData, read_site_data
from dashboards.pages import PAGE_BUILDERS
from dashboards.pages.open_deals import open_deals_page, read_open_deals
from dashboards.reads import Unavailable

INDEX_PAGE = PAGES[0][0]
# Written by earlier versions of this package; removed so no stale page is left linked.
RETIRED_PAGES = ("accounts.html",)

__all__ = ["DISCLOSURE_ID", "INDEX_PAGE", "PAGES", "SiteData", "build_site", "read_site_data",
           "render_pages"]


OPEN_DEALS_PAGE = "open_deals.html"


def render_pages(data: SiteData) -> dict[str, str]:
    """Page file name -> HTML of the pages drawn from SiteData, in navigation order (index first)."""
    return {name: PAGE_BUILDERS[name](data) for name, _ in PAGES if name in PAGE_BUILDERS}


def write_site_briefs(con: duckdb.DuckDBPyConnection, deal_ids: list[str], briefs_dir: Path) -> list[Path]:
    """The brief (HTML + JSON) of each listed deal; files of deals no longer listed are removed."""
    # Every section of every brief in one query per section, not a few queries per brief.
    batch = BriefBatch(con, deal_ids) if deal_ids else None
    written = []
    for deal_id in deal_ids:
        written.extend(write_brief(con, deal_id, briefs_dir, back_link=f"../{OPEN_DEALS_PAGE}", batch=batch))
    if briefs_dir.exists():
        kept = {path.name for path in written}
        for stale in briefs_dir.iterdir():
            if stale.suffix in (".html", ".json") and stale.name not in kept:
                stale.unlink()
    return written


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
    open_deals = read_open_deals(con)
    with_briefs = not isinstance(open_deals, Unavailable) and open_deals.attrs["total"] <= BRIEF_LIMIT
    pages[OPEN_DEALS_PAGE] = open_deals_page(open_deals, with_briefs)
    pages = {name: pages[name] for name, _ in PAGES}
    # Always (re)written: a bundle left by another plotly version might not draw these figures.
    write_atomically(out_dir / PLOTLY_BUNDLE, get_plotlyjs())
    written = []
    for name, content in pages.items():
        write_atomically(out_dir / name, content)
        written.append(out_dir / name)
    for retired in RETIRED_PAGES:
        (out_dir / retired).unlink(missing_ok=True)
    listed = [] if not with_briefs else [str(deal) for deal in open_deals["deal_id"]]
    write_site_briefs(con, listed, out_dir / BRIEFS_DIR)
    return written
