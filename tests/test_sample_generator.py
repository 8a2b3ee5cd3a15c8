"""The synthetic sample generator: determinism, contract rules, planted effects, messy rows, files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from dealscope.sample import (
    BAD_ROW_KINDS,
    CONTRACT_COLUMNS,
    EVENT_TYPES,
    TABLES,
    TRUST_BUILDING,
    TRUST_ERODING,
    EffectSizes,
    add_messy_rows,
    bad_row_count,
    frame_as_text,
    generate_world,
    strategic_alignment,
    write_sample,
    write_world,
)
from dealscope.settings import DEFAULT_EVENT_TYPES, REPO_ROOT

SMALL = 250
SNAPSHOT = pd.Timestamp("2025-12-31")
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@pytest.fixture(scope="module")
def small_world() -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    return generate_world(SMALL, seed=11, return_truth=True)


@pytest.fixture(scope="module")
def paired_worlds() -> tuple[dict, pd.DataFrame, dict, pd.DataFrame]:
    planted, truth = generate_world(SMALL, seed=5, return_truth=True)
    null, null_truth = generate_world(SMALL, seed=5, effects=EffectSizes.null(), return_truth=True)
    return planted, truth, null, null_truth


def latest_deals(deals: pd.DataFrame) -> pd.DataFrame:
    """The contract's view of deals: latest updated_at per deal_id (history rows dropped)."""
    ordered = deals.sort_values(["deal_id", "updated_at"], na_position="first")
    return ordered.drop_duplicates("deal_id", keep="last")


def deals_with_account_dimensions(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    accounts = frames["accounts"][["account_id", "segment", "industry", "region"]]
    return latest_deals(frames["deals"]).merge(accounts, on="account_id", how="left")


# --------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_world_and_another_seed_does_not() -> None:
    first = generate_world(120, seed=3)
    second = generate_world(120, seed=3)
    other = generate_world(120, seed=4)
    for table in TABLES:
        pd.testing.assert_frame_equal(first[table], second[table])
    assert not first["deals"]["list_amount"].equals(other["deals"]["list_amount"])


def test_tables_have_exactly_the_contract_columns(small_world) -> None:
    frames, _ = small_world
    assert set(frames) == set(TABLES)
    for table in TABLES:
        assert tuple(frames[table].columns) == CONTRACT_COLUMNS[table]


# ------------------------------------------------------------------ contract rules


def test_accounts_follow_the_contract(small_world) -> None:
    accounts = small_world[0]["accounts"]
    assert accounts["account_id"].is_unique
    assert accounts["account_name"].str.strip().str.len().gt(0).all()
    assert set(accounts["segment"]) == {"enterprise", "mid_market", "smb"}
    assert (accounts["employee_count"].dropna() >= 0).all()
    assert accounts["created_at"].between("2020-07-01", "2025-06-30").all()


def test_deals_follow_the_contract(small_world) -> None:
    frames, _ = small_world
    deals = frames["deals"]
    latest = latest_deals(deals)
    assert latest["account_id"].isin(frames["accounts"]["account_id"]).all()

    # a repeated deal_id is CRM history: every copy is stamped, and the stamps differ
    repeated = deals[deals["deal_id"].duplicated(keep=False)]
    assert len(repeated) > 0
    assert repeated["updated_at"].notna().all()
    assert not repeated.duplicated(["deal_id", "updated_at"]).any()
    assert (repeated.groupby("deal_id")["updated_at"].nunique() == repeated.groupby("deal_id").size()).all()

    assert set(latest["deal_type"]) == {"new_business", "expansion", "renewal"}
    assert set(latest["stage"]) == {"won", "lost", "open"}
    closed = latest["stage"].isin(["won", "lost"])
    assert latest.loc[closed, "closed_at"].notna().all()
    assert latest.loc[~closed, "closed_at"].isna().all()
    assert (latest.loc[closed, "closed_at"] >= latest.loc[closed, "created_at"]).all()
    assert latest["created_at"].between("2021-01-01", "2025-12-31").all()
    assert (latest["closed_at"].dropna() <= SNAPSHOT).all()
    # open deals are the recent ones
    assert (latest.loc[latest["stage"] == "open", "created_at"] >= "2023-01-01").all()
    assert (latest["list_amount"] >= 0).all() and latest["list_amount"].notna().all()
    won = latest["stage"] == "won"
    assert latest.loc[won, "final_amount"].notna().all()
    assert (latest["final_amount"].dropna() >= 0).all()
    assert latest["gross_margin_pct"].dropna().between(-1, 1).all()
    assert latest.loc[latest["stage"] != "lost", "loss_reason"].isna().all()
    assert latest["product_line"].notna().all()
    assert latest["owner"].nunique() > 20
    assert latest["flagged_strategic"].dtype == bool
    # every account's first deal is new business
    first_deals = latest.sort_values(["account_id", "created_at", "deal_id"]).drop_duplicates("account_id")
    assert (first_deals["deal_type"] == "new_business").all()


def test_events_follow_the_contract(small_world) -> None:
    frames, _ = small_world
    events = frames["negotiation_events"]
    assert events["event_id"].is_unique
    assert events["account_id"].isin(frames["accounts"]["account_id"]).all()
    linked = events[events["deal_id"].notna()].merge(
        latest_deals(frames["deals"])[["deal_id", "account_id"]], on="deal_id", suffixes=("", "_of_deal")
    )
    assert len(linked) == events["deal_id"].notna().sum() > 0
    assert (linked["account_id"] == linked["account_id_of_deal"]).all()
    assert events["event_type"].isin(EVENT_TYPES).all()
    assert events["severity"].between(1, 3).all()
    assert (events["occurred_at"] <= SNAPSHOT).all()
    notes = events["notes"].dropna()
    assert notes.str.contains(",").any() and notes.str.contains('"').any() and notes.str.contains("\n").any()


def test_revenue_runs_monthly_from_the_first_won_deal(small_world) -> None:
    frames, _ = small_world
    revenue = frames["account_revenue"]
    assert not revenue.duplicated(["account_id", "month"]).any()
    assert (revenue["month"].dt.day == 1).all()
    assert (revenue["revenue"] >= 0).all()
    assert revenue["month"].max() <= pd.Timestamp("2025-12-01")
    assert revenue["account_id"].isin(frames["accounts"]["account_id"]).all()
    # contiguous months per account, starting in the month of the first won deal
    month_number = revenue["month"].dt.year * 12 + revenue["month"].dt.month
    per_account = month_number.groupby(revenue["account_id"]).agg(["min", "max", "size"])
    assert (per_account["max"] - per_account["min"] + 1 == per_account["size"]).all()
    deals = latest_deals(frames["deals"])
    first_won = deals[deals["stage"] == "won"].groupby("account_id")["closed_at"].min().dt.to_period("M")
    start = revenue.groupby("account_id")["month"].min().dt.to_period("M")
    assert start.sort_index().equals(first_won.sort_index().rename("month"))


def test_strategy_plan_has_two_versions_after_the_first_deals(small_world) -> None:
    frames, _ = small_world
    plan = frames["strategy_plan"]
    versions = sorted(plan["effective_from"].unique())
    assert len(versions) >= 2
    assert versions[0] > frames["deals"]["created_at"].min()
    assert set(plan["dimension"]) == {"segment", "industry", "region", "product_line", "deal_type"}
    assert set(plan["stance"]) == {"target", "avoid"}
    assert (plan["weight"].dropna() > 0).all() and (plan["weight"].dropna() != 1).any()
    key = pd.DataFrame({"f": plan["effective_from"], "d": plan["dimension"], "v": plan["value"].str.lower()})
    assert not key.duplicated().any()


# ----------------------------------------------------------------------- alignment


def test_alignment_follows_the_contract_formula_on_a_worked_example() -> None:
    plan = pd.DataFrame(
        {
            "effective_from": pd.to_datetime(["2021-04-01"] * 3 + ["2022-01-01"] * 2),
            "dimension": ["segment", "segment", "product_line", "region", "region"],
            "value": ["enterprise", "SMB", "Platform", "EMEA", "apac"],
            "stance": ["target", "avoid", "target", "target", "avoid"],
            "weight": [1.0, 2.0, None, None, 0.5],
        }
    )
    deals = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2021-03-31", "2021-04-01", "2021-06-01", "2021-06-01", "2022-01-01", "2022-02-01", "2022-03-01"]
            ),
            "segment": ["enterprise", "enterprise", "smb", "mid_market", "smb", "smb", "smb"],
            "product_line": ["platform", "platform", "services", "platform", "platform", "x", "x"],
            "region": ["emea", "emea", "emea", "emea", " emea", "apac", None],
            "industry": None,
            "deal_type": "new_business",
        }
    )
    # version 1: denominator = max segment weight 2 + product_line 1 = 3; version 2: max region weight 1
    expected = [np.nan, (1 + 1) / 3, -2 / 3, 1 / 3, 1.0, -0.5, 0.0]
    np.testing.assert_allclose(strategic_alignment(deals, plan).to_numpy(), expected)


def test_deals_before_the_first_plan_have_no_alignment(small_world) -> None:
    frames, _ = small_world
    deals = deals_with_account_dimensions(frames)
    alignment = strategic_alignment(deals, frames["strategy_plan"])
    before = deals["created_at"] < frames["strategy_plan"]["effective_from"].min()
    assert before.any() and alignment[before].isna().all()
    assert alignment[~before].notna().all() and alignment.dropna().between(-1, 1).all()
    assert (alignment >= 0.5).any() and (alignment < 0).any()


def test_truth_table_matches_the_exported_tables(small_world) -> None:
    frames, truth = small_world
    assert {"account_id", "first_deal_at", "customer_since", "obs_window_end", "obs_mean_alignment",
            "obs_eroding_events", "obs_building_events", "log_employee_count"} <= set(truth.columns)
    deals = deals_with_account_dimensions(frames)
    deals["alignment"] = strategic_alignment(deals, frames["strategy_plan"]).to_numpy()
    # the customer relationship starts in the month the first won deal closed; the window ends 12 months later
    first_won = deals[deals["stage"] == "won"].groupby("account_id")["closed_at"].min().dt.to_period("M")
    customer_since = first_won.dt.to_timestamp().rename("customer_since")
    indexed = truth.set_index("account_id")
    customers = indexed[indexed["customer_since"].notna()]
    assert customers.index.sort_values().equals(customer_since.index.sort_values())
    assert customers.loc[customer_since.index, "customer_since"].equals(customer_since)
    assert (customers["obs_window_end"] == customers["customer_since"] + pd.DateOffset(months=12)).all()
    assert indexed.loc[indexed["customer_since"].isna(), "obs_window_end"].isna().all()

    deals = deals.merge(customers["obs_window_end"], left_on="account_id", right_index=True)
    in_window = deals[deals["created_at"] < deals["obs_window_end"]]
    recomputed = in_window.groupby("account_id")["alignment"].mean()
    np.testing.assert_allclose(indexed.loc[recomputed.index, "obs_mean_alignment"], recomputed)
    first_deal = deals_with_account_dimensions(frames).groupby("account_id")["created_at"].min()
    assert indexed.loc[first_deal.index, "first_deal_at"].equals(first_deal.rename("first_deal_at"))

    events = frames["negotiation_events"].merge(customers["obs_window_end"], left_on="account_id", right_index=True)
    in_window_events = events[events["occurred_at"] < events["obs_window_end"]]
    eroding = in_window_events[in_window_events["event_type"].isin(TRUST_ERODING)].groupby("account_id").size()
    counted = customers["obs_eroding_events"]
    assert counted[counted > 0].sort_index().equals(eroding.sort_index().astype(counted.dtype).rename(counted.name))
    exported = frames["accounts"].set_index("account_id")["employee_count"].dropna()
    np.testing.assert_allclose(indexed.loc[exported.index, "log_employee_count"], np.log(exported.astype(float)))


# ------------------------------------------------------------------------- events


def test_every_canonical_event_type_appears_with_the_configured_polarity(small_world) -> None:
    frames, _ = small_world
    configured = yaml.safe_load(Path(DEFAULT_EVENT_TYPES).read_text())["event_types"]
    assert set(configured) == set(EVENT_TYPES)
    assert {t for t, spec in configured.items() if spec["polarity"] == "trust_eroding"} == set(TRUST_ERODING)
    assert {t for t, spec in configured.items() if spec["polarity"] == "trust_building"} == set(TRUST_BUILDING)
    counts = frames["negotiation_events"]["event_type"].value_counts()
    assert set(counts.index) == set(EVENT_TYPES)


def test_takeovers_mostly_follow_an_escalation_one_to_three_months_earlier(small_world) -> None:
    events = small_world[0]["negotiation_events"]
    escalations = events[events["event_type"] == "escalated_over_buyer"][["account_id", "occurred_at"]]
    takeovers = events[events["event_type"] == "buyer_management_took_over"][["event_id", "account_id", "occurred_at"]]
    pairs = takeovers.merge(escalations, on="account_id", suffixes=("", "_escalation"))
    gap = (pairs["occurred_at"] - pairs["occurred_at_escalation"]).dt.days
    chained = pairs[gap.between(30, 91)]["event_id"].nunique()
    assert chained / len(takeovers) > 0.6


# ----------------------------------------------------------------- planted effects


def _cumulative_events(events: pd.DataFrame, months: pd.DataFrame, types: tuple[str, ...]) -> pd.Series:
    """Events of the given types at the account up to and including each revenue month."""
    typed = events[events["event_type"].isin(types)][["account_id", "occurred_at"]]
    pairs = months[["account_id", "month"]].reset_index().merge(typed, on="account_id")
    so_far = pairs[pairs["occurred_at"].dt.to_period("M") <= pairs["month"].dt.to_period("M")]
    return so_far.groupby("index").size().reindex(months.index, fill_value=0)


def test_null_and_planted_worlds_share_everything_but_the_effects(paired_worlds) -> None:
    planted, _, null, _ = paired_worlds
    for table in ("accounts", "negotiation_events", "strategy_plan"):
        pd.testing.assert_frame_equal(planted[table], null[table])
    pd.testing.assert_frame_equal(planted["deals"].drop(columns="gross_margin_pct"),
                                  null["deals"].drop(columns="gross_margin_pct"))
    assert EffectSizes.null().alignment_log_revenue == 0 and EffectSizes.null().eroding_churn_hazard == 0


def test_revenue_differs_between_worlds_by_exactly_the_documented_effects(paired_worlds) -> None:
    planted, truth, null, _ = paired_worlds
    effects = EffectSizes()
    both = planted["account_revenue"].merge(null["account_revenue"], on=["account_id", "month"],
                                            suffixes=("_planted", "_null"))
    both = both.merge(truth[["account_id", "obs_mean_alignment", "obs_window_end"]], on="account_id")
    events = planted["negotiation_events"]
    eroding = _cumulative_events(events, both, TRUST_ERODING)
    building = _cumulative_events(events, both, TRUST_BUILDING)
    after_window = both["month"] >= both["obs_window_end"]
    expected_log_shift = (effects.alignment_log_revenue * both["obs_mean_alignment"].fillna(0) * after_window
                          + effects.eroding_log_revenue * eroding + effects.building_log_revenue * building)
    observed = np.log(both["revenue_planted"]) - np.log(both["revenue_null"])
    assert after_window.sum() > 100 and eroding.gt(0).sum() > 100
    np.testing.assert_allclose(observed, expected_log_shift, atol=2e-3)

    margin_shift = (both["gross_margin_planted"] / both["revenue_planted"]
                    - both["gross_margin_null"] / both["revenue_null"])
    np.testing.assert_allclose(margin_shift, effects.eroding_margin_pct * eroding, atol=2e-3)


def test_eroding_events_raise_churn_when_asked_and_cut_deal_margins(paired_worlds) -> None:
    planted, truth, null, null_truth = paired_worlds
    # the default planted world keeps churn independent of events (docs/statistics.md: a known estimand)
    assert EffectSizes().eroding_churn_hazard == 0
    assert truth["churn_month"].equals(null_truth["churn_month"])
    _, churny_truth = generate_world(SMALL, seed=5, effects=EffectSizes(eroding_churn_hazard=0.25), return_truth=True)
    assert churny_truth["churn_month"].notna().sum() > null_truth["churn_month"].notna().sum()
    margins = planted["deals"]["gross_margin_pct"] - null["deals"]["gross_margin_pct"]
    assert (margins.dropna() <= 1e-12).all() and (margins.dropna() < -0.01).any()


def _later_revenue_regression(frames: dict, truth: pd.DataFrame, adjust_for_size: bool = True) -> dict[str, float]:
    """OLS of mean log revenue in the 12 months after the observation window on the window's quantities,
    over accounts observed for the whole horizon (the censoring rule the statistics use)."""
    horizon_end = truth["obs_window_end"] + pd.DateOffset(months=12)
    observed = truth[horizon_end <= pd.Timestamp("2026-01-01")].dropna(subset=["obs_mean_alignment"])
    revenue = frames["account_revenue"].merge(observed[["account_id", "obs_window_end"]], on="account_id")
    in_horizon = revenue[(revenue["month"] >= revenue["obs_window_end"])
                         & (revenue["month"] < revenue["obs_window_end"] + pd.DateOffset(months=12))]
    later = np.log(in_horizon["revenue"]).groupby(in_horizon["account_id"]).mean().rename("later")
    data = observed.merge(later, left_on="account_id", right_index=True)
    names = ["obs_mean_alignment", "obs_eroding_events", "obs_building_events"]
    names += ["log_employee_count"] if adjust_for_size else []
    design = np.column_stack([np.ones(len(data))] + [data[n].to_numpy(float) for n in names])
    coefficients, *_ = np.linalg.lstsq(design, data["later"].to_numpy(), rcond=None)
    return dict(zip(names, coefficients[1:]))


def test_simple_regressions_show_the_planted_effects_and_not_in_the_null_world() -> None:
    planted = _later_revenue_regression(*generate_world(2000, seed=21, return_truth=True))
    null_frames, null_truth = generate_world(2000, seed=21, effects=EffectSizes.null(), return_truth=True)
    null = _later_revenue_regression(null_frames, null_truth)
    assert 0.15 < planted["obs_mean_alignment"] < 0.5
    assert abs(null["obs_mean_alignment"]) < 0.15
    assert planted["obs_eroding_events"] < -0.04 and abs(null["obs_eroding_events"]) < 0.03
    assert planted["obs_building_events"] > 0.02 and abs(null["obs_building_events"]) < 0.02
    # the confounder: without the size control, alignment looks valuable even where it has no effect
    naive_null = _later_revenue_regression(null_frames, null_truth, adjust_for_size=False)
    assert naive_null["obs_mean_alignment"] > 0.3


# ------------------------------------------------------------------------- messy


def test_messy_rate_zero_adds_nothing(small_world) -> None:
    frames, _ = small_world
    tidy = add_messy_rows(frames, 0.0, seed=1)
    for table in TABLES:
        pd.testing.assert_frame_equal(tidy[table], frame_as_text(frames[table], table))
        assert bad_row_count(table, len(frames[table]), 0.0) == 0


def test_messy_rows_are_added_with_every_bad_kind(small_world) -> None:
    frames, _ = small_world
    messy = add_messy_rows(frames, 0.01, seed=1)
    for table in TABLES:
        assert len(messy[table]) == len(frames[table]) + bad_row_count(table, len(frames[table]), 0.01)
    assert bad_row_count("deals", len(frames["deals"]), 0.01) >= len(BAD_ROW_KINDS["deals"])
    assert len(messy["strategy_plan"]) == len(frames["strategy_plan"])

    deals = messy["deals"]
    assert deals["created_at"].eq("2024-13-01").any() and deals["closed_at"].eq("20240105").any()
    assert deals["list_amount"].str.contains(",").any()
    assert deals["account_id"].eq("A-9999999").any()
    unstamped = deals[deals["updated_at"] == ""]
    assert unstamped["deal_id"].duplicated().any()
    won_open = deals["stage"].str.strip().str.lower()
    assert ((won_open == "open") & (deals["closed_at"] != "")).any()
    assert ((won_open == "won") & (deals["closed_at"] == "")).any()
    assert messy["accounts"]["account_id"].duplicated().any()
    assert messy["accounts"]["employee_count"].eq("1,200").any()
    events = messy["negotiation_events"]
    assert events["event_type"].eq("coffee_with_buyer").any() and events["event_id"].eq("").any()
    revenue = messy["account_revenue"]
    assert revenue.duplicated(["account_id", "month"]).any() and revenue["month"].eq("2019-03-15").any()
    assert (pd.to_numeric(revenue["revenue"], errors="coerce") < 0).any()


def test_untidy_values_still_mean_the_clean_values(small_world) -> None:
    """Mixed case, padding, boolean spellings and aliases: after the contract's normalisation they equal the clean rows."""
    frames, _ = small_world
    messy = add_messy_rows(frames, 0.02, seed=2)
    clean_text = {t: frame_as_text(frames[t], t) for t in TABLES}

    accounts = messy["accounts"].apply(lambda column: column.str.strip(" \t"))
    assert (messy["accounts"]["segment"] != accounts["segment"].str.lower()).any()
    first_rows = accounts.assign(segment=accounts["segment"].str.lower()).drop_duplicates("account_id")
    joined = clean_text["accounts"].merge(first_rows, on="account_id", suffixes=("", "_messy"))
    assert len(joined) == len(frames["accounts"])
    assert (joined["segment"] == joined["segment_messy"]).all()

    truthy = {"true", "t", "yes", "y", "1"}
    deals = messy["deals"].apply(lambda column: column.str.strip(" \t"))
    assert not messy["deals"]["flagged_strategic"].isin(["true", "false"]).all()
    deals = deals.assign(
        stage=deals["stage"].str.lower(), deal_type=deals["deal_type"].str.lower(),
        flagged_strategic=np.where(deals["flagged_strategic"].str.lower().isin(truthy), "true", "false"),
    )
    key = ["deal_id", "updated_at"]
    joined = clean_text["deals"].merge(deals.drop_duplicates(key), on=key, suffixes=("", "_messy"))
    assert len(joined) == len(frames["deals"])
    for column in ("account_id", "stage", "deal_type", "product_line", "flagged_strategic"):
        assert (joined[column] == joined[f"{column}_messy"]).all(), column

    configured = yaml.safe_load(Path(DEFAULT_EVENT_TYPES).read_text())["event_types"]
    label_to_type = {t: t for t in configured} | {
        alias.strip().lower(): t for t, spec in configured.items() for alias in spec.get("aliases", [])
    }
    events = messy["negotiation_events"]
    canonical = events["event_type"].str.strip(" \t").str.lower().map(label_to_type)
    assert (events["event_type"] != canonical).any()
    joined = clean_text["negotiation_events"].merge(
        events.assign(event_type=canonical).drop_duplicates("event_id"), on="event_id", suffixes=("", "_messy")
    )
    assert len(joined) == len(frames["negotiation_events"])
    assert (joined["event_type"] == joined["event_type_messy"]).all()


# ------------------------------------------------------------------------- files


def test_csv_files_follow_the_export_format(tmp_path: Path, small_world) -> None:
    frames, _ = small_world
    written = write_world(frames, tmp_path, "csv")
    assert written == {table: len(frames[table]) for table in TABLES}
    for table in TABLES:
        path = tmp_path / f"{table}.csv"
        assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(CONTRACT_COLUMNS[table])
        read = pd.read_csv(path, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(read, frame_as_text(frames[table], table), check_dtype=False)
    deals = pd.read_csv(tmp_path / "deals.csv", dtype=str, keep_default_na=False)
    assert deals["created_at"].str.match(DATE_PATTERN).all()
    assert set(deals["closed_at"][deals["closed_at"] != ""].str.match(DATE_PATTERN)) == {True}
    assert set(deals["flagged_strategic"]) == {"true", "false"}
    assert deals["updated_at"][deals["updated_at"] != ""].str.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").all()
    events = pd.read_csv(tmp_path / "negotiation_events.csv", dtype=str, keep_default_na=False)
    assert events["notes"].str.contains("\n").any()


def test_parquet_files_keep_types(tmp_path: Path, small_world) -> None:
    frames, _ = small_world
    write_world(frames, tmp_path, "parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.parquet" for t in TABLES)
    deals = pq.read_table(tmp_path / "deals.parquet")
    assert str(deals.schema.field("created_at").type) == "date32[day]"
    assert str(deals.schema.field("flagged_strategic").type) == "bool"
    assert deals.num_rows == len(frames["deals"])


def test_write_sample_counts_rows_and_rejects_unknown_options(tmp_path: Path) -> None:
    written = write_sample(tmp_path, seed=1, n_accounts=60, messy_rate=0.01)
    for table, rows in written.items():
        records = pd.read_csv(tmp_path / f"{table}.csv", dtype=str, keep_default_na=False)
        assert len(records) == rows
    with pytest.raises(ValueError, match="world"):
        write_sample(tmp_path, seed=1, n_accounts=10, world="other")
    with pytest.raises(ValueError, match="format"):
        write_sample(tmp_path, seed=1, n_accounts=10, fmt="xlsx")


def test_committed_sample_is_the_documented_command_output(tmp_path: Path) -> None:
    committed = REPO_ROOT / "data" / "sample"
    write_sample(tmp_path, seed=42, n_accounts=2000, world="planted", messy_rate=0.002)
    for table in TABLES:
        regenerated = hashlib.sha256((tmp_path / f"{table}.csv").read_bytes()).hexdigest()
        assert hashlib.sha256((committed / f"{table}.csv").read_bytes()).hexdigest() == regenerated, table
    sizes = sum(p.stat().st_size for p in committed.iterdir())
    assert sizes < 15_000_000
