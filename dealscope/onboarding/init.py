"""`dealscope init`: draft a commented dealscope.yml from the files of a CRM export folder.

It lands each CSV of the folder with the loader's own reader, looks at the headers and at the
distinct values of the coded columns (stage, deal type, segment source, activity subjects) with
set-based DuckDB queries, detects date and number formats from the values, and writes the mapping
as text (comments are the point of the file, so it is never produced by a YAML dumper).

For a standard Salesforce or HubSpot export the file runs as written, with safe defaults its
comments explain. For a generic spreadsheet it guesses columns by name and marks every guess
`# CHECK:`; a choice only a person can make is written as the value `TODO(you)` with a comment,
and `check` / `run` refuse the file until none is left.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from dealscope.ingest import InputFileError, reader
from dealscope.ingest.spec import SPECS
from dealscope.ingest.sql import ident, literal

from .event_rules import SUGGESTED_RULES, EventRule, rule_case_sql
from .todos import MARKER

VENDORS = ("salesforce", "hubspot", "generic")
CONTRACT_FILES = ("account_revenue", "strategy_plan")
MAX_LISTED_VALUES = 40
# strptime formats tried on date-like columns, most specific first. A value ending in `Z` is tried
# as +00:00 with the %z formats (the mapping engine reads it the same way).
DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%g%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%g", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d/%m/%Y %H:%M",
    "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%y", "%d/%m/%y",
)
EMPLOYEE_BANDS = ((200, "smb"), (1000, "mid_market"), (None, "enterprise"))


def q(text: str) -> str:
    """A YAML scalar that reads back as exactly `text` (a JSON string is a YAML double-quoted scalar)."""
    return json.dumps(text, ensure_ascii=False)


class InitError(Exception):
    """The folder cannot be drafted (no CSV files, an unreadable file)."""


# --------------------------------------------------------------------------------------------------
# Looking at the folder


@dataclass
class SourceTable:
    name: str
    header: reader.Header
    table: str  # the temp table holding its landed records
    rows: int

    def column(self, *candidates: str) -> str | None:
        """The header's spelling of the first candidate present (case-insensitive, trimmed; an
        "<Entity> - <Field>" header also answers to its field: `header_keys`)."""
        by_key = self.by_key
        for candidate in candidates:
            if candidate.strip().lower() in by_key:
                return by_key[candidate.strip().lower()]
        return None

    @functools.cached_property
    def by_key(self) -> dict[str, str]:
        """Lower-case key -> the header as written (`header_keys`; the first header to claim a key keeps it)."""
        by_key: dict[str, str] = {}
        for key, written in header_keys(self.header.written):
            by_key.setdefault(key, written)
        return by_key

    def key(self, column: str) -> str:
        return self.header.columns[[w.lower() for w in self.header.written].index(column.lower())]


# "<Entity> - <Field>": how Pipedrive and similar CRMs label exported fields, a related record's under its
# own entity ("Organization - ID" in a deals export).
ENTITY_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s+-\s+(\S.*?)\s*$")


def header_keys(written: list[str]) -> list[tuple[str, str]]:
    """(lower-case key, header as written), strongest first: every header as written; then each
    "<Entity> - <Field>" header as "<entity> <field>"; then, for the file's own entity (the one most of
    its headers carry), the bare field, so "Deal - Value" answers to "value" and "Organization - ID" in
    the same file to "organization id" but never to "id"."""
    keys = [(w.strip().lower(), w) for w in written]
    parts = [(ENTITY_FIELD.match(w), w) for w in written]
    labelled = [(m.group(1).strip().lower(), m.group(2).strip().lower(), w) for m, w in parts if m]
    keys += [(f"{entity} {field}", w) for entity, field, w in labelled]
    entities = [entity for entity, _, _ in labelled]
    if entities:
        own = max(dict.fromkeys(entities), key=entities.count)
        if entities.count(own) * 2 > len(written):
            keys += [(field, w) for entity, field, w in labelled if entity == own]
    return keys


class Folder:
    """The CSV files of an export folder, landed as text in an in-memory DuckDB."""

    def __init__(self, src_dir: Path) -> None:
        self.path = Path(src_dir)
        if not self.path.is_dir():
            raise InitError(f"{self.path} is not a folder")
        self.con = duckdb.connect()
        self.con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        self.files: dict[str, SourceTable] = {}
        for number, path in enumerate(sorted(self.path.glob("*.csv"))):
            source = reader.SourceFile(path, "csv")
            try:
                reader.check_readable(source)
                header = reader.read_csv_header(source, set())
                table = f"raw._init_{number}"
                reader.land_csv(self.con, source, header, table)
            except (InputFileError, duckdb.Error) as error:  # reported, not guessed around
                raise InitError(f"{path.name}: {error}") from None
            rows = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            self.files[path.name] = SourceTable(path.name, header, table, rows)
        if not self.files:
            raise InitError(f"{self.path} holds no .csv file to map")

    def find(self, *names: str) -> SourceTable | None:
        by_key = {n.lower(): t for n, t in self.files.items()}
        for name in names:
            if name.lower() in by_key:
                return by_key[name.lower()]
        return None

    def find_like(self, pattern: str, exclude: str | None = None) -> SourceTable | None:
        for name, table in self.files.items():
            stem = Path(name).stem.lower()
            if re.search(pattern, stem) and not (exclude and re.search(exclude, stem)):
                return table
        return None

    def value(self, source: SourceTable, column: str, alias: str = "") -> str:
        """SQL for a column's trimmed text, empty as NULL (qualified by `alias` when given)."""
        qualified = f"{alias}.{ident(source.key(column))}" if alias else ident(source.key(column))
        return f"nullif(trim({qualified}, ' ' || chr(9)), '')"

    def value_counts(self, source: SourceTable, column: str, limit: int = MAX_LISTED_VALUES) -> list[tuple]:
        """(value, rows) of a column, most frequent first; the empty value as None."""
        return self.con.execute(
            f"SELECT {self.value(source, column)} AS v, count(*) AS n FROM {source.table} GROUP BY v "
            f"ORDER BY n DESC, v NULLS LAST LIMIT {limit}"
        ).fetchall()

    def distinct_count(self, source: SourceTable, column: str) -> int:
        return self.con.execute(f"SELECT count(DISTINCT {self.value(source, column)}) FROM {source.table}").fetchone()[0]

    def missing_count(self, source: SourceTable, column: str) -> int:
        return self.con.execute(
            f"SELECT count(*) FROM {source.table} WHERE {self.value(source, column)} IS NULL"
        ).fetchone()[0]

    def date_format(self, source: SourceTable, column: str) -> tuple[str | None, bool]:
        """The first format that reads every non-empty value, and whether another one also does
        (day/month ambiguity: all days <= 12)."""
        value = self.value(source, column)
        normalised = f"regexp_replace({value}, 'Z$', '+00:00')"
        counts = ", ".join(
            f"count(*) FILTER (WHERE try_strptime({normalised if '%z' in f else value}, {literal(f)}) IS NOT NULL)"
            for f in DATE_FORMATS
        )
        row = self.con.execute(
            f"SELECT count({value}), {counts} FROM {source.table}"
        ).fetchone()
        present, parsed = row[0], row[1:]
        if not present:
            return None, False
        full = [f for f, n in zip(DATE_FORMATS, parsed) if n == present]
        if not full:
            return None, False
        day_month_swapped = {"%m/%d/%Y": "%d/%m/%Y", "%d/%m/%Y": "%m/%d/%Y", "%m/%d/%y": "%d/%m/%y",
                             "%d/%m/%y": "%m/%d/%y", "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
                             "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M"}
        return full[0], day_month_swapped.get(full[0]) in full

    def number_style(self, source: SourceTable, column: str) -> dict:
        """Thousands separators, currency symbols and the largest value seen in a number column."""
        value = self.value(source, column)
        row = self.con.execute(
            f"""SELECT count(*) FILTER (WHERE regexp_matches({value}, '\\d,\\d{{3}}')),
                       count(*) FILTER (WHERE regexp_matches({value}, '^\\s*-?[$€£]')),
                       max(try_cast(regexp_replace({value}, '[$€£,%\\s]', '', 'g') AS DOUBLE))
                FROM {source.table}"""
        ).fetchone()
        symbols = self.con.execute(
            f"SELECT DISTINCT regexp_extract({value}, '[$€£]') FROM {source.table} "
            f"WHERE regexp_matches({value}, '[$€£]') ORDER BY 1"
        ).fetchall()
        return {"thousands": row[0] > 0, "symbols": [s[0] for s in symbols], "max": row[2]}


# --------------------------------------------------------------------------------------------------
# Writing the file


@dataclass
class Draft:
    """The text of the mapping file, line by line, and what was left to the user."""

    lines: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def add(self, indent: int, text: str, comment: str = "") -> None:
        line = " " * indent + text
        if comment:
            line = f"{line:<44} # {comment}" if text else " " * indent + f"# {comment}"
        self.lines.append(line.rstrip())

    def note(self, indent: int, text: str) -> None:
        for part in text.split("\n"):
            self.lines.append(" " * indent + "# " + part if part else " " * indent + "#")

    def check(self, indent: int, text: str) -> None:
        self.checks.append(text)
        self.note(indent, f"CHECK: {text}")

    def todo(self, indent: int, text: str) -> None:
        self.todos.append(text)
        self.note(indent, f"{MARKER}: {text}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def has_team_columns() -> bool:
    """Whether the contract's deals have the owner's team dimensions (owner_manager, owner_office)."""
    names = {c.name for c in SPECS["deals"].columns}
    return {"owner_manager", "owner_office"} <= names


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n:,} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def write_columns(draft: Draft, pairs: list[tuple[str, str | dict | None, str]]) -> None:
    draft.add(4, "columns:", "contract column: source column")
    for contract, source, comment in pairs:
        if source is None:
            continue
        if isinstance(source, dict):
            inner = ", ".join(f"{k}: {q(v)}" for k, v in source.items())
            draft.add(6, f"{contract}: {{{inner}}}", comment)
        else:
            draft.add(6, f"{contract}: {q(source)}", comment)


def write_value_map(
    draft: Draft, folder: Folder, source: SourceTable, target: str, column: str,
    propose, otherwise: str, otherwise_comment: str, unit: str, guessed: bool = False,
) -> None:
    """A coded column: every distinct value found, its count and the proposed contract value.

    `propose(value) -> (contract value or None, comment)`; None writes TODO(you)."""
    counts = folder.value_counts(source, column)
    distinct = folder.distinct_count(source, column)
    draft.add(6, f"{target}:")
    draft.add(8, f"column: {q(column)}")
    listed = "every value" if distinct <= MAX_LISTED_VALUES else f"the {MAX_LISTED_VALUES} most frequent of {distinct} values"
    draft.add(8, "map:", f"{listed} found in {source.name}, with its count")
    missing = 0
    undecided = []
    for value, n in counts:
        if value is None:
            missing = n
            continue
        proposed, comment = propose(value)
        text = f"{plural(n, unit)}" + (f"; {comment}" if comment else "")
        if proposed is None:
            undecided.append(value)
            draft.add(10, f"{q(value)}: {q(MARKER)}", text)
        else:
            if guessed:
                text = f"CHECK: {text}"
            draft.add(10, f"{q(value)}: {proposed}", text)
    if undecided:
        draft.todo(8, f"choose the {target} of {', '.join(q(v) for v in undecided)} above "
                      f"(one of the contract's values) and replace each {MARKER}")
    draft.add(8, f"otherwise: {otherwise}", otherwise_comment)
    if missing:
        draft.note(8, f"{plural(missing, unit)} have no {column}: left empty they are rejected as "
                      f"missing_required:{target} (kept in rejected_rows);\nto keep them, give their value:")
        draft.add(8, "# missing: <a contract value>")


def write_segment_from_employees(draft: Draft, folder: Folder, source: SourceTable, column: str | None, unit: str,
                                 missing_todo: str) -> None:
    """Segment from employee-count bands when the export has the column; otherwise a TODO(you) for the user."""
    if column:
        write_segment_bands(draft, folder, source, column, unit)
    else:
        draft.todo(4, missing_todo)
        draft.add(4, f"constants: {{segment: {q(MARKER)}}}")


def write_segment_bands(draft: Draft, folder: Folder, source: SourceTable, column: str, unit: str) -> None:
    value = f"try_cast(regexp_replace({folder.value(source, column)}, '[,\\s]', '', 'g') AS DOUBLE)"
    cases = " ".join(f"WHEN {value} < {below} THEN '{name}'" for below, name in EMPLOYEE_BANDS if below)
    counts = dict(folder.con.execute(
        f"SELECT CASE WHEN {value} IS NULL THEN 'missing' {cases} ELSE 'enterprise' END AS band, count(*) "
        f"FROM {source.table} GROUP BY band"
    ).fetchall())
    draft.add(4, "bands:")
    draft.note(6, f"{source.name} has no segment field: segment comes from {column} in bands (the usual\n"
                  "SMB < 200 <= mid-market < 1,000 <= enterprise employees; move the limits to your own definition).")
    draft.add(6, "segment:")
    draft.add(8, f"column: {q(column)}")
    draft.add(8, "bands:", "first match wins; `below` is exclusive")
    lower = 0
    for below, name in EMPLOYEE_BANDS:
        found = plural(counts.get(name, 0), unit)
        if below:
            draft.add(10, f"- {{below: {below}, value: {name}}}", f"{lower:,} to {below - 1:,}: {found}")
            lower = below
        else:
            draft.add(10, f"- {{value: {name}}}", f"{lower:,} and more: {found}")
    missing = counts.get("missing", 0)
    draft.add(8, "when_missing: reject",
              f"{plural(missing, unit)} without {column}: rejected (missing_band_value:segment), not guessed")
    if missing:
        draft.note(8, "(their deals are then rejected as unknown_account; give a segment instead of `reject` to keep them)")


def write_formats(draft: Draft, indent: int, formats: dict[str, tuple[str | None, bool]], source: SourceTable) -> None:
    found = {c: f for c, f in formats.items() if f[0]}
    if not found:
        return
    draft.add(indent, "formats:", f"detected from the values in {source.name}")
    for contract, (fmt, ambiguous) in found.items():
        draft.add(indent + 2, f"{contract}: {q(fmt)}")
        if ambiguous:
            draft.check(indent + 2, f"every {contract} day is 12 or less, so day/month order cannot be told from "
                                    f"the values: {fmt} was chosen; swap %d and %m if your dates are day-first")
    for contract, (fmt, _) in formats.items():
        if not fmt:
            draft.check(indent + 2, f"no known date format reads every {contract} value: give its strptime format here")


def write_event_rules(draft: Draft, folder: Folder, source: SourceTable, subject: str, activity_type: str | None,
                      guessed: bool) -> None:
    """Suggested rules that match at least one activity, with the counts they match, and the texts seen."""
    text = folder.value(source, subject)
    rules = [EventRule(s.name, ((subject, s.pattern),), s.event_type) for s in SUGGESTED_RULES]
    rule_of = rule_case_sql(rules, "name")
    by_rule = dict(folder.con.execute(
        f"SELECT {rule_of}, count(*) FROM (SELECT * FROM {source.table}) GROUP BY 1"
    ).fetchall())
    matched = sum(n for r, n in by_rule.items() if r)
    draft.add(4, "event_rules:", "first matching rule wins; regex (RE2), (?i) = any case")
    draft.note(6, f"{plural(source.rows, 'activity')} in {source.name}: {matched:,} match a rule below and become\n"
                  f"candidate events (listed in main.event_candidates_review with the rule); the other "
                  f"{source.rows - matched:,} are\nnot events: counted in raw.activity_match_summary, not rejected.")
    if guessed:
        draft.check(6, "these rules were proposed from the texts found; read the list below and adjust")
    for suggestion in SUGGESTED_RULES:
        n = by_rule.get(suggestion.name, 0)
        if not n:
            continue
        draft.add(6, f"- {{name: {suggestion.name}, when: {{{q(subject)}: {q(suggestion.pattern)}}}, "
                     f"event_type: {suggestion.event_type}}}", f"{plural(n, 'activity')}")
        if suggestion.note:
            draft.check(8, suggestion.note)
    draft.note(6, f"The {subject} values found (most frequent first), with the rule each matches:")
    rows = folder.con.execute(
        f"SELECT {text} AS v, count(*) AS n, {rule_case_sql(rules, 'name', 's')} AS r "
        f"FROM {source.table} AS s GROUP BY v, r ORDER BY n DESC, v LIMIT 25"
    ).fetchall()
    for value, n, rule in rows:
        draft.note(6, f"  {n:>6,}  {q(value or '')}  -> {rule or 'no rule (not an event)'}")
    if activity_type:
        types = folder.value_counts(source, activity_type)
        listed = ", ".join(f"{v or '(empty)'} {n:,}" for v, n in types)
        draft.note(6, f"{activity_type} values: {listed}.\nA rule may test it too, e.g. when: {{{q(activity_type)}: "
                      f"\"(?i)^meeting$\", {q(subject)}: \"(?i)review\"}} (all conditions must match).")


# A deals file's currency column, whichever vendor wrote it (Salesforce's ISO code first).
CURRENCY_HEADERS = ("CurrencyIsoCode", "Currency", "Currency Code", "Deal Currency", "Deal currency code")


def write_currency(draft: Draft, folder: Folder, source: SourceTable, amounts: list[str]) -> None:
    """A deals file with a currency column (CURRENCY_HEADERS): one currency is noted; several need exchange
    rates, a choice only the user can make (TODO), because adding amounts in different currencies is wrong
    silently."""
    column = source.column(*CURRENCY_HEADERS)
    if not column or not amounts:
        return
    currencies = folder.value_counts(source, column)
    found = ", ".join(f"{v or '(empty)'} {n:,}" for v, n in currencies)
    if len([v for v, _ in currencies if v]) > 1:
        draft.todo(4, f"several currencies in {column} ({found}): add `currency: {{reporting: USD, "
                      "rates_file: currency_rates.csv}` at the top and a rates file, then delete this line")
        draft.add(4, f"currency: {{column: {q(column)}, amounts: [{', '.join(amounts)}]}}")
    else:
        draft.note(4, f"{column}: {found}: one currency, amounts are used as they are.")


def write_contract_tables(draft: Draft, folder: Folder) -> None:
    for table in CONTRACT_FILES:
        found = folder.find(f"{table}.csv")
        if found:
            draft.note(2, f"{table}: read from {found.name} in dealscope's own format ({plural(found.rows, 'row')}); "
                          "see docs/CONTRACT.md")
        elif table == "strategy_plan":
            draft.todo(2, "strategy_plan.csv (required) is not in this folder: write the plan in the contract's "
                          "format (docs/CONTRACT.md, strategy_plan) beside the export, then delete this line")
        else:
            draft.note(2, f"{table}: no {table}.csv here (optional): account value will come from won deals")


def header_block(draft: Draft, vendor: str, folder: Folder) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    draft.note(0, f"dealscope mapping: how the files of this folder become dealscope's input tables.\n"
                  f"Drafted by `dealscope init --from {vendor}` on {stamp} from:")
    for name, table in folder.files.items():
        draft.note(0, f"  {name}: {plural(table.rows, 'row')}, {len(table.header.written)} columns")
    draft.note(0, "Every choice is written out; comments give the counts it was based on. Next:\n"
                  "  dealscope check --data <this folder>   (validates this file against the data, writes nothing)\n"
                  "  dealscope run --data <this folder>     (loads, rejects what does not fit into rejected_rows)\n"
                  "Lines marked CHECK are guesses to confirm; lines marked TODO are choices only you can make\n"
                  "(check and run refuse the file while one is left). Walk-through: docs/mapping.md.")
    draft.add(0, "version: 1")
    draft.add(0, f"source: {vendor}")
    draft.add(0, "max_rejected_share: 0.5", "the run stops before publishing if accounts or deals lose more")


# The optional pipeline columns the deal history across exports reads (docs/CONTRACT.md).
PIPELINE_STAGE_COMMENT = "the CRM's own stage: the deal history's stage path"
EXPECTED_CLOSE_DATE_COMMENT = "the same close date, kept only while the deal is open (closed_at_only_when_closed)"


# --------------------------------------------------------------------------------------------------
# Salesforce


def salesforce_stage_map(folder: Folder, opp: SourceTable) -> dict[str, tuple[str | None, str]]:
    """Stage of each StageName from the IsClosed / IsWon flags the export carries beside it."""
    stage, closed, won = opp.column("StageName"), opp.column("IsClosed"), opp.column("IsWon")
    if not (closed and won):
        return {}
    flag = lambda c: f"lower({folder.value(opp, c)}) IN ('true', '1', 'yes')"  # noqa: E731
    rows = folder.con.execute(
        f"""SELECT {folder.value(opp, stage)} AS s,
                   count(*) FILTER (WHERE {flag(won)}), count(*) FILTER (WHERE {flag(closed)} AND NOT {flag(won)}),
                   count(*) FILTER (WHERE NOT {flag(closed)})
            FROM {opp.table} GROUP BY s"""
    ).fetchall()
    proposals = {}
    for value, n_won, n_lost, n_open in rows:
        if value is None:
            continue
        parts = [(n_won, "won", "IsWon true"), (n_lost, "lost", "IsClosed true, IsWon false"),
                 (n_open, "open", "IsClosed false")]
        present = [p for p in parts if p[0]]
        if len(present) == 1:
            proposals[value.lower()] = (present[0][1], present[0][2])
        else:
            detail = ", ".join(f"{n} {what}" for n, _, what in present)
            proposals[value.lower()] = (None, f"the flags disagree within this stage ({detail})")
    return proposals


def name_stage(value: str) -> tuple[str | None, str]:
    """A stage word's likely contract stage, from its name."""
    v = value.lower().replace("_", " ")
    if re.search(r"\bwon\b|closedwon|closed won", v):
        return "won", "the name says won"
    if re.search(r"\blost\b|closedlost|closed lost|dead|disqualified", v):
        return "lost", "the name says lost"
    if re.search(r"closed|cancel", v):
        return None, "closed, but won or lost cannot be told from the name"
    return "open", "an open pipeline stage"


def name_deal_type(value: str) -> tuple[str | None, str]:
    v = value.lower()
    if re.search(r"renew", v):
        return "renewal", ""
    if re.search(r"new", v):
        return "new_business", ""
    if re.search(r"upgrade|upsell|up-sell|expan|add-on|addon|cross|existing", v):
        return "expansion", ""
    if re.search(r"downgrade|replacement", v):
        return "renewal", "an existing customer's contract redone: counted as renewal"
    return None, "cannot tell from the name"


def draft_salesforce(folder: Folder) -> Draft:
    draft = Draft()
    header_block(draft, "salesforce", folder)
    account = folder.find("Account.csv")
    opp = folder.find("Opportunity.csv")
    if account is None or opp is None:
        raise InitError(f"{folder.path}: a Salesforce export needs Account.csv and Opportunity.csv "
                        f"(found: {', '.join(folder.files)})")
    draft.add(0, "formats:", "numbers in Salesforce exports are plain: 1234.5")
    draft.add(2, 'decimal_mark: "."')
    draft.add(2, 'thousands_separator: ""')
    draft.add(0, "tables:")

    draft.add(2, "accounts:")
    draft.add(4, f"file: {q(account.name)}", plural(account.rows, "account"))
    write_columns(draft, [
        ("account_id", "Id", ""), ("account_name", account.column("Name"), ""),
        ("industry", account.column("Industry"), ""), ("region", account.column("BillingCountry"), ""),
        ("employee_count", account.column("NumberOfEmployees"), ""), ("created_at", account.column("CreatedDate"), ""),
    ])
    write_formats(draft, 4, {"created_at": folder.date_format(account, account.column("CreatedDate"))}, account)
    write_segment_from_employees(draft, folder, account, account.column("NumberOfEmployees"), "account",
                                 "no NumberOfEmployees column: give segment a source (a column or bands on AnnualRevenue)")

    draft.add(2, "deals:")
    draft.add(4, f"file: {q(opp.name)}", plural(opp.rows, "opportunity"))
    items, products = folder.find("OpportunityLineItem.csv"), folder.find("Product2.csv")
    competitors, users = folder.find("OpportunityCompetitor.csv"), folder.find("User.csv")
    list_from_items = bool(items and items.column("ListPrice") and items.column("Quantity"))
    write_columns(draft, [
        ("deal_id", "Id", ""), ("account_id", opp.column("AccountId"), ""),
        ("created_at", opp.column("CreatedDate"), ""), ("closed_at", opp.column("CloseDate"), ""),
        ("final_amount", opp.column("Amount"), "Amount: the agreed value (its currency: see below)"),
        ("updated_at", opp.column("LastModifiedDate"), "the latest row of a repeated Id wins"),
        ("owner", None if users else opp.column("OwnerId"), ""),
        ("pipeline_stage", opp.column("StageName"), PIPELINE_STAGE_COMMENT),
        ("expected_close_date", opp.column("CloseDate"), EXPECTED_CLOSE_DATE_COMMENT),
    ])
    write_formats(draft, 4, {
        "created_at": folder.date_format(opp, opp.column("CreatedDate")),
        "closed_at": folder.date_format(opp, opp.column("CloseDate")),
        "expected_close_date": folder.date_format(opp, opp.column("CloseDate")),
        "updated_at": folder.date_format(opp, opp.column("LastModifiedDate")),
    }, opp)
    if not (products and items):
        draft.add(4, "constants: {product_line: unspecified}",
                  "no OpportunityLineItem/Product2 files: one product line for every deal")
    draft.add(4, "values:")
    stage_from_flags = salesforce_stage_map(folder, opp)
    write_value_map(
        draft, folder, opp, "stage", opp.column("StageName"),
        lambda v: stage_from_flags.get(v.lower()) or name_stage(v),
        "reject", "a stage not listed here is rejected (unmapped_value:stage), naming it", "opportunity")
    draft.note(8, "(proposed from IsWon / IsClosed; `stage_from_flags: {is_closed: IsClosed, is_won: IsWon}` "
                  "instead of this map\nwould follow the flags for stages added later)")
    type_column = opp.column("Type")
    if type_column:
        write_value_map(
            draft, folder, opp, "deal_type", type_column, name_deal_type,
            "reject", "a Type not listed here is rejected (unmapped_value:deal_type), naming it", "opportunity")
        draft.note(8, "Salesforce's standard Type picklist tells upgrades (expansion) from renewals; a custom\n"
                      "picklist may not: map each of its values above.")
    open_with_date = folder.con.execute(
        f"SELECT count(*) FROM {opp.table} WHERE lower({folder.value(opp, opp.column('IsClosed') or 'IsClosed')}) "
        f"NOT IN ('true', '1') AND {folder.value(opp, opp.column('CloseDate'))} IS NOT NULL"
    ).fetchone()[0] if opp.column("IsClosed") else 0
    draft.add(4, "closed_at_only_when_closed: true",
              f"CloseDate of an open opportunity is the EXPECTED date ({plural(open_with_date, 'open deal')} have one): "
              "it goes to expected_close_date, not closed_at")
    write_currency(draft, folder, opp, ["list_amount", "final_amount"])
    draft.add(4, "related:", "columns derived from the other files of the export")
    if list_from_items:
        without = folder.con.execute(
            f"SELECT count(*) FROM {opp.table} o WHERE NOT EXISTS (SELECT 1 FROM {items.table} i "
            f"WHERE {folder.value(items, 'OpportunityId', 'i')} = {folder.value(opp, 'Id', 'o')})"
        ).fetchone()[0]
        draft.add(6, "list_amount:", "list price x quantity over the line items")
        draft.add(8, f"file: {q(items.name)}")
        draft.add(8, "match: {OpportunityId: Id}")
        draft.add(8, "sum_of_product: [ListPrice, Quantity]")
        draft.note(8, f"{plural(without, 'opportunity')} without line items get no list price: they load, "
                      "with no discount (counted in win_loss.lost_deals_without_list_amount)")
        if products:
            draft.add(6, "product_line:", "the Family of the first line item's product")
            draft.add(8, f"file: {q(items.name)}")
            draft.add(8, "match: {OpportunityId: Id}")
            draft.add(8, f"lookup: {{file: {q(products.name)}, match: {{Id: Product2Id}}, column: Family}}")
            draft.add(8, "pick: first")
            draft.add(8, "order_by: CreatedDate")
    if competitors:
        per_opp = folder.con.execute(
            f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM {competitors.table} "
            f"GROUP BY {folder.value(competitors, 'OpportunityId')})"
        ).fetchone()[0]
        draft.add(6, "competitor:", f"the first-entered competitor; up to {per_opp} per opportunity here")
        draft.add(8, f"file: {q(competitors.name)}")
        draft.add(8, "match: {OpportunityId: Id}")
        draft.add(8, "column: CompetitorName")
        draft.add(8, "pick: first")
        draft.add(8, "order_by: CreatedDate")
        draft.add(8, "others_to: other_competitors", "the rest, '; '-joined, kept in raw.landing_deals")
    if users:
        draft.add(6, "owner:", "the owner's name instead of a user id")
        draft.add(8, f"file: {q(users.name)}")
        draft.add(8, "match: {Id: OwnerId}")
        draft.add(8, "column: Name")
        if has_team_columns() and users.column("ManagerId"):
            draft.add(6, "owner_manager:", "the name of the owner's manager (User.ManagerId -> User.Name)")
            draft.add(8, f"file: {q(users.name)}")
            draft.add(8, "match: {Id: OwnerId}")
            draft.add(8, f"lookup: {{file: {q(users.name)}, match: {{Id: ManagerId}}, column: Name}}")
        office = users.column("City", "Office", "Division")
        if has_team_columns() and office:
            draft.add(6, "owner_office:", f"the owner's {office}")
            draft.add(8, f"file: {q(users.name)}")
            draft.add(8, "match: {Id: OwnerId}")
            draft.add(8, f"column: {office}")
        draft.note(6, "owner_team: User.UserRoleId points to a UserRole record (its Name is the team); export\n"
                      "UserRole.csv and add a lookup like owner_manager's to use it"
                      if has_team_columns() else
                      "User.csv also has ManagerId, UserRoleId and City (office): owner_manager / owner_team /\n"
                      "owner_office can come from it the same way once those contract columns exist.")

    task = folder.find("Task.csv")
    if task:
        draft.add(2, "negotiation_events:", "candidate events from activities")
        draft.add(4, f"file: {q(task.name)}")
        write_columns(draft, [
            ("event_id", "Id", ""), ("account_id", task.column("AccountId"), ""),
            ("deal_id", {"column": task.column("WhatId") or "WhatId", "only_matching": "^006"},
             "WhatId is an Opportunity (006...) or another record: kept for opportunities only"),
            ("occurred_at", task.column("ActivityDate"), ""),
            ("notes", task.column("Description"), "confidential: kept in raw, never on a dashboard"),
        ])
        write_formats(draft, 4, {"occurred_at": folder.date_format(task, task.column("ActivityDate"))}, task)
        write_event_rules(draft, folder, task, task.column("Subject"), task.column("Type"), guessed=False)
    else:
        draft.note(2, "negotiation_events: no Task.csv here: read negotiation_events.csv in the contract's format")
    write_contract_tables(draft, folder)
    return draft


# --------------------------------------------------------------------------------------------------
# HubSpot


def hubspot_stage(value: str) -> tuple[str | None, str]:
    v = value.lower().replace(" ", "")
    if v in ("closedwon", "closed-won"):
        return "won", "HubSpot's default won stage"
    if v in ("closedlost", "closed-lost"):
        return "lost", "HubSpot's default lost stage"
    proposed, comment = name_stage(value)
    return proposed, comment


def hubspot_deal_type(value: str) -> tuple[str | None, str]:
    v = value.lower().replace(" ", "")
    if v == "newbusiness":
        return "new_business", ""
    if v == "existingbusiness":
        return "expansion", "HubSpot cannot tell expansion from renewal: existing business counted as expansion"
    return name_deal_type(value)


def draft_hubspot(folder: Folder) -> Draft:
    draft = Draft()
    header_block(draft, "hubspot", folder)
    companies = folder.find_like(r"compan")
    deals = folder.find_like(r"deal")
    if companies is None or deals is None:
        raise InitError(f"{folder.path}: a HubSpot export needs a companies and a deals file "
                        f"(found: {', '.join(folder.files)})")
    amount = deals.column("Amount")
    style = folder.number_style(deals, amount) if amount else {"thousands": False, "symbols": []}
    draft.add(0, "formats:", "number style detected from Amount")
    draft.add(2, 'decimal_mark: "."')
    draft.add(2, f"thousands_separator: {q(',' if style['thousands'] else '')}")
    if style["symbols"]:
        draft.add(2, f"currency_symbols: [{', '.join(q(s) for s in style['symbols'])}]")
    draft.add(0, "tables:")

    draft.add(2, "accounts:")
    draft.add(4, f"file: {q(companies.name)}", plural(companies.rows, "company"))
    employees = companies.column("Number of Employees")
    created = companies.column("Create Date")
    write_columns(draft, [
        ("account_id", companies.column("Record ID", "Company ID"), ""),
        ("account_name", companies.column("Company name", "Name"), ""),
        ("industry", companies.column("Industry"), ""),
        ("region", companies.column("Country/Region", "Country"), ""),
        ("employee_count", employees, ""), ("created_at", created, ""),
    ])
    if created:
        write_formats(draft, 4, {"created_at": folder.date_format(companies, created)}, companies)
    write_segment_from_employees(draft, folder, companies, employees, "company",
                                 "no Number of Employees column: give segment a source")

    draft.add(2, "deals:")
    draft.add(4, f"file: {q(deals.name)}", plural(deals.rows, "deal"))
    company_ids = deals.column("Associated Company IDs", "Associated Company ID")
    several = folder.con.execute(
        f"SELECT count(*) FROM {deals.table} WHERE contains({folder.value(deals, company_ids)}, ';')"
    ).fetchone()[0] if company_ids else 0
    write_columns(draft, [
        ("deal_id", deals.column("Record ID", "Deal ID"), ""),
        ("account_id", {"column": company_ids, "first_of_list": ";"} if company_ids else None,
         f"{plural(several, 'deal')} list several companies: the first (primary) is taken"),
        ("created_at", deals.column("Create Date"), ""), ("closed_at", deals.column("Close Date"), ""),
        ("final_amount", amount, ""),
        ("owner", deals.column("Deal owner"), ""),
        ("updated_at", deals.column("Last Modified Date"), ""),
        ("loss_reason", deals.column("Closed Lost Reason"), ""),
        ("pipeline_stage", deals.column("Deal Stage"), PIPELINE_STAGE_COMMENT),
        ("expected_close_date", deals.column("Close Date"), EXPECTED_CLOSE_DATE_COMMENT),
    ])
    if company_ids is None:
        draft.todo(4, "no Associated Company IDs column: give deals' account_id a source")
    write_formats(draft, 4, {
        "created_at": folder.date_format(deals, deals.column("Create Date")),
        "closed_at": folder.date_format(deals, deals.column("Close Date")),
        "expected_close_date": folder.date_format(deals, deals.column("Close Date")),
        "updated_at": folder.date_format(deals, deals.column("Last Modified Date")),
    }, deals)
    if amount:
        no_amount = folder.missing_count(deals, amount)
        if no_amount:
            draft.note(4, f"{plural(no_amount, 'deal')} have no Amount: a won one is rejected "
                          "(missing_required:final_amount), not guessed")
    write_currency(draft, folder, deals, ["final_amount"] if amount else [])
    draft.add(4, "constants: {product_line: unspecified}",
              "HubSpot deals have no product field: one product line (the plan cannot target product lines)")
    draft.add(4, "values:")
    write_value_map(draft, folder, deals, "stage", deals.column("Deal Stage"), hubspot_stage, "reject",
                    "a stage not listed here is rejected (unmapped_value:stage), naming it", "deal")
    draft.note(8, "(the default Sales Pipeline's stages; a custom pipeline's closed stages must be mapped "
                  "to won or lost here)")
    deal_type = deals.column("Deal Type")
    if deal_type:
        write_value_map(draft, folder, deals, "deal_type", deal_type, hubspot_deal_type, "reject",
                        "a type not listed here is rejected (unmapped_value:deal_type)", "deal")
    else:
        draft.add(4, "# no Deal Type column: every deal is counted as new business")
    draft.add(4, "closed_at_only_when_closed: true",
              "Close Date of an open deal is the expected date: it goes to expected_close_date, not closed_at")

    activities = folder.find_like(r"activit|engagement|task")
    if activities:
        subject = activities.column("Subject", "Activity subject", "Title")
        draft.add(2, "negotiation_events:", "candidate events from activities")
        draft.add(4, f"file: {q(activities.name)}")
        deal_ids = activities.column("Associated Deal IDs", "Associated Deal ID")
        comp_ids = activities.column("Associated Company IDs", "Associated Company ID")
        occurred = activities.column("Activity date", "Create Date")
        write_columns(draft, [
            ("event_id", activities.column("Record ID", "Activity ID"), ""),
            ("account_id", {"column": comp_ids, "first_of_list": ";"} if comp_ids else None, "the first company"),
            ("deal_id", {"column": deal_ids, "first_of_list": ";"} if deal_ids else None, "the first deal, if any"),
            ("occurred_at", occurred, ""),
            ("notes", activities.column("Body preview", "Notes", "Body"),
             "confidential: kept in raw, never on a dashboard"),
        ])
        if occurred:
            write_formats(draft, 4, {"occurred_at": folder.date_format(activities, occurred)}, activities)
        if subject:
            write_event_rules(draft, folder, activities, subject, activities.column("Activity type"), guessed=False)
    write_contract_tables(draft, folder)
    return draft


# --------------------------------------------------------------------------------------------------
# Generic spreadsheet: columns guessed by name

GUESSES = {
    "accounts": {
        "account_id": ["account id", "company id", "organization id", "account name", "account", "company",
                       "customer"],
        "account_name": ["account name", "name", "account", "company", "customer"],
        "industry": ["industry", "sector", "vertical"],
        "region": ["region", "country", "territory"],
        "employee_count": ["employees", "employee count", "number of employees", "headcount"],
        "created_at": ["customer since", "created", "create date", "created date", "since",
                       "organization created", "add time"],
    },
    "deals": {
        "deal_id": ["opportunity id", "opp id", "deal id", "opportunity #", "opp #", "id"],
        "account_id": ["account id", "company id", "organization id", "account name", "account", "company",
                       "organization", "customer"],
        "product_line": ["product line", "product", "product family", "family"],
        "created_at": ["created", "create date", "created date", "open date", "opened", "deal created",
                       "add time"],
        "closed_at": ["closed", "close date", "closed date", "closed on", "deal closed on", "close time"],
        "expected_close_date": ["expected close date", "expected close", "expected closing date",
                                "estimated close date", "forecast close date", "projected close date",
                                "target close date"],
        "list_amount": ["list price", "list amount", "list value", "list"],
        "final_amount": ["deal value", "final amount", "contract value", "amount", "value"],
        "gross_margin_pct": ["margin %", "gross margin %", "margin", "gross margin"],
        "competitor": ["competitor", "main competitor", "competition"],
        "owner": ["rep", "owner", "sales rep", "account executive", "ae"],
        "loss_reason": ["loss reason", "lost reason", "reason lost"],
        "flagged_strategic": ["strategic?", "strategic", "is strategic"],
        "updated_at": ["last modified", "updated", "last updated", "update time"],
    },
    "negotiation_events": {
        "event_id": ["activity id", "event id", "id"],
        "account_id": ["account id", "company id", "organization id", "account name", "account", "company",
                       "organization"],
        "deal_id": ["opportunity id", "opp id", "deal id"],
        "occurred_at": ["date", "activity date", "occurred", "when", "due date", "done time"],
        "notes": ["notes", "note", "description", "comments", "details"],
    },
}
DATE_COLUMNS = {"created_at", "closed_at", "expected_close_date", "occurred_at", "updated_at"}
AMOUNT_COLUMNS = ("list_amount", "final_amount")


def guess_columns(source: SourceTable, table: str) -> dict[str, str]:
    """Contract column -> header name, by exact name first, then by a header that starts with a synonym."""
    guesses, used = {}, set()
    written = source.by_key
    for contract, synonyms in GUESSES[table].items():
        hit = next((written[s] for s in synonyms if s in written and (written[s] not in used or contract in
                    ("account_name",))), None)
        if hit is None:
            hit = next((w for s in synonyms for k, w in written.items() if k.startswith(s) and w not in used), None)
        if hit:
            guesses[contract] = hit
            if contract != "account_id":
                used.add(hit)
    return guesses


STAGE_HEADERS = ("Stage", "Status", "Outcome", "Deal Stage", "Opportunity Stage")


def stage_column(folder: Folder, deals: SourceTable) -> str | None:
    """The deals' won / lost / open column: of the headers named like one, the one whose values say won or
    lost on most rows (a CRM such as Pipedrive keeps a closed deal's last pipeline Stage and says won or lost
    in Status); on a tie, the first name in STAGE_HEADERS."""
    candidates = list(dict.fromkeys(c for c in (deals.column(name) for name in STAGE_HEADERS) if c))

    def closed_rows(column: str) -> int:
        return sum(n for value, n in folder.value_counts(deals, column, limit=10_000)
                   if value is not None and name_stage(value)[0] in ("won", "lost"))

    return max(candidates, key=closed_rows) if candidates else None


def draft_generic(folder: Folder) -> Draft:
    draft = Draft()
    header_block(draft, "generic", folder)
    accounts = folder.find_like(r"account|compan|customer|organi[sz]ation", exclude=r"revenue")
    deals = folder.find_like(r"opp|deal|pipeline")
    activities = folder.find_like(r"activit|task|event|log")
    team = folder.find_like(r"team|rep|user|staff")
    if deals is None:
        raise InitError(f"{folder.path}: no file looks like deals/opportunities (found: {', '.join(folder.files)})")
    deal_cols = guess_columns(deals, "deals")
    styles = {c: folder.number_style(deals, deal_cols[c]) for c in AMOUNT_COLUMNS if c in deal_cols}
    thousands = any(s["thousands"] for s in styles.values())
    symbols = sorted({sym for s in styles.values() for sym in s["symbols"]})
    draft.add(0, "formats:", f"number style detected from {deals.name}")
    draft.add(2, 'decimal_mark: "."')
    draft.add(2, f"thousands_separator: {q(',' if thousands else '')}")
    if symbols:
        draft.add(2, f"currency_symbols: [{', '.join(q(s) for s in symbols)}]")
    draft.check(2, "a `,` decimal mark (1.234,50) would read wrongly with these settings: look at a few amounts")
    draft.add(0, "tables:")

    draft.add(2, "accounts:")
    if accounts is None:
        draft.todo(4, "no accounts file found: export one row per account (name, segment, created date) "
                      "and name it here")
        draft.add(4, f"file: {q(MARKER)}")
    else:
        acc_cols = guess_columns(accounts, "accounts")
        draft.add(4, f"file: {q(accounts.name)}", f"CHECK: {plural(accounts.rows, 'row')}; chosen by its name")
        draft.checks.append(f"accounts come from {accounts.name}")
        pairs = [(c, acc_cols.get(c), "CHECK: guessed from the header") for c in GUESSES["accounts"]]
        draft.checks.extend(f"accounts.{c} = {acc_cols[c]}" for c in acc_cols)
        write_columns(draft, pairs)
        if acc_cols.get("account_id") == acc_cols.get("account_name"):
            draft.note(6, "no id column: the account NAME is the id, so deals and revenue must spell names "
                          "exactly the same way")
        write_formats(draft, 4, {c: folder.date_format(accounts, acc_cols[c]) for c in acc_cols if c in DATE_COLUMNS},
                      accounts)
        segment = accounts.column("Segment", "Tier", "Customer Tier", "Size")
        if segment:
            draft.add(4, "values:")
            write_value_map(
                draft, folder, accounts, "segment", segment,
                lambda v: ({"enterprise": ("enterprise", ""), "mid market": ("mid_market", ""),
                            "mid-market": ("mid_market", ""), "smb": ("smb", "")}.get(v.lower(), (None, ""))),
                "reject", "a value not listed is rejected (unmapped_value:segment)", "account")
            if "employee_count" in acc_cols:
                draft.note(6, f"(or replace `values: segment` with bands on {acc_cols['employee_count']}, "
                              "as docs/mapping.md shows)")
        else:
            write_segment_from_employees(draft, folder, accounts, acc_cols.get("employee_count"), "account",
                                         "no segment or employee column found: give segment a source")

    draft.add(2, "deals:")
    draft.add(4, f"file: {q(deals.name)}", f"CHECK: {plural(deals.rows, 'row')}; chosen by its name")
    stage = stage_column(folder, deals)
    deal_type = deals.column("Type", "Deal Type", "Opportunity Type")
    open_dated = folder.con.execute(
        f"SELECT count(*) FROM {deals.table} WHERE {folder.value(deals, deal_cols['closed_at'])} IS NOT NULL "
        f"AND lower({folder.value(deals, stage)}) NOT SIMILAR TO '.*(won|lost|closed).*'"
    ).fetchone()[0] if "closed_at" in deal_cols and stage else 0
    comments = {c: "CHECK: guessed from the header" for c in GUESSES["deals"]}
    # Without a column of its own, an open deal's close date is its expected one (as in a CRM).
    if open_dated and "expected_close_date" not in deal_cols:
        deal_cols["expected_close_date"] = deal_cols["closed_at"]
        comments["expected_close_date"] = f"CHECK: {EXPECTED_CLOSE_DATE_COMMENT}"
    write_columns(draft, [(c, deal_cols.get(c), comments[c]) for c in GUESSES["deals"]])
    draft.checks.extend(f"deals.{c} = {deal_cols[c]}" for c in deal_cols)
    missing_required = [c for c in ("deal_id", "account_id", "product_line", "created_at", "final_amount")
                        if c not in deal_cols]
    for column in missing_required:
        draft.todo(4, f"no column looks like {column}: add `{column}: <header>` under columns")
    write_formats(draft, 4, {c: folder.date_format(deals, deal_cols[c]) for c in deal_cols if c in DATE_COLUMNS},
                  deals)
    draft.add(4, "values:")
    if stage:
        write_value_map(draft, folder, deals, "stage", stage, name_stage, "reject",
                        "a stage not listed is rejected (unmapped_value:stage)", "deal", guessed=True)
    else:
        draft.todo(4, "no stage column found: map one under values: stage")
    if deal_type:
        write_value_map(draft, folder, deals, "deal_type", deal_type, name_deal_type, "reject",
                        "a type not listed is rejected (unmapped_value:deal_type)", "deal", guessed=True)
    else:
        draft.todo(4, "no deal type column found: add `constants: {deal_type: new_business}` or map one")
    margin = deal_cols.get("gross_margin_pct")
    if margin:
        top = folder.number_style(deals, margin)["max"]
        if top is not None and top > 1:
            draft.add(4, "percent_as_number: [gross_margin_pct]",
                      f"margins are written as percents (up to {top:g}): 53.8 means 0.538")
    if open_dated:
        expected = ("it goes to expected_close_date, not closed_at"
                    if deal_cols["expected_close_date"] == deal_cols["closed_at"]
                    else f"not closed_at (expected_close_date comes from {deal_cols['expected_close_date']})")
        draft.add(4, "closed_at_only_when_closed: true",
                  f"{plural(open_dated, 'open deal')} carry a close date (expected): {expected}")
    write_currency(draft, folder, deals, [c for c in AMOUNT_COLUMNS if c in deal_cols])
    rep = deal_cols.get("owner")
    team_rep = team.column("Rep", "Sales Rep", "Owner", "Name") if team else None
    team_targets = [(target, team.column(*names)) for target, names in
                    (("owner_manager", ("Manager", "Reports To")), ("owner_office", ("Office", "Location", "City")),
                     ("owner_team", ("Team", "Region")))] if team else []
    team_targets = [(t, c) for t, c in team_targets if c]
    if team and rep and team_rep and team_targets and has_team_columns():
        draft.add(4, "related:", f"CHECK: from {team.name}, matching the deal's {rep} to its {team_rep}")
        draft.checks.append(f"{team.name} joins on {team_rep}")
        for target, column in team_targets:
            draft.add(6, f"{target}: {{file: {q(team.name)}, match: {{{q(team_rep)}: {q(rep)}}}, column: {q(column)}}}")
    elif team:
        draft.note(4, f"{team.name} maps reps to managers and offices ({', '.join(team.header.written)}): owner stays\n"
                      "the rep; owner_manager / owner_office can come from it with `related:` (match: {Rep: Rep})\n"
                      "once those contract columns exist.")

    if activities:
        ev_cols = guess_columns(activities, "negotiation_events")
        subject = activities.column("Activity", "Subject", "Type", "Activity Type")
        draft.add(2, "negotiation_events:", "candidate events from the activity log")
        draft.add(4, f"file: {q(activities.name)}", "CHECK: chosen by its name")
        if "event_id" not in ev_cols:
            draft.note(4, f"no id column: each event's id is `{activities.name}:<record number>`")
        write_columns(draft, [(c, ev_cols.get(c), "CHECK: guessed from the header") for c in GUESSES["negotiation_events"]])
        write_formats(draft, 4, {"occurred_at": folder.date_format(activities, ev_cols["occurred_at"])}
                      if "occurred_at" in ev_cols else {}, activities)
        if subject:
            write_event_rules(draft, folder, activities, subject, None, guessed=True)
    write_contract_tables(draft, folder)
    return draft


DRAFTERS = {"salesforce": draft_salesforce, "hubspot": draft_hubspot, "generic": draft_generic}


def draft_mapping(vendor: str, src_dir: Path) -> Draft:
    if vendor not in DRAFTERS:
        raise InitError(f"unknown source {vendor!r}; expected one of {', '.join(VENDORS)}")
    folder = Folder(src_dir)
    try:
        return DRAFTERS[vendor](folder)
    finally:
        folder.con.close()


def run_init(vendor: str, src_dir: Path, out: Path | None, force: bool, stream) -> int:
    """The `dealscope init` command: write the draft and say what is left to decide."""
    target = Path(out) if out else Path(src_dir) / "dealscope.yml"
    if target.exists() and not force:
        print(f"dealscope init: {target} exists; pass --force to overwrite it (or --out another file)", file=stream)
        return 2
    try:
        draft = draft_mapping(vendor, Path(src_dir))
    except InitError as error:
        print(f"dealscope init: {error}", file=stream)
        return 2
    target.write_text(draft.text(), encoding="utf-8")
    print(f"wrote {target}", file=stream)
    print(f"  {len(draft.checks)} guesses marked CHECK, {len(draft.todos)} choices marked {MARKER}", file=stream)
    for todo in draft.todos:
        print(f"  {MARKER}: {todo}", file=stream)
    print(f"next: dealscope check --data {src_dir}" + (f" --mapping {target}" if out else ""), file=stream)
    return 0
