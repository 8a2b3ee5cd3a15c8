"""Unattended runs: the input-folder sensor and the schedule, evaluated by Dagster itself."""

from __future__ import annotations

import os

import dagster as dg

from dealscope.input_folder import fingerprint


def test_fingerprint_changes_with_the_folder(tmp_path):
    absent = fingerprint(tmp_path / "nope")
    (tmp_path / "accounts.csv").write_text("account_id\n")
    first = fingerprint(tmp_path)
    assert first != absent
    assert fingerprint(tmp_path) == first
    (tmp_path / "notes.txt").write_text("ignored")
    assert fingerprint(tmp_path) == first
    (tmp_path / "accounts.csv").write_text("account_id\na1\n")
    assert fingerprint(tmp_path) != first



def test_fingerprint_watches_the_mapping_file(tmp_path):
    folder, elsewhere = tmp_path / "export", tmp_path / "mapping.yml"
    folder.mkdir()
    (folder / "Account.csv").write_text("Id\n")
    first = fingerprint(folder)
    (folder / "dealscope.yml").write_text("version: 1\n")
    assert fingerprint(folder) != first
    elsewhere.write_text("version: 1\n")
    with_mapping = fingerprint(folder, elsewhere)
    elsewhere.write_text("version: 1\ntables: {}\n")
    assert fingerprint(folder, elsewhere) != with_mapping


def test_sensor_requests_a_run_only_on_change(tmp_path):
    from pipelines.automation import input_folder_sensor
    from pipelines.resources import WarehouseResource

    (tmp_path / "deals.csv").write_text("deal_id\n")
    resource = WarehouseResource(data_dir=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"),
                                 dashboards_dir=str(tmp_path / "site"), event_types=str(tmp_path / "e.yml"))
    with dg.instance_for_test() as instance:
        # the resource has a run-scoped lifecycle (the run lock), so its context is a context manager
        with dg.build_sensor_context(instance=instance, resources={"warehouse": resource}) as context:
            first = input_folder_sensor(context)
            assert isinstance(first, dg.RunRequest)
            second = input_folder_sensor(context)
            assert isinstance(second, dg.SkipReason)
            (tmp_path / "deals.csv").write_text("deal_id\nd1\n")
            os.utime(tmp_path / "deals.csv", ns=(1, 1))
            third = input_folder_sensor(context)
            assert isinstance(third, dg.RunRequest) and third.run_key != first.run_key


def test_schedule_targets_the_pipeline():
    from pipelines.definitions import defs

    schedule = defs.resolve_schedule_def("dealscope_daily")
    assert schedule.job_name == "dealscope_pipeline"
    assert schedule.cron_schedule == "0 6 * * *"
