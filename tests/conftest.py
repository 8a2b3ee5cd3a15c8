"""Shared fixtures: a small generated export and one real pipeline run over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dealscope.settings import DEFAULT_EVENT_TYPES, Settings

SMALL_WORLD_ACCOUNTS = 150


def settings_for(root: Path, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        warehouse=root / "warehouse" / "dealscope.duckdb",
        dashboards_dir=root / "site",
        event_types=DEFAULT_EVENT_TYPES,
    )


@pytest.fixture(scope="session")
def small_export(tmp_path_factory) -> Path:
    from dealscope.sample import write_sample

    out = tmp_path_factory.mktemp("export")
    write_sample(out, seed=11, n_accounts=SMALL_WORLD_ACCOUNTS, world="planted", messy_rate=0.01)
    return out


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, small_export):
    """One full in-process Dagster run of the whole asset graph on the small export."""
    from dealscope.runner import execute

    settings = settings_for(tmp_path_factory.mktemp("run"), small_export)
    outcome = execute(settings)
    assert outcome.success, outcome.errors
    return settings, outcome
