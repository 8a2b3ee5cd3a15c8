"""HTML building blocks shared by the pages: the page shell, tables, filters, notices,
the page builder (sections that degrade to a notice), capped lists and interval cells.

Everything inserted into HTML is escaped here; text arrives as plain strings. Filters
on tables are a few lines of inline JavaScript that show and hide server-rendered rows,
so a page works from a file with no server and no network (and reads fine without JS).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from dashboards.charts import SMALL_SAMPLE
from dashboards.formatting import NOT_AVAILABLE, is_missing
from dashboards.reads import OVERALL_DIMENSIONS, TableRead, Unavailable

if TYPE_CHECKING:  # plotly is imported by the pages that draw figures, not by the brief
    import plotly.graph_objects as go


PLOTLY_BUNDLE = "plotly.min.js"
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
ALL_OPTION = "(all)"
TEXT_CLASS = ' class="text"'


# Pages in navigation order: (file name, label). index.html must stay first.
PAGES: tuple[tuple[str, str], ...] = (
    ("index.html", "Overview"),
    ("win_loss.html", "Win / loss"),
    ("strategic_fit.html", "Strategic fit"),
    ("trust.html", "Trust & relationship"),
    ("evidence.html", "Evidence"),
    ("open_deals.html", "Open deals"),
)
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
       font-size: 16px; line-height: 1.45; }
nav { background: #1f3b5a; padding: 0.6em 1.5em; }
nav a { color: #fff; margin-right: 1.5em; text-decoration: none; }
nav a.current { font-weight: bold; text-decoration: underline; }
main { max-width: 1150px; margin: 0 auto; padding: 1em 1.5em 3em; }
h2 { margin-top: 1.6em; border-bottom: 2px solid #e3e8ee; padding-bottom: 0.2em; }
.headline { font-size: 1.25em; margin: 0.4em 0; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; margin: 1em 0; }
.card { flex: 1 1 220px; background: #f4f7fa; border-radius: 6px; padding: 0.8em 1em; }
.card .label { color: #555; font-size: 0.9em; }
.card .number { font-size: 1.7em; font-weight: 600; color: #1f3b5a; }
.card .detail { color: #555; font-size: 0.85em; }
.notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6em 1em; margin: 1em 0; }
.unavailable { background: #f1f1f1; border-left: 4px solid #9a9a9a; padding: 0.6em 1em;
               margin: 1em 0; color: #444; }
.muted { color: #666; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th { background: #f4f7fa; }
td { white-space: nowrap; }
td.text, th.text { text-align: left; }
td.text { white-space: normal; min-width: 6em; max-width: 24em; }
td.text:first-child { white-space: nowrap; }
.tablewrap { overflow-x: auto; max-width: 100%; }
.scroll { max-height: 460px; overflow: auto; border: 1px solid #e3e8ee; }
.filters { margin: 0.6em 0; }
.filters label { margin-right: 1.2em; }
li { margin: 0.4em 0; }
.supported { color: #1b7f3b; }
"""


# Hides the rows of a filtered table that do not match every chosen value.
FILTER_SCRIPT = """
<script>
(function () {
  function apply(tableId) {
    var table = document.getElementById(tableId);
    var selects = document.querySelectorAll('select[data-table="' + tableId + '"]');
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var keep = true;
      for (var j = 0; j < selects.length; j++) {
        var want = selects[j].value;
        if (want !== "__all__" && rows[i].getAttribute("data-" + selects[j].dataset.column) !== want) {
          keep = false;
        }
      }
      rows[i].style.display = keep ? "" : "none";
      if (keep) { shown++; }
    }
    document.getElementById(tableId + "-count").textContent = shown + " of " + rows.length + " rows shown";
  }
  document.querySelectorAll("select[data-table]").forEach(function (select) {
    select.addEventListener("change", function () { apply(select.dataset.table); });
  });
  document.querySelectorAll("table.filterable").forEach(function (table) { apply(table.id); });
})();
</script>
"""


def esc(value: object) -> str:
    return html.escape(str(value))


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def figures_html(page_figures: Sequence[go.Figure], first_on_page: bool) -> str:
    """Figure divs; the page's first figure carries the relative <script src> of the bundle."""
    return "\n".join(
        figure.to_html(
            full_html=False,
            include_plotlyjs="directory" if first_on_page and position == 0 else False,
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
    script = FILTER_SCRIPT if 'class="filterable' in body else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>dealscope: {esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<nav>{links}</nav>\n<main>\n<h1>{esc(title)}</h1>\n{body}\n</main>\n{script}</body>\n</html>\n"
    )


def unavailable_html(gap: Unavailable, what: str) -> str:
    needs = f' data-needs="{esc(gap.needs)}"' if getattr(gap, "needs", "") else ""
    return f'<p class="unavailable" data-missing="{esc(gap.table)}"{needs}>{esc(gap.sentence(what))}</p>'


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return NOT_AVAILABLE
    return str(value)


def table_html(frame: pd.DataFrame, text_columns: int = 1, table_id: str = "") -> str:
    """A plain table of already formatted values; the first `text_columns` align left."""
    head = "".join(
        f'<th{TEXT_CLASS if i < text_columns else ""}>{esc(column)}</th>'
        for i, column in enumerate(frame.columns)
    )
    body = "\n".join(
        "<tr>" + "".join(
            f'<td{TEXT_CLASS if i < text_columns else ""}>{esc(_cell(value))}</td>'
            for i, value in enumerate(row)
        ) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    id_attr = f' id="{esc(table_id)}"' if table_id else ""
    return (f'<div class="tablewrap"><table{id_attr}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            f"{body}\n</tbody>\n</table></div>")


def filterable_table_html(
    shown: pd.DataFrame,
    filter_values: pd.DataFrame,
    table_id: str,
    text_columns: int = 1,
    links: dict[str, Sequence[str]] | None = None,
) -> str:
    """A table with one drop-down per column of `filter_values` (same rows, same order).

    Each row carries its filter values as data- attributes; the page script hides rows
    that do not match. Labels of the drop-downs are the filter columns' names. `links` maps
    a shown column to one href per row: that column's cells become links (empty href: none).
    """
    links = links or {}
    hrefs = [list(links.get(column, [""] * len(shown))) for column in shown.columns]
    selects = []
    for column in filter_values.columns:
        options = sorted({_cell(value) for value in filter_values[column]})
        option_html = f'<option value="__all__">{ALL_OPTION}</option>' + "".join(
            f'<option value="{esc(option)}">{esc(option)}</option>' for option in options
        )
        selects.append(
            f'<label>{esc(column.replace("_", " "))} <select data-table="{esc(table_id)}" '
            f'data-column="{esc(slug(column))}">{option_html}</select></label>'
        )
    rows = []
    for row_number, (shown_row, filter_row) in enumerate(zip(
        shown.itertuples(index=False, name=None), filter_values.itertuples(index=False, name=None)
    )):
        attributes = "".join(
            f' data-{slug(column)}="{esc(_cell(value))}"'
            for column, value in zip(filter_values.columns, filter_row)
        )
        cells = "".join(
            f'<td{TEXT_CLASS if i < text_columns else ""}>{_linked(_cell(value), hrefs[i][row_number])}</td>'
            for i, value in enumerate(shown_row)
        )
        rows.append(f"<tr{attributes}>{cells}</tr>")
    head = "".join(
        f'<th{TEXT_CLASS if i < text_columns else ""}>{esc(column)}</th>'
        for i, column in enumerate(shown.columns)
    )
    return (
        f'<div class="filters">{"".join(selects)} <span class="muted" id="{esc(table_id)}-count">'
        f"{len(rows)} rows</span></div>\n"
        f'<div class="scroll"><table class="filterable" id="{esc(table_id)}">\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div>"
    )


def _linked(text: str, href: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>' if href else esc(text)


def card_html(label: str, number: str, detail: str = "", element_id: str = "") -> str:
    id_attr = f' id="{esc(element_id)}"' if element_id else ""
    detail_html = f'<div class="detail">{esc(detail)}</div>' if detail else ""
    return (
        f'<div class="card"{id_attr}><div class="label">{esc(label)}</div>'
        f'<div class="number">{esc(number)}</div>{detail_html}</div>'
    )


VALUE_SOURCE_WON_DEALS = "won_deals"


def split_overall(win_loss: pd.DataFrame) -> tuple[pd.Series | None, pd.DataFrame]:
    """The company-wide row (dimension 'overall' or an alias) and the per-dimension rows."""
    is_overall = win_loss["dimension"].astype("string").str.lower().isin(OVERALL_DIMENSIONS)
    overall_rows = win_loss[is_overall.fillna(False).astype(bool)]
    by_dimension = win_loss[~is_overall.fillna(False).astype(bool)]
    overall = overall_rows.iloc[0] if len(overall_rows) else None
    return overall, by_dimension


def won_deals_disclosure(account_value: pd.DataFrame) -> str | None:
    """The contract-required notice when account value was derived from won deals, else None."""
    derived = account_value["value_source"].astype("string").str.lower().eq(VALUE_SOURCE_WON_DEALS)
    derived_accounts = int(derived.fillna(False).sum())
    if derived_accounts == 0:
        return None
    return (
        f"Account value for {derived_accounts:,} of {len(account_value):,} accounts is derived "
        "from won deals (final amount x gross margin %, booked in the month each deal closed), "
        "because no account revenue export was loaded for them. It is contracted value, "
        "not realised revenue."
    )


DISCLOSURE_ID = "value-source-disclosure"
MAX_LISTED_ROWS = 500  # longer lists show their largest rows, and say so


class PageBuilder:
    """Collects a page's HTML blocks; the first figure on the page loads the Plotly bundle."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.figure_count = 0

    def add(self, html: str) -> None:
        self.blocks.append(html)

    def figure(self, figure: go.Figure) -> None:
        self.blocks.append(figures_html([figure], first_on_page=self.figure_count == 0))
        self.figure_count += 1

    def section(self, title: str, read: TableRead, what: str,
                render: Callable[[pd.DataFrame], None]) -> None:
        """A titled section drawn by `render`, or a notice when the table is not available."""
        self.add(f"<h2>{esc(title)}</h2>")
        if isinstance(read, Unavailable):
            self.add(unavailable_html(read, what))
        elif read.empty:
            self.add(f'<p class="muted">Nothing to show: the table holding {esc(what)} is empty.</p>')
        else:
            note = read.attrs.get("coverage_note")
            if note:
                self.add(f'<p class="notice coverage-note">Computed without some inputs: {esc(note)}.</p>')
            render(read)

    def html(self) -> str:
        return "\n".join(self.blocks)


def disclosure_html(account_value: pd.DataFrame) -> str:
    notice = won_deals_disclosure(account_value)
    return "" if notice is None else f'<p class="notice" id="{DISCLOSURE_ID}">{esc(notice)}</p>'


def largest_rows(frame: pd.DataFrame, by: str) -> tuple[pd.DataFrame, str]:
    """At most MAX_LISTED_ROWS rows, largest `by` first, and a note when some were left out."""
    ordered = frame.sort_values(by, ascending=False, na_position="last")
    if len(ordered) <= MAX_LISTED_ROWS:
        return ordered, ""
    return ordered.head(MAX_LISTED_ROWS), (
        f'<p class="muted">Showing the {MAX_LISTED_ROWS:,} largest by {esc(by.replace("_", " "))} '
        f"of {len(ordered):,}; the full list is in the warehouse.</p>"
    )


def interval_cell(value: pd.Series, low: pd.Series, high: pd.Series, count: pd.Series,
                  formatter: Callable[[object], str]) -> pd.Series:
    """'9.1% (3.9% to 19.6%)', with 'small sample' when count < SMALL_SAMPLE."""
    cells = []
    for v, lo, hi, n in zip(value, low, high, count):
        if is_missing(v):
            cells.append(NOT_AVAILABLE)
            continue
        cell = f"{formatter(v)} ({formatter(lo)} to {formatter(hi)})"
        cells.append(cell + (", small sample" if not is_missing(n) and n < SMALL_SAMPLE else ""))
    return pd.Series(cells, index=value.index, dtype="object")


def interval_text(low: pd.Series, high: pd.Series, formatter: Callable[[object], str]) -> pd.Series:
    return low.map(formatter) + " to " + high.map(formatter)
