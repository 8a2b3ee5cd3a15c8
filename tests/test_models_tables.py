"""The registry of the statistics tables (models.tables): writers create from it, readers read by it,
docs/statistics.md lists it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboards import reads
from models import tables
from models.pipeline_stage import write_hypothesis_tests  # noqa: F401  (the writer imports the registry)

DOC = Path(__file__).resolve().parents[1] / "docs" / "statistics.md"
BEGIN, END = "<!-- statistics tables: begin -->", "<!-- statistics tables: end -->"


def test_docs_list_exactly_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert section.strip() == tables.markdown().strip(), (
        "docs/statistics.md's table list differs from models.tables: paste models.tables.markdown() between the markers")


def test_every_table_has_a_key_of_its_own_not_null_columns() -> None:
    for registered in tables.STATISTICS_TABLES:
        assert set(registered.primary_key) <= set(registered.not_null), registered.name
        assert len(set(registered.column_names)) == len(registered.column_names), registered.name
        assert all(c.description for c in registered.columns), registered.name


def test_the_writer_creates_the_registered_schema_and_refuses_a_misspelt_column(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    rows = pd.DataFrame({"hypothesis": ["H1_strategic_alignment:block_permutation"] * 2, "permutation": [1, 2],
                         "statistic": [0.01, -0.02], "observed": [0.03, 0.03]})
    tables.replace_tables(con, [(tables.PERMUTATION_NULL, rows)])
    described = con.execute("select column_name, data_type, is_nullable from information_schema.columns "
                            "where table_name = 'permutation_null' order by ordinal_position").fetchall()
    assert described == [(c.name, c.type, "NO" if c.not_null else "YES") for c in tables.PERMUTATION_NULL.columns]
    misspelt = rows.rename(columns={"statistic": "null_statistic"})
    with pytest.raises(tables.UnknownColumn, match="null_statistic"):
        tables.replace_tables(con, [(tables.PERMUTATION_NULL, misspelt)])
    # nothing was replaced
    assert con.execute("select count(*) from main.permutation_null").fetchall() == [(2,)]
    # a NOT NULL column left empty fails the insert, and the transaction keeps the old rows
    with pytest.raises(duckdb.ConstraintException):
        tables.replace_tables(con, [(tables.PERMUTATION_NULL, rows.assign(observed=None))])
    assert con.execute("select count(*) from main.permutation_null").fetchall() == [(2,)]


def test_the_reader_reads_by_the_registry(tmp_path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert isinstance(reads.read_registered(con, tables.MODEL_COMPARISON), reads.Unavailable)
    con.execute(tables.MODEL_COMPARISON.ddl())
    read = reads.read_registered(con, tables.MODEL_COMPARISON)
    assert list(read.columns) == list(tables.MODEL_COMPARISON.column_names)
    with pytest.raises(tables.UnknownColumn):
        reads.read_registered(con, tables.MODEL_COMPARISON, ["r2"])
    with pytest.raises(tables.UnknownColumn):
        tables.table("main.model_comparison").column("gain")
    con.execute("alter table main.model_comparison rename column gain_p_value to p_value")
    with pytest.raises(reads.MissingWarehouseData, match="gain_p_value"):
        reads.read_registered(con, tables.MODEL_COMPARISON)
