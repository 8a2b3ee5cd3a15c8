"""The Evidence page's stress-world section on a real warehouse: main.calibration_worlds loaded from the
committed study files, main.calibration_summary built by dbt (model and data tests), read as the
dashboards read it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from models import tables
from dashboards import data as site_data
from dashboards import reads
from dashboards.pages import evidence as evidence_page
from dashboards.pages.evidence_stress import (
    PROMISE_COLUMN,
    PROMISE_WORDS,
    PROMISED_FALSE_POSITIVE_RATE,
    draw_stress_section,
    stress_figure,
    stress_table,
)
from dealscope import dbt_runner
from dealscope.settings import DBT_PROJECT_DIR, DEFAULT_CALIBRATION_RESULTS
from models.calibration import read_study, write_calibration_worlds


class _Page:
    def __init__(self) -> None:
        self.html: list[str] = []
        self.figures = []

    def add(self, html: str) -> None:
        self.html.append(html)

    def figure(self, figure) -> None:
        self.figures.append(figure)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("stress")
    build_db = work / "warehouse.duckdb"
    with duckdb.connect(str(build_db)) as con:
        assert write_calibration_worlds(con, DEFAULT_CALIBRATION_RESULTS) > 0
    # the models and their data tests (contract, keys, rates in [0, 1], the promise's consistency)
    dbt_runner.run_dbt(["build", "--select", "+calibration_summary"], build_db,
                       target_path=work / "target", log_path=work / "logs")
    return build_db


@pytest.fixture(scope="module")
def summary(warehouse) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        read = site_data._page_names(reads.read_registered(con, tables.CALIBRATION_SUMMARY))
    assert isinstance(read, pd.DataFrame)
    return read


def test_every_stress_file_is_in_the_summary(summary) -> None:
    studied = read_study(DEFAULT_CALIBRATION_RESULTS)
    assert set(summary["stress"]) == set(studied["stress"]) and len(set(summary["stress"])) > 1
    worlds = studied[studied["test"] == "adjusted_effect"].groupby(["stress", "world", "hypothesis"]).size()
    primary = summary[summary["test"] == "adjusted_effect"].set_index(["stress", "world", "hypothesis"])["worlds"]
    pd.testing.assert_series_equal(primary.sort_index(), worlds.sort_index(), check_names=False, check_dtype=False)


def test_the_table_has_a_row_per_stress_world_and_hypothesis_with_the_models_numbers(summary) -> None:
    table = stress_table(summary)
    primary_null = summary[(summary["test"] == "adjusted_effect") & (summary["world"] == "null")]
    assert len(table) == len(primary_null)
    assert table["stress world"].iloc[0] == "none"  # the default world first
    health = primary_null[(primary_null["stress"] == "health")
                          & (primary_null["hypothesis"] == "H1_strategic_alignment")].iloc[0]
    row = table[(table["stress world"] == "health") & (table["hypothesis"] == "H1 alignment")].iloc[0]
    assert row["false positives, p < 0.05 (95% CI)"].startswith(f"{health['false_positive_rate'] * 100:.1f}%")
    assert row[PROMISE_COLUMN] == PROMISE_WORDS[health["promise_status"]]


def test_the_section_draws_the_figure_and_the_table(summary) -> None:
    page = _Page()
    draw_stress_section(page, summary)
    html = "".join(page.html)
    assert 'id="stress-table"' in html and len(page.figures) == 1
    figure = stress_figure(summary)
    drawn = sum(len(trace.x) for trace in figure.data)
    assert drawn == 2 * ((summary["test"] == "adjusted_effect") & (summary["world"] == "null")).sum()
    broken = summary[(summary["test"] == "adjusted_effect") & (summary["promise_status"] == "broken")]
    assert ('id="stress-promise-broken"' in html) == (len(broken) > 0)


def test_the_calibration_section_keeps_the_default_world(summary) -> None:
    chosen, _, _ = evidence_page.calibration_selection(summary, summary.iloc[0:0])
    assert set(chosen["stress"]) == {"none"}


def test_the_promised_rate_is_the_dbt_var() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["promised_false_positive_rate"] == PROMISED_FALSE_POSITIVE_RATE


def test_no_study_yet_says_so() -> None:
    page = _Page()
    draw_stress_section(page, reads.Unavailable("main.calibration_summary", "no such table"))
    assert "calibration" in "".join(page.html) and not page.figures
