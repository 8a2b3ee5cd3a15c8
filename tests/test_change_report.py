"""The change report: main.run_changes on a first run, and the Overview section drawn from it.
(The comparison of two real runs with a modified export is in tests/test_run_safety.py.)"""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboards.change_report import RunChanges, change_report_html, empty_run_changes
from dealscope.change_report import CHANGE_KINDS


def test_a_first_run_has_nothing_to_compare_with(pipeline_run):
    settings, _ = pipeline_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        summary = con.execute("SELECT * FROM main.run_changes_summary").df()
        assert con.execute("SELECT count(*) FROM main.run_changes").fetchone()[0] == 0
    finally:
        con.close()
    assert len(summary) == 1 and not summary["compared"].iloc[0]
    assert set(CHANGE_KINDS.values()) <= set(summary.columns)
    index = (settings.dashboards_dir / "index.html").read_text(encoding="utf-8")
    assert "What changed since the previous run" in index and "first published run" in index


def test_the_overview_section_states_counts_and_lists_verdicts_first():
    summary = pd.DataFrame([{"previous_run_id": "20260101T000000Z-abc123", "compared": True,
                             **{column: 0 for column in CHANGE_KINDS.values()},
                             "deals_added": 1, "verdict_changes": 1}])
    changes = pd.DataFrame([
        {"change": "deal_added", "deal_id": "D9", "account_id": "A1", "hypothesis": None, "before": None, "after": "open"},
        {"change": "verdict_changed", "deal_id": None, "account_id": None, "hypothesis": "H1",
         "before": "not_supported", "after": "supported"},
    ])
    html = change_report_html(RunChanges(summary, changes))
    assert "Compared with run 20260101T000000Z-abc123: 1 deals added;" in html
    assert "1 hypothesis verdicts changed" in html
    assert html.index("verdict changed") < html.index("deal added")
    assert "Not available" in change_report_html(empty_run_changes())
