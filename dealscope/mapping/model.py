"""The parsed mapping file: frozen dataclasses, each carrying the YAML line it came from.

Lines are kept so every error, and every row rejected by the mapping, can name the line of
``dealscope.yml`` to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REJECT = "reject"
KEEP = "keep"


class MappingError(Exception):
    """The mapping file cannot be used: raised before anything is written."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{Path(path).name} line {line}" if line else f"{Path(path).name}"
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line
        self.problem = problem


class MappingDataError(Exception):
    """The data cannot be mapped as a whole (e.g. mixed currencies without rates): the run stops."""


@dataclass(frozen=True)
class SourceColumn:
    """A column of a source file, as written in the mapping, and where it was written."""

    name: str
    line: int
    # Only for a `columns:` entry written as a mapping (real exports need both):
    first_of_list: str | None = None  # keep the first item of a list such as "id1;id2" (HubSpot associations)
    only_matching: str | None = None  # keep the value only when it matches this regex (else empty)

    @property
    def key(self) -> str:
        """The landing name: the reader trims and lower-cases header names."""
        return self.name.strip(" \t").lower()


@dataclass(frozen=True)
class NumberFormat:
    decimal_mark: str = "."
    thousands_separator: str = ""
    currency_symbols: tuple[str, ...] = ()
    line: int = 0

    @property
    def is_plain(self) -> bool:
        return self.decimal_mark == "." and not self.thousands_separator and not self.currency_symbols


@dataclass(frozen=True)
class DateFormat:
    """strptime formats tried in order (DuckDB strptime)."""

    formats: tuple[str, ...]
    line: int
    with_offset: bool  # the formats parse an offset (%z): the result is a TIMESTAMPTZ


@dataclass(frozen=True)
class ValueMap:
    target: str
    column: SourceColumn
    pairs: tuple[tuple[str, str], ...]  # (source value lower-cased and trimmed, contract value)
    otherwise: str  # REJECT, KEEP or a contract value
    missing: str | None
    line: int


@dataclass(frozen=True)
class Band:
    below: float | None
    value: str


@dataclass(frozen=True)
class Bands:
    target: str
    column: SourceColumn
    bands: tuple[Band, ...]
    when_missing: str  # REJECT or a value
    line: int


@dataclass(frozen=True)
class StageFlags:
    is_closed: SourceColumn
    is_won: SourceColumn
    line: int


@dataclass(frozen=True)
class Lookup:
    file: str
    match: tuple[tuple[SourceColumn, SourceColumn], ...]  # (lookup file column, related file column)
    column: SourceColumn
    line: int


@dataclass(frozen=True)
class Related:
    target: str
    file: str
    match: tuple[tuple[SourceColumn, SourceColumn], ...]  # (related file column, this table's column)
    kind: str  # sum_of_product | sum | pick
    columns: tuple[SourceColumn, ...]  # summed / multiplied columns, or the picked column
    lookup: Lookup | None
    pick: str  # first | last
    order_by: SourceColumn | None
    others_to: str | None
    line: int


@dataclass(frozen=True)
class CurrencyRule:
    column: SourceColumn
    amounts: tuple[str, ...]
    line: int
    # With dated rates (an effective_from column in the rates file): the contract date column whose
    # value picks the rate in force (the latest effective_from on or before it).
    as_of: str | None = None


@dataclass(frozen=True)
class Currency:
    reporting: str
    rates_file: str | None
    line: int


@dataclass(frozen=True)
class EventRule:
    name: str
    when: tuple[tuple[SourceColumn, str], ...]  # (source column, regex): all must match
    event_type: str
    line: int


@dataclass(frozen=True)
class TableMapping:
    table: str
    files: tuple[str, ...]
    line: int
    columns: tuple[tuple[str, SourceColumn], ...] = ()
    constants: tuple[tuple[str, str], ...] = ()
    values: tuple[ValueMap, ...] = ()
    bands: tuple[Bands, ...] = ()
    related: tuple[Related, ...] = ()
    stage_from_flags: StageFlags | None = None
    closed_at_only_when_closed: bool = False
    percent_as_number: tuple[str, ...] = ()
    date_formats: tuple[tuple[str, DateFormat], ...] = ()  # per contract column
    number_formats: tuple[tuple[str, NumberFormat], ...] = ()  # per contract column
    currency: CurrencyRule | None = None
    event_rules: tuple[EventRule, ...] = ()
    event_rules_line: int = 0

    def produced(self) -> set[str]:
        """Contract columns this mapping produces."""
        out = {t for t, _ in self.columns} | {t for t, _ in self.constants}
        out |= {v.target for v in self.values} | {b.target for b in self.bands}
        out |= {r.target for r in self.related}
        if self.stage_from_flags is not None:
            out.add("stage")
        if self.event_rules:
            out.add("event_type")
        return out


@dataclass(frozen=True)
class Formats:
    date: DateFormat | None = None
    timestamp: DateFormat | None = None
    number: NumberFormat = field(default_factory=NumberFormat)


@dataclass(frozen=True)
class Mapping:
    path: Path
    source: str | None
    max_rejected_share: float | None
    max_rejected_share_line: int
    formats: Formats
    currency: Currency | None
    tables: dict[str, TableMapping]

    def where(self, line: int) -> str:
        """How a detail sentence names a place in the mapping: 'dealscope.yml line 34'."""
        return f"{self.path.name} line {line}"
