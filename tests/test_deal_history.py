"""Deal history across exports: real runs of the whole graph on the small export, then on a modified
later export, an older one (refused, then forced) and after a rollback."""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dealscope import deal_history, history
from dealscope.runner import execute, run_pipeline
from tests.test_run_safety import copy_deployment, published_state

LATER_UPDATE = "2026-02-02 09:00:00"
OBSERVED_TYPE = "amount_cut_after_commitment"


def query(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def deal_set(path: Path, sql: str) -> set[str]:
    return {row[0] for row in query(path, sql)}


def later_export(source: Path, target: Path, published: Path) -> dict[str, set[str]]:
    """A copy of `source` one export later: deals advanced from open to won, won deals whose close date
    slipped, won deals whose amount was cut, deals removed and deals added; the changed rows carry a
    later updated_at, so the export is dated later."""
    shutil.copytree(source, target)
    with open(source / "deals.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["deal_id"]] = counts.get(row["deal_id"], 0) + 1
    loaded = deal_set(published, "SELECT deal_id FROM main.fct_deals")
    with_events = deal_set(published, "SELECT DISTINCT deal_id FROM staging.stg_negotiation_events WHERE deal_id IS NOT NULL")
    # One row per deal in the file and loaded, so each change is the deal's only state in the export.
    single = sorted(row["deal_id"] for row in rows if counts[row["deal_id"]] == 1 and row["deal_id"] in loaded)
    by_id = {row["deal_id"]: row for row in rows}
    opens = [deal for deal in single if by_id[deal]["stage"] == "open" and by_id[deal]["list_amount"]]
    won = [deal for deal in single if by_id[deal]["stage"] == "won" and float(by_id[deal]["final_amount"] or 0) > 0]
    plan = {
        "advanced": set(opens[:6]),
        "slipped": set(won[:5]),
        "cut": set(won[5:12]),
        # Deals no event names: removing them rejects no event row.
        "removed": set([deal for deal in won[12:40] if deal not in with_events][:4]),
    }
    for deal in plan["advanced"]:
        row = by_id[deal]
        row.update(stage="won", closed_at=LATER_UPDATE[:10], final_amount=f"{float(row['list_amount']) * 0.9:.2f}",
                   updated_at=LATER_UPDATE)
    for deal in plan["slipped"]:
        row = by_id[deal]
        row.update(closed_at=str(date.fromisoformat(row["closed_at"][:10]).replace(day=1).replace(
            year=int(row["closed_at"][:4]) + 1)), updated_at=LATER_UPDATE)
    for deal in plan["cut"]:
        row = by_id[deal]
        row.update(final_amount=f"{float(row['final_amount']) * 0.8:.2f}", updated_at=LATER_UPDATE)
    template = by_id[won[0]]
    added = [dict(template, deal_id=f"D-NEW{i:03d}", stage="open", closed_at="", final_amount="", loss_reason="",
                  updated_at=LATER_UPDATE) for i in range(3)]
    plan["added"] = {row["deal_id"] for row in added}
    kept = [row for row in rows if row["deal_id"] not in plan["removed"]] + added
    with open(target / "deals.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return plan


def test_a_single_export_starts_the_history_and_observes_nothing(pipeline_run):
    settings, _ = pipeline_run
    wh = settings.warehouse
    assert query(wh, "SELECT count(*), max(export_date_source), bool_and(is_this_export) FROM main.export_history"
                 ) == [(1, "updated_at", True)]
    assert query(wh, "SELECT count(*), count(DISTINCT deal_id), bool_and(is_current), max(version_number) "
                     "FROM main.deal_state_history") == query(wh, "SELECT count(*), count(*), true, 1 FROM main.fct_deals")
    for table in ("deal_close_date_slips", "deal_amount_cuts"):
        assert query(wh, f"SELECT count(*) FROM main.{table}") == [(0,)]
    assert query(wh, "SELECT max(spell_number), bool_or(is_entry_observed) FROM main.deal_stage_spells") == [(1, False)]
    # No observed event: the trust analyses count exactly the recorded events.
    assert query(wh, "SELECT count(*) FROM intermediate.int_trust_events WHERE event_source <> 'recorded'") == [(0,)]
    assert query(wh, "SELECT count(*) FROM intermediate.int_trust_events") == \
        query(wh, "SELECT count(*) FROM staging.stg_negotiation_events")


def test_the_export_date_without_updated_at_comes_from_the_deal_dates(tmp_path):
    con = duckdb.connect(str(tmp_path / "dates.duckdb"))
    try:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.deals (created_at DATE, closed_at DATE, updated_at TIMESTAMP)")
        con.execute("INSERT INTO raw.deals VALUES ('2025-01-01', '2025-03-04', NULL), ('2025-05-06', NULL, NULL)")
        assert deal_history.export_date(con, None) == deal_history.ExportDate(date(2025, 5, 6), "latest_deal_date")
        assert deal_history.export_date(con, "2025-06-30") == deal_history.ExportDate(date(2025, 6, 30), "setting")
        con.execute("INSERT INTO raw.deals VALUES ('2025-01-01', NULL, '2025-07-01 08:00')")
        assert deal_history.export_date(con, None) == deal_history.ExportDate(date(2025, 7, 1), "updated_at")
        with pytest.raises(ValueError, match="not a date"):
            deal_history.export_date(con, "last week")
    finally:
        con.close()


@pytest.mark.slow
def test_history_across_exports_refusal_force_and_rollback(pipeline_run, tmp_path):
    published, _ = pipeline_run
    settings = copy_deployment(published, tmp_path, published.data_dir)
    first_run = history.read_ledger(settings.warehouse)[-1]["run_id"]
    export_b = tmp_path / "export-b"
    plan = later_export(published.data_dir, export_b, published.warehouse)
    first_date = query(settings.warehouse, "SELECT export_date FROM main.export_history")[0][0]

    # 1. the later export: both versions kept, the marts list exactly the changed deals
    settings_b = replace(settings, data_dir=export_b)
    outcome = execute(settings_b)
    assert outcome.success, outcome.errors
    wh = settings.warehouse
    assert query(wh, "SELECT export_date, is_this_export FROM main.export_history ORDER BY 1") == [
        (first_date, False), (date(2026, 2, 2), True)]
    changed = plan["advanced"] | plan["slipped"] | plan["cut"] | plan["removed"]
    assert deal_set(wh, "SELECT deal_id FROM main.deal_state_history WHERE version_number = 2") == changed
    assert deal_set(wh, "SELECT deal_id FROM main.deal_state_history WHERE NOT in_export") == plan["removed"]
    assert deal_set(wh, "SELECT deal_id FROM main.deal_state_history WHERE valid_from = '2026-02-02' "
                        "AND version_number = 1") == plan["added"]
    assert deal_set(wh, "SELECT deal_id FROM main.deal_stage_spells WHERE spell_number = 2 AND stage = 'won'") == \
        plan["advanced"]
    assert deal_set(wh, "SELECT deal_id FROM main.deal_close_date_slips") == plan["slipped"]
    # Advanced deals were priced below list when they closed: that is no cut, they were not committed before.
    assert deal_set(wh, "SELECT deal_id FROM main.deal_amount_cuts") == plan["cut"]
    ((low, high),) = query(wh, "SELECT min(amount / previous_amount), max(amount / previous_amount) "
                               "FROM main.deal_amount_cuts")
    assert low == pytest.approx(0.8, abs=1e-3) and high == pytest.approx(0.8, abs=1e-3)
    observed = query(wh, "SELECT deal_id, event_type, polarity, occurred_at FROM intermediate.int_trust_events "
                         "WHERE event_source = 'observed'")
    assert {row[0] for row in observed} == plan["cut"]
    assert {row[1:] for row in observed} == {(OBSERVED_TYPE, "trust_eroding", date(2026, 2, 2))}
    # The observed events reach the trust analyses: one more trust-eroding event per cut deal.
    before = dict(query(published.warehouse, "SELECT deal_id, trust_eroding_events FROM main.fct_deals"))
    after = dict(query(wh, "SELECT deal_id, trust_eroding_events FROM main.fct_deals"))
    assert {deal for deal in after if deal in before and after[deal] != before[deal]} == plan["cut"]
    assert all(after[deal] == before[deal] + 1 for deal in plan["cut"])

    # 2. the first export again is older: refused, nothing published
    state = published_state(settings)
    out = io.StringIO()
    assert run_pipeline(settings, out) == 1
    message = out.getvalue()
    assert "before the last published export (2026-02-02)" in message and "--force-older-export" in message
    assert published_state(settings) == state

    # 3. forced: it is inserted at its date, the later export's versions stay
    forced = replace(settings, force_older_export=True)
    outcome = execute(forced)
    assert outcome.success, outcome.errors
    assert query(wh, "SELECT count(*), max(export_date) FILTER (WHERE is_this_export) FROM main.export_history") == [
        (2, first_date)]
    assert deal_set(wh, "SELECT deal_id FROM main.deal_amount_cuts") == plan["cut"]

    # 4. rollback to the first run, then the later export runs on the restored history
    history.rollback(settings, first_run)
    assert query(wh, "SELECT count(*) FROM main.export_history") == [(1,)]
    outcome = execute(settings_b)
    assert outcome.success, outcome.errors
    assert deal_set(wh, "SELECT deal_id FROM main.deal_close_date_slips") == plan["slipped"]
    assert query(wh, "SELECT count(*) FROM main.export_history") == [(2,)]


def test_the_carried_history_is_a_declared_asset_read_by_dbt():
    import dagster as dg

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for table, model in (("deal_history_prior", "stg_deal_history_prior"), ("export_history", "stg_export_history")):
        node = graph.get(dg.AssetKey(["raw", table]))
        assert {key.to_user_string() for key in node.parent_keys} == {"raw/deals"}
        assert dg.AssetKey(["raw", table]) in graph.get(dg.AssetKey(["staging", model])).parent_keys
    trust_inputs = graph.get(dg.AssetKey(["intermediate", "int_trust_events"])).parent_keys
    assert {key.to_user_string() for key in trust_inputs} >= {"staging/stg_negotiation_events",
                                                              "intermediate/int_deal_version_changes"}


def test_the_dagster_run_config_forces_an_older_export(pipeline_run, tmp_path):
    import dagster as dg

    from pipelines.assets.ingest import carried_deal_history
    from pipelines.resources import WarehouseResource

    published, _ = pipeline_run
    settings = copy_deployment(published, tmp_path, published.data_dir)
    # A build file whose loaded deals are a year older than the published export.
    shutil.copyfile(settings.warehouse, settings.build_db)
    con = duckdb.connect(str(settings.build_db))
    try:
        con.execute("UPDATE raw.deals SET updated_at = updated_at - INTERVAL 1 YEAR")
    finally:
        con.close()
    resources = {"warehouse": WarehouseResource.from_settings(settings)}

    refused = dg.materialize([carried_deal_history], resources=resources, raise_on_error=False)
    assert not refused.success
    failure = next(event for event in refused.all_events if event.is_step_failure)
    assert "OlderExportError" in str(failure.step_failure_data.error.cause or failure.step_failure_data.error)

    forced = dg.materialize([carried_deal_history], resources=resources, raise_on_error=False, run_config={
        "ops": {"carried_deal_history": {"config": {"force_older_export": True}}}})
    assert forced.success
    assert query(settings.build_db, "SELECT count(*), count(*) FILTER (WHERE is_this_export) FROM raw.export_history"
                 ) == [(2, 1)]


# ------------------------------------------------- the CRM's pipeline stage and expected close date
# Two successive exports of the tiny dbt fixture (tests/dbt_fixtures.py) carrying pipeline_stage and
# expected_close_date, each built by a real dbt run of the deal history models; the first build file is
# the published warehouse of the second. Open deals: D6 (Prospecting -> Negotiation/Review, its expected
# close date moved 62 days later), D8 (in Commit in both exports, its list amount cut from 5000 to
# 4000), D9 (expected close date pulled in: no slip). Won deals carry 'Closed Won', lost 'Closed Lost'.
PIPELINE_EXPORTS = {
    "2024-12-01": {"D6": ("Prospecting", "2024-12-15", 4000), "D8": ("Commit", "2024-12-20", 5000),
                   "D9": ("Negotiation/Review", "2025-01-10", 3000)},
    "2024-12-08": {"D6": ("Negotiation/Review", "2025-02-15", 4000), "D8": ("Commit", "2024-12-20", 4000),
                   "D9": ("Negotiation/Review", "2024-12-31", 3000)},
}
HISTORY_MARTS = ["+deal_state_history", "+deal_stage_spells", "+deal_close_date_slips", "+deal_amount_cuts",
                 "+export_history"]
PIPELINE_COMMITMENT_VARS = '{commitment_stages: [won, Commit, "Negotiation/Review"]}'


def build_pipeline_export(work: Path, export: str, published: Path | None, dbt_vars: str | None = None) -> Path:
    from tests.dbt_fixtures import create_raw_fixture, run_dbt

    db_path = work / export / ".dealscope.build.duckdb"
    db_path.parent.mkdir(parents=True)
    create_raw_fixture(db_path, with_account_revenue=False)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("UPDATE raw.deals SET pipeline_stage = CASE stage WHEN 'won' THEN 'Closed Won' "
                    "WHEN 'lost' THEN 'Closed Lost' END")
        for deal, (pipeline_stage, expected, amount) in PIPELINE_EXPORTS[export].items():
            if deal != "D6":
                con.execute(f"INSERT INTO raw.deals SELECT * REPLACE ('{deal}' AS deal_id) FROM raw.deals "
                            "WHERE deal_id = 'D6'")
            con.execute("UPDATE raw.deals SET pipeline_stage = ?, expected_close_date = ?, list_amount = ? "
                        "WHERE deal_id = ?", [pipeline_stage, expected, amount, deal])
        deal_history.write_history_inputs(con, published, export)
    finally:
        con.close()
    vars_args = ["--vars", dbt_vars] if dbt_vars else []
    run_dbt(["build", "--select", *HISTORY_MARTS, "--indirect-selection", "cautious", *vars_args], build_db=db_path,
            target_path=work / export / "target", log_path=work / export / "logs")
    return db_path


@pytest.mark.slow
def test_pipeline_stage_path_expected_close_date_slips_and_cuts_after_a_crm_stage(tmp_path):
    first = build_pipeline_export(tmp_path, "2024-12-01", None, PIPELINE_COMMITMENT_VARS)
    second = build_pipeline_export(tmp_path, "2024-12-08", first, PIPELINE_COMMITMENT_VARS)

    assert query(second, "SELECT deal_id, version_number, pipeline_stage, expected_close_date, list_amount "
                         "FROM main.deal_state_history WHERE version_number = 2 ORDER BY 1") == [
        ("D6", 2, "Negotiation/Review", date(2025, 2, 15), 4000.0),
        ("D8", 2, "Commit", date(2024, 12, 20), 4000.0),
        ("D9", 2, "Negotiation/Review", date(2024, 12, 31), 3000.0)]
    # The stage path is the CRM's own: D6 spent one export week in Prospecting.
    assert query(second, "SELECT spell_number, stage, entered_at, left_at, days_in_stage, is_current_spell "
                         "FROM main.deal_stage_spells WHERE deal_id = 'D6' ORDER BY 1") == [
        (1, "Prospecting", date(2024, 12, 1), date(2024, 12, 8), 7, False),
        (2, "Negotiation/Review", date(2024, 12, 8), None, 0, True)]
    assert query(second, "SELECT DISTINCT stage FROM main.deal_stage_spells WHERE deal_id IN ('D1', 'D3') "
                         "ORDER BY 1") == [("Closed Lost",), ("Closed Won",)]
    # Only D6's expected close date moved later; D9's moved earlier (no slip).
    assert query(second, "SELECT deal_id, stage, slipped_date, previous_expected_close_date, expected_close_date, "
                         "days_slipped FROM main.deal_close_date_slips") == [
        ("D6", "open", "expected_close_date", date(2024, 12, 15), date(2025, 2, 15), 62)]
    # D8's amount fell while it stood in Commit, a pipeline stage named in commitment_stages.
    assert query(second, "SELECT deal_id, committed_at, previous_pipeline_stage, pipeline_stage, previous_amount, "
                         "amount FROM main.deal_amount_cuts") == [
        ("D8", date(2024, 12, 1), "Commit", "Commit", 5000.0, 4000.0)]

    # With the default commitment_stages ([won]) the same cut is not one: no open deal was committed.
    default = build_pipeline_export(tmp_path / "default", "2024-12-08", first)
    assert query(default, "SELECT count(*) FROM main.deal_amount_cuts") == [(0,)]
    assert query(default, "SELECT count(*) FROM main.deal_close_date_slips") == [(1,)]


def test_a_history_published_before_the_pipeline_columns_carries_them_as_null(tmp_path):
    published = tmp_path / "old.duckdb"
    con = duckdb.connect(str(published))
    try:
        old_columns = [c for c in deal_history.HISTORY_COLUMNS if c not in ("pipeline_stage", "expected_close_date")]
        con.execute("CREATE TABLE main.deal_state_history AS SELECT 'D1' AS deal_id, 'A1' AS account_id, "
                    "'open' AS stage, 100.0 AS list_amount, NULL::DOUBLE AS final_amount, NULL::DATE AS closed_at, "
                    "'ann' AS owner, false AS flagged_strategic, true AS in_export, DATE '2024-11-01' AS valid_from")
        assert [row[0] for row in con.execute("DESCRIBE main.deal_state_history").fetchall()] == old_columns
        con.execute("CREATE TABLE main.export_history AS SELECT DATE '2024-11-01' AS export_date, "
                    "'setting' AS export_date_source, 1::BIGINT AS deals_in_export, true AS is_this_export")
    finally:
        con.close()
    build = tmp_path / "build.duckdb"
    from tests.dbt_fixtures import create_raw_fixture

    create_raw_fixture(build, with_account_revenue=False)
    con = duckdb.connect(str(build))
    try:
        summary = deal_history.write_history_inputs(con, published, "2024-12-01")
        assert summary["prior_versions"] == 1
        assert con.execute("SELECT deal_id, stage, pipeline_stage, expected_close_date, list_amount "
                           "FROM raw.deal_history_prior").fetchall() == [("D1", "open", None, None, 100.0)]
    finally:
        con.close()
