"""Confidential text and file modes: notes stay out of the published warehouse unless included, and
what a run writes is readable by owner and group only."""

from __future__ import annotations

import json
import stat

import duckdb

from dealscope import history
from dealscope.confidential import WITHHELD, withhold_notes


def test_the_published_warehouse_holds_no_notes(pipeline_run):
    settings, _ = pipeline_run
    with open(settings.data_dir / "negotiation_events.csv", encoding="utf-8") as handle:
        assert "notes" in handle.readline()  # the export has notes to leave out
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM raw.negotiation_events").fetchone()[0] > 0
        assert con.execute("SELECT count(notes) FROM raw.negotiation_events").fetchone()[0] == 0
        assert con.execute("SELECT count(notes) FROM raw.landing_negotiation_events").fetchone()[0] == 0
        assert con.execute("SELECT count(notes) FROM staging.stg_negotiation_events").fetchone()[0] == 0
        records = [json.loads(r) for (r,) in con.execute(
            "SELECT record FROM main.rejected_rows WHERE source = 'negotiation_events'").fetchall()]
    finally:
        con.close()
    assert records, "the sample's messy rows give rejected events"
    assert all(record.get("notes") in (None, WITHHELD) for record in records)
    assert any(record.get("notes") == WITHHELD for record in records)


def test_withholding_masks_notes_under_their_source_name_only(tmp_path):
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.negotiation_events AS SELECT 'e1' AS event_id, 'called the CFO' AS notes")
    con.execute("""CREATE TABLE raw.landing_negotiation_events AS
                   SELECT 'called the CFO' AS notes, '{"event_id": "e1", " Notes ": "called the CFO"}' AS _record""")
    con.execute("""CREATE TABLE main.rejected_rows AS SELECT * FROM (VALUES
        ('negotiation_events', '{"event_id": "e2", "notes": "secret", "severity": "9"}'),
        ('deals', '{"deal_id": "d1", "notes": "not an event note"}')) AS t(source, record)""")
    withhold_notes(con, None)
    assert con.execute("SELECT notes FROM raw.negotiation_events").fetchone()[0] is None
    landing = con.execute("SELECT notes, _record FROM raw.landing_negotiation_events").fetchone()
    assert landing[0] is None and json.loads(landing[1]) == {"event_id": "e1", " Notes ": WITHHELD}
    records = dict(con.execute("SELECT source, record FROM main.rejected_rows").fetchall())
    assert json.loads(records["negotiation_events"]) == {"event_id": "e2", "notes": WITHHELD, "severity": "9"}
    assert json.loads(records["deals"])["notes"] == "not an event note"
    con.close()


def test_files_a_run_writes_are_private_to_owner_and_group(pipeline_run):
    settings, _ = pipeline_run
    written = [settings.warehouse, *history.versions_dir(settings.warehouse).iterdir(),
               *settings.dashboards_dir.glob("*.html")]
    assert len(written) >= 4
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, f"{path} is readable by others"
