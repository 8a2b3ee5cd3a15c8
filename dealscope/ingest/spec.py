"""The data contract's input tables, declared once: the validation SQL is generated from this.

Kinds of column:
- ``id`` / ``text``: trimmed text (ids compare case-sensitively);
- ``enum``: one of ``allowed`` (case-insensitive), stored lower-cased;
- ``event_type``: a canonical event type or alias from the event-type map;
- ``date``, ``timestamp``, ``decimal``, ``integer``, ``boolean``: typed values (see values.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "text", "enum", "event_type", "date", "timestamp", "decimal", "integer", "boolean"]

SQL_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "enum": "VARCHAR",
    "event_type": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "decimal": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Bound:
    """One end of an allowed range; ``inclusive`` for >=, <=, "between", "to"; strict for > and <."""

    value: float
    inclusive: bool = True


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool = False
    # The column must be in the file even though a value may be missing (a conditional rule uses it).
    must_be_present: bool = False
    allowed: tuple[str, ...] = ()
    minimum: Bound | None = None
    maximum: Bound | None = None
    default_sql: str | None = None  # SQL literal used when the value is missing
    sql_type: str | None = None  # overrides SQL_TYPES[kind]

    @property
    def needed_in_file(self) -> bool:
        return self.required or self.must_be_present

    @property
    def output_type(self) -> str:
        return self.sql_type or SQL_TYPES[self.kind]


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row, checked on typed values after every column passed.

    ``violated`` is SQL over the typed columns (true means the row is rejected);
    ``detail`` is SQL producing the sentence for the rejected row. Both are written in SQL that
    DuckDB and Spark read alike (no dialect-only functions, casts or quoting).
    """

    reason: str
    violated: str
    detail: str


@dataclass(frozen=True)
class Reference:
    """``column`` must name a loaded row of ``target`` (a raw table keyed by ``target_column``)."""

    column: str
    target: str
    target_column: str
    reason: str  # unknown_account / unknown_deal
    # Optional: (this table's column, target's column) that must be equal, else ``mismatch_reason``.
    must_match: tuple[str, str] | None = None
    mismatch_reason: str | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    unique_key: tuple[str, ...]
    # SQL per key column used to compare keys (e.g. lower(value)); defaults to the typed column.
    key_expressions: dict[str, str] = field(default_factory=dict)
    row_rules: tuple[RowRule, ...] = ()
    references: tuple[Reference, ...] = ()
    required_file: bool = True
    # Repeated keys told apart by this timestamp column: the latest row wins, older rows are history.
    version_column: str | None = None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)



ACCOUNTS = TableSpec(
    name="accounts",
    columns=(
        Column("account_id", "id", required=True),
        Column("account_name", "text", required=True),
        Column("segment", "enum", required=True, allowed=("enterprise", "mid_market", "smb")),
        Column("industry", "text"),
        Column("region", "text"),
        Column("employee_count", "integer", minimum=Bound(0)),
        Column("created_at", "date", required=True),
    ),
    unique_key=("account_id",),
)

DEALS = TableSpec(
    name="deals",
    columns=(
        Column("deal_id", "id", required=True),
        Column("account_id", "id", required=True),
        Column("deal_type", "enum", required=True, allowed=("new_business", "expansion", "renewal")),
        Column("product_line", "text", required=True),
        Column("created_at", "date", required=True),
        Column("closed_at", "date", must_be_present=True),
        Column("stage", "enum", required=True, allowed=("won", "lost", "open")),
        Column("list_amount", "decimal", minimum=Bound(0)),
        Column("final_amount", "decimal", must_be_present=True, minimum=Bound(0)),
        Column("gross_margin_pct", "decimal", minimum=Bound(-1), maximum=Bound(1)),
        Column("competitor", "text"),
        Column("loss_reason", "text"),
        Column("flagged_strategic", "boolean", default_sql="false"),
        Column("owner", "text"),
        # Optional team dimensions of the owner (from a CRM user table): extra win/loss dimensions.
        Column("owner_team", "text"),
        Column("owner_manager", "text"),
        Column("owner_office", "text"),
        Column("updated_at", "timestamp"),
        # Optional CRM pipeline detail for the deal history across exports: the CRM's own stage label
        # (Prospecting, Negotiation, Commit ...) and an open deal's expected close date.
        Column("pipeline_stage", "text"),
        Column("expected_close_date", "date"),
    ),
    unique_key=("deal_id",),
    version_column="updated_at",
    row_rules=(
        RowRule(
            reason="missing_required:closed_at",
            violated="stage IN ('won', 'lost') AND closed_at IS NULL",
            detail="'closed_at is required when stage is ' || stage || ': give the date the deal closed.'",
        ),
        RowRule(
            reason="bad_value:closed_at",
            violated="stage = 'open' AND closed_at IS NOT NULL",
            detail="'closed_at (' || closed_at || ') must be empty when stage is open: "
            "clear it or correct the stage.'",
        ),
        RowRule(
            reason="closed_before_created",
            violated="closed_at < created_at",
            detail="'closed_at (' || closed_at || ') is before created_at (' || created_at || '): "
            "correct one of the two dates.'",
        ),
        RowRule(
            reason="missing_required:final_amount",
            violated="stage = 'won' AND final_amount IS NULL",
            detail="'final_amount is required when stage is won: give the agreed contract value.'",
        ),
        RowRule(
            reason="bad_value:loss_reason",
            violated="loss_reason IS NOT NULL AND stage <> 'lost'",
            detail="'loss_reason is given but stage is ' || stage || ': a loss reason belongs to lost deals "
            "only; clear it or correct the stage.'",
        ),
    ),
    references=(Reference("account_id", "accounts", "account_id", "unknown_account"),),
)

NEGOTIATION_EVENTS = TableSpec(
    name="negotiation_events",
    columns=(
        Column("event_id", "id", required=True),
        Column("account_id", "id", required=True),
        Column("deal_id", "id"),
        Column("occurred_at", "date", required=True),
        Column("event_type", "event_type", required=True),
        Column("severity", "integer", minimum=Bound(1), maximum=Bound(3), default_sql="1", sql_type="INTEGER"),
        Column("notes", "text"),
    ),
    unique_key=("event_id",),
    required_file=False,
    references=(
        Reference("account_id", "accounts", "account_id", "unknown_account"),
        Reference(
            "deal_id",
            "deals",
            "deal_id",
            "unknown_deal",
            must_match=("account_id", "account_id"),
            mismatch_reason="deal_account_mismatch",
        ),
    ),
)

ACCOUNT_REVENUE = TableSpec(
    name="account_revenue",
    columns=(
        Column("account_id", "id", required=True),
        Column("month", "date", required=True),
        Column("revenue", "decimal", required=True, minimum=Bound(0)),
        Column("gross_margin", "decimal", required=True),
    ),
    unique_key=("account_id", "month"),
    required_file=False,
    row_rules=(
        RowRule(
            reason="bad_value:month",
            violated="day(month) <> 1",
            detail="'month (' || month || ') must be the first day of a month, e.g. ' "
            "|| make_date(year(month), month(month), 1) || '.'",
        ),
    ),
    references=(Reference("account_id", "accounts", "account_id", "unknown_account"),),
)

STRATEGY_PLAN = TableSpec(
    name="strategy_plan",
    columns=(
        Column("effective_from", "date", required=True),
        Column(
            "dimension",
            "enum",
            required=True,
            allowed=("segment", "industry", "region", "product_line", "deal_type"),
        ),
        Column("value", "text", required=True),
        Column("stance", "enum", required=True, allowed=("target", "avoid")),
        Column("weight", "decimal", minimum=Bound(0, inclusive=False), default_sql="1"),
    ),
    unique_key=("effective_from", "dimension", "value"),
    required_file=False,
    # value is matched case-insensitively downstream, so 'SMB' and 'smb' are the same plan line.
    key_expressions={"value": "lower(value)"},
)

SPECS: dict[str, TableSpec] = {
    s.name: s for s in (ACCOUNTS, STRATEGY_PLAN, DEALS, NEGOTIATION_EVENTS, ACCOUNT_REVENUE)
}
# Dependency order: a table's references are loaded before it.
TABLES: tuple[str, ...] = ("accounts", "strategy_plan", "deals", "negotiation_events", "account_revenue")
