"""Run history, kept versions and rollback, over real pipeline runs on real files."""

from __future__ import annotations

import filecmp
import io
import json
import shutil

import duckdb
import pytest

from dealscope import history
from dealscope.cli import main as cli_main
from dealscope.runner import execute
from dealscope.warehouse import wal_path
from tests.conftest import settings_for
from warehouse_compare import compared_table_count, differing_published_tables


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, small_export):
    """Two consecutive published runs into one warehouse; the first one's file saved aside."""
    settings = settings_for(tmp_path_factory.mktemp("history"), small_export)
    first = execute(settings)
    assert first.success, first.errors
    first_published = settings.warehouse.with_name("first-published.duckdb.copy")
    shutil.copyfile(settings.warehouse, first_published)
    second = execute(settings)
    assert second.success, second.errors
    return settings, first_published


def test_history_accumulates_over_runs(two_runs):
    settings, _ = two_runs
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT run_id, status, started_at <= finished_at, json_array_length(input_files), "
            "       code_version, input_files, table_rows FROM main.run_history ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()
    assert [status for _, status, *_ in rows] == ["published", "published"]
    assert rows[0][0] != rows[1][0]
    assert all(ordered for _, _, ordered, *_ in rows)
    deals_file = settings.data_dir / "deals.csv"
    for *_, count, version, input_files, table_rows in rows:
        assert count >= 5 and version
        files = {item["table"]: item for item in json.loads(input_files)}
        assert files["deals"]["bytes"] == deals_file.stat().st_size
        assert len(files["deals"]["sha256"]) == 64
        rows_by_table = {item["table"]: item for item in json.loads(table_rows)}
        assert rows_by_table["deals"]["rows_read"] == (
            rows_by_table["deals"]["rows_loaded"] + rows_by_table["deals"]["rows_rejected"]) > 0

    out = io.StringIO()
    assert history.print_history(settings.warehouse, as_json=True, out=out) == 0
    listed = json.loads(out.getvalue())
    assert [row["run_id"] for row in listed] == [rows[1][0], rows[0][0]]  # newest first
    assert all(row["status"] == "published" and row["kept"] for row in listed)


def test_versions_keep_each_published_file(two_runs):
    settings, first_published = two_runs
    kept = sorted(history.versions_dir(settings.warehouse).glob("*.duckdb"))
    assert len(kept) == 2
    assert filecmp.cmp(kept[0], first_published, shallow=False)
    assert filecmp.cmp(kept[1], settings.warehouse, shallow=False)


def test_two_consecutive_runs_on_the_same_input_publish_identical_tables(two_runs):
    """Every table of every schema, bit for bit (EXCEPT ALL both ways, floats compared exactly),
    statistics and forecast included; only the run's own history, its comparison with the previous
    run and load timestamps differ by design. The second run built into the file the first one left."""
    settings, first_published = two_runs
    first, second = (history.version_path(settings.warehouse, entry["run_id"])
                     for entry in history.read_ledger(settings.warehouse)[:2])
    assert filecmp.cmp(first, first_published, shallow=False)
    assert compared_table_count(second) >= 50
    assert differing_published_tables(first, second) == {}


def test_pruning_keeps_the_newest(tmp_path):
    warehouse = tmp_path / "dealscope.duckdb"
    duckdb.connect(str(warehouse)).close()
    run_ids = [f"2026010{day}T000000Z-abcdef" for day in range(1, 8)]
    for run_id in run_ids:
        history._keep_version(warehouse, run_id, keep=3)
    assert sorted(path.stem for path in history.versions_dir(warehouse).glob("*.duckdb")) == run_ids[-3:]


def test_rollback_restores_the_earlier_file_while_a_reader_keeps_reading(two_runs):
    settings, first_published = two_runs
    listed = history.history_rows(settings.warehouse)
    first_run_id = listed[-1]["run_id"]

    reader = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM main.run_history").fetchone()[0] == 2
        assert cli_main(["rollback", first_run_id, "--warehouse", str(settings.warehouse)]) == 0
        # the reader still holds the file it opened, whole
        assert reader.execute("SELECT count(*) FROM main.run_history").fetchone()[0] == 2
        assert reader.execute("SELECT count(*) FROM main.fct_deals").fetchone()[0] > 0
    finally:
        reader.close()

    assert filecmp.cmp(settings.warehouse, first_published, shallow=False)
    assert not wal_path(settings.warehouse).exists()
    fresh = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert fresh.execute("SELECT count(*) FROM main.run_history").fetchone()[0] == 1
    finally:
        fresh.close()

    newest = history.history_rows(settings.warehouse)[0]
    assert newest["status"] == "rollback" and newest["restored_run_id"] == first_run_id
    assert cli_main(["rollback", "no-such-run", "--warehouse", str(settings.warehouse)]) == 1
