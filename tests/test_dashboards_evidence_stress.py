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
from dashboards.pages.evidence_power import DESIGNS, draw_power_section, power_curve, power_table
from dashboards.pages.evidence_stress import (
    PROMISE_COLUMN,
    PROMISE_WORDS,
    PROMISED_FALSE_POSITIVE_RATE,
    at_study_size,
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
    key = ["stress", "world", "hypothesis", "accounts_per_world"]
    worlds = studied[studied["test"] == "adjusted_effect"].groupby(key).size()
    primary = summary[summary["test"] == "adjusted_effect"].set_index(key)["worlds"]
    pd.testing.assert_series_equal(primary.sort_index(), worlds.sort_index(), check_names=False, check_dtype=False)


def test_the_table_has_a_row_per_stress_world_and_hypothesis_with_the_models_numbers(summary) -> None:
    table = stress_table(summary)
    shown = at_study_size(summary)
    primary_null = shown[(shown["test"] == "adjusted_effect") & (shown["world"] == "null")]
    # one world size per stress world: a row per stress world and hypothesis, whether it has null worlds
    # or (a knob acting only through the effects) planted worlds only
    assert len(primary_null) == len(primary_null[["stress", "hypothesis"]].drop_duplicates())
    primary = shown[shown["test"] == "adjusted_effect"]
    assert len(table) == len(primary[["stress", "hypothesis"]].drop_duplicates())
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
    shown = at_study_size(summary)
    assert drawn == 2 * ((shown["test"] == "adjusted_effect") & (shown["world"] == "null")).sum()
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


@pytest.fixture(scope="module")
def worlds(warehouse) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        read = reads.read_registered(con, tables.CALIBRATION_WORLDS)
    assert isinstance(read, pd.DataFrame)
    return read


def test_the_power_curve_is_measured_from_the_default_worlds_beside_the_rule(worlds) -> None:
    curve = power_curve(worlds)
    default = worlds[(worlds["stress"] == "none") & (worlds["world"] == "planted")]
    for test, design in DESIGNS.items():
        for (hypothesis, size), group in default[default["test"] == test].groupby(["hypothesis", "accounts_per_world"]):
            row = curve[(curve["design"] == design) & (curve["hypothesis"] == hypothesis.split(":")[0])
                        & (curve["source"] == "measured") & (curve["accounts"] == size)]
            assert len(row) == 1 and row["worlds"].iloc[0] == len(group)
            assert row["power"].iloc[0] == pytest.approx((group["p_value"] < 0.05).mean())
        rule = curve[(curve["design"] == design) & (curve["source"] == "sqrt_rule")]
        assert sorted(set(rule["accounts"])) == [1000, 2000, 4000]
    table = power_table(curve)
    assert len(table) == len(curve[["hypothesis", "design", "accounts"]].drop_duplicates())
    page = _Page()
    draw_power_section(page, worlds)
    assert 'id="power-table"' in "".join(page.html) and len(page.figures) == 1


def test_the_power_table_says_which_sizes_were_measured() -> None:
    rows = [{"stress": "none", "world": "planted", "hypothesis": hypothesis, "test": "adjusted_effect",
             "truth": 0.3, "estimate": 0.3, "ci_low": low, "ci_high": low + 0.4, "p_value": p,
             "accounts_per_world": size}
            for hypothesis in ("H1_strategic_alignment",)
            for size, low, ps in ((1000, -0.05, (0.01, 0.2, 0.03, 0.6)), (2000, 0.1, (0.01, 0.02, 0.001, 0.04, 0.3)))
            for p in ps]
    table = power_table(power_curve(pd.DataFrame(rows))).set_index("accounts per world")
    assert table.loc["1,000", "measured power (95% CI)"].startswith("50.0% (") and "4 worlds" in table.loc["1,000", "measured power (95% CI)"]
    assert table.loc["2,000", "measured power (95% CI)"].startswith("80.0% (")
    assert table.loc["4,000", "measured power (95% CI)"] == "n/a"  # the rule only
    assert table["2.8 x SE rule: power"].ne("n/a").all()


def test_no_study_yet_says_so_in_the_power_section() -> None:
    page = _Page()
    draw_power_section(page, reads.Unavailable("main.calibration_worlds", "no such table"))
    assert "Not available" in "".join(page.html) and not page.figures
