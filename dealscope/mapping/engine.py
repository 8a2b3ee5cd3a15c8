"""Apply a table's mapping: source export(s) -> the contract's landing table, in DuckDB SQL.

Two phases, like the loader's: ``open_table`` finds and reads the headers of every file the
mapping names and checks each named source column exists (MappingError, nothing written);
``land_table`` (inside the loader's transaction) lands the files as text with their record
numbers and runs one set-based SELECT producing ``raw.landing_<table>``: the contract's
columns as text, plus ``_source_file``, ``_source_row``, ``_record`` (the source row as read)
and ``_map_reason`` / ``_map_detail`` for rows the mapping itself rejects. The contract's
validation then runs on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dealscope.ingest import reader
from dealscope.ingest.spec import TableSpec
from dealscope.ingest.sql import ident, literal, shown
from dealscope.ingest.values import FALSE_WORDS, NUMBER_PATTERN, TRUE_WORDS
from dealscope.onboarding.event_rules import EventRule, finish_candidate_events, rule_case_sql

from .model import (
    KEEP,
    REJECT,
    DateFormat,
    Mapping,
    MappingDataError,
    MappingError,
    NumberFormat,
    Related,
    SourceColumn,
    TableMapping,
)

RATES_COLUMNS = ("currency", "rate_to_reporting")
RATES_DATE_COLUMN = "effective_from"
# A UTC offset (or Z) after a time of day: a date column drops it to keep the day as written.
_OFFSET_AFTER_TIME = r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_SPACES = "' ' || chr(9)"


@dataclass(frozen=True)
class OpenFile:
    source: reader.SourceFile
    header: reader.Header


@dataclass(frozen=True)
class OpenTable:
    """Everything checked before writing: the table's files, related files and rates file."""

    mapping: Mapping
    table: TableMapping
    files: tuple[OpenFile, ...]
    related: dict[str, OpenFile]  # by file name as written in the mapping
    rates: OpenFile | None

    @property
    def source_label(self) -> str:
        return ", ".join(f.source.name for f in self.files)


def _resolve(data_dir: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(data_dir) / path


def _open(con: duckdb.DuckDBPyConnection, mapping: Mapping, data_dir: Path, name: str, line: int) -> OpenFile:
    path = _resolve(data_dir, name)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".txt", ".tsv"):
        raise MappingError(mapping.path, line, f"'{name}': only .csv (.txt, .tsv) and .parquet files can be read")
    if not path.exists():
        raise MappingError(mapping.path, line, f"'{name}' is not in {data_dir}")
    source = reader.SourceFile(path, "parquet" if suffix == ".parquet" else "csv")
    reader.check_readable(source)
    if source.format == "csv":
        header = reader.read_csv_header(source, set())
    else:
        header = reader.read_parquet_header(con, source, set())
    return OpenFile(source, header)


def _require(mapping: Mapping, opened: OpenFile, column: SourceColumn) -> None:
    if column.key not in opened.header.columns:
        found = ", ".join(opened.header.written) or "none"
        raise MappingError(
            mapping.path, column.line, f"column '{column.name}' is not in {opened.source.name} (its columns: {found})"
        )


def _main_columns(table: TableMapping) -> list[SourceColumn]:
    """Source columns of the table's own file(s) the mapping reads."""
    used = [c for _, c in table.columns] + [v.column for v in table.values] + [b.column for b in table.bands]
    for rel in table.related:
        used += [ours for _, ours in rel.match]
    if table.stage_from_flags is not None:
        used += [table.stage_from_flags.is_closed, table.stage_from_flags.is_won]
    if table.currency is not None:
        used.append(table.currency.column)
    for rule in table.event_rules:
        used += [column for column, _ in rule.when]
    return used


def open_table(con: duckdb.DuckDBPyConnection, mapping: Mapping, table: str, data_dir: Path) -> OpenTable:
    """Find every file of the table's mapping and check the columns it names; no writes."""
    tm = mapping.tables[table]
    files = tuple(_open(con, mapping, data_dir, name, tm.line) for name in tm.files)
    for opened in files:
        for column in _main_columns(tm):
            _require(mapping, opened, column)
    related: dict[str, OpenFile] = {}
    for rel in tm.related:
        if rel.file not in related:
            related[rel.file] = _open(con, mapping, data_dir, rel.file, rel.line)
        opened = related[rel.file]
        for column in [theirs for theirs, _ in rel.match] + list(rel.columns):
            _require(mapping, opened, column)
        if rel.order_by is not None:
            _require(mapping, opened, rel.order_by)
        if rel.lookup is not None:
            if rel.lookup.file not in related:
                related[rel.lookup.file] = _open(con, mapping, data_dir, rel.lookup.file, rel.lookup.line)
            looked = related[rel.lookup.file]
            for theirs, ours in rel.lookup.match:
                _require(mapping, looked, theirs)
                _require(mapping, opened, ours)
            _require(mapping, looked, rel.lookup.column)
    rates = None
    if tm.currency is not None and mapping.currency is not None and mapping.currency.rates_file:
        rates = _open(con, mapping, data_dir, mapping.currency.rates_file, mapping.currency.line)
        for name in RATES_COLUMNS:
            _require(mapping, rates, SourceColumn(name, mapping.currency.line))
        dated = RATES_DATE_COLUMN in rates.header.columns
        if dated and tm.currency.as_of is None:
            raise MappingError(
                mapping.path, tm.currency.line,
                f"{rates.source.name} has dated rates ({RATES_DATE_COLUMN}): say which date picks the rate, "
                "e.g. as_of: created_at",
            )
        if not dated and tm.currency.as_of is not None:
            raise MappingError(
                mapping.path, tm.currency.line,
                f"as_of needs dated rates, but {rates.source.name} has no {RATES_DATE_COLUMN} column",
            )
    return OpenTable(mapping, tm, files, related, rates)


def _land(con: duckdb.DuckDBPyConnection, opened: OpenFile, name: str) -> None:
    if opened.source.format == "csv":
        reader.land_csv(con, opened.source, opened.header, name)
    else:
        reader.land_parquet(con, opened.source, opened.header, name)


def _taken_apart(value: str, column: SourceColumn) -> str:
    """A mapped column's value after `first_of_list` / `only_matching` (see SourceColumn)."""
    if column.first_of_list is not None:
        value = _trimmed(f"split_part({value}, {literal(column.first_of_list)}, 1)")
    if column.only_matching is not None:
        value = f"CASE WHEN regexp_matches({value}, {literal(column.only_matching)}) THEN {value} END"
    return value


def _trimmed(expr: str) -> str:
    return f"nullif(trim({expr}, {_SPACES}), '')"


def _number(raw: str, fmt: NumberFormat, percent: bool = False) -> str:
    """SQL text of a number written with the stated format, rewritten as a plain decimal (or NULL)."""
    text = raw
    for symbol in fmt.currency_symbols:
        text = f"replace({text}, {literal(symbol)}, '')"
    if percent:
        text = f"replace({text}, '%', '')"
    if fmt.thousands_separator == " ":
        text = f"regexp_replace({text}, '[ \\u00A0\\u202F]', '', 'g')"
    elif fmt.thousands_separator:
        text = f"replace({text}, {literal(fmt.thousands_separator)}, '')"
    text = f"trim({text}, {_SPACES})"
    if fmt.decimal_mark == ",":
        text = f"replace({text}, ',', '.')"
    return f"CASE WHEN regexp_full_match({text}, {literal(NUMBER_PATTERN)}) THEN {text} END"


def _base(target: str) -> str:
    """A contract column's base value (before formats), materialised in the mapping's first table."""
    return "_s." + ident("_b_" + target)


def _formatted(target: str) -> str:
    """A contract column's value after its stated format."""
    return "_s." + ident("_f_" + target)


def _percent(plain: str) -> str:
    return f"CAST(round(try_cast({plain} AS DOUBLE) / 100, 12) AS VARCHAR)"


def _date(raw: str, fmt: DateFormat, kind: str) -> str:
    formats = fmt.formats
    if fmt.with_offset and kind == "date":
        # A date keeps the day as written (as in the contract), so the offset is dropped, not applied.
        value = f"regexp_replace({raw}, {literal(_OFFSET_AFTER_TIME)}, '\\1')"
        formats = tuple(f.replace("%z", "").replace("%Z", "").rstrip() for f in formats)
    elif fmt.with_offset:
        value = f"regexp_replace({raw}, '[Zz]$', '+00:00')"
    else:
        value = raw
    parsed = f"try_strptime({value}, [{', '.join(literal(f) for f in formats)}])"
    if kind == "date":
        return f"strftime({parsed}, '%Y-%m-%d')"
    if fmt.with_offset:
        parsed = f"timezone('UTC', {parsed})"
    return f"strftime({parsed}, '%Y-%m-%d %H:%M:%S.%f') || '+00:00'"


def _boolean(raw: str) -> str:
    words_true = ", ".join(literal(w) for w in TRUE_WORDS)
    words_false = ", ".join(literal(w) for w in FALSE_WORDS)
    return f"CASE WHEN lower({raw}) IN ({words_true}) THEN true WHEN lower({raw}) IN ({words_false}) THEN false END"


class _Checks:
    """Mapping rejections in priority order: (condition, reason, detail SQL)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, condition: str, reason: str, detail: str) -> None:
        self.items.append((condition, literal(reason), detail))

    def case(self, part: int) -> str:
        if not self.items:
            return "CAST(NULL AS VARCHAR)"
        return "CASE " + " ".join(f"WHEN {item[0]} THEN {item[part]}" for item in self.items) + " END"


def _related_sql(plan: OpenTable, rel: Related, index: int, names: dict[str, str]) -> tuple[str, list[str]]:
    """A CTE aggregating the related file per match key; returns (CTE SQL, its key columns)."""
    fmt = plan.mapping.formats.number
    src = f"raw.{ident(names[rel.file])}"
    keys = [f"{_trimmed('_r.' + ident(theirs.key))} AS _k{i}" for i, (theirs, _) in enumerate(rel.match)]
    key_names = [f"_k{i}" for i in range(len(rel.match))]
    if rel.kind in ("sum_of_product", "sum"):
        factors = [_trimmed("_r." + ident(c.key)) for c in rel.columns]
        parsed = [f"try_cast({_number(f, fmt)} AS DOUBLE)" for f in factors]
        product = " * ".join(parsed)
        unreadable = " OR ".join(f"({f} IS NOT NULL AND {p} IS NULL)" for f, p in zip(factors, parsed))
        first_bad = " || ', ' || ".join(f"coalesce({shown(f)}, '')" for f in factors)
        return (
            f"""_rel{index} AS (
                SELECT {', '.join(keys)}, sum({product}) AS _value, NULL AS _others,
                       count(*) FILTER (WHERE {unreadable}) AS _bad_rows,
                       min(CASE WHEN {unreadable} THEN 'row ' || _r._row_number || ' (' || {first_bad} || ')' END) AS _bad_example
                FROM {src} AS _r WHERE _r._field_count = {len(plan.related[rel.file].header.columns)}
                GROUP BY ALL)""",
            key_names,
        )
    if rel.lookup is not None:
        looked = f"raw.{ident(names[rel.lookup.file])}"
        on = " AND ".join(
            f"{_trimmed('_x.' + ident(theirs.key))} = {_trimmed('_r.' + ident(ours.key))}" for theirs, ours in rel.lookup.match
        )
        value = _trimmed("_x." + ident(rel.lookup.column.key))
        joined = f"{src} AS _r LEFT JOIN {looked} AS _x ON {on}"
    else:
        value = _trimmed("_r." + ident(rel.columns[0].key))
        joined = f"{src} AS _r"
    # A malformed row of a related file is not one of the table's rows: it is left out, as in sums.
    joined += f" WHERE _r._field_count = {len(plan.related[rel.file].header.columns)}"
    if rel.others_to is None:
        # Only the picked value is needed: arg_min/arg_max over (missing order last, order, file order)
        # is several times faster than an ordered list.
        order_value = _trimmed("_r." + ident(rel.order_by.key)) if rel.order_by is not None else "NULL"
        key = f"({order_value} IS NULL, {order_value}, _r._row_number)"
        pick = "arg_min" if rel.pick == "first" else "arg_max"
        return (
            f"""_rel{index} AS (
                SELECT {', '.join(keys)}, {pick}({value}, {key}) FILTER (WHERE {value} IS NOT NULL) AS _value,
                       NULL AS _others, 0 AS _bad_rows, NULL AS _bad_example
                FROM {joined} GROUP BY ALL)""",
            key_names,
        )
    direction = "" if rel.pick == "first" else " DESC"
    order = ([_trimmed("_r." + ident(rel.order_by.key))] if rel.order_by is not None else []) + ["_r._row_number"]
    ordered = ", ".join(f"{part}{direction}" for part in order)
    return (
        f"""_rel{index} AS (
            SELECT {', '.join(keys)}, list({value} ORDER BY {ordered}) FILTER (WHERE {value} IS NOT NULL) AS _values,
                   _values[1] AS _value,
                   nullif(array_to_string(list_slice(_values, 2, len(_values)), '; '), '') AS _others,
                   0 AS _bad_rows, NULL AS _bad_example
            FROM {joined} GROUP BY ALL)""",
        key_names,
    )


def land_table(con: duckdb.DuckDBPyConnection, plan: OpenTable, spec: TableSpec, landing: str) -> set[str]:
    """Create ``landing`` from the mapped source files; returns the contract columns present."""
    mapping, tm = plan.mapping, plan.table
    where = mapping.where
    # 1. Source files, each with its own record numbers, appended.
    parts = []
    offset = 0
    land_names = []
    for i, opened in enumerate(plan.files):
        name = f"_mapping_{spec.name}_source_{i}"
        land_names.append(name)
        _land(con, opened, f"raw.{ident(name)}")
        n = len(opened.header.columns)
        parts.append(
            f"""SELECT _l.*, _l._row_number + {offset} AS _ordinal, {literal(opened.source.name)} AS _source_file,
                       _l._row_number AS _source_row, {reader.record_json(opened.header, '_l')} AS _record,
                       _l._field_count <> {n} AS _malformed, {n} AS _header_fields
                FROM raw.{ident(name)} AS _l"""
        )
        count = con.execute(f"SELECT count(*) FROM raw.{ident(name)}").fetchone()
        offset += int(count[0]) if count else 0
    source = f"raw.{ident(f'_mapping_{spec.name}_source')}"
    con.execute(f"CREATE OR REPLACE TABLE {source} AS {' UNION ALL BY NAME '.join(parts)}")
    related_names: dict[str, str] = {}
    for j, (file_name, opened) in enumerate(plan.related.items()):
        related_names[file_name] = f"_mapping_{spec.name}_related_{j}"
        _land(con, opened, f"raw.{ident(related_names[file_name])}")

    kinds = {c.name: c.kind for c in spec.columns}
    checks = _Checks()
    checks.add(
        "_s._malformed", "malformed_row",
        "'The record has ' || _s._field_count || ' fields but the header of ' || _s._source_file || ' has ' "
        "|| _s._header_fields || ': fix its quoting or delimiters (see record).'",
    )

    def col(column: SourceColumn) -> str:
        return _trimmed("_s." + ident(column.key))

    # 2. Base value of every produced contract column (text), and the mapping's own rejections.
    values: dict[str, str] = {}
    joins: list[str] = []
    ctes: list[str] = []
    for target, column in tm.columns:
        values[target] = _taken_apart(col(column), column)
    for target, constant in tm.constants:
        values[target] = literal(constant)
    for vm in tm.values:
        raw = col(vm.column)
        mapped = "CASE lower(" + raw + ") " + " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in vm.pairs) + " END"
        known = ", ".join(literal(k) for k, _ in vm.pairs) or "NULL"
        otherwise = "NULL" if vm.otherwise == REJECT else (raw if vm.otherwise == KEEP else literal(vm.otherwise))
        missing = literal(vm.missing) if vm.missing is not None else "NULL"
        values[vm.target] = (
            f"CASE WHEN {raw} IS NULL THEN {missing} WHEN lower({raw}) IN ({known}) THEN {mapped} ELSE {otherwise} END"
        )
        if vm.otherwise == REJECT:
            checks.add(
                f"{raw} IS NOT NULL AND lower({raw}) NOT IN ({known})", f"unmapped_value:{vm.target}",
                f"{literal(vm.column.name + ' ')} || {shown(raw)} || "
                f"{literal(f' has no entry in the value map of {vm.target} ({where(vm.line)}): add it under map, or set otherwise.')}",
            )
    flags = tm.stage_from_flags
    if flags is not None:
        won, closed = _boolean(col(flags.is_won)), _boolean(col(flags.is_closed))
        values["stage"] = f"CASE WHEN {won} THEN 'won' WHEN {closed} THEN 'lost' WHEN NOT {closed} THEN 'open' END"
        for flag in (flags.is_won, flags.is_closed):
            checks.add(
                f"{col(flag)} IS NOT NULL AND {_boolean(col(flag))} IS NULL", "bad_format:stage",
                f"{literal(flag.name + ' ')} || {shown(col(flag))} || "
                f"{literal(f' is not a boolean (true/false, 1/0, yes/no), so the stage cannot be read ({where(flags.line)}).')}",
            )
    for bands in tm.bands:
        raw = col(bands.column)
        number = f"try_cast({_number(raw, mapping.formats.number)} AS DOUBLE)"
        cases = " ".join(
            f"WHEN {number} < {band.below!r} THEN {literal(band.value)}" if band.below is not None
            else f"ELSE {literal(band.value)}"
            for band in bands.bands
        )
        fallback = "NULL" if bands.when_missing == REJECT else literal(bands.when_missing)
        values[bands.target] = f"CASE WHEN {raw} IS NULL THEN {fallback} ELSE CASE {cases} END END"
        checks.add(
            f"{raw} IS NOT NULL AND {number} IS NULL", f"bad_format:{bands.target}",
            f"{literal(bands.column.name + ' ')} || {shown(raw)} || "
            f"{literal(f' is not a number in the stated format, so no band of {bands.target} applies ({where(bands.line)}).')}",
        )
        if bands.when_missing == REJECT:
            checks.add(
                f"{raw} IS NULL", f"missing_band_value:{bands.target}",
                literal(f"{bands.column.name} is empty, so {bands.target} cannot be derived from its bands "
                        f"({where(bands.line)}): fill it in, or set when_missing to a value."),
            )
        if bands.bands[-1].below is not None:
            checks.add(
                f"{number} >= {bands.bands[-1].below!r}", f"unmapped_value:{bands.target}",
                f"{literal(bands.column.name + ' ')} || {shown(raw)} || "
                f"{literal(f' is above every band of {bands.target} ({where(bands.line)}): add a last band without below.')}",
            )
    extras: list[str] = [
        f"_rel{index}._others AS {ident(rel.others_to)}" for index, rel in enumerate(tm.related) if rel.others_to
    ]
    for index, rel in enumerate(tm.related):
        cte, keys = _related_sql(plan, rel, index, related_names)
        ctes.append(cte)
        on = " AND ".join(f"_rel{index}.{k} = {col(ours)}" for k, (_, ours) in zip(keys, rel.match))
        joins.append(f"LEFT JOIN _rel{index} ON {on}")
        values[rel.target] = f"CAST(_rel{index}._value AS VARCHAR)"
        if rel.kind != "pick":
            checks.add(
                f"coalesce(_rel{index}._bad_rows, 0) > 0", f"bad_format:{rel.target}",
                f"{literal(rel.target + ' cannot be summed: ' + rel.file + ' ')} || _rel{index}._bad_example || "
                f"{literal(f' holds a value that is not a number in the stated format ({where(rel.line)}).')}",
            )
    if tm.event_rules:
        # Which rule matches an activity is defined once, in dealscope.onboarding.event_rules; an
        # activity no rule matches is not an event and not a rejection (finish_candidate_events counts it).
        rules = [EventRule(r.name, tuple((c.name, p) for c, p in r.when), r.event_type) for r in tm.event_rules]
        values["event_type"] = rule_case_sql(rules, "event_type", "_s")
        extras.append(f"{rule_case_sql(rules, 'name', '_s')} AS _rule_name")
        if "event_id" not in values:
            values["event_id"] = "_s._source_file || ':' || _s._source_row"

    # 3. Formats: dates, timestamps, numbers, percentages, on the base values, which are materialised
    # first so each expression is computed once per row (a SELECT repeating them was 3x slower).
    first_checks, checks = checks, _Checks()
    formatted = {target: _base(target) for target in values}
    date_formats = dict(tm.date_formats)
    number_formats = dict(tm.number_formats)
    # Formats describe how the export writes a column, so they apply to values read from a source
    # column; a constant, a mapped code or a related sum is already written the contract's way.
    from_columns = {target for target, _ in tm.columns}
    for target in values:
        if target not in from_columns:
            continue
        base = _base(target)
        if target in date_formats and kinds[target] in ("date", "timestamp"):
            fmt = date_formats[target]
            formatted[target] = _date(base, fmt, kinds[target])
            shown_formats = " or ".join(fmt.formats)
            checks.add(
                f"({base}) IS NOT NULL AND {formatted[target]} IS NULL", f"bad_format:{target}",
                f"{literal(target + ' ')} || {shown(base)} || "
                f"{literal(f' does not match the date format {shown_formats} ({where(fmt.line)}): correct the value or the format.')}",
            )
        elif kinds.get(target) in ("decimal", "integer") and (target in number_formats or target in tm.percent_as_number):
            fmt = number_formats.get(target, NumberFormat())
            percent = target in tm.percent_as_number
            plain = _number(base, fmt, percent)
            formatted[target] = _percent(plain) if percent else plain
            checks.add(
                f"({base}) IS NOT NULL AND {plain} IS NULL", f"bad_format:{target}",
                f"{literal(target + ' ')} || {shown(base)} || "
                f"{literal(f' is not a number in the stated format ({where(fmt.line or tm.line)}): correct the value or the format.')}",
            )

    # 4. Rules across columns (on the formatted values): closed_at only for closed deals, currencies.
    final = {target: _formatted(target) for target in formatted}
    if tm.closed_at_only_when_closed and "closed_at" in final and "stage" in final:
        final["closed_at"] = f"CASE WHEN lower({_formatted('stage')}) IN ('won', 'lost') THEN {_formatted('closed_at')} END"
    # The same CRM close date is the expected one while the deal is open: kept only then.
    if tm.closed_at_only_when_closed and "expected_close_date" in final and "stage" in final:
        final["expected_close_date"] = (f"CASE WHEN lower({_formatted('stage')}) NOT IN ('won', 'lost') "
                                        f"THEN {_formatted('expected_close_date')} END")
    rate_join = ""
    if tm.currency is not None and mapping.currency is not None:
        currency = col(tm.currency.column)
        reporting = literal(mapping.currency.reporting.upper())
        if plan.rates is None:
            _check_single_currency(con, mapping, tm, source, currency, reporting)
            rate = "1.0"
        else:
            rates = f"_mapping_{spec.name}_rates"
            _land(con, plan.rates, f"raw.{ident(rates)}")
            as_of = tm.currency.as_of
            _check_rates(con, mapping, plan.rates, f"raw.{ident(rates)}", dated=as_of is not None)
            well_formed = f"_field_count = {len(plan.rates.header.columns)}"
            rate_value = f"try_cast({_trimmed('rate_to_reporting')} AS DOUBLE)"
            if as_of is None:
                rate_join = (
                    f"LEFT JOIN (SELECT upper({_trimmed('currency')}) AS _currency, any_value({rate_value}) AS _rate "
                    f"FROM raw.{ident(rates)} WHERE {well_formed} GROUP BY 1) AS _fx "
                    f"ON _fx._currency = upper({currency})"
                )
                missing_rate = f"' has no rate in {plan.rates.source.name}: add a line for it ({where(tm.currency.line)}).'"
            else:
                # The rate in force on the row's date: the latest effective_from on or before it.
                day = f"try_cast(left({formatted[as_of]}, 10) AS DATE)"
                rate_join = (
                    f"ASOF LEFT JOIN (SELECT upper({_trimmed('currency')}) AS _currency, "
                    f"CAST({_trimmed(RATES_DATE_COLUMN)} AS DATE) AS _effective_from, {rate_value} AS _rate "
                    f"FROM raw.{ident(rates)} WHERE {well_formed}) AS _fx "
                    f"ON _fx._currency = upper({currency}) AND {day} >= _fx._effective_from"
                )
                shown_day = shown(f"CAST({day} AS VARCHAR)")
                missing_rate = (
                    f"' has no rate in {plan.rates.source.name} in force on {as_of} ' || coalesce({shown_day}, '(no date)') "
                    f"|| ': add a line for it ({where(tm.currency.line)}).'"
                )
            rate = f"CASE WHEN {currency} IS NULL OR upper({currency}) = {reporting} THEN 1.0 ELSE _s._rate END"
            checks.add(
                f"{currency} IS NOT NULL AND upper({currency}) <> {reporting} AND _fx._rate IS NULL", "unknown_currency",
                f"{literal(tm.currency.column.name + ' ')} || {shown(currency)} || {missing_rate}",
            )
        for amount in tm.currency.amounts:
            if amount in final:
                value = final[amount]
                final[amount] = (
                    f"CASE WHEN try_cast({value} AS DOUBLE) IS NULL THEN {value} "
                    f"ELSE CAST(round(try_cast({value} AS DOUBLE) * ({rate}), 6) AS VARCHAR) END"
                )

    produced = [c.name for c in spec.columns if c.name in final]
    # Every contract column is in the landing (a column the mapping does not give is empty, which the
    # contract reads as missing), so whatever reads the landing finds the contract's shape.
    selected = ",\n               ".join(
        f"CAST({final.get(c.name, 'NULL')} AS VARCHAR) AS {ident(c.name)}" for c in spec.columns)
    with_clause = ("WITH " + ", ".join(ctes)) if ctes else ""
    base_table = f"raw.{ident(f'_mapping_{spec.name}_base')}"
    base_values = "".join(f", {values[t]} AS {ident('_b_' + t)}" for t in values)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {base_table} AS
        {with_clause}
        SELECT _s.*{base_values},
               {first_checks.case(1)} AS _reason_base, {first_checks.case(2)} AS _detail_base
               {''.join(', ' + e for e in extras)}
        FROM {source} AS _s
        {' '.join(joins)}
        """
    )
    formatted_values = ", ".join(f"{formatted[t]} AS {ident('_f_' + t)}" for t in formatted)
    extra_names = "".join(", _s." + e.rsplit(" AS ", 1)[1] for e in extras)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {landing} AS
        WITH _f AS (
            SELECT _s.*, {formatted_values or 'NULL AS _nothing'}, {'_fx._rate' if rate_join else 'NULL'} AS _rate,
                   {checks.case(1)} AS _reason_formatted, {checks.case(2)} AS _detail_formatted
            FROM {base_table} AS _s {rate_join}
        )
        SELECT _s._ordinal AS _row_number,
               {selected},
               CAST({len(spec.columns)} AS INTEGER) AS _field_count,
               _s._extra_fields,
               _s._source_file, _s._source_row, _s._record,
               coalesce(_s._reason_base, _s._reason_formatted) AS _map_reason,
               CASE WHEN _s._reason_base IS NOT NULL THEN _s._detail_base ELSE _s._detail_formatted END AS _map_detail
               {extra_names}
        FROM _f AS _s
        ORDER BY _s._ordinal
        """
    )
    if tm.event_rules:
        finish_candidate_events(con, landing)
    for name in [*land_names, f"_mapping_{spec.name}_source", *related_names.values(), f"_mapping_{spec.name}_rates",
                 f"_mapping_{spec.name}_base"]:
        con.execute(f"DROP TABLE IF EXISTS raw.{ident(name)}")
    return set(produced)


def _check_single_currency(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, tm: TableMapping, source: str, currency: str, reporting: str
) -> None:
    """Without a rates file every amount must already be in the reporting currency."""
    found = con.execute(
        f"SELECT upper({currency}) AS c, count(*) FROM {source} AS _s "
        f"WHERE {currency} IS NOT NULL AND upper({currency}) <> {reporting} GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    if found:
        listed = ", ".join(f"{c} ({n} rows)" for c, n in found[:8])
        assert mapping.currency is not None
        raise MappingDataError(
            f"{', '.join(tm.files)}: amounts are in other currencies than {mapping.currency.reporting}: {listed}. "
            f"Mixed currencies are never summed as they are: add currency.rates_file to {mapping.where(mapping.currency.line)} "
            "(columns currency, rate_to_reporting)."
        )


def _check_rates(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, opened: OpenFile, table: str, dated: bool
) -> None:
    rate = f"try_cast({_trimmed('rate_to_reporting')} AS DOUBLE)"
    day = f"try_cast({_trimmed(RATES_DATE_COLUMN)} AS DATE)" if dated else "CAST('2000-01-01' AS DATE)"
    bad = con.execute(
        f"SELECT _row_number FROM {table} WHERE _field_count <> {len(opened.header.columns)} "
        f"OR {_trimmed('currency')} IS NULL OR NOT coalesce({rate} > 0, false) OR {day} IS NULL "
        "ORDER BY 1 LIMIT 1"
    ).fetchone()
    if bad:
        needs = "currency, a positive rate_to_reporting" + (" and effective_from (YYYY-MM-DD)" if dated else "")
        raise MappingDataError(f"{opened.source.name}: row {bad[0]} lacks one of {needs}; every line needs them.")
    repeated = con.execute(
        f"SELECT upper({_trimmed('currency')}), {day}, count(DISTINCT {rate}) FROM {table} "
        f"GROUP BY 1, 2 HAVING count(DISTINCT {rate}) > 1 LIMIT 1"
    ).fetchone()
    if repeated:
        when = f" from {repeated[1]}" if dated else ""
        raise MappingDataError(
            f"{opened.source.name}: currency {repeated[0]} has {repeated[2]} different rates{when}; give one rate"
            + (" per currency and effective_from." if dated else " per currency (or dated rates with effective_from).")
        )
