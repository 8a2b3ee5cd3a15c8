"""The statistics tables: one registry of every table the analysis step writes.

For each table: its name, its columns (DuckDB type, NOT NULL, a description), its primary key and
what it holds. Writers create tables from it (`Table.ddl`), the dashboards read by it
(`dashboards.reads.read_registered`), docs/statistics.md lists it (`markdown`; a test keeps the two
equal) and the Dagster analysis step declares one asset per table from it.
A column name that is not in the registry is an error (`Table.column`), never a silent NULL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class UnknownColumn(KeyError):
    """A column named by a writer or reader that its registered table does not have."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    not_null: bool
    description: str


@dataclass(frozen=True)
class Table:
    name: str  # schema.table
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    writer: str  # the function that writes it

    @property
    def schema(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def not_null(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.not_null)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise UnknownColumn(f"{self.name} has no column {name!r} (registered: {', '.join(self.column_names)})")

    def check_columns(self, names: Iterable[str]) -> list[str]:
        """The names, each checked against the registry (UnknownColumn on a misspelling)."""
        return [self.column(name).name for name in names]

    def ddl(self) -> str:
        """`create or replace table` with explicit types, so the table keeps its schema even when every
        estimate is NULL."""
        lines = [f"    {c.name} {c.type}{' NOT NULL' if c.not_null else ''}" for c in self.columns]
        if self.primary_key:
            lines.append(f"    PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"create or replace table {self.name} (\n" + ",\n".join(lines) + "\n)"

    def insert_by_name(self, view: str) -> str:
        return f"insert into {self.name} by name select * from {view}"


def _columns(spec: str) -> tuple[Column, ...]:
    """Columns from lines 'name TYPE [NOT NULL]: description' (a description may continue on the
    next, indented line)."""
    columns: list[Column] = []
    for line in spec.strip("\n").splitlines():
        if not line.strip():
            continue
        if line.startswith("        ") and columns:  # continuation of the previous description
            last = columns.pop()
            columns.append(Column(last.name, last.type, last.not_null, f"{last.description} {line.strip()}"))
            continue
        head, _, description = line.strip().partition(": ")
        name, type_, *rest = head.split()
        columns.append(Column(name, type_, rest == ["NOT", "NULL"], description.strip()))
    return tuple(columns)


HYPOTHESIS_TESTS = Table(
    "main.hypothesis_tests",
    "One row per hypothesis key and test: estimates, intervals, p-values, sizes, robustness, verdict "
    "(models.hypotheses.run_statistics, models.within_account, models.diagnostics, models.verdicts).",
    _columns("""
    hypothesis VARCHAR NOT NULL: the key: the hypothesis, or '<hypothesis>:<test>' / '<hypothesis>:<event_type>'
    test VARCHAR NOT NULL: adjusted_effect, cross_sectional, pre_trend, future_treatment, predictive_value,
        block_permutation or placebo
    feature_block VARCHAR NOT NULL: alignment or trust
    treatment VARCHAR NOT NULL: the treatment column
    direction VARCHAR NOT NULL: the hypothesised sign: positive or negative
    estimate DOUBLE: the effect in `unit`
    ci_low DOUBLE: 95% interval, lower end
    ci_high DOUBLE: 95% interval, upper end
    bootstrap_ci_low DOUBLE: account-bootstrap percentile interval, lower end
    bootstrap_ci_high DOUBLE: account-bootstrap percentile interval, upper end
    p_value DOUBLE: two-sided p-value (one-sided for predictive value)
    p_value_holm DOUBLE: Holm-adjusted across event types (per-type rows)
    n_accounts BIGINT NOT NULL: accounts analysed
    n_excluded_censored BIGINT NOT NULL: accounts dropped: outcome window not fully observed
    n_excluded_not_customer BIGINT NOT NULL: accounts dropped: never a customer
    n_excluded_other BIGINT NOT NULL: accounts dropped for another reason (missing treatment or control)
    method VARCHAR NOT NULL: the estimator, in words
    unit VARCHAR NOT NULL: the unit of `estimate`
    supported BOOLEAN NOT NULL: effect rows: true exactly when `conclusion` is 'supported' (never for a cross-sectional row); predictive rows: p < 0.05; checks: false
    naive_estimate DOUBLE: the unadjusted slope, for comparison
    treatment_residual_share DOUBLE: var(D - m(X)) / var(D): treatment variation left after the controls
    outcome VARCHAR NOT NULL: revenue, gross_margin or any_revenue
    outcome_months DOUBLE: length of the outcome window in months
    n_permutations BIGINT: permutations of the block permutation test
    random_state BIGINT NOT NULL: the seed
    note VARCHAR: why a value is missing, exclusions, warnings
    treatment_sd DOUBLE: standard deviation of the treatment
    estimate_per_sd DOUBLE: the effect per standard deviation of the treatment
    ci_low_per_sd DOUBLE: its 95% interval, lower end
    ci_high_per_sd DOUBLE: its 95% interval, upper end
    mde_80 DOUBLE: minimum detectable effect at 80% power (2.8 x SE), in `unit`
    mde_80_per_sd DOUBLE: the same per SD of the treatment
    robustness_value DOUBLE: share of residual variance a hidden confounder must explain to move the estimate to 0
    robustness_value_alpha DOUBLE: the same to make it not significant
    e_value DOUBLE: E-value of the estimate
    e_value_ci DOUBLE: E-value of the interval end nearer 0
    benchmark_control VARCHAR: the strongest recorded control, the benchmark for a hidden one
    benchmark_r2_treatment DOUBLE: partial R^2 of the benchmark with the treatment
    benchmark_r2_outcome DOUBLE: partial R^2 of the benchmark with the outcome
    benchmark_adjusted_estimate DOUBLE: the estimate after a hidden confounder as strong as the benchmark
    benchmark_adjusted_ci_low DOUBLE: its interval, lower end
    benchmark_adjusted_ci_high DOUBLE: its interval, upper end
    observation_months DOUBLE: months from becoming a customer to the outcome window
    conclusion VARCHAR NOT NULL: supported, associated, could_be_hidden_factor, opposite_direction, untrustworthy,
        too_few_accounts, not_significant, not_run, no_result or check
    verdict VARCHAR NOT NULL: the plain-language sentence, naming the design
    """),
    ("hypothesis",),
    "models.pipeline_stage.write_hypothesis_tests",
)

HYPOTHESIS_DIAGNOSTICS = Table(
    "main.hypothesis_diagnostics",
    "Overlap, effect by segment, heterogeneity, benchmarks and the MDE curve per hypothesis "
    "(models.diagnostics; long format).",
    _columns("""
    hypothesis VARCHAR NOT NULL: the hypothesis_tests key the diagnostic belongs to
    diagnostic VARCHAR NOT NULL: treatment_residual_share, effect_by_segment, heterogeneity_q, ...
    group_name VARCHAR NOT NULL: all, segment=<s>, cohort_year=<y>, accounts=<n>, ...
    value DOUBLE: the diagnostic's value
    ci_low DOUBLE: 95% interval, lower end
    ci_high DOUBLE: 95% interval, upper end
    n_accounts BIGINT NOT NULL: accounts in the group
    note VARCHAR: why a value is missing
    """),
    ("hypothesis", "diagnostic", "group_name"),
    "models.pipeline_stage.write_hypothesis_tests",
)

PERMUTATION_NULL = Table(
    "main.permutation_null",
    "The block permutation test's null distribution: the R^2 gain with the block permuted within strata.",
    _columns("""
    hypothesis VARCHAR NOT NULL: the '<hypothesis>:block_permutation' key
    permutation BIGINT NOT NULL: 1..n_permutations
    statistic DOUBLE NOT NULL: the R^2 gain with the block permuted
    observed DOUBLE NOT NULL: the R^2 gain on the real data
    """),
    ("hypothesis", "permutation"),
    "models.pipeline_stage.write_hypothesis_tests",
)

MODEL_COMPARISON = Table(
    "main.model_comparison",
    "Out-of-fold R^2 of linear and non-linear learners on nested feature sets, on account folds and "
    "on later cohorts (models.predictive).",
    _columns("""
    split VARCHAR NOT NULL: account_folds or later_cohorts
    learner VARCHAR NOT NULL: linear or nonlinear
    feature_set VARCHAR NOT NULL: baseline, baseline+alignment, baseline+trust or all
    estimator VARCHAR NOT NULL: the scikit-learn estimator
    features VARCHAR NOT NULL: the columns used
    n_accounts BIGINT NOT NULL: accounts
    n_folds BIGINT NOT NULL: folds (or test cohorts)
    r2_mean DOUBLE: mean out-of-fold R^2
    r2_ci_low DOUBLE: 95% interval, lower end
    r2_ci_high DOUBLE: 95% interval, upper end
    gain_vs_baseline DOUBLE: R^2 gain over the baseline
    gain_ci_low DOUBLE: 95% interval, lower end
    gain_ci_high DOUBLE: 95% interval, upper end
    gain_p_value DOUBLE: corrected resampled t-test, one-sided
    r2_minus_linear DOUBLE: R^2 of this learner minus the linear one
    r2_minus_linear_ci_low DOUBLE: 95% interval, lower end
    r2_minus_linear_ci_high DOUBLE: 95% interval, upper end
    r2_minus_linear_p_value DOUBLE: corrected resampled t-test
    outcome VARCHAR NOT NULL: the outcome
    method VARCHAR NOT NULL: the procedure, in words
    random_state BIGINT NOT NULL: the seed
    note VARCHAR: why a value is missing
    """),
    ("split", "learner", "feature_set"),
    "models.pipeline_stage.write_hypothesis_tests",
)

FEATURE_IMPORTANCE = Table(
    "main.feature_importance",
    "Grouped permutation importance per learner (models.predictive).",
    _columns("""
    learner VARCHAR NOT NULL: linear or nonlinear
    feature_group VARCHAR NOT NULL: the group of correlated columns permuted together
    features VARCHAR NOT NULL: its columns
    block VARCHAR NOT NULL: the block the group belongs to
    n_features BIGINT NOT NULL: columns in the group
    importance_mean DOUBLE: drop in out-of-fold R^2 when the group is permuted
    importance_ci_low DOUBLE: 95% interval, lower end
    importance_ci_high DOUBLE: 95% interval, upper end
    n_accounts BIGINT NOT NULL: accounts
    n_folds BIGINT NOT NULL: folds
    n_repeats BIGINT NOT NULL: permutations per fold
    outcome VARCHAR NOT NULL: the outcome
    method VARCHAR NOT NULL: the procedure, in words
    random_state BIGINT NOT NULL: the seed
    note VARCHAR: why a value is missing
    """),
    ("learner", "feature_group"),
    "models.pipeline_stage.write_hypothesis_tests",
)

ACCOUNT_VALUE_FORECAST = Table(
    "main.account_value_forecast",
    "Forward-looking value per account: evaluation rows (actual known) and forecast rows (actual NULL) "
    "(models.forecast).",
    _columns("""
    account_id VARCHAR NOT NULL: the account
    segment VARCHAR: its segment
    predicted_value DOUBLE: predicted revenue over the horizon
    predicted_low DOUBLE: prediction interval, lower end
    predicted_high DOUBLE: prediction interval, upper end
    period VARCHAR NOT NULL: evaluation or forecast
    cutoff_month DATE NOT NULL: the month the forecast is made at
    horizon_months BIGINT NOT NULL: months ahead
    interval_level DOUBLE NOT NULL: the prediction interval's level
    naive_value DOUBLE: the naive forecast (last months' revenue carried forward)
    actual_value DOUBLE: revenue actually earned (NULL for forecast rows)
    """),
    ("account_id", "period"),
    "models.pipeline_stage.write_hypothesis_tests",
)

ACCOUNT_VALUE_FORECAST_EVALUATION = Table(
    "main.account_value_forecast_evaluation",
    "The forecaster against the naive forecast on the evaluation cutoff (models.forecast).",
    _columns("""
    forecaster VARCHAR NOT NULL: model or the naive forecast (naive_last_<n>_months)
    metric VARCHAR NOT NULL: mean_absolute_error, rmse_log1p, interval coverage, ...
    value DOUBLE: the metric's value
    cutoff_month DATE NOT NULL: the evaluation cutoff
    trained_at DATE NOT NULL: the training cutoff
    horizon_months BIGINT NOT NULL: months ahead
    """),
    ("forecaster", "metric"),
    "models.pipeline_stage.write_hypothesis_tests",
)

ACCOUNT_VALUE_FORECAST_DECILES = Table(
    "main.account_value_forecast_deciles",
    "Calibration of the forecast: mean predicted vs mean actual by decile of the prediction (models.forecast).",
    _columns("""
    decile BIGINT NOT NULL: 1..10, by predicted value
    mean_predicted DOUBLE: mean predicted value
    mean_actual DOUBLE: mean actual value
    n_accounts BIGINT NOT NULL: accounts in the decile
    """),
    ("decile",),
    "models.pipeline_stage.write_hypothesis_tests",
)

CALIBRATION_WORLDS = Table(
    "main.calibration_worlds",
    "Every simulated world's test results from the calibration study (models.calibration), loaded from each CSV "
    "in data/calibration/; dbt summarises them into main.calibration_summary.",
    _columns("""
    world VARCHAR NOT NULL: null or planted
    stress VARCHAR NOT NULL: the stress world (none: the default generator)
    seed BIGINT NOT NULL: the world's seed
    hypothesis VARCHAR NOT NULL: the hypothesis_tests key
    test VARCHAR NOT NULL: the test
    truth DOUBLE: the planted effect
    estimate DOUBLE: the estimate
    ci_low DOUBLE: 95% interval, lower end
    ci_high DOUBLE: 95% interval, upper end
    bootstrap_ci_low DOUBLE: bootstrap interval, lower end
    bootstrap_ci_high DOUBLE: bootstrap interval, upper end
    p_value DOUBLE: the p-value
    supported BOOLEAN NOT NULL: the verdict
    naive_estimate DOUBLE: the unadjusted slope
    n_accounts BIGINT NOT NULL: accounts analysed
    accounts_per_world BIGINT NOT NULL: accounts generated
    study_command VARCHAR: the command that ran the study
    studied_at VARCHAR: when
    """),
    ("world", "stress", "seed", "hypothesis", "test", "accounts_per_world"),
    "models.calibration.write_calibration_worlds",
)

def _dbt_model(model_yml: str, model: str) -> dict:
    """A dbt mart's YAML entry: its description and its enforced contract are the one definition."""
    import yaml

    path = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / model_yml
    [spec] = [m for m in yaml.safe_load(path.read_text())["models"] if m["name"] == model]
    return spec


def _dbt_contract_columns(spec: dict) -> tuple[Column, ...]:
    return tuple(Column(c["name"], c["data_type"].upper(),
                        any(k.get("type") == "not_null" for k in c.get("constraints", [])),
                        " ".join(str(c.get("description", "")).split()))
                 for c in spec["columns"])


def _dbt_mart(model_yml: str, model: str, primary_key: tuple[str, ...]) -> Table:
    """A dbt mart (schema main) registered from its YAML: description and contract columns defined once."""
    spec = _dbt_model(model_yml, model)
    return Table(f"main.{model}", " ".join(spec["description"].split()), _dbt_contract_columns(spec), primary_key,
                 f"dbt: dbt_project/models/marts/{model}.sql")


# Built by dbt from main.calibration_worlds; registered so the pages read it by name like the others.
CALIBRATION_SUMMARY = _dbt_mart("marts/_calibration__models.yml", "calibration_summary",
                                ("stress", "world", "hypothesis", "test", "accounts_per_world"))

ANALYSIS_COVERAGE = Table(
    "main.analysis_coverage",
    "Which analyses this export supports, which were skipped and why (dealscope.coverage).",
    _columns("""
    analysis VARCHAR NOT NULL: the analysis
    ran BOOLEAN NOT NULL: whether it ran
    status VARCHAR NOT NULL: ran, partial, ran_with_substitute or skipped
    needs VARCHAR NOT NULL: the inputs it needs
    missing VARCHAR NOT NULL: the inputs this export lacks
    reason VARCHAR NOT NULL: the sentence the pages show
    outputs VARCHAR NOT NULL: the tables it writes, comma-separated
    """),
    ("analysis",),
    "dealscope.coverage.write_analysis_coverage",
)

STATISTICS_TABLES: tuple[Table, ...] = (
    HYPOTHESIS_TESTS, HYPOTHESIS_DIAGNOSTICS, PERMUTATION_NULL, MODEL_COMPARISON, FEATURE_IMPORTANCE,
    ACCOUNT_VALUE_FORECAST, ACCOUNT_VALUE_FORECAST_EVALUATION, ACCOUNT_VALUE_FORECAST_DECILES,
    CALIBRATION_WORLDS, CALIBRATION_SUMMARY, ANALYSIS_COVERAGE,
)
BY_NAME: dict[str, Table] = {t.name: t for t in STATISTICS_TABLES}

# dbt marts that hold what the pages state as distributions, totals and coverage (not statistics: they
# are not in the statistics section of the docs); the dashboards read them by name like the others.
_DASHBOARD_MARTS_YML = "marts/_marts__dashboards.yml"
ACCOUNT_VALUE_BINS = _dbt_mart(_DASHBOARD_MARTS_YML, "account_value_bins", ("view", "segment", "bin", "is_zero_or_less"))
ALIGNMENT_VALUE_BINS = _dbt_mart(_DASHBOARD_MARTS_YML, "alignment_value_bins", ("view", "bin"))
ACCOUNT_TOTALS = _dbt_mart(_DASHBOARD_MARTS_YML, "account_totals", ())
LATEST_LOADS = _dbt_mart(_DASHBOARD_MARTS_YML, "latest_loads", ("source",))
DASHBOARD_MARTS: tuple[Table, ...] = (ACCOUNT_VALUE_BINS, ALIGNMENT_VALUE_BINS, ACCOUNT_TOTALS, LATEST_LOADS)


def table(name: str) -> Table:
    """The registered table `schema.table` (or bare `table` in main)."""
    key = name if "." in name else f"main.{name}"
    if key not in BY_NAME:
        raise KeyError(f"{name!r} is not a registered statistics table ({', '.join(BY_NAME)})")
    return BY_NAME[key]


def markdown() -> str:
    """The registry as the docs/statistics.md section that lists every table's columns."""
    parts = []
    for t in STATISTICS_TABLES:
        parts.append(f"### `{t.name}`\n\n{t.description} Key: ({', '.join(t.primary_key)}). "
                     f"Written by `{t.writer}`.\n\n| column | type | description |\n|---|---|---|")
        parts.extend(f"| `{c.name}` | {c.type}{' NOT NULL' if c.not_null else ''} | {c.description} |"
                     for c in t.columns)
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def replace_tables(con, rows: list[tuple[Table, object]]) -> None:
    """Replace each registered table with its rows (a DataFrame), in one transaction, so readers never
    see a table replaced but still empty: created from the registry, rows inserted by name. A frame
    column the table does not have raises UnknownColumn before anything is written."""
    for registered, frame in rows:
        registered.check_columns(frame.columns)
    views = [f"{registered.table}_rows" for registered, _ in rows]
    for view, (_, frame) in zip(views, rows):
        con.register(view, frame)
    con.execute("begin transaction")
    try:
        for view, (registered, _) in zip(views, rows):
            con.execute(registered.ddl())
            con.execute(registered.insert_by_name(view))
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for view in views:
            con.unregister(view)
