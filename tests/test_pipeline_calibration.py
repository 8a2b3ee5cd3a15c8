"""The calibration study's results in a real pipeline run: main.calibration_worlds loaded by its asset
from every committed study file, main.calibration_summary built by dbt from it (both published)."""

from __future__ import annotations

import duckdb

from dealscope.settings import DEFAULT_CALIBRATION_RESULTS
from models.calibration import calibration_result_files, read_study


def test_every_study_file_reaches_the_published_summary(pipeline_run):
    settings, outcome = pipeline_run
    assert settings.calibration_results == DEFAULT_CALIBRATION_RESULTS
    assert len(calibration_result_files(settings.calibration_results)) > 1  # the default and the stress worlds
    studied = read_study(settings.calibration_results)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.calibration_worlds").fetchone()[0] == len(studied)
        stresses = {row[0] for row in con.execute("select distinct stress from main.calibration_summary").fetchall()}
        assert stresses == set(studied["stress"])
        primary = con.execute(
            "select count(*) from main.calibration_summary where test = 'adjusted_effect' and world = 'null' "
            "and promise_status is not null and flagged_rate is not null").fetchone()[0]
        assert primary == studied.loc[(studied["test"] == "adjusted_effect") & (studied["world"] == "null"),
                                      ["stress", "hypothesis", "accounts_per_world"]].drop_duplicates().shape[0]
