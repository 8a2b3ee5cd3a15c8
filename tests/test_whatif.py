"""`dealscope whatif` and `dealscope plan draft` on the warehouse of the real sample run."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from test_dashboards_browser import devtools  # noqa: F401  (the Chromium session fixture)

from dealscope.cli import main as cli_main
from dealscope.whatif import (
    WHATIF_TABLES,
    carry_over_scenarios,
    rendered_sql,
    run_whatif,
    scratch_connection,
    stored_sql,
    whatif_command,
)

DEAL_ALIGNMENT_COLUMNS = "deal_id, alignment_score, alignment_band, plan_effective_from, matched_targets, matched_avoids"


@pytest.fixture(scope="session")
def rendered_sql_cache(pipeline_run, tmp_path_factory) -> Path:
    """The what-if's SQL rendered by dbt once for the session (each copy below reuses the cache)."""
    settings, _ = pipeline_run
    holder = tmp_path_factory.mktemp("whatif-sql") / "dealscope.duckdb"
    rendered_sql(holder)
    return holder.with_name(".dealscope.whatif")


@pytest.fixture()
def published(pipeline_run, rendered_sql_cache, tmp_path):
    """A copy of the sample run's published warehouse (the session's own stays untouched)."""
    settings, _ = pipeline_run
    warehouse = tmp_path / "warehouse" / "dealscope.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(settings.warehouse, warehouse)
    cache = warehouse.with_name(".dealscope.whatif")
    cache.mkdir()
    for rendered in rendered_sql_cache.glob("sql-*.json"):
        shutil.copyfile(rendered, cache / rendered.name)
    return replace(settings, warehouse=warehouse, dashboards_dir=tmp_path / "site")


def current_plan(small_export: Path) -> list[dict]:
    with open(small_export / "strategy_plan.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_plan(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_the_build_keeps_the_sql_dbt_renders_for_the_whatif(published):
    """The warehouse's whatif_statements (rendered by the build) is what `dbt run-operation
    whatif_sql` renders for the what-if's relations, so a what-if needs no dbt start."""
    with scratch_connection(published.warehouse) as con:
        stored = stored_sql(con)
    assert stored is not None, "the build must keep the what-if's SQL for the what-if's relation names"
    assert stored == rendered_sql(published.warehouse)
    assert set(stored) == {"plan_entries", "deal_alignment", "account_mean_alignment", "account_band",
                           "band_outcomes"}


def test_whatif_on_the_current_plan_reproduces_the_marts(published, small_export, tmp_path):
    plan = shutil.copyfile(small_export / "strategy_plan.csv", tmp_path / "same.csv")
    with scratch_connection(published.warehouse) as con:
        result = run_whatif(con, published.warehouse, plan, "same")
        # Every deal: the same score, band, plan version and matched entries as fct_deals.
        differing = con.execute(f"""
            SELECT count(*) FROM (
                SELECT {DEAL_ALIGNMENT_COLUMNS} FROM wh.main.fct_deals
                EXCEPT SELECT {DEAL_ALIGNMENT_COLUMNS} FROM draft_alignment)""").fetchone()[0]
        deals = con.execute("SELECT count(*) FROM wh.main.fct_deals").fetchone()[0]
        scored = con.execute("SELECT count(*) FROM draft_alignment").fetchone()[0]
        # Band totals of the published mart, summed over plan versions.
        mart = {row[0]: row[1:] for row in con.execute("""
            SELECT alignment_band, sum(deals), sum(deals_closed), sum(deals_won)
            FROM wh.main.alignment_band_outcomes GROUP BY alignment_band""").fetchall()}
        fct_values = {row[0]: row[1:] for row in con.execute("""
            SELECT alignment_band, count(*), sum(won_value) FROM wh.main.fct_deals GROUP BY alignment_band""").fetchall()}
    assert differing == 0 and scored == deals > 1000
    assert result.changed_deals.empty and result.changed_accounts.empty
    outcomes = result.outcomes
    draft = outcomes[outcomes["plan"] == "draft"].drop(columns="plan").reset_index(drop=True)
    current = outcomes[outcomes["plan"] == "current"].drop(columns="plan").reset_index(drop=True)
    assert draft.equals(current), "the draft's outcomes must equal the current plan's, bit for bit"
    assert set(current["alignment_band"]) == set(mart) >= {"aligned", "misaligned"}
    for row in current.itertuples():
        assert (row.deals, row.deals_closed, row.deals_won) == tuple(int(v) for v in mart[row.alignment_band])
        assert row.deals == fct_values[row.alignment_band][0]
        assert row.value_won == pytest.approx(fct_values[row.alignment_band][1], rel=1e-12)
    assert any("changes the band of 0 past deals" in sentence for sentence in result.summary)


def _flip_one_stance(small_export: Path) -> tuple[list[dict], dict]:
    """The plan with one target of its latest version turned to avoid, and that row."""
    rows = current_plan(small_export)
    latest = max(row["effective_from"] for row in rows)
    flipped = next(row for row in rows if row["effective_from"] == latest and row["stance"] == "target"
                   and row["dimension"] in ("industry", "region", "product_line"))
    draft = [dict(row, stance="avoid") if row is flipped else dict(row) for row in rows]
    return draft, flipped


def test_flipping_one_stance_changes_exactly_the_deals_it_names(published, small_export, tmp_path):
    draft_rows, flipped = _flip_one_stance(small_export)
    plan = write_plan(tmp_path / "flipped.csv", draft_rows)
    dimension = flipped["dimension"]
    with scratch_connection(published.warehouse) as con:
        result = run_whatif(con, published.warehouse, plan, "flipped")
        # Deals named by the flipped entry: scored under its version, with that attribute value.
        named = {row[0] for row in con.execute(f"""
            SELECT deal_id FROM wh.main.fct_deals
            WHERE plan_effective_from = CAST(? AS DATE) AND lower(trim({dimension})) = lower(trim(?))""",
            [flipped["effective_from"], flipped["value"]]).fetchall()}
        score_changes = con.execute("""
            SELECT deals.deal_id, draft.alignment_score - deals.alignment_score
            FROM wh.main.fct_deals AS deals JOIN draft_alignment AS draft USING (deal_id)
            WHERE draft.alignment_score IS DISTINCT FROM deals.alignment_score""").fetchall()
    assert named, "the flipped entry must name some deals"
    assert {deal for deal, _ in score_changes} == named
    # Every named deal loses the same amount: 2 x weight / the version's scale.
    drops = {round(change, 9) for _, change in score_changes}
    assert len(drops) == 1 and drops.pop() < 0
    changed = set(result.changed_deals["deal_id"])
    assert changed and changed <= named
    assert set(result.changed_deals["current_band"]) != {"misaligned"}
    # Band totals move by exactly the changed deals.
    outcomes = result.outcomes.set_index(["plan", "alignment_band"])["deals"]
    for band in ("aligned", "partial", "misaligned"):
        gained = int((result.changed_deals["draft_band"] == band).sum())
        lost = int((result.changed_deals["current_band"] == band).sum())
        assert outcomes.get(("draft", band), 0) - outcomes.get(("current", band), 0) == gained - lost


def test_scenarios_are_kept_side_by_side_and_a_rerun_replaces_only_its_own(published, small_export, tmp_path):
    same = shutil.copyfile(small_export / "strategy_plan.csv", tmp_path / "same.csv")
    flipped = write_plan(tmp_path / "flipped.csv", _flip_one_stance(small_export)[0])
    out, err = io.StringIO(), io.StringIO()
    site = tmp_path / "site"
    assert whatif_command(same, "keep", published, site, out, err) == 0, err.getvalue()
    assert whatif_command(flipped, "redo", published, site, out, err) == 0, err.getvalue()
    before = query(published.warehouse, "SELECT scenario, plan, alignment_band, deals FROM plan_whatif ORDER BY ALL")
    assert {row[0] for row in before} == {"keep", "redo"}
    changed_redo = query(published.warehouse, "SELECT count(*) FROM plan_whatif_deals WHERE scenario = 'redo'")[0][0]
    assert changed_redo > 0
    # Re-run "redo" with the current plan: its rows are replaced, "keep" is untouched.
    assert whatif_command(same, "redo", published, site, out, err) == 0, err.getvalue()
    after = query(published.warehouse, "SELECT scenario, plan, alignment_band, deals FROM plan_whatif ORDER BY ALL")
    assert [row for row in after if row[0] == "keep"] == [row for row in before if row[0] == "keep"]
    assert query(published.warehouse, "SELECT count(*) FROM plan_whatif_deals WHERE scenario = 'redo'")[0][0] == 0
    keep_rows = [row[1:] for row in after if row[0] == "keep"]
    assert [row[1:] for row in after if row[0] == "redo"] == keep_rows
    page = (site / "whatif-redo.html").read_text(encoding="utf-8")
    assert 'id="whatif-outcomes"' in page and "changes the band of 0 past deals" in page
    assert "<script src=" not in page and "http" not in page.split("</nav>")[1]


READER = """
import sys, threading, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
print("open", flush=True)
queries = 0
while not stop.is_set():
    con.execute("SELECT count(*), sum(won_value) FROM main.fct_deals").fetchall()
    queries += 1
    time.sleep(0.02)
con.close()
print(queries, flush=True)
"""


def test_a_reader_holding_the_warehouse_open_is_not_blocked(published, small_export, tmp_path):
    plan = shutil.copyfile(small_export / "strategy_plan.csv", tmp_path / "same.csv")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published.warehouse)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        out, err = io.StringIO(), io.StringIO()
        # The reader holds its read-only connection for the whole write and keeps querying.
        assert whatif_command(plan, "while-reading", published, tmp_path / "site", out, err) == 0, err.getvalue()
        assert reader.poll() is None, reader.stderr.read()
        stdout, stderr = reader.communicate("stop\n", timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, stderr
    assert int(stdout.strip()) > 0
    assert query(published.warehouse, "SELECT DISTINCT scenario FROM plan_whatif") == [("while-reading",)]


def test_plan_draft_lists_every_value_and_an_unfilled_stance_is_refused(published, tmp_path, capsys):
    draft = tmp_path / "draft.csv"
    assert cli_main(["plan", "draft", "--out", str(draft), "--warehouse", str(published.warehouse)]) == 0
    with open(draft, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:5] == ["effective_from", "dimension", "value", "stance", "weight"]
    expected = set()
    for dimension in ("segment", "industry", "region", "product_line", "deal_type"):
        expected |= {(dimension, row[0]) for row in query(
            published.warehouse, f"SELECT DISTINCT {dimension} FROM fct_deals WHERE {dimension} IS NOT NULL")}
    assert {(row["dimension"], row["value"]) for row in rows} == expected
    assert all(row["stance"] == "" and int(row["deals"]) > 0 for row in rows)
    first_deal = query(published.warehouse, "SELECT min(created_at) FROM fct_deals")[0][0]
    assert {row["effective_from"] for row in rows} == {first_deal.isoformat()}
    # Win rates are win_loss's.
    segment = next(row for row in rows if row["dimension"] == "segment")
    mart = query(published.warehouse, "SELECT win_rate FROM win_loss WHERE dimension = 'segment' AND value = ?",
                 [segment["value"]])[0][0]
    assert float(segment["win_rate"]) == pytest.approx(mart, abs=1e-4)

    # Unfilled: every row is refused with the loader's reason, and the what-if stops with the reason.
    capsys.readouterr()
    assert cli_main(["whatif", "--plan", str(draft), "--warehouse", str(published.warehouse),
                     "--out", str(tmp_path / "site")]) == 2
    message = capsys.readouterr().err
    assert "no plan row loaded" in message and "missing_required:stance" in message
    assert "stance is required but empty" in message and "write target or avoid" in message

    # Two rows filled: the rest are rejected and listed, the scenario runs on the two.
    rows[0]["stance"], rows[1]["stance"] = "target", "avoid"
    write_plan(draft, rows)
    assert cli_main(["whatif", "--plan", str(draft), "--name", "two rows", "--warehouse", str(published.warehouse),
                     "--out", str(tmp_path / "site")]) == 0
    printed = capsys.readouterr().out
    assert f"{len(rows) - 2} of {len(rows)} plan rows rejected" in printed
    rejected = query(published.warehouse, "SELECT DISTINCT reason, source_file FROM plan_whatif_rejected_rows "
                                          "WHERE scenario = 'two rows'")
    assert rejected == [("missing_required:stance", "draft.csv")]
    loaded = query(published.warehouse, "SELECT DISTINCT plan_rows_loaded FROM plan_whatif WHERE scenario = 'two rows'")
    assert loaded == [(2,)]


def test_a_run_keeps_the_saved_scenarios(published, small_export, tmp_path):
    without_scenarios = shutil.copyfile(published.warehouse, tmp_path / "without.duckdb")
    plan = shutil.copyfile(small_export / "strategy_plan.csv", tmp_path / "same.csv")
    assert whatif_command(plan, "saved", published, tmp_path / "site", io.StringIO(), io.StringIO()) == 0
    build = tmp_path / "build.duckdb"
    con = duckdb.connect(str(build))
    try:
        assert carry_over_scenarios(con, published.warehouse) == list(WHATIF_TABLES)
        kept = con.execute("SELECT DISTINCT scenario FROM main.plan_whatif").fetchall()
        # A published file without scenarios (e.g. after a rollback) leaves none in the build file.
        assert carry_over_scenarios(con, without_scenarios) == []
        left = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'plan_whatif%'").fetchone()[0]
    finally:
        con.close()
    assert kept == [("saved",)] and left == 0


def test_whatif_page_renders_in_chromium(devtools, published, small_export, tmp_path):
    from test_dashboards_browser import assert_page_renders

    flipped = write_plan(tmp_path / "flipped.csv", _flip_one_stance(small_export)[0])
    site = tmp_path / "site"
    assert whatif_command(flipped, "browser", published, site, io.StringIO(), io.StringIO()) == 0
    page = site / "whatif-browser.html"
    assert_page_renders(devtools, page, tmp_path)
    outcome_rows = int(devtools.evaluate("document.querySelectorAll('#whatif-outcomes tbody tr').length"))
    changed_rows = int(devtools.evaluate("document.querySelectorAll('#whatif-deals tbody tr').length"))
    stored = query(published.warehouse, "SELECT count(*) FROM plan_whatif WHERE scenario = 'browser'")[0][0]
    changed = query(published.warehouse, "SELECT count(*) FROM plan_whatif_deals WHERE scenario = 'browser'")[0][0]
    assert outcome_rows == stored and 0 < changed_rows == min(changed, 200)
