"""dealscope.progress: the lines `dealscope run` prints per stage (no Dagster involved)."""

from __future__ import annotations

import io

from dealscope.ingest.spec import SPECS
from dealscope.progress import LABEL_WIDTH, STAGE_LABELS, StageProgress, load_detail, stage_label


def test_stage_labels():
    assert stage_label("raw__deals") == "load deals"
    assert stage_label("dealscope_dbt_models") == "dbt build"
    assert stage_label("statistics") == "statistics"
    assert stage_label("something_new") == "something_new"


def test_every_stage_label_fits_its_column():
    labels = [stage_label(f"raw__{table}") for table in (*SPECS, "event_types")] + list(STAGE_LABELS.values())
    too_long = [label for label in labels if len(label) > LABEL_WIDTH]
    assert not too_long, f"labels wider than LABEL_WIDTH={LABEL_WIDTH}: {too_long}"


def test_one_finished_line_per_stage_when_not_a_terminal():
    out = io.StringIO()
    progress = StageProgress(out, totals={"dealscope_dbt_models": (2, 3)})
    progress.stage_started("raw__deals")
    progress.set_detail("raw__deals", load_detail(1200, 1190, 10))
    progress.stage_finished("raw__deals")
    progress.stage_started("dealscope_dbt_models")
    progress.model_done("dealscope_dbt_models")
    progress.model_done("dealscope_dbt_models")
    for passed in (True, True, False):
        progress.check_done("dealscope_dbt_models", passed)
    progress.stage_finished("dealscope_dbt_models", failed=True)
    progress.stage_finished("dealscope_dbt_models")  # a second finish is ignored
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:2] == ["load", "deals"] and "1,200 read, 1,190 loaded, 10 rejected" in lines[0]
    assert lines[0].rstrip().endswith(" s")
    assert "2/2 models, 3/3 tests (1 failed)" in lines[1] and lines[1].endswith("FAILED")
    assert "\r" not in out.getvalue()


def test_a_terminal_gets_the_line_redrawn_in_place():
    out = io.StringIO()
    progress = StageProgress(out, live=True)
    progress.stage_started("dashboards")
    progress.stage_finished("dashboards")
    progress.close()
    text = out.getvalue()
    assert text.count("\r") >= 2 and text.endswith("\n") and text.count("\n") == 1


def test_a_stage_cut_short_by_an_exception_is_marked_failed():
    out = io.StringIO()
    progress = StageProgress(out)
    progress.stage_started("start-up")
    progress.fail_current()
    progress.fail_current()  # nothing under way any more
    progress.close()
    assert out.getvalue().splitlines() == [line for line in out.getvalue().splitlines() if line.endswith("FAILED")]
    assert len(out.getvalue().splitlines()) == 1
