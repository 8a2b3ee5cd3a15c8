"""Read ``dealscope.yml`` into a Mapping, checking every key against the contract.

YAML is composed into nodes (not loaded into dicts) so every error names its line.
Checks that need the data files (does the source column exist?) are in ``files.py``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from dealscope.ingest.spec import SPECS
from dealscope.onboarding.todos import todo_error, unresolved_todos

from .model import (
    KEEP,
    REJECT,
    Band,
    Bands,
    Currency,
    CurrencyRule,
    DateFormat,
    EventRule,
    Formats,
    Lookup,
    Mapping,
    MappingError,
    NumberFormat,
    Related,
    SourceColumn,
    StageFlags,
    TableMapping,
    ValueMap,
)

TOP_KEYS = ("version", "source", "max_rejected_share", "formats", "currency", "tables")
FORMAT_KEYS = ("date", "timestamp", "decimal_mark", "thousands_separator", "currency_symbols")
NUMBER_KEYS = ("decimal_mark", "thousands_separator", "currency_symbols")
TABLE_KEYS = (
    "file", "columns", "constants", "formats", "values", "bands", "related", "stage_from_flags",
    "closed_at_only_when_closed", "percent_as_number", "currency", "event_rules",
)
DECIMAL_MARKS = (".", ",")
THOUSANDS_SEPARATORS = ("", ",", ".", " ", "'")
NUMBER_KINDS = ("decimal", "integer")
DATE_KINDS = ("date", "timestamp")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Reader:
    """Walks the composed YAML, raising MappingError(path, line, problem)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node | int | None, problem: str) -> MappingError:
        line = node if isinstance(node, int) or node is None else _line(node)
        return MappingError(self.path, line, problem)

    def items(self, node: yaml.Node, what: str, allowed: tuple[str, ...] | None = None) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of keys to values")
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, f"{what}: keys must be plain names")
            key = str(key_node.value)
            if key in seen:
                raise self.fail(key_node, f"{what}: '{key}' is given twice")
            seen.add(key)
            if allowed is not None and key not in allowed:
                raise self.fail(key_node, f"unknown key '{key}' in {what} (expected one of: {', '.join(allowed)})")
            out.append((key, key_node, value_node))
        return out

    def text(self, node: yaml.Node, what: str, allow_empty: bool = False) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, f"{what} must be a single value")
        value = str(node.value)
        if not allow_empty and not value.strip():
            raise self.fail(node, f"{what} must not be empty")
        return value

    def texts(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        """A value or a list of values."""
        if isinstance(node, yaml.SequenceNode):
            if not node.value:
                raise self.fail(node, f"{what} must not be an empty list")
            return tuple(self.text(item, what, allow_empty=True) for item in node.value)
        return (self.text(node, what),)

    def number(self, node: yaml.Node, what: str) -> float:
        text = self.text(node, what)
        try:
            return float(text)
        except ValueError:
            raise self.fail(node, f"{what} must be a number, not '{text}'") from None

    def boolean(self, node: yaml.Node, what: str) -> bool:
        text = self.text(node, what).lower()
        if text in ("true", "yes", "on"):
            return True
        if text in ("false", "no", "off"):
            return False
        raise self.fail(node, f"{what} must be true or false, not '{text}'")

    def column(self, node: yaml.Node, what: str) -> SourceColumn:
        return SourceColumn(self.text(node, what).strip(), _line(node))


def _column_spec(reader: _Reader, node: yaml.Node, what: str) -> SourceColumn:
    """A source column, or {column, first_of_list, only_matching} for a value to take apart first."""
    if not isinstance(node, yaml.MappingNode):
        return reader.column(node, what)
    parts = {key: (k, v) for key, k, v in reader.items(node, what, ("column", "first_of_list", "only_matching"))}
    if "column" not in parts:
        raise reader.fail(node, f"{what} needs 'column' (the source column)")
    first_of_list = reader.text(parts["first_of_list"][1], f"{what}.first_of_list") if "first_of_list" in parts else None
    only_matching = None
    if "only_matching" in parts:
        only_matching = reader.text(parts["only_matching"][1], f"{what}.only_matching")
        con = duckdb.connect()
        try:
            con.execute("SELECT regexp_matches('', ?)", [only_matching]).fetchone()
        except duckdb.Error as error:
            raise reader.fail(parts["only_matching"][1], f"'{only_matching}' is not a valid regular expression "
                                                         f"({str(error).splitlines()[0]})") from None
        finally:
            con.close()
    column = reader.column(parts["column"][1], f"{what}.column")
    return SourceColumn(column.name, column.line, first_of_list, only_matching)


def _check_strptime(reader: _Reader, node: yaml.Node, formats: tuple[str, ...], what: str) -> DateFormat:
    con = duckdb.connect()
    try:
        kinds = set()
        for fmt in formats:
            if "%" not in fmt:
                raise reader.fail(node, f"{what}: '{fmt}' is not a strptime format (e.g. %m/%d/%Y)")
            try:
                row = con.execute("SELECT typeof(try_strptime('', ?))", [fmt]).fetchone()
            except duckdb.Error as error:
                message = str(error).strip().splitlines()[0]
                raise reader.fail(node, f"{what}: '{fmt}' is not a valid strptime format ({message})") from None
            kinds.add(row[0] if row else "")
    finally:
        con.close()
    return DateFormat(formats, _line(node), with_offset=any("WITH TIME ZONE" in k for k in kinds))


def _number_format(reader: _Reader, node: yaml.Node, base: NumberFormat, what: str) -> NumberFormat:
    decimal_mark, thousands, symbols = base.decimal_mark, base.thousands_separator, base.currency_symbols
    for key, key_node, value in reader.items(node, what, NUMBER_KEYS):
        if key == "decimal_mark":
            decimal_mark = reader.text(value, f"{what}.decimal_mark")
            if decimal_mark not in DECIMAL_MARKS:
                raise reader.fail(value, f"decimal_mark must be '.' or ',', not '{decimal_mark}'")
        elif key == "thousands_separator":
            thousands = reader.text(value, f"{what}.thousands_separator", allow_empty=True)
            if thousands not in THOUSANDS_SEPARATORS:
                raise reader.fail(value, "thousands_separator must be one of '', ',', '.', ' ', \"'\"")
        else:
            symbols = tuple(s for s in reader.texts(value, f"{what}.currency_symbols") if s)
    if thousands and thousands == decimal_mark:
        raise reader.fail(node, f"{what}: the thousands separator and the decimal mark are both '{decimal_mark}'")
    return NumberFormat(decimal_mark, thousands, symbols, _line(node))


def _formats(reader: _Reader, node: yaml.Node) -> Formats:
    date = timestamp = None
    number_node = None
    for key, key_node, value in reader.items(node, "formats", FORMAT_KEYS):
        if key == "date":
            date = _check_strptime(reader, value, reader.texts(value, "formats.date"), "formats.date")
        elif key == "timestamp":
            timestamp = _check_strptime(reader, value, reader.texts(value, "formats.timestamp"), "formats.timestamp")
        else:
            number_node = node
    number = NumberFormat()
    if number_node is not None:
        # Re-read just the number keys of the same mapping.
        sub = yaml.MappingNode(node.tag, [(k, v) for k, v in node.value if k.value in NUMBER_KEYS],
                               node.start_mark, node.end_mark)
        number = _number_format(reader, sub, NumberFormat(), "formats")
    return Formats(date, timestamp, number)


def _contract_column(reader: _Reader, table: str, key_node: yaml.Node, what: str) -> str:
    name = str(key_node.value)
    spec = SPECS[table]
    if name not in {c.name for c in spec.columns}:
        names = ", ".join(c.name for c in spec.columns)
        raise reader.fail(key_node, f"{what}: '{name}' is not a column of the contract's {table} (columns: {names})")
    return name


def _match(reader: _Reader, node: yaml.Node, what: str) -> tuple[tuple[SourceColumn, SourceColumn], ...]:
    pairs = tuple(
        (SourceColumn(str(k.value).strip(), _line(k)), reader.column(v, f"{what}.match"))
        for _, k, v in reader.items(node, f"{what}.match")
    )
    if not pairs:
        raise reader.fail(node, f"{what}.match must name at least one pair of columns")
    return pairs


def _related(reader: _Reader, table: str, key_node: yaml.Node, node: yaml.Node) -> Related:
    target = str(key_node.value)
    what = f"related.{target}"
    allowed = ("file", "match", "sum_of_product", "sum", "column", "lookup", "pick", "order_by", "others_to")
    fields = {key: (k, v) for key, k, v in reader.items(node, what, allowed)}
    for needed in ("file", "match"):
        if needed not in fields:
            raise reader.fail(node, f"{what} needs '{needed}'")
    kinds = [k for k in ("sum_of_product", "sum", "column", "lookup") if k in fields]
    aggregate = [k for k in kinds if k in ("sum_of_product", "sum")]
    if len(aggregate) > 1 or (aggregate and len(kinds) > 1) or not kinds or ("column" in kinds and "lookup" in kinds):
        raise reader.fail(node, f"{what} needs exactly one of sum_of_product, sum, column or lookup")
    lookup = None
    if aggregate:
        kind = aggregate[0]
        value = fields[kind][1]
        if kind == "sum_of_product":
            if not isinstance(value, yaml.SequenceNode) or len(value.value) < 2:
                raise reader.fail(value, f"{what}.sum_of_product must list two or more columns")
            columns = tuple(reader.column(item, f"{what}.sum_of_product") for item in value.value)
        else:
            columns = (reader.column(value, f"{what}.sum"),)
        for extra in ("pick", "order_by", "others_to"):
            if extra in fields:
                raise reader.fail(fields[extra][0], f"{what}: '{extra}' applies to a picked column, not to a sum")
    else:
        kind = "pick"
        if "lookup" in fields:
            lookup_node = fields["lookup"][1]
            parts = {key: (k, v) for key, k, v in reader.items(lookup_node, f"{what}.lookup", ("file", "match", "column"))}
            for needed in ("file", "match", "column"):
                if needed not in parts:
                    raise reader.fail(lookup_node, f"{what}.lookup needs '{needed}'")
            lookup = Lookup(
                reader.text(parts["file"][1], f"{what}.lookup.file"),
                _match(reader, parts["match"][1], f"{what}.lookup"),
                reader.column(parts["column"][1], f"{what}.lookup.column"),
                _line(lookup_node),
            )
            columns = ()
        else:
            columns = (reader.column(fields["column"][1], f"{what}.column"),)
    pick = "first"
    if "pick" in fields:
        pick = reader.text(fields["pick"][1], f"{what}.pick")
        if pick not in ("first", "last"):
            raise reader.fail(fields["pick"][1], f"{what}.pick must be first or last, not '{pick}'")
    order_by = reader.column(fields["order_by"][1], f"{what}.order_by") if "order_by" in fields else None
    others_to = None
    if "others_to" in fields:
        others_to = reader.text(fields["others_to"][1], f"{what}.others_to").strip().lower()
        if others_to in {c.name for c in SPECS[table].columns}:
            raise reader.fail(fields["others_to"][1], f"{what}.others_to must be a new column name, not the contract's '{others_to}'")
    return Related(
        target, reader.text(fields["file"][1], f"{what}.file"), _match(reader, fields["match"][1], what),
        kind, columns, lookup, pick, order_by, others_to, _line(key_node),
    )


def _value_map(reader: _Reader, table: str, target: str, key_node: yaml.Node, node: yaml.Node) -> ValueMap:
    what = f"values.{target}"
    fields = {key: (k, v) for key, k, v in reader.items(node, what, ("column", "map", "otherwise", "missing"))}
    for needed in ("column", "map"):
        if needed not in fields:
            raise reader.fail(node, f"{what} needs '{needed}'")
    pairs: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for _, k, v in reader.items(fields["map"][1], f"{what}.map"):
        source_value = str(k.value).strip(" \t").lower()
        if source_value in seen:
            raise reader.fail(k, f"{what}.map: '{k.value}' repeats line {seen[source_value]} (values compare case-insensitively)")
        seen[source_value] = _line(k)
        pairs.append((source_value, reader.text(v, f"{what}.map['{k.value}']")))
    # Without a fallback a value the map does not list is a rejected row naming it, never a guess.
    otherwise = reader.text(fields["otherwise"][1], f"{what}.otherwise") if "otherwise" in fields else REJECT
    missing = reader.text(fields["missing"][1], f"{what}.missing") if "missing" in fields else None
    return ValueMap(target, reader.column(fields["column"][1], f"{what}.column"), tuple(pairs), otherwise, missing,
                    _line(key_node))


def _bands(reader: _Reader, target: str, key_node: yaml.Node, node: yaml.Node) -> Bands:
    what = f"bands.{target}"
    fields = {key: (k, v) for key, k, v in reader.items(node, what, ("column", "bands", "when_missing"))}
    for needed in ("column", "bands"):
        if needed not in fields:
            raise reader.fail(node, f"{what} needs '{needed}'")
    list_node = fields["bands"][1]
    if not isinstance(list_node, yaml.SequenceNode) or not list_node.value:
        raise reader.fail(list_node, f"{what}.bands must be a list such as - {{below: 200, value: smb}}")
    bands: list[Band] = []
    for i, item in enumerate(list_node.value):
        parts = {key: (k, v) for key, k, v in reader.items(item, f"{what}.bands", ("below", "value"))}
        if "value" not in parts:
            raise reader.fail(item, f"{what}.bands: every band needs a value")
        below = reader.number(parts["below"][1], f"{what}.bands.below") if "below" in parts else None
        if below is None and i != len(list_node.value) - 1:
            raise reader.fail(item, f"{what}.bands: only the last band may omit 'below'")
        if below is not None and bands and bands[-1].below is not None and below <= bands[-1].below:
            raise reader.fail(item, f"{what}.bands: 'below' must increase from band to band")
        bands.append(Band(below, reader.text(parts["value"][1], f"{what}.bands.value")))
    when_missing = REJECT
    if "when_missing" in fields:
        when_missing = reader.text(fields["when_missing"][1], f"{what}.when_missing")
    return Bands(target, reader.column(fields["column"][1], f"{what}.column"), tuple(bands), when_missing, _line(key_node))


def _event_rules(reader: _Reader, node: yaml.Node) -> tuple[EventRule, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise reader.fail(node, "event_rules must be a list of {name, when, event_type}")
    rules: list[EventRule] = []
    con = duckdb.connect()
    try:
        for item in node.value:
            parts = {key: (k, v) for key, k, v in reader.items(item, "event_rules", ("name", "when", "event_type"))}
            for needed in ("name", "when", "event_type"):
                if needed not in parts:
                    raise reader.fail(item, f"an event rule needs '{needed}'")
            when: list[tuple[SourceColumn, str]] = []
            for _, k, v in reader.items(parts["when"][1], "event_rules.when"):
                pattern = reader.text(v, "event_rules.when")
                try:
                    con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchone()
                except duckdb.Error as error:
                    raise reader.fail(v, f"'{pattern}' is not a valid regular expression ({str(error).splitlines()[0]})") from None
                when.append((SourceColumn(str(k.value).strip(), _line(k)), pattern))
            if not when:
                raise reader.fail(parts["when"][1], "an event rule's 'when' must name at least one column")
            rules.append(EventRule(reader.text(parts["name"][1], "event_rules.name"), tuple(when),
                                   reader.text(parts["event_type"][1], "event_rules.event_type"), _line(item)))
    finally:
        con.close()
    return tuple(rules)


def _table(reader: _Reader, table: str, key_node: yaml.Node, node: yaml.Node, formats: Formats) -> TableMapping:
    spec = SPECS[table]
    kinds = {c.name: c.kind for c in spec.columns}
    fields = {key: (k, v) for key, k, v in reader.items(node, f"tables.{table}", TABLE_KEYS)}
    if "file" not in fields:
        raise reader.fail(key_node, f"tables.{table} needs 'file' (the export file, or a list of files)")
    files = reader.texts(fields["file"][1], f"tables.{table}.file")
    producers: dict[str, int] = {}

    def produce(target: str, line: int, how: str) -> None:
        if target in producers:
            raise reader.fail(line, f"{table}.{target} is produced twice (also on line {producers[target]}); keep one ({how})")
        producers[target] = line

    def section(name: str, parse_entry) -> list:
        """The entries `contract column: spec` of section `name`, each column produced once."""
        entries = []
        if name in fields:
            for _, k, v in reader.items(fields[name][1], f"{table}.{name}"):
                target = _contract_column(reader, table, k, f"{table}.{name}")
                produce(target, _line(k), name)
                entries.append(parse_entry(target, k, v))
        return entries

    columns: list[tuple[str, SourceColumn]] = section(
        "columns", lambda target, k, v: (target, _column_spec(reader, v, f"{table}.columns.{target}")))
    constants: list[tuple[str, str]] = section(
        "constants", lambda target, k, v: (target, reader.text(v, f"{table}.constants.{target}")))
    values: list[ValueMap] = section("values", lambda target, k, v: _value_map(reader, table, target, k, v))
    bands: list[Bands] = section("bands", lambda target, k, v: _bands(reader, target, k, v))
    related: list[Related] = section("related", lambda target, k, v: _related(reader, table, k, v))
    flags = None
    if "stage_from_flags" in fields:
        k, v = fields["stage_from_flags"]
        if "stage" not in kinds:
            raise reader.fail(k, f"stage_from_flags: the contract's {table} has no stage column")
        parts = {key: (pk, pv) for key, pk, pv in reader.items(v, "stage_from_flags", ("is_closed", "is_won"))}
        for needed in ("is_closed", "is_won"):
            if needed not in parts:
                raise reader.fail(v, f"stage_from_flags needs '{needed}' (a source column)")
        produce("stage", _line(k), "stage_from_flags or values.stage")
        flags = StageFlags(reader.column(parts["is_closed"][1], "stage_from_flags.is_closed"),
                           reader.column(parts["is_won"][1], "stage_from_flags.is_won"), _line(k))
    closed_only = False
    if "closed_at_only_when_closed" in fields:
        k, v = fields["closed_at_only_when_closed"]
        closed_only = reader.boolean(v, "closed_at_only_when_closed")
        if closed_only and not {"closed_at", "stage"} <= set(kinds):
            raise reader.fail(k, f"closed_at_only_when_closed: the contract's {table} has no closed_at and stage")
    percent: list[str] = []
    if "percent_as_number" in fields:
        k, v = fields["percent_as_number"]
        items = v.value if isinstance(v, yaml.SequenceNode) else [v]
        for item in items:
            target = _contract_column(reader, table, item, "percent_as_number")
            if kinds[target] != "decimal":
                raise reader.fail(item, f"percent_as_number: {target} is not a decimal column")
            if target not in {t for t, _ in columns}:
                raise reader.fail(item, f"percent_as_number: {target} is not read from a source column (columns:)")
            percent.append(target)
    date_formats: dict[str, DateFormat] = {}
    number_formats: dict[str, NumberFormat] = {}
    for target, kind in kinds.items():
        if kind == "date" and formats.date is not None:
            date_formats[target] = formats.date
        elif kind == "timestamp" and formats.timestamp is not None:
            date_formats[target] = formats.timestamp
        elif kind in NUMBER_KINDS and not formats.number.is_plain:
            number_formats[target] = formats.number
    if "formats" in fields:
        for _, k, v in reader.items(fields["formats"][1], f"{table}.formats"):
            target = _contract_column(reader, table, k, f"{table}.formats")
            if target not in {t for t, _ in columns}:
                raise reader.fail(k, f"{table}.formats.{target}: formats apply to columns read from the export "
                                     f"(columns:), and {target} is not one of them")
            if kinds[target] in DATE_KINDS:
                date_formats[target] = _check_strptime(reader, v, reader.texts(v, f"formats.{target}"), f"formats.{target}")
            elif kinds[target] in NUMBER_KINDS:
                number_formats[target] = _number_format(reader, v, formats.number, f"{table}.formats.{target}")
            else:
                raise reader.fail(k, f"{table}.formats.{target}: {target} is {kinds[target]}, formats apply to dates, timestamps and numbers")
    currency = None
    if "currency" in fields:
        k, v = fields["currency"]
        parts = {key: (pk, pv) for key, pk, pv in reader.items(v, f"{table}.currency", ("column", "amounts", "as_of"))}
        for needed in ("column", "amounts"):
            if needed not in parts:
                raise reader.fail(v, f"{table}.currency needs '{needed}'")
        amounts_node = parts["amounts"][1]
        items = amounts_node.value if isinstance(amounts_node, yaml.SequenceNode) else [amounts_node]
        amounts = []
        for item in items:
            target = _contract_column(reader, table, item, f"{table}.currency.amounts")
            if kinds[target] != "decimal":
                raise reader.fail(item, f"{table}.currency.amounts: {target} is not an amount (decimal) column")
            amounts.append(target)
        as_of = None
        if "as_of" in parts:
            as_of = _contract_column(reader, table, parts["as_of"][1], f"{table}.currency.as_of")
            if kinds[as_of] != "date":
                raise reader.fail(parts["as_of"][1], f"{table}.currency.as_of: {as_of} is not a date column")
        currency = CurrencyRule(reader.column(parts["column"][1], f"{table}.currency.column"), tuple(amounts), _line(k),
                                as_of)
    event_rules: tuple[EventRule, ...] = ()
    event_rules_line = 0
    if "event_rules" in fields:
        k, v = fields["event_rules"]
        if "event_type" not in kinds:
            raise reader.fail(k, f"event_rules: the contract's {table} has no event_type column")
        produce("event_type", _line(k), "event_rules")
        event_rules, event_rules_line = _event_rules(reader, v), _line(k)

    if event_rules and "event_id" not in producers:
        producers["event_id"] = _line(key_node)  # an activity log without ids: "<file>:<record number>" (engine)
    missing = [c.name for c in spec.columns if c.needed_in_file and c.name not in producers]
    if missing:
        raise reader.fail(
            key_node,
            f"tables.{table} gives no source for the contract's required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}: add {'them' if len(missing) > 1 else 'it'} under columns, constants, values, "
            "bands or related",
        )
    return TableMapping(
        table=table, files=files, line=_line(key_node), columns=tuple(columns), constants=tuple(constants),
        values=tuple(values), bands=tuple(bands), related=tuple(related), stage_from_flags=flags,
        closed_at_only_when_closed=closed_only, percent_as_number=tuple(percent),
        date_formats=tuple(date_formats.items()), number_formats=tuple(number_formats.items()),
        currency=currency, event_rules=event_rules, event_rules_line=event_rules_line,
    )


def _check_coded_values(reader: _Reader, tm: TableMapping) -> None:
    """Values the mapping writes into an enumerated column must be allowed there (else every row would fail)."""
    spec = SPECS[tm.table]
    allowed = {c.name: c.allowed for c in spec.columns if c.kind == "enum"}
    written: list[tuple[str, str, int]] = [(t, v, tm.line) for t, v in tm.constants]
    for vm in tm.values:
        written += [(vm.target, v, vm.line) for _, v in vm.pairs]
        written += [(vm.target, v, vm.line) for v in (vm.otherwise, vm.missing) if v not in (None, REJECT, KEEP)]
    for bands in tm.bands:
        written += [(bands.target, b.value, bands.line) for b in bands.bands]
        if bands.when_missing != REJECT:
            written.append((bands.target, bands.when_missing, bands.line))
    for target, value, line in written:
        if target in allowed and value.strip().lower() not in allowed[target]:
            raise reader.fail(
                line, f"{tm.table}.{target}: '{value}' is not one of {', '.join(allowed[target])}, the values the "
                "contract allows there",
            )


def parse_mapping(path: Path) -> Mapping:
    """Read and check the mapping file; raises MappingError naming the file and line."""
    path = Path(path)
    reader = _Reader(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(path, None, "the mapping file does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(path, None, f"cannot be read ({error})") from None
    undecided = unresolved_todos(path)
    if undecided:
        raise MappingError(path, None, todo_error(path) or "unresolved TODO(you)")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise MappingError(path, mark.line + 1 if mark else None, f"is not valid YAML: {problem}") from None
    if root is None:
        raise MappingError(path, None, "is empty: it needs at least 'version: 1' and 'tables:'")
    fields = {key: (k, v) for key, k, v in reader.items(root, "the mapping", TOP_KEYS)}
    if "version" not in fields:
        raise reader.fail(root, "'version: 1' is missing")
    if reader.text(fields["version"][1], "version") != "1":
        raise reader.fail(fields["version"][1], "version must be 1")
    source = reader.text(fields["source"][1], "source") if "source" in fields else None
    share, share_line = None, 0
    if "max_rejected_share" in fields:
        share = reader.number(fields["max_rejected_share"][1], "max_rejected_share")
        share_line = _line(fields["max_rejected_share"][1])
        if not 0 <= share <= 1:
            raise reader.fail(fields["max_rejected_share"][1], "max_rejected_share must be between 0 and 1")
    formats = _formats(reader, fields["formats"][1]) if "formats" in fields else Formats()
    currency = None
    if "currency" in fields:
        node = fields["currency"][1]
        parts = {key: (k, v) for key, k, v in reader.items(node, "currency", ("reporting", "rates_file"))}
        if "reporting" not in parts:
            raise reader.fail(node, "currency needs 'reporting' (the currency amounts are reported in, e.g. USD)")
        currency = Currency(
            reader.text(parts["reporting"][1], "currency.reporting").strip(),
            reader.text(parts["rates_file"][1], "currency.rates_file") if "rates_file" in parts else None,
            _line(node),
        )
    if "tables" not in fields:
        raise reader.fail(root, "'tables:' is missing: name at least one input table and its file")
    tables: dict[str, TableMapping] = {}
    for name, k, v in reader.items(fields["tables"][1], "tables", tuple(SPECS)):
        tables[name] = _table(reader, name, k, v, formats)
        _check_coded_values(reader, tables[name])
        if tables[name].currency is not None and currency is None:
            raise reader.fail(k, f"tables.{name}.currency needs the top-level 'currency: {{reporting: ...}}'")
    if not tables:
        raise reader.fail(fields["tables"][1], "'tables:' names no table")
    return Mapping(path, source, share, share_line, formats, currency, tables)
