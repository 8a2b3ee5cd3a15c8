"""The pre-negotiation brief and the Open deals page, on two real warehouses: the sample
(data/sample, a full pipeline run) and the small generated world of conftest.pipeline_run.

Checked: every number the brief's JSON carries equals the warehouse row it names; comparable
deals follow the documented similarity rule (recomputed here independently, in pandas, from
fct_deals); what followed escalations at comparable accounts is recomputed from the negotiation
events and accounts the same way; a deal flagged strategic that does not fit the plan is warned about, and only
such deals; no confidential note reaches the brief; the CLI writes HTML and JSON and refuses
a closed deal; the site writes briefs up to the limit and a note above it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import dashboards.pages.open_deals as open_deals_module
import dashboards.site as site_module
from dashboards import build_site
from dashboards.brief import BRIEFS_DIR, brief_file_stem, read_brief
from dealscope.cli import main as cli_main
from test_dashboards import SECRET_NOTE

REPO = Path(__file__).resolve().parents[1]
MIN_COMPARABLE_DEALS = 30  # dbt var min_comparable_deals
LEVELS = (
    ("segment", "industry", "region", "product_line", "deal_type", "size_band", "competitor"),
    ("segment", "industry", "region", "product_line", "deal_type", "size_band"),
    ("segment", "industry", "product_line", "deal_type", "size_band"),
    ("segment", "product_line", "deal_type", "size_band"),
    ("segment", "product_line", "deal_type"),
    ("segment", "deal_type"),
    ("segment",),
)
ACCOUNT_LEVELS = (
    ("segment", "industry", "region", "size_band"),
    ("segment", "industry", "size_band"),
    ("segment", "size_band"),
    ("segment",),
)
MIN_COMPARABLE_ACCOUNTS = 20  # dbt var min_comparable_accounts
FOLLOW_UP_MONTHS = 12  # dbt vars takeover_window_months and second_source_window_months
WILSON_Z = 1.959963984540054
DEALS_CHECKED = 12


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory) -> Path:
    """One full pipeline run on data/sample (the published warehouse)."""
    from conftest import settings_for
    from dealscope.runner import execute

    settings = settings_for(tmp_path_factory.mktemp("sample-run"), REPO / "data" / "sample")
    outcome = execute(settings)
    assert outcome.success, outcome.errors
    return settings.warehouse


@pytest.fixture(scope="module", params=["sample", "generated"])
def warehouse(request) -> Path:
    if request.param == "sample":
        return request.getfixturevalue("sample_warehouse")
    settings, _ = request.getfixturevalue("pipeline_run")
    return settings.warehouse


def checked_deals(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A spread of open deals: every one flagged strategic but not fitting, and a fixed sample."""
    misfits = [d for (d,) in con.execute(
        "SELECT deal_id FROM main.open_deals WHERE flag_strategic_not_fitting ORDER BY deal_id").fetchall()]
    others = [d for (d,) in con.execute(
        "SELECT deal_id FROM main.open_deals ORDER BY hash(deal_id), deal_id LIMIT ?", [DEALS_CHECKED]).fetchall()]
    return list(dict.fromkeys(misfits + others))


def same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def as_json_value(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if len(value.isoformat()) > 10 and value.isoformat().endswith("00:00:00") \
            else value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def table_rows(con: duckdb.DuckDBPyConnection, table: str, key: dict) -> list[dict]:
    where = " AND ".join(f"{column} = ?" for column in key)
    cursor = con.execute(f"SELECT * FROM {table} WHERE {where}", list(key.values()))
    names = [c[0] for c in cursor.description]
    return [{n: as_json_value(v) for n, v in zip(names, row)} for row in cursor.fetchall()]


def test_brief_numbers_equal_the_marts_they_name(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        deals = checked_deals(con)
        assert deals
        for deal_id in deals:
            brief = read_brief(con, deal_id)
            sections = brief["sections"]
            for name in ("deal", "account_value", "forecast", "competitor_response"):
                section = sections[name]
                if "unavailable" in section:
                    continue
                rows = table_rows(con, section["table"], section["key"])
                assert len(rows) <= 1, (name, section["key"])
                values = section["values"]
                assert (values is None) == (not rows), name
                for column, value in (values or {}).items():
                    assert column in rows[0], f"{name}: {column} is not a column of {section['table']}"
                    assert same(value, rows[0][column]), (deal_id, name, column, value, rows[0][column])
            comparables = table_rows(con, "main.open_deal_comparables", {"deal_id": deal_id})
            listed = sorted(sections["comparables"]["rows"], key=lambda r: r["similarity_level"])
            assert len(listed) == len(comparables) == len(LEVELS)
            for shown, stored in zip(listed, sorted(comparables, key=lambda r: r["similarity_level"])):
                assert all(same(shown[c], stored[c]) for c in stored), deal_id
            precedents = table_rows(con, "main.open_deal_escalation_precedents", {"deal_id": deal_id})
            listed_precedents = sorted(sections["escalation_precedent"]["rows"], key=lambda r: r["similarity_level"])
            assert len(listed_precedents) == len(precedents) == len(ACCOUNT_LEVELS)
            for shown, stored in zip(listed_precedents, sorted(precedents, key=lambda r: r["similarity_level"])):
                assert all(same(shown[c], stored[c]) for c in stored), deal_id
            events = table_rows(con, "main.account_trust_timeline", {"account_id": brief["account_id"]})
            assert len(sections["trust_events"]["rows"]) == len(events)
            assert sorted((e["occurred_at"], e["event_type"]) for e in sections["trust_events"]["rows"]) \
                == sorted((e["occurred_at"], e["event_type"]) for e in events)
            deal = sections["deal"]["values"]
            # the counts in the sentence are the timeline's, as open_deals computed them
            assert deal["account_second_sources"] == sum(e["event_type"] == "second_source_added" for e in events)
            assert deal["account_takeovers"] == sum(e["event_type"] == "buyer_management_took_over" for e in events)
            chosen = next(r for r in listed if r["is_chosen_level"])
            assert f"On {chosen['deals_closed']:,} comparable closed deals" in brief["summary"][1]
            plan = sections["plan_entries"]["rows"]
            if deal["plan_effective_from"] is None:
                assert plan == []
            else:
                stored_plan = table_rows(con, "staging.stg_strategy_plan",
                                         {"effective_from": deal["plan_effective_from"]})
                assert {(p["dimension"], p["value"].lower()) for p in plan} == \
                    {(p["dimension"], p["value_key"]) for p in stored_plan}
                matched = {f"{p['dimension']}={p['value']}" for p in plan if p["matches_deal"]}
                listed_matches = {m.strip() for text in (deal["matched_targets"], deal["matched_avoids"]) if text
                                  for m in text.split(";")}
                assert {m.lower() for m in matched} == {m.lower() for m in listed_matches}


def size_band(amount: float | None) -> str:
    if amount is None or pd.isna(amount):
        return "unknown"
    for upper, label in ((1_000, "under 1k"), (10_000, "1k-10k"), (100_000, "10k-100k"), (1_000_000, "100k-1M")):
        if amount < upper:
            return label
    return "1M and over"


def test_comparable_deals_follow_the_documented_rule(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        deals = con.execute("SELECT deal_id, is_closed, is_won, discount_pct, cycle_days, gross_margin_pct, "
                            "segment, industry, region, product_line, deal_type, list_amount, competitor "
                            "FROM main.fct_deals").df()
        stored = con.execute("SELECT * FROM main.open_deal_comparables").df()
        checked = checked_deals(con)
    for column in ("segment", "industry", "region", "product_line", "deal_type"):
        deals[column] = deals[column].fillna("unknown").astype(str)
    deals["competitor"] = deals["competitor"].fillna("none").astype(str)
    deals["size_band"] = deals["list_amount"].map(size_band)
    closed = deals[deals["is_closed"]]
    for deal_id in checked:
        deal = deals[deals["deal_id"] == deal_id].iloc[0]
        rows = stored[stored["deal_id"] == deal_id].set_index("similarity_level")
        first_enough = None
        for level, keys in enumerate(LEVELS, start=1):
            mask = pd.Series(True, index=closed.index)
            for key in keys:
                mask &= closed[key] == deal[key]
            comparable = closed[mask]
            row = rows.loc[level]
            assert row["matched_on"] == ", ".join(keys)
            assert row["deals_closed"] == len(comparable), (deal_id, level)
            assert row["deals_won"] == int(comparable["is_won"].sum())
            won = comparable[comparable["is_won"]]
            for column, values in (("median_discount_pct", won["discount_pct"]),
                                   ("median_cycle_days", comparable["cycle_days"]),
                                   ("median_gross_margin_pct", won["gross_margin_pct"])):
                expected = values.dropna().astype(float).median()
                assert (pd.isna(row[column]) and pd.isna(expected)) or math.isclose(row[column], expected), column
            if first_enough is None and len(comparable) >= MIN_COMPARABLE_DEALS:
                first_enough = level
        chosen = rows.index[rows["is_chosen_level"]].tolist()
        assert chosen == [first_enough or len(LEVELS)], deal_id


def account_size_band(employees: float | None) -> str:
    if employees is None or pd.isna(employees):
        return "unknown"
    for upper, label in ((10, "under 10"), (100, "10-99"), (1_000, "100-999"), (10_000, "1k-10k")):
        if employees < upper:
            return label
    return "10k and over"


def wilson(successes: int, trials: int) -> tuple[float, float]:
    share, z2 = successes / trials, WILSON_Z ** 2
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = WILSON_Z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials ** 2)) / (1 + z2 / trials)
    return centre - half, centre + half


def test_escalation_precedents_follow_the_documented_rule(warehouse: Path) -> None:
    """Recomputed from the events: each account's first escalation over the buyer, observed when
    12 months after it end by the as-of date; took over / second source within those 12 months;
    comparable accounts by the documented levels, the deal's own account left out."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        events = con.execute("SELECT account_id, event_type, occurred_at FROM staging.stg_negotiation_events "
                             "WHERE event_type IN ('escalated_over_buyer', 'buyer_management_took_over', "
                             "'second_source_added')").df()
        accounts = con.execute("SELECT account_id, segment, industry, region, employee_count "
                               "FROM staging.stg_accounts").df()
        as_of = pd.Timestamp(con.execute("SELECT max(as_of_date) FROM main.account_value").fetchone()[0])
        open_accounts = dict(con.execute("SELECT deal_id, account_id FROM main.open_deals").fetchall())
        stored = con.execute("SELECT * FROM main.open_deal_escalation_precedents").df()
        checked = checked_deals(con)
        briefs = {deal_id: read_brief(con, deal_id) for deal_id in checked}
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    first = (events[events["event_type"] == "escalated_over_buyer"].groupby("account_id")["occurred_at"].min()
             .rename("escalated_at").reset_index())
    first["window_end"] = first["escalated_at"].map(lambda day: day + pd.DateOffset(months=FOLLOW_UP_MONTHS))
    first = first[first["window_end"] <= as_of]
    later = events.merge(first, on="account_id")
    later = later[(later["occurred_at"] > later["escalated_at"]) & (later["occurred_at"] <= later["window_end"])]
    first["took_over"] = first["account_id"].isin(
        later.loc[later["event_type"] == "buyer_management_took_over", "account_id"])
    first["second_source"] = first["account_id"].isin(
        later.loc[later["event_type"] == "second_source_added", "account_id"])
    for column in ("segment", "industry", "region"):
        accounts[column] = accounts[column].fillna("unknown").astype(str)
    accounts["size_band"] = accounts["employee_count"].map(account_size_band)
    escalated = first.merge(accounts, on="account_id")
    assert not stored.empty and set(stored["deal_id"]) == set(open_accounts)
    if warehouse.parent.parent.name.startswith("sample-run"):
        assert len(escalated) >= 10, "the sample has observed escalations: the rule is exercised"
    for deal_id in checked:
        own = accounts[accounts["account_id"] == open_accounts[deal_id]].iloc[0]
        rows = stored[stored["deal_id"] == deal_id].set_index("similarity_level")
        others = escalated[escalated["account_id"] != own["account_id"]]
        first_enough = None
        for level, keys in enumerate(ACCOUNT_LEVELS, start=1):
            mask = pd.Series(True, index=others.index)
            for key in keys:
                mask &= others[key] == own[key]
            comparable = others[mask]
            row = rows.loc[level]
            assert row["matched_on"] == ", ".join(keys)
            assert row["accounts"] == len(comparable), (deal_id, level)
            assert row["accounts_with_takeover"] == int(comparable["took_over"].sum()), (deal_id, level)
            assert row["accounts_with_second_source"] == int(comparable["second_source"].sum()), (deal_id, level)
            assert bool(row["is_small_sample"]) == (len(comparable) < MIN_COMPARABLE_ACCOUNTS)
            if len(comparable):
                for column, successes in (("share_with_takeover", comparable["took_over"].sum()),
                                          ("share_with_second_source", comparable["second_source"].sum())):
                    low, high = wilson(int(successes), len(comparable))
                    assert math.isclose(row[column], successes / len(comparable), abs_tol=1e-12)
                    assert math.isclose(row[f"{column}_ci_low"], low, abs_tol=1e-6), (deal_id, level, column)
                    assert math.isclose(row[f"{column}_ci_high"], high, abs_tol=1e-6), (deal_id, level, column)
            else:
                assert pd.isna(row["share_with_takeover"]) and pd.isna(row["share_with_takeover_ci_low"])
            if first_enough is None and len(comparable) >= MIN_COMPARABLE_ACCOUNTS:
                first_enough = level
        chosen_level = first_enough or len(ACCOUNT_LEVELS)
        assert rows.index[rows["is_chosen_level"]].tolist() == [chosen_level], deal_id
        chosen = rows.loc[chosen_level]
        summary, warnings = " ".join(briefs[deal_id]["summary"]), briefs[deal_id]["warnings"]
        if chosen["accounts"]:
            assert f"Of {int(chosen['accounts']):,} comparable accounts (same {chosen['matched_on']})" in summary
        small = [w for w in warnings if "comparable accounts with an escalation" in w]
        assert bool(small) == bool(chosen["is_small_sample"] and chosen["accounts"]), deal_id


def test_a_strategic_deal_that_does_not_fit_the_plan_is_warned_about(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        flags = con.execute("SELECT deal_id, flagged_strategic, alignment_band FROM main.open_deals").df()
        checked = checked_deals(con)
        flagged_fitting = flags[flags["flagged_strategic"] & (flags["alignment_band"] == "aligned")]
        checked += flagged_fitting["deal_id"].head(3).tolist()
        for deal_id in checked:
            row = flags[flags["deal_id"] == deal_id].iloc[0]
            misfit = bool(row["flagged_strategic"]) and row["alignment_band"] == "misaligned"
            warned = [w for w in read_brief(con, deal_id)["warnings"] if "does not fit the plan" in w]
            assert bool(warned) == misfit, (deal_id, row.to_dict())
    if warehouse.parent.parent.name.startswith("sample-run"):
        # the sample holds such deals: the rule is exercised, not vacuous
        assert ((flags["flagged_strategic"]) & (flags["alignment_band"] == "misaligned")).sum() > 0


def test_no_confidential_note_reaches_a_brief(warehouse: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        deal_id = checked_deals(con)[0]
        brief = read_brief(con, deal_id)
        notes = [n for (n,) in con.execute(
            "SELECT notes FROM raw.negotiation_events WHERE account_id = ? AND notes IS NOT NULL "
            "AND length(notes) > 12", [brief["account_id"]]).fetchall()]
    text = json.dumps(brief)
    assert "notes" not in text
    assert not [n for n in notes if n in text]
    assert SECRET_NOTE not in text


def test_cli_writes_html_and_json_and_refuses_a_closed_deal(pipeline_run, tmp_path: Path, capsys) -> None:
    settings, _ = pipeline_run
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        open_id = con.execute("SELECT min(deal_id) FROM main.open_deals").fetchone()[0]
        closed_id = con.execute("SELECT min(deal_id) FROM main.fct_deals WHERE is_closed").fetchone()[0]
    assert cli_main(["brief", open_id, "--warehouse", str(settings.warehouse), "--out", str(tmp_path)]) == 0
    stem = brief_file_stem(open_id)
    page = (tmp_path / f"{stem}.html").read_text(encoding="utf-8")
    data = json.loads((tmp_path / f"{stem}.json").read_text(encoding="utf-8"))
    assert data["deal_id"] == open_id and data["summary"]
    assert "<script" not in page and "http" not in page.replace('lang="en"', "")  # offline, no scripts
    for sentence in data["summary"]:
        assert sentence.replace("'", "&#x27;").replace("&", "&amp;").replace("&amp;#x27;", "&#x27;") in page
    assert cli_main(["brief", closed_id, "--warehouse", str(settings.warehouse), "--out", str(tmp_path)]) == 2
    assert "is not open" in capsys.readouterr().err


def test_site_writes_briefs_up_to_the_limit_and_a_note_above_it(pipeline_run, tmp_path: Path,
                                                                 monkeypatch) -> None:
    settings, _ = pipeline_run
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        open_ids = [d for (d,) in con.execute("SELECT deal_id FROM main.open_deals").fetchall()]
        build_site(con, tmp_path / "site")
        page = (tmp_path / "site" / "open_deals.html").read_text(encoding="utf-8")
        briefs = sorted(p.name for p in (tmp_path / "site" / BRIEFS_DIR).iterdir())
        assert briefs == sorted([f"{brief_file_stem(d)}.html" for d in open_ids]
                                + [f"{brief_file_stem(d)}.json" for d in open_ids])
        for deal_id in open_ids:
            assert f'href="{BRIEFS_DIR}/{brief_file_stem(deal_id)}.html"' in page
        # above the limit: the list, no brief (stale ones removed), and how to write one
        monkeypatch.setattr(site_module, "BRIEF_LIMIT", len(open_ids) - 1)
        monkeypatch.setattr(open_deals_module, "BRIEF_LIMIT", len(open_ids) - 1)
        build_site(con, tmp_path / "site")
    page = (tmp_path / "site" / "open_deals.html").read_text(encoding="utf-8")
    assert list((tmp_path / "site" / BRIEFS_DIR).iterdir()) == []
    assert "dealscope brief DEAL_ID" in page and f'href="{BRIEFS_DIR}/' not in page
    assert page.count("<tr data-") == len(open_ids)
