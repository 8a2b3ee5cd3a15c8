"""Synthetic deal history with documented, planted effects (see data/sample/README.md).

Everything is vectorised numpy/pandas: the same code produces the 2,000-account
committed sample and the 100,000-account benchmark data. Each part of the world
draws from its own random stream, so the planted and the null world of one seed
share accounts, deals, plan and events and differ only where an effect acts
(revenue, margins, churn).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, overload

import numpy as np
import pandas as pd

from dealscope.sample.alignment import strategic_alignment

# Calendar of the world (days are int64 days since 1970-01-01 inside this module).
SNAPSHOT_DATE = "2025-12-31"
FIRST_DEAL_DATE = "2021-01-01"
ACCOUNTS_FROM = "2020-07-01"
ACCOUNTS_TO = "2025-06-30"

TABLES = ("accounts", "deals", "negotiation_events", "account_revenue", "strategy_plan")
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "account_name", "segment", "industry", "region", "employee_count", "created_at"),
    "deals": (
        "deal_id", "account_id", "deal_type", "product_line", "created_at", "closed_at", "stage",
        "list_amount", "final_amount", "gross_margin_pct", "competitor", "loss_reason",
        "flagged_strategic", "owner", "updated_at",
    ),
    "negotiation_events": ("event_id", "account_id", "deal_id", "occurred_at", "event_type", "severity", "notes"),
    "account_revenue": ("account_id", "month", "revenue", "gross_margin"),
    "strategy_plan": ("effective_from", "dimension", "value", "stance", "weight"),
}

SEGMENTS = ("enterprise", "mid_market", "smb")
DEAL_TYPES = ("new_business", "expansion", "renewal")
STAGES = ("won", "lost", "open")
INDUSTRIES = ("software", "financial_services", "healthcare", "manufacturing", "retail", "public_sector",
              "education", "logistics")
INDUSTRY_SHARES = (0.18, 0.15, 0.13, 0.16, 0.12, 0.08, 0.08, 0.10)
REGIONS = ("north_america", "emea", "apac", "latam")
REGION_SHARES = (0.42, 0.32, 0.16, 0.10)
PRODUCT_LINES = ("platform", "analytics", "integrations", "security", "services", "training")
PRODUCT_SHARES = (0.28, 0.18, 0.16, 0.12, 0.16, 0.10)
PRODUCT_LOG_PRICE = (0.4, 0.1, -0.2, 0.2, -0.1, -0.7)
PRODUCT_BASE_MARGIN = (0.74, 0.70, 0.62, 0.72, 0.34, 0.46)
COMPETITORS = ("Northwind Systems", "Contoso", "Globex", "Initech", "Vandelay Industries")
LOSS_REASONS = ("price", "competitor", "no_decision", "timing", "product_fit", "budget_cut")

TRUST_ERODING = ("escalated_over_buyer", "buyer_management_took_over", "commitment_broken",
                 "concession_reneged", "second_source_added", "surprise_price_increase")
TRUST_BUILDING = ("commitment_kept", "joint_planning", "executive_sponsor_aligned",
                  "value_review_delivered", "concession_reciprocated")
COMPETITIVE = ("competitor_price_cut",)
EVENT_TYPES = TRUST_ERODING + TRUST_BUILDING + COMPETITIVE
# Events per account-year at median size, and the elasticity of that rate to size
# (per unit of standardised log employee_count). Building events rise steeply with
# size: large accounts get more strategic attention (the confounder).
EVENT_RATE_PER_YEAR = dict(zip(EVENT_TYPES, (0.22, 0.04, 0.28, 0.12, 0.04, 0.15, 0.70, 0.50, 0.20, 0.40, 0.25, 0.20)))
EVENT_SIZE_ELASTICITY = {**{t: 0.10 for t in TRUST_ERODING}, **{t: 0.45 for t in TRUST_BUILDING},
                         "competitor_price_cut": 0.20}

MEDIAN_LOG_EMPLOYEES = 5.0
SD_LOG_EMPLOYEES = 1.6
EXTRA_DEALS_PER_YEAR = 3.1
AE_COUNT = 40
AE_PLAN_ADHERENCE_SD = 1.5  # logit scale: how much AEs differ in steering deals onto targeted lines


@dataclass(frozen=True)
class EffectSizes:
    """The causal effects planted in the world. Units are stated per field.

    `null()` zeroes every causal effect of alignment and of trust events on value;
    the confounder (size drives revenue, attention and alignment) and the
    escalation chain between events stay, so the event and deal tables are the
    same as in the planted world of the same seed.
    """

    alignment_log_revenue: float = 0.30  # + to log monthly revenue after the observation window, per unit of early mean alignment
    eroding_log_revenue: float = -0.08  # + to log monthly revenue per trust-eroding event, from the event's month on
    building_log_revenue: float = 0.04  # + to log monthly revenue per trust-building event, from its month on
    eroding_margin_pct: float = -0.02  # + to gross margin share (revenue and deals) per trust-eroding event, from its month on
    # monthly churn hazard x (1 + this) per trust-eroding event so far; 0 in the default planted world so that
    # the per-event effect on later revenue is the level effect alone (a known true value for calibration)
    eroding_churn_hazard: float = 0.0
    escalation_chain_prob: tuple[float, float] = (0.45, 0.35)  # P(takeover | escalation), P(second source | takeover)

    @classmethod
    def null(cls) -> "EffectSizes":
        return replace(
            cls(), alignment_log_revenue=0.0, eroding_log_revenue=0.0, building_log_revenue=0.0,
            eroding_margin_pct=0.0, eroding_churn_hazard=0.0,
        )


@dataclass(frozen=True)
class StressKnobs:
    """Departures from the default world that real data may have and the statistics must survive.

    Every knob is off by default (the committed sample is generated with all of them off and stays
    byte-identical). Each knob draws only from its own random stream, so switching one on changes the
    world only where it acts.
    """

    # sd (log scale) of an UNRECORDED, time-invariant account-health trait h ~ N(0, 1): healthy accounts
    # earn exp(health * h) more in every month, their AE steers more deals onto targeted lines (logit
    # + 2 health h) and they suffer fewer trust-eroding events (rate x exp(-health h))
    health: float = 0.0
    # unrecorded AE skill: the AE's plan adherence (logit scale, sd AE_PLAN_ADHERENCE_SD) also adds
    # ae_skill x adherence / AE_PLAN_ADHERENCE_SD to log revenue in every month of the AE's accounts
    ae_skill: float = 0.0
    # the alignment and trust-eroding effects are multiplied by (enterprise, mid-market, smb) factors
    segment_effect_factors: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # + size x (industry == software) to log revenue in every month (an interaction no control models)
    size_industry_interaction: float = 0.0
    # employee_count left empty with probability 0.03 + this x (1 - sigmoid(2 size)): small accounts more often
    missing_not_at_random: float = 0.0
    # every event type's rate x this
    event_rate_factor: float = 1.0
    # the alignment effect starts at each aligned deal's month (per deal, alignment_log_revenue x its
    # alignment / deals in the window) instead of at the observation window's end
    alignment_effect_at_deal: bool = False

    @property
    def is_default(self) -> bool:
        return self == StressKnobs()


# Named stress worlds for `dealscope sample --stress` and the calibration study.
STRESS_WORLDS: dict[str, StressKnobs] = {
    "none": StressKnobs(),
    "health": StressKnobs(health=0.6),
    "ae_skill": StressKnobs(ae_skill=0.4),
    "segment_effects": StressKnobs(segment_effect_factors=(2.0, 1.0, 0.0)),
    "size_industry": StressKnobs(size_industry_interaction=0.5),
    "missing_not_at_random": StressKnobs(missing_not_at_random=0.3),
    "event_rate_half": StressKnobs(event_rate_factor=0.5),
    "event_rate_triple": StressKnobs(event_rate_factor=3.0),
    "effect_at_deal": StressKnobs(alignment_effect_at_deal=True),
}


def stress_knobs(name: str) -> StressKnobs:
    if name not in STRESS_WORLDS:
        raise ValueError(f"stress must be one of {tuple(STRESS_WORLDS)}, not {name!r}")
    return STRESS_WORLDS[name]


def day_number(date: str) -> int:
    return int(np.datetime64(date, "D").astype(np.int64))


def to_datetime(days: np.ndarray) -> pd.Series:
    """int days (NaN/negative sentinel -> NaT) as datetime64[ns]."""
    values = np.asarray(days, dtype="float64")
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    known = ~np.isnan(values)
    out[known] = values[known].astype(np.int64).astype("datetime64[D]")
    return pd.Series(out.astype("datetime64[ns]"))


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start_day(months: np.ndarray) -> np.ndarray:
    return np.asarray(months, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Calendar month arithmetic, day clipped to the month's end (as SQL interval arithmetic does)."""
    shifted = pd.DatetimeIndex(to_datetime(days)) + pd.DateOffset(months=months)
    return shifted.to_numpy().astype("datetime64[D]").astype(np.int64)


def _ids(prefix: str, count: int, width: int, start: int = 1) -> np.ndarray:
    """prefix + zero-padded sequence numbers, e.g. D-0000001 (wider when the numbers need it)."""
    numbers = np.arange(start, start + count, dtype=np.int64)
    width = max(width, len(str(start + count - 1)))
    # 10**width + n prints as "1" + the padded digits; swap that leading "1" for the prefix's code points
    digits = (numbers + 10**width).astype(f"U{width + 1}").view(np.uint32).reshape(count, width + 1)
    prefix_codes = np.frombuffer(prefix.encode("utf-32-le"), dtype=np.uint32)
    codes = np.hstack([np.broadcast_to(prefix_codes, (count, len(prefix_codes))), digits[:, 1:]])
    return np.ascontiguousarray(codes).view(f"U{len(prefix) + width}").ravel().astype(object)


def _labels(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    """Object array of shared label strings (one Python string per label, not per row)."""
    return np.array(names, dtype=object)[codes]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _count_before(event_keys_sorted: np.ndarray, group: np.ndarray, key: np.ndarray, side: str) -> np.ndarray:
    """Per query row: events of the same group with key < (side='left') or <= (side='right') the row's key.

    Keys are group * KEY_SPAN + time, so one searchsorted answers all groups at once.
    """
    return np.searchsorted(event_keys_sorted, group * KEY_SPAN + key, side=side) - np.searchsorted(
        event_keys_sorted, group * KEY_SPAN, side="left"
    )


KEY_SPAN = 1 << 20  # larger than any day or month number used here


# --------------------------------------------------------------------------- plan

def strategy_plan() -> pd.DataFrame:
    """Two plan versions; the first starts after the first deals, so early deals have no alignment."""
    rows = [
        # version 1: land in enterprise software / finance in North America and EMEA; avoid public sector, services
        ("2021-04-01", "segment", "enterprise", "target", 1.0),
        ("2021-04-01", "segment", "mid_market", "target", 0.5),
        ("2021-04-01", "segment", "smb", "avoid", 1.0),
        ("2021-04-01", "industry", "software", "target", None),
        ("2021-04-01", "industry", "financial_services", "target", None),
        ("2021-04-01", "industry", "public_sector", "avoid", None),
        ("2021-04-01", "product_line", "Platform", "target", 2.0),
        ("2021-04-01", "product_line", "analytics", "target", 3.0),
        ("2021-04-01", "product_line", "services", "avoid", 1.0),
        ("2021-04-01", "region", "north_america", "target", 1.0),
        ("2021-04-01", "region", "emea", "target", 1.0),
        # version 2: pivot to healthcare and security, grow existing customers, stop selling training
        ("2023-07-01", "segment", "enterprise", "target", 1.0),
        ("2023-07-01", "segment", "mid_market", "target", 1.0),
        ("2023-07-01", "segment", "SMB", "avoid", 1.0),
        ("2023-07-01", "industry", "healthcare", "target", 1.5),
        ("2023-07-01", "industry", "software", "target", 1.0),
        ("2023-07-01", "industry", "retail", "avoid", 1.0),
        ("2023-07-01", "industry", "defense", "avoid", 1.0),  # named in the plan, absent from the data
        ("2023-07-01", "product_line", "security", "target", 3.0),
        ("2023-07-01", "product_line", "Analytics", "target", 2.0),
        ("2023-07-01", "product_line", "training", "avoid", 2.0),
        ("2023-07-01", "deal_type", "expansion", "target", 2.0),
        ("2023-07-01", "region", "apac", "avoid", 0.5),
    ]
    plan = pd.DataFrame(rows, columns=list(CONTRACT_COLUMNS["strategy_plan"]))
    plan["effective_from"] = pd.to_datetime(plan["effective_from"])
    plan["weight"] = plan["weight"].astype(float)
    return plan


def _target_product_lines(plan: pd.DataFrame) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Per plan version (sorted days): the product lines it targets and their weights, normalised."""
    targets = plan[(plan["dimension"] == "product_line") & (plan["stance"] == "target")]
    versions = np.sort(plan["effective_from"].unique())
    per_version = []
    for effective_from in versions:
        rows = targets[targets["effective_from"] == effective_from]
        weight = rows["weight"].fillna(1.0).to_numpy()
        per_version.append((rows["value"].str.lower().to_numpy(dtype=object), weight / weight.sum()))
    version_days = versions.astype("datetime64[D]").astype(np.int64)
    return version_days, per_version


# ----------------------------------------------------------------------- accounts

@dataclass(frozen=True)
class _Accounts:
    frame: pd.DataFrame
    log_employees: np.ndarray
    size: np.ndarray  # standardised log employee_count
    created_day: np.ndarray
    owner: np.ndarray


def _company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    first = np.array(["Blue", "North", "Silver", "Bright", "Iron", "Green", "Summit", "Harbor", "Pioneer", "Clear",
                      "Red", "Golden", "Atlas", "Nova", "Cedar", "Granite", "Swift", "Open", "Prime", "True"])
    second = np.array(["River", "Peak", "Field", "Bridge", "Stone", "Wave", "Point", "Gate", "Works", "Labs",
                       "Logic", "Path", "Forge", "Line", "Street", "Oak", "Star", "Vale", "Crest", "Port"])
    suffix = np.array(["Inc.", "LLC", "Ltd", "GmbH", "Group", "Holdings", "& Co", ", Inc.", "S.A.", "Partners"])
    names = (pd.Series(first[rng.integers(0, len(first), n)]) + " " + second[rng.integers(0, len(second), n)]
             + " " + suffix[rng.integers(0, len(suffix), n)])
    # "Blue River , Inc." -> "Blue River, Inc."; a few names carry quotes, as CRMs do
    names = names.str.replace(" , ", ", ", regex=False)
    quoted = rng.random(n) < 0.01
    names[quoted] = '"' + names[quoted].str.split(" ").str[0] + '" ' + names[quoted]
    return names.to_numpy(dtype=object)


def _owner_names() -> np.ndarray:
    first = ["Alex", "Maria", "Sam", "Priya", "Jonas", "Chen", "Fatima", "Lucas", "Ines", "Tom"]
    last = ["Rivera", "Okafor", "Lindqvist", "Novak"]
    return np.array([f"{f} {l}" for l in last for f in first][:AE_COUNT], dtype=object)


def _make_accounts(n: int, rng: np.random.Generator, missing_not_at_random: float = 0.0) -> _Accounts:
    raw_log_employees = np.clip(rng.normal(MEDIAN_LOG_EMPLOYEES, SD_LOG_EMPLOYEES, n), np.log(2), np.log(250_000))
    employee_count = np.rint(np.exp(raw_log_employees)).astype(np.int64)
    log_employees = np.log(employee_count)
    size = (log_employees - MEDIAN_LOG_EMPLOYEES) / SD_LOG_EMPLOYEES
    # segment follows size, with the fuzz of a CRM field set by hand
    size_signal = log_employees + rng.normal(0.0, 0.3, n)
    segment_code = np.select([size_signal >= np.log(1000), size_signal >= np.log(100)], [0, 1], 2)
    segment = _labels(SEGMENTS, segment_code)
    industry = rng.choice(np.array(INDUSTRIES, dtype=object), n, p=INDUSTRY_SHARES)
    region = rng.choice(np.array(REGIONS, dtype=object), n, p=REGION_SHARES)
    industry[rng.random(n) < 0.02] = None
    region[rng.random(n) < 0.01] = None
    exported_employees = pd.array(employee_count, dtype="Int64")
    # the same draws whatever the knob: small accounts' counts go missing more often when it is on
    missing_probability = 0.03 + missing_not_at_random * (1.0 - _sigmoid(2.0 * (log_employees - MEDIAN_LOG_EMPLOYEES)
                                                                      / SD_LOG_EMPLOYEES))
    exported_employees[rng.random(n) < missing_probability] = pd.NA
    created_day = rng.integers(day_number(ACCOUNTS_FROM), day_number(ACCOUNTS_TO) + 1, n)
    owner = rng.integers(0, AE_COUNT, n)
    frame = pd.DataFrame(
        {
            "account_id": _ids("A-", n, 6),
            "account_name": _company_names(rng, n),
            "segment": segment,
            "industry": industry,
            "region": region,
            "employee_count": exported_employees,
            "created_at": to_datetime(created_day),
        }
    )
    return _Accounts(frame, log_employees, size, created_day, owner)


# -------------------------------------------------------------------------- deals

@dataclass(frozen=True)
class _Deals:
    """Latest state of each deal, sorted by (account, created day); history rows are added at export."""

    frame: pd.DataFrame
    account: np.ndarray  # account row index
    created_day: np.ndarray
    closed_day: np.ndarray  # NaN when open
    alignment: np.ndarray
    base_margin: np.ndarray
    sequence: np.ndarray  # position in deal_id order


def _deal_counts(accounts: _Accounts, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First deal day per account and deal count; accounts whose first deal would fall after the snapshot have none."""
    n = len(accounts.created_day)
    first_day = accounts.created_day + np.floor(rng.exponential(90.0, n)).astype(np.int64)
    before_start = first_day < day_number(FIRST_DEAL_DATE)
    first_day[before_start] = day_number(FIRST_DEAL_DATE) + rng.integers(0, 90, int(before_start.sum()))
    has_deals = first_day <= day_number(SNAPSHOT_DATE)
    span_years = np.clip(day_number(SNAPSHOT_DATE) - first_day, 0, None) / 365.25
    extra = rng.poisson(EXTRA_DEALS_PER_YEAR * span_years * np.exp(0.35 * accounts.size))
    return first_day, np.where(has_deals, 1 + extra, 0)


def _make_deals(accounts: _Accounts, plan: pd.DataFrame, rng: np.random.Generator,
                steering_shift: np.ndarray | None = None) -> tuple[_Deals, np.ndarray, np.ndarray]:
    """Deals, first deal day per account, and each AE's plan adherence (logit scale).

    steering_shift: per account, added to the logit of steering a deal onto a targeted line."""
    first_day, deal_count = _deal_counts(accounts, rng)
    account = np.repeat(np.arange(len(deal_count)), deal_count)
    n = len(account)
    position = np.arange(n) - np.repeat(np.cumsum(deal_count) - deal_count, deal_count)
    is_first = position == 0
    span_days = day_number(SNAPSHOT_DATE) - first_day[account]
    created_day = first_day[account] + np.where(is_first, 0, np.floor(rng.random(n) * (span_days + 1))).astype(np.int64)
    order = np.lexsort((~is_first, created_day, account))
    account, created_day, is_first = account[order], created_day[order], is_first[order]
    size = accounts.size[account]

    later_type = np.where(rng.random(n) < 0.55, 1, 2)
    deal_type = _labels(DEAL_TYPES, np.where(is_first, 0, later_type))

    # Strategic attention (confounder): the larger the account, the likelier its deal is
    # steered onto a product line the plan in force targets.
    product_line = rng.choice(np.array(PRODUCT_LINES, dtype=object), n, p=PRODUCT_SHARES)
    version_days, version_targets = _target_product_lines(plan)
    version = np.searchsorted(version_days, created_day, side="right") - 1
    # Account executives differ in how closely they follow the plan (one adherence per AE, applied to
    # the account's AE): alignment varies between accounts of the same size, segment and industry.
    ae_plan_adherence = rng.normal(0.0, AE_PLAN_ADHERENCE_SD, AE_COUNT)
    steer_logit = -1.0 + 1.2 * size + ae_plan_adherence[accounts.owner[account]]
    if steering_shift is not None:
        steer_logit = steer_logit + steering_shift[account]
    steered = rng.random(n) < _sigmoid(steer_logit)
    for number, (targets, weights) in enumerate(version_targets):
        rows = steered & (version == number)
        product_line[rows] = rng.choice(targets, int(rows.sum()), p=weights)

    account_frame = accounts.frame
    dims = pd.DataFrame(
        {
            "created_at": to_datetime(created_day),
            "segment": account_frame["segment"].to_numpy()[account],
            "industry": account_frame["industry"].to_numpy()[account],
            "region": account_frame["region"].to_numpy()[account],
            "product_line": product_line,
            "deal_type": deal_type,
        }
    )
    alignment = strategic_alignment(dims, plan).to_numpy()

    product = pd.Index(PRODUCT_LINES).get_indexer(product_line)
    cycle_days = np.ceil(np.exp(rng.normal(3.8 + 0.25 * size, 0.6))).astype(np.int64)
    closed_day = (created_day + cycle_days).astype(float)
    is_open = closed_day > day_number(SNAPSHOT_DATE)
    closed_day[is_open] = np.nan

    has_competitor = rng.random(n) < 0.6
    competitor = np.where(has_competitor, rng.choice(np.array(COMPETITORS, dtype=object), n), None)
    discount = np.clip(rng.beta(2.0, 9.0, n) + 0.05 * has_competitor + 0.02 * size, 0.0, 0.7)
    win_logit = (0.1 + 0.25 * size + 0.9 * (deal_type == "renewal") + 0.4 * (deal_type == "expansion")
                 - 0.5 * has_competitor + 1.5 * discount)
    won = ~is_open & (rng.random(n) < _sigmoid(win_logit))
    stage = _labels(STAGES, np.where(is_open, 2, np.where(won, 0, 1)))
    lost = stage == "lost"

    log_list = (9.6 + 0.55 * size + np.asarray(PRODUCT_LOG_PRICE)[product]
                - 0.1 * (deal_type == "renewal") - 0.4 * (deal_type == "expansion") + rng.normal(0.0, 0.6, n))
    list_amount = np.round(np.exp(log_list), 2)
    quoted_open = is_open & (rng.random(n) < 0.5)
    final_amount = np.where(won | quoted_open, np.round(list_amount * (1.0 - discount), 2), np.nan)
    loss_reason = np.where(lost & (rng.random(n) < 0.9), rng.choice(np.array(LOSS_REASONS, dtype=object), n), None)
    base_margin = np.asarray(PRODUCT_BASE_MARGIN)[product] - 0.5 * discount + rng.normal(0.0, 0.04, n)
    flag_logit = -2.3 + 0.6 * size + 1.5 * np.nan_to_num(alignment) + 0.8 * (dims["segment"] == "enterprise")
    flagged = rng.random(n) < _sigmoid(flag_logit.to_numpy())
    owners = _owner_names()
    owner_index = np.where(rng.random(n) < 0.85, accounts.owner[account], rng.integers(0, AE_COUNT, n))

    # CRM ids follow creation order
    id_order = np.lexsort((account, created_day))
    deal_sequence = np.empty(n, dtype=np.int64)
    deal_sequence[id_order] = np.arange(n)
    deal_id = _ids("D-", n, 7)[deal_sequence]

    frame = pd.DataFrame(
        {
            "deal_id": deal_id,
            "account_id": account_frame["account_id"].to_numpy()[account],
            "deal_type": deal_type,
            "product_line": product_line,
            "created_at": dims["created_at"],
            "closed_at": to_datetime(closed_day),
            "stage": stage,
            "list_amount": list_amount,
            "final_amount": final_amount,
            "gross_margin_pct": np.nan,  # set once the account's events are known
            "competitor": competitor,
            "loss_reason": loss_reason,
            "flagged_strategic": flagged,
            "owner": owners[owner_index],
            "updated_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        }
    )
    deals = _Deals(frame, account, created_day, closed_day, alignment, base_margin, deal_sequence)
    return deals, first_day, ae_plan_adherence


def _updated_at_and_history(deals: pd.DataFrame, deal_sequence: np.ndarray, created_day: np.ndarray,
                            closed_day: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Stamp updated_at on most deals and add older CRM snapshots (open, pre-close) for a few closed ones."""
    n = len(deals)
    snapshot = day_number(SNAPSHOT_DATE)
    is_open = np.isnan(closed_day)
    last_change_day = np.where(
        is_open,
        created_day + np.floor(rng.random(n) * (snapshot - created_day + 1)),
        np.minimum(np.nan_to_num(closed_day) + rng.integers(0, 21, n), snapshot),
    ).astype(np.int64)
    seconds = rng.integers(7 * 3600, 20 * 3600, n)
    stamped = rng.random(n) < 0.7
    updated = last_change_day.astype("datetime64[D]").astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    latest = deals  # the caller's own copy
    latest["updated_at"] = pd.Series(np.where(stamped, updated, np.datetime64("NaT")).astype("datetime64[ns]"))

    with_history = stamped & ~is_open & (rng.random(n) < 0.04)
    history = latest[with_history].copy()
    created, closed = created_day[with_history], closed_day[with_history].astype(np.int64)
    # an earlier day strictly before closing (cycles are >= 1 day), so history is always older
    history_day = created + np.floor(rng.random(len(history)) * (closed - created)).astype(np.int64)
    history_seconds = rng.integers(7 * 3600, 20 * 3600, len(history))
    history["updated_at"] = (history_day.astype("datetime64[D]").astype("datetime64[s]")
                             + history_seconds.astype("timedelta64[s]")).astype("datetime64[ns]")
    history["stage"] = "open"
    history["closed_at"] = pd.NaT
    history["final_amount"] = np.nan
    history["loss_reason"] = None
    history["list_amount"] = np.round(history["list_amount"].to_numpy() * 1.08, 2)

    # history rows land before or after their deal's latest row, as exports do
    both = pd.concat([latest, history], ignore_index=True)
    deal_number = np.concatenate([deal_sequence, deal_sequence[with_history]])
    tie_break = rng.random(len(both))
    return both.iloc[np.lexsort((tie_break, deal_number))].reset_index(drop=True)


# ------------------------------------------------------------------------- events

NOTE_TEMPLATES = {
    "escalated_over_buyer": ("AE emailed the CFO directly after procurement stalled",
                             'Went over the buyer\'s head; buyer said "we will remember this"',
                             "Escalated to their VP, copied our CRO"),
    "buyer_management_took_over": ("Their head of procurement now runs the negotiation",
                                   "Buyer removed from thread, management negotiating, tone colder",
                                   "New negotiator from finance;\nasked for full price breakdown"),
    "commitment_broken": ("Integration promised for Q2 slipped again",
                          "Missed the agreed SLA review date",
                          'Promised "dedicated support", not delivered'),
    "concession_reneged": ("Withdrew the 5% loyalty discount after signature",
                           "Took back free onboarding hours, finance override",
                           "Reversed payment terms, net 60 -> net 30"),
    "second_source_added": ("Customer onboarded a second vendor for 30% of volume",
                            "Dual-sourcing now, competitor got the EU sites",
                            "RFP issued to two other suppliers"),
    "surprise_price_increase": ("List price +12% at renewal without notice",
                                "Invoice showed new usage fees, customer upset",
                                "Price uplift applied, no heads-up, \"unacceptable\" per buyer"),
    "commitment_kept": ("Delivered the roadmap feature on the promised date",
                        "Support response under SLA all quarter",
                        "Migration finished on time, as promised"),
    "joint_planning": ("Quarterly planning workshop, both teams present",
                       "Joint plan for 2025 rollout agreed, owners named",
                       "Account planning session;\nnext steps shared"),
    "executive_sponsor_aligned": ("Our COO and their CIO agreed on 3-year goals",
                                  "Exec sponsors met, priorities aligned",
                                  'Sponsor call: "we want to grow with you"'),
    "value_review_delivered": ("QBR delivered, showed 18% cost reduction",
                               "Value review: hours saved, adoption, ROI",
                               "Annual value report presented to their board"),
    "concession_reciprocated": ("We extended the term, they gave a case study",
                                "Discount traded for a 3-year commitment",
                                "Faster payment in exchange for extra seats"),
    "competitor_price_cut": ("Competitor offered 25% below our quote",
                             "Rival cut price, buyer asked us to match",
                             "Competitor free year offer, \"hard to ignore\""),
}


@dataclass(frozen=True)
class _Events:
    frame: pd.DataFrame
    account: np.ndarray
    day: np.ndarray
    eroding: np.ndarray  # bool
    building: np.ndarray  # bool


def _make_events(accounts: _Accounts, deals: _Deals, first_day: np.ndarray, has_deals: np.ndarray,
                 chain_prob: tuple[float, float], rng: np.random.Generator,
                 eroding_rate_factor: np.ndarray | None = None, rate_factor: float = 1.0) -> _Events:
    """Account-level Poisson counts per type over the account's life since its first deal, plus the escalation chain."""
    n_accounts = len(first_day)
    snapshot = day_number(SNAPSHOT_DATE)
    span_days = np.where(has_deals, snapshot - first_day + 1, 0)
    # account-level frailty: some relationships are simply warmer than their size suggests. Eroding events
    # have none (only size and the escalation chain): an unobserved frailty would make early eroding events
    # predict later ones, so their per-event effect on later value would not be identified from the data.
    eroding_frailty = np.ones(n_accounts) if eroding_rate_factor is None else eroding_rate_factor
    building_frailty = rng.gamma(3.0, 1.0 / 3.0, n_accounts)
    rate = np.empty((n_accounts, len(EVENT_TYPES)))
    for column, event_type in enumerate(EVENT_TYPES):
        frailty = eroding_frailty if event_type in TRUST_ERODING else (
            building_frailty if event_type in TRUST_BUILDING else 1.0)
        rate[:, column] = (EVENT_RATE_PER_YEAR[event_type] * rate_factor * frailty
                           * np.exp(EVENT_SIZE_ELASTICITY[event_type] * accounts.size) * span_days / 365.25)
    counts = rng.poisson(rate)
    account = np.repeat(np.tile(np.arange(n_accounts)[:, None], (1, len(EVENT_TYPES))).ravel(), counts.ravel())
    type_index = np.repeat(np.tile(np.arange(len(EVENT_TYPES)), n_accounts), counts.ravel())
    day = first_day[account] + np.floor(rng.random(len(account)) * span_days[account]).astype(np.int64)

    # escalation -> (1-3 months) buyer management takes over -> (2-6 months) second source added
    takeover_prob, second_source_prob = chain_prob
    escalation = type_index == EVENT_TYPES.index("escalated_over_buyer")
    takeover = escalation & (rng.random(len(account)) < takeover_prob)
    takeover_account, takeover_day = account[takeover], day[takeover] + rng.integers(30, 92, int(takeover.sum()))
    second = rng.random(len(takeover_account)) < second_source_prob
    second_account = takeover_account[second]
    second_day = takeover_day[second] + rng.integers(60, 184, int(second.sum()))
    account = np.concatenate([account, takeover_account, second_account])
    day = np.concatenate([day, takeover_day, second_day])
    type_index = np.concatenate([
        type_index,
        np.full(len(takeover_account), EVENT_TYPES.index("buyer_management_took_over")),
        np.full(len(second_account), EVENT_TYPES.index("second_source_added")),
    ])
    observed = day <= snapshot
    account, day, type_index = account[observed], day[observed], type_index[observed]
    order = np.lexsort((account, day))
    account, day, type_index = account[order], day[order], type_index[order]
    n = len(account)

    # link about half the events to the account's latest deal created on or before the event
    deal_keys = deals.account * KEY_SPAN + deals.created_day  # deals are sorted by (account, created_day)
    latest_deal = np.searchsorted(deal_keys, account * KEY_SPAN + day, side="right") - 1
    linkable = (latest_deal >= 0) & (deals.account[np.clip(latest_deal, 0, None)] == account)
    linked = linkable & (rng.random(n) < 0.55)
    deal_id = np.where(linked, deals.frame["deal_id"].to_numpy()[np.clip(latest_deal, 0, None)], None)

    templates = np.array([NOTE_TEMPLATES[t] for t in EVENT_TYPES], dtype=object)
    notes = templates[type_index, rng.integers(0, 3, n)]
    notes[rng.random(n) < 0.2] = None
    event_types = np.array(EVENT_TYPES, dtype=object)[type_index]
    frame = pd.DataFrame(
        {
            "event_id": _ids("E-", n, 8),
            "account_id": accounts.frame["account_id"].to_numpy()[account],
            "deal_id": deal_id,
            "occurred_at": to_datetime(day),
            "event_type": event_types,
            "severity": rng.choice(np.array([1, 2, 3]), n, p=[0.55, 0.32, 0.13]),
            "notes": notes,
        }
    )
    eroding = np.isin(event_types, TRUST_ERODING)
    building = np.isin(event_types, TRUST_BUILDING)
    return _Events(frame, account, day, eroding, building)


# ------------------------------------------------------------------------ revenue

def _running_count_within(flags: np.ndarray, group_sizes: np.ndarray) -> np.ndarray:
    """Inclusive running count of flags, restarted at each group of consecutive rows."""
    running = np.cumsum(flags)
    nonempty = group_sizes > 0
    starts = (np.cumsum(group_sizes) - group_sizes)[nonempty]
    before_group = running[starts] - flags[starts]
    return running - np.repeat(before_group, group_sizes[nonempty])


def _sorted_keys(account: np.ndarray, time: np.ndarray) -> np.ndarray:
    return np.sort(account * KEY_SPAN + time)


def _first_won_day(deals: _Deals, n_accounts: int) -> np.ndarray:
    """Per account the earliest closed_at of a won deal (inf when never won): the customer relationship starts."""
    won = deals.frame["stage"].to_numpy() == "won"
    first_won_day = np.full(n_accounts, np.inf)
    np.minimum.at(first_won_day, deals.account[won], deals.closed_day[won])
    return first_won_day


def _make_revenue(accounts: _Accounts, deals: _Deals, events: _Events, obs_alignment_for_effect: np.ndarray,
                  window_end_day: np.ndarray, effects: EffectSizes,
                  rng: np.random.Generator, level_shift: np.ndarray | None = None,
                  effect_factor: np.ndarray | None = None,
                  alignment_at_deal: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """Monthly revenue from the first won deal's month until churn or the snapshot month; returns (frame, churn month).

    Stress knobs (None / False: the default world): level_shift adds to every month's log revenue of an
    account, effect_factor multiplies an account's alignment and trust-eroding effects, alignment_at_deal
    starts each aligned window deal's share of the alignment effect in the deal's month."""
    n_accounts = len(accounts.size)
    first_won_day = _first_won_day(deals, n_accounts)
    customer = np.isfinite(first_won_day)
    start_month = np.where(customer, month_index(np.nan_to_num(first_won_day, posinf=0).astype(np.int64)), 0)
    last_month = month_index(np.array([day_number(SNAPSHOT_DATE)]))[0]
    month_count = np.where(customer, last_month - start_month + 1, 0)

    account = np.repeat(np.arange(n_accounts), month_count)
    offset = np.arange(len(account)) - np.repeat(np.cumsum(month_count) - month_count, month_count)
    month = start_month[account] + offset
    size = accounts.size[account]

    event_month = month_index(events.day)
    eroding_so_far = _count_before(_sorted_keys(events.account[events.eroding], event_month[events.eroding]),
                                   account, month, side="right")
    building_so_far = _count_before(_sorted_keys(events.account[events.building], event_month[events.building]),
                                    account, month, side="right")
    after_window = month_start_day(month) >= window_end_day[account]
    alignment_term = obs_alignment_for_effect[account] * after_window
    if alignment_at_deal:
        alignment_term = _alignment_from_deal_month(deals, window_end_day, account, month)
    alignment_effect = effects.alignment_log_revenue * alignment_term
    eroding_effect = effects.eroding_log_revenue * eroding_so_far
    if effect_factor is not None:
        alignment_effect = alignment_effect * effect_factor[account]
        eroding_effect = eroding_effect * effect_factor[account]

    base_log_revenue = 8.3 + 0.75 * (accounts.log_employees - MEDIAN_LOG_EMPLOYEES) + rng.normal(0.0, 0.35, n_accounts)
    base_margin_share = 0.55 + rng.normal(0.0, 0.06, n_accounts)
    if level_shift is not None:
        base_log_revenue = base_log_revenue + level_shift
    log_revenue = (base_log_revenue[account] + 0.006 * offset
                   + alignment_effect
                   + eroding_effect
                   + effects.building_log_revenue * building_so_far
                   + rng.normal(0.0, 0.08, len(account)))
    revenue = np.round(np.exp(log_revenue), 2)
    margin_share = np.clip(base_margin_share[account] + effects.eroding_margin_pct * eroding_so_far
                           + rng.normal(0.0, 0.02, len(account)), -1.0, 1.0)

    # churn: monthly hazard falls with size and rises by (1 + eroding_churn_hazard) per eroding event;
    # the month it happens has no revenue, nor any month after it
    hazard = np.clip(0.012 * np.exp(-0.35 * size) * (1.0 + effects.eroding_churn_hazard) ** eroding_so_far, 0, 1)
    churns = (rng.random(len(account)) < hazard) & (offset > 0)
    churned_so_far = _running_count_within(churns, month_count)
    keep = churned_so_far == 0
    first_churn = churns & (churned_so_far == 1)
    churn_month = np.full(n_accounts, -1, dtype=np.int64)
    churn_month[account[first_churn]] = month[first_churn]

    frame = pd.DataFrame(
        {
            "account_id": accounts.frame["account_id"].to_numpy()[account[keep]],
            "month": to_datetime(month_start_day(month[keep])),
            "revenue": revenue[keep],
            "gross_margin": np.round(revenue[keep] * margin_share[keep], 2),
        }
    )
    return frame, churn_month


def _alignment_from_deal_month(deals: _Deals, window_end_day: np.ndarray, account: np.ndarray,
                               month: np.ndarray) -> np.ndarray:
    """Per revenue row: the sum over the account's scored deals created in its observation window and in
    or before the row's month of alignment / (scored deals in the window). After the window this is the
    window's mean alignment, as in the default world; before it the effect builds up deal by deal."""
    n_accounts = len(window_end_day)
    in_window = (deals.created_day < window_end_day[deals.account]) & ~np.isnan(deals.alignment)
    scored = np.bincount(deals.account[in_window], minlength=n_accounts)
    deal_account = deals.account[in_window]
    weight = deals.alignment[in_window] / scored[deal_account]
    keys = deal_account * KEY_SPAN + month_index(deals.created_day[in_window])
    order = np.argsort(keys, kind="stable")
    keys, cumulative = keys[order], np.concatenate([[0.0], np.cumsum(weight[order])])
    upto = np.searchsorted(keys, account * KEY_SPAN + month, side="right")
    start = np.searchsorted(keys, account * KEY_SPAN, side="left")
    return cumulative[upto] - cumulative[start]


# -------------------------------------------------------------------------- world

def _observation_truth(accounts: _Accounts, deals: _Deals, events: _Events, first_day: np.ndarray,
                       has_deals: np.ndarray, observation_months: int) -> pd.DataFrame:
    """The window the effects act on: from the first deal to `observation_months` after the month the
    account became a customer (its first won deal closed); never-won accounts have no window (NaT)."""
    n_accounts = len(first_day)
    first_won_day = _first_won_day(deals, n_accounts)
    customer = np.isfinite(first_won_day)
    customer_since = np.where(customer, month_start_day(month_index(np.where(customer, first_won_day, 0))), 0)
    # never-won accounts get an empty window (end = first day) for the counts below
    window_end = np.where(customer, add_months(customer_since, observation_months), first_day)
    in_window = deals.created_day < window_end[deals.account]  # every deal is on/after its account's first day
    aligned = in_window & ~np.isnan(deals.alignment)
    alignment_sum = np.bincount(deals.account[aligned], weights=deals.alignment[aligned], minlength=n_accounts)
    aligned_count = np.bincount(deals.account[aligned], minlength=n_accounts)
    events_in_window = (events.day >= first_day[events.account]) & (events.day < window_end[events.account])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_alignment = np.where(aligned_count > 0, alignment_sum / aligned_count, np.nan)
    return pd.DataFrame(
        {
            "account_id": accounts.frame["account_id"].to_numpy(),
            "first_deal_at": to_datetime(np.where(has_deals, first_day, np.nan)),
            "customer_since": to_datetime(np.where(customer, customer_since, np.nan)),
            "obs_window_end": to_datetime(np.where(customer, window_end, np.nan)),
            "obs_deals": np.bincount(deals.account[in_window], minlength=n_accounts),
            "obs_aligned_deals": aligned_count,
            "obs_mean_alignment": mean_alignment,
            "obs_eroding_events": np.bincount(events.account[events_in_window & events.eroding], minlength=n_accounts),
            "obs_building_events": np.bincount(events.account[events_in_window & events.building], minlength=n_accounts),
            "log_employee_count": accounts.log_employees,
        }
    )


def generate_world_with_truth(
    n_accounts: int, seed: int, effects: EffectSizes = EffectSizes(), observation_months: int = 12,
    stress: StressKnobs = StressKnobs(),
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The five contract tables and, per account, the true quantities the effects were planted on.

    Truth columns: account_id, first_deal_at, customer_since (month of the first won deal's close; NaT if
    never won), obs_window_end (exclusive: customer_since + observation_months; NaT if never won), obs_deals,
    obs_aligned_deals,
    obs_mean_alignment (NaN when no deal in the window has an alignment), obs_eroding_events,
    obs_building_events, log_employee_count (true, also where the export hides employee_count),
    churn_month (first month without revenue, NaT if none).
    """
    if n_accounts < 1:
        raise ValueError("n_accounts must be at least 1")
    # the sixth stream serves the stress knobs only: the first five are the same with or without it
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    account_rng, deal_rng, event_rng, history_rng, revenue_rng, stress_rng = streams

    plan = strategy_plan()
    accounts = _make_accounts(n_accounts, account_rng, stress.missing_not_at_random)
    health = stress_rng.normal(0.0, 1.0, n_accounts) if stress.health else np.zeros(n_accounts)
    deals, first_day, ae_plan_adherence = _make_deals(
        accounts, plan, deal_rng, 2.0 * stress.health * health if stress.health else None)
    has_deals = np.bincount(deals.account, minlength=n_accounts) > 0
    events = _make_events(accounts, deals, first_day, has_deals, effects.escalation_chain_prob, event_rng,
                          np.exp(-stress.health * health) if stress.health else None, stress.event_rate_factor)
    truth = _observation_truth(accounts, deals, events, first_day, has_deals, observation_months)

    eroding_before_deal = _count_before(_sorted_keys(events.account[events.eroding], events.day[events.eroding]),
                                        deals.account, deals.created_day, side="left")
    margin = np.clip(deals.base_margin + effects.eroding_margin_pct * eroding_before_deal, -1.0, 1.0)
    deal_frame = deals.frame  # internal frame, no longer shared
    deal_frame["gross_margin_pct"] = np.where(history_rng.random(len(margin)) < 0.02, np.nan, np.round(margin, 4))
    deal_frame = _updated_at_and_history(deal_frame, deals.sequence, deals.created_day, deals.closed_day, history_rng)

    window_end_day = truth["obs_window_end"].to_numpy().astype("datetime64[D]").astype(np.int64)
    level_shift = (stress.health * health
                   + stress.ae_skill * ae_plan_adherence[accounts.owner] / AE_PLAN_ADHERENCE_SD
                   + stress.size_industry_interaction * accounts.size
                   * (accounts.frame["industry"].to_numpy() == "software"))
    segment_code = pd.Index(SEGMENTS).get_indexer(accounts.frame["segment"])
    effect_factor = np.asarray(stress.segment_effect_factors)[segment_code]
    revenue, churn_month = _make_revenue(
        accounts, deals, events, np.nan_to_num(truth["obs_mean_alignment"].to_numpy()), window_end_day, effects,
        revenue_rng, None if stress.is_default else level_shift, None if stress.is_default else effect_factor,
        stress.alignment_effect_at_deal,
    )
    truth["churn_month"] = to_datetime(np.where(churn_month >= 0, month_start_day(churn_month), np.nan))

    frames = {
        "accounts": accounts.frame,
        "deals": deal_frame,
        "negotiation_events": events.frame,
        "account_revenue": revenue,
        "strategy_plan": plan,
    }
    return {name: frames[name][list(CONTRACT_COLUMNS[name])] for name in TABLES}, truth


@overload
def generate_world(n_accounts: int, seed: int, effects: EffectSizes = ..., observation_months: int = ...,
                   return_truth: Literal[False] = ..., stress: StressKnobs = ...) -> dict[str, pd.DataFrame]: ...
@overload
def generate_world(n_accounts: int, seed: int, effects: EffectSizes = ..., observation_months: int = ...,
                   *, return_truth: Literal[True], stress: StressKnobs = ...
                   ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]: ...
def generate_world(n_accounts, seed, effects=EffectSizes(), observation_months=12, return_truth=False,
                   stress=StressKnobs()):
    """The five contract tables (typed); with return_truth=True also the per-account truth table."""
    frames, truth = generate_world_with_truth(n_accounts, seed, effects, observation_months, stress)
    return (frames, truth) if return_truth else frames
