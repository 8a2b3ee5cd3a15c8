"""The static site: three self-contained HTML pages plus one shared plotly.min.js.

`build_site` reads the warehouse once (dashboards.reads), renders each page from those
frames with pure functions, and writes the files. Pages load Plotly from the bundle
written beside them (include_plotlyjs='directory'), so they open with no network.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from dashboards import figures, reads, text

PLOTLY_BUNDLE = "plotly.min.js"
INDEX_PAGE = "index.html"
WIN_LOSS_PAGE = "win_loss.html"
ACCOUNTS_PAGE = "accounts.html"
PAGES: tuple[tuple[str, str], ...] = (
    (INDEX_PAGE, "Overview"),
    (WIN_LOSS_PAGE, "Win / loss"),
    (ACCOUNTS_PAGE, "Accounts & hypotheses"),
)
DISCLOSURE_ID = "value-source-disclosure"
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; }
nav { background: #1f3b5a; padding: 0.6em 1.5em; }
nav a { color: #fff; margin-right: 1.5em; text-decoration: none; }
nav a.current { font-weight: bold; text-decoration: underline; }
main { max-width: 1100px; margin: 0 auto; padding: 1em 1.5em 3em; }
.headline { font-size: 1.3em; margin: 0.4em 0; }
.notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6em 1em; margin: 1em 0; }
.muted { color: #666; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
li { margin: 0.4em 0; }
.supported { color: #1b7f3b; }
"""


@dataclass(frozen=True)
class SiteData:
    """Everything the pages show, as read from the warehouse."""

    win_loss: pd.DataFrame
    deals: pd.DataFrame
    account_value: pd.DataFrame
    hypothesis_tests: pd.DataFrame
    load_summary: pd.DataFrame
    rejection_counts: pd.DataFrame


def read_site_data(con: duckdb.DuckDBPyConnection) -> SiteData:
    return SiteData(
        win_loss=reads.read_win_loss(con),
        deals=reads.read_deals(con),
        account_value=reads.read_account_value(con),
        hypothesis_tests=reads.read_hypothesis_tests(con),
        load_summary=reads.read_load_summary(con),
        rejection_counts=reads.read_rejection_counts(con),
    )


# --- HTML pieces -------------------------------------------------------------------------

def esc(value: object) -> str:
    return html.escape(str(value))


def figures_html(page_figures: Sequence[go.Figure]) -> str:
    """Figure divs; the first carries the relative <script src="plotly.min.js"> tag."""
    return "\n".join(
        figure.to_html(
            full_html=False,
            include_plotlyjs="directory" if position == 0 else False,
            config=FIGURE_CONFIG,
            default_width="100%",
        )
        for position, figure in enumerate(page_figures)
    )


def page_html(file_name: str, title: str, body: str) -> str:
    current = ' class="current"'
    links = " ".join(
        f'<a href="{name}"{current if name == file_name else ""}>{esc(label)}</a>'
        for name, label in PAGES
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>dealscope: {esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<nav>{links}</nav>\n<main>\n<h1>{esc(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )


def disclosure_html(account_value: pd.DataFrame) -> str:
    notice = text.won_deals_disclosure(account_value)
    return "" if notice is None else f'<p class="notice" id="{DISCLOSURE_ID}">{esc(notice)}</p>'


def table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0, na_rep=text.NOT_AVAILABLE)


def verdicts_html(hypothesis_tests: pd.DataFrame) -> str:
    if hypothesis_tests.empty:
        return '<p class="muted">The warehouse holds no hypothesis test results.</p>'
    items = "\n".join(
        f'<li class="{"supported" if text.to_bool(row.get("supported")) else ""}">'
        f"{esc(text.hypothesis_verdict(row))}</li>"
        for row in hypothesis_tests.to_dict("records")
    )
    return f"<ul>\n{items}\n</ul>"


def load_summary_table(load_summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": load_summary["source"],
            "file": load_summary["source_file"].fillna("(absent)"),
            "rows read": load_summary["rows_read"].map(text.format_count),
            "rows loaded": load_summary["rows_loaded"].map(text.format_count),
            "rows rejected": load_summary["rows_rejected"].map(text.format_count),
        }
    )


# --- pages -------------------------------------------------------------------------------

def index_page(data: SiteData) -> str:
    overall, _ = text.split_overall(data.win_loss)
    headline = text.headline(overall)
    coverage = text.deal_coverage(data.deals)
    stages = ", ".join(f"{count:,} {esc(stage)}" for stage, count in coverage.by_stage.items())
    loaded_at = text.format_date(data.load_summary["loaded_at"].max())
    win_rate_line = (
        f'<p class="headline" id="headline-win-rate">Win rate: <strong>{esc(headline.win_rate)}'
        f"</strong> {esc(headline.interval_sentence)}</p>"
        if overall is not None
        else '<p class="headline muted">Win rate not available: win_loss has no overall row.</p>'
    )
    rejections = data.rejection_counts
    page_figures = [figures.rejected_rows_figure(rejections)] if len(rejections) else []
    rejected_block = (
        table_html(rejections.rename(columns={"rows_rejected": "rows rejected"}))
        if len(rejections)
        else '<p class="muted">No input rows were rejected.</p>'
    )
    other_pages = " ".join(
        f'<li><a href="{name}">{esc(label)}</a></li>' for name, label in PAGES[1:]
    )
    body = f"""
{disclosure_html(data.account_value)}
<section>
{win_rate_line}
<p class="headline" id="headline-value-won">Value won: <strong>{esc(headline.value_won)}</strong>
<span class="muted">(agreed contract value of the deals won)</span></p>
</section>
<section>
<h2>What the data covers</h2>
<p>{coverage.deals:,} deals ({stages}); created {esc(coverage.first_created)} to
{esc(coverage.last_created)}, closed {esc(coverage.first_closed)} to {esc(coverage.last_closed)}.
Data loaded {esc(loaded_at)}.</p>
{table_html(load_summary_table(data.load_summary))}
<h3>Rejected input rows by reason</h3>
{rejected_block}
{figures_html(page_figures)}
</section>
<section>
<h2>Hypotheses</h2>
{verdicts_html(data.hypothesis_tests)}
</section>
<section>
<h2>More</h2>
<ul>{other_pages}</ul>
</section>
"""
    return page_html(INDEX_PAGE, "Deals overview", body)


def win_loss_page(data: SiteData) -> str:
    overall, by_dimension = text.split_overall(data.win_loss)
    overall_rate = None if overall is None else overall["win_rate"]
    # A dimension none of whose values has a closed deal has nothing to draw; it is listed below.
    dimensions = sorted(by_dimension.loc[by_dimension["win_rate"].notna(), "dimension"].unique())
    page_figures = [
        figures.win_rate_figure(
            by_dimension[by_dimension["dimension"] == dimension], str(dimension), overall_rate
        )
        for dimension in dimensions
    ]
    without_closed = by_dimension[by_dimension["win_rate"].isna()]
    no_closed_note = (
        "<p class=\"muted\">No closed deals, so no win rate, for: "
        + esc(", ".join(
            f"{dimension} = {value}"
            for dimension, value in zip(without_closed["dimension"], without_closed["value"])
        ))
        + ".</p>"
        if len(without_closed)
        else ""
    )
    reference = (
        f"The dashed line is the company rate, {esc(text.format_pct(overall_rate))}."
        if overall is not None
        else "The company rate is not available (win_loss has no overall row)."
    )
    body = f"""
<p>Win rate counts closed deals only: won / (won + lost). Bars are 95% Wilson intervals.
Hollow grey markers are small samples: shown, but their rates are not reliable. {reference}</p>
{figures_html(page_figures)}
{no_closed_note}
"""
    return page_html(WIN_LOSS_PAGE, "Win / loss", body)


def accounts_page(data: SiteData) -> str:
    tests = data.hypothesis_tests
    page_figures = [
        figures.account_value_distribution_figure(data.account_value),
        figures.alignment_value_figure(data.account_value),
    ]
    if tests["estimate"].notna().any():
        page_figures.append(figures.hypothesis_forest_figure(tests))
    body = f"""
{disclosure_html(data.account_value)}
<p>{len(data.account_value):,} accounts, with or without deals. Lifetime value is the
account's lifetime gross margin.</p>
{figures_html(page_figures)}
<h2>Hypothesis results</h2>
{verdicts_html(tests)}
"""
    return page_html(ACCOUNTS_PAGE, "Accounts & hypotheses", body)


# --- writing -----------------------------------------------------------------------------

def write_atomically(path: Path, content: str) -> None:
    """Write beside the target and rename, so a reader never opens a half-written page."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    os.replace(partial, path)


def build_site(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Render the dashboards from the warehouse into out_dir; returns the pages, index first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = read_site_data(con)
    # Always (re)written: a bundle left by another plotly version might not draw these figures.
    write_atomically(out_dir / PLOTLY_BUNDLE, get_plotlyjs())
    pages = {
        INDEX_PAGE: index_page(data),
        WIN_LOSS_PAGE: win_loss_page(data),
        ACCOUNTS_PAGE: accounts_page(data),
    }
    written = []
    for name, content in pages.items():
        write_atomically(out_dir / name, content)
        written.append(out_dir / name)
    return written
