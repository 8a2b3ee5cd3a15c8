"""Validation SQL generated from a TableSpec: three set-based passes over the landing table.

1. ``_ingest_typed``: trim, type every contract column, and give each row its first failing
   row-level reason (malformed_row, missing_required, bad_date, bad_number, bad_boolean,
   bad_value, unknown_event_type, then the table's row rules).
2. ``_ingest_keyed``: among rows that passed, resolve the unique key: first row wins, later
   ones are duplicate_id; for a versioned table (deals with updated_at) the latest row is
   current and older rows are history.
3. ``_ingest_result``: references to loaded rows of other tables (unknown_account,
   unknown_deal, deal_account_mismatch), with cascades, and the final role of every row:
   current, history or rejected.

Each builder takes the SQL ``dialect`` (dialect.py): DuckDB for the loader, Spark SQL for the
Spark engine (spark_validate.py); the checks are the same.
"""

from __future__ import annotations

from .dialect import DUCKDB, DuckDBDialect
from .reader import extra_field_margin
from .spec import Column, Reference, TableSpec
from .values import UNREADABLE_REASON, parse_expression, range_check, unreadable_detail

TYPED = "_ingest_typed"
KEYED = "_ingest_keyed"
RESULT = "_ingest_result"

# Priority of row-level checks: the first failing check, in this order, is the row's reason.
CHECK_ORDER = ("missing_required", "bad_date", "bad_number", "bad_boolean", "bad_value", "unknown_event_type")


def raw_name(column: str, dialect: DuckDBDialect = DUCKDB) -> str:
    return dialect.ident(f"{column}__raw")


def _check_conditions(column: Column, dialect: DuckDBDialect) -> list[tuple[str, str, str]]:
    """(reason family, SQL condition, SQL detail) for one column's own checks."""
    literal, shown = dialect.literal, dialect.shown
    raw, typed = raw_name(column.name, dialect), dialect.ident(column.name)
    checks: list[tuple[str, str, str]] = []
    if column.required:
        checks.append(
            (
                "missing_required",
                f"{raw} IS NULL",
                literal(f"{column.name} is required but empty: fill it in."),
            )
        )
    if column.kind in UNREADABLE_REASON:
        checks.append((UNREADABLE_REASON[column.kind], f"{raw} IS NOT NULL AND {typed} IS NULL", unreadable_detail(column, raw, dialect=dialect)))
    out_of_range = range_check(column, typed)
    if out_of_range is not None:
        condition, words = out_of_range
        detail = f"{literal(column.name + ' ')} || {shown(raw)} || {literal(f' is out of range: it must be {words}.')}"
        checks.append(("bad_value", condition, detail))
    return checks


def typed_sql(
    spec: TableSpec, landing: str, present: set[str], field_count: int, mapped: bool = False,
    dialect: DuckDBDialect = DUCKDB,
) -> str:
    """SQL creating the typed table with each row's first row-level reason (NULL = passed).

    ``mapped``: the landing table was produced by a mapping (dealscope.mapping), whose own
    rejections (``_map_reason``, ``_map_detail``) come first, before the contract's checks.
    """
    ident, literal = dialect.ident, dialect.literal
    trimmed = ",\n               ".join(
        f"nullif({dialect.trim_blanks(ident(c.name))}, '') AS {raw_name(c.name, dialect)}"
        if c.name in present
        else f"CAST(NULL AS {dialect.sql_type('VARCHAR')}) AS {raw_name(c.name, dialect)}"
        for c in spec.columns
    )
    joins = ""
    parsed: list[str] = []
    for column in spec.columns:
        lookup = None
        if column.kind == "event_type":
            labels = dialect.relation("raw", "event_type_labels")
            joins = f"LEFT JOIN {labels} AS _labels ON _labels.label = lower({raw_name(column.name, dialect)})"
            lookup = "_labels.event_type"
        parsed.append(
            f"{parse_expression(column, raw_name(column.name, dialect), lookup, dialect)} AS {ident(column.name)}"
        )

    checks: list[tuple[str, str]] = [
        (
            "_field_count <> " + str(field_count),
            literal("malformed_row"),
        )
    ]
    map_columns = ", _map_reason, _map_detail" if mapped else ""
    details: list[str] = [
        f"'The record has ' || CASE WHEN {dialect.list_length('_extra_fields')} > 0 AND _field_count >= "
        f"{extra_field_margin(field_count)} THEN 'at least ' ELSE '' END || _field_count || "
        f"' fields but the header has {field_count}: fix its quoting or delimiters (see record).'"
    ]
    if mapped:
        checks.append(("_map_reason IS NOT NULL", "_map_reason"))
        details.append("_map_detail")
    per_column = [(c, _check_conditions(c, dialect)) for c in spec.columns]
    for family in CHECK_ORDER:
        for column, column_checks in per_column:
            for check_family, condition, detail in column_checks:
                if check_family == family:
                    reason = family if family == "unknown_event_type" else f"{family}:{column.name}"
                    checks.append((condition, literal(reason)))
                    details.append(detail)
    for rule in spec.row_rules:
        checks.append((f"coalesce({rule.violated}, false)", literal(rule.reason)))
        details.append(rule.detail)

    reason_case = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in checks) + " END"
    detail_case = "CASE " + " ".join(f"WHEN {c} THEN {d}" for (c, _), d in zip(checks, details)) + " END"
    parsed_sql = ",\n               ".join(parsed)
    # Only what the later passes and the clean rows read: the typed values, and an event type's
    # text (its label). The trimmed text of the other columns ends here, which keeps the
    # materialised table about half as wide.
    kept = ", ".join(
        ["_row_number"]
        + [ident(c.name) for c in spec.columns]
        + [raw_name(c.name, dialect) for c in spec.columns if c.kind == "event_type"]
    )
    return f"""
        {dialect.create_temp(TYPED)}
        WITH trimmed AS (
            SELECT _row_number, _field_count, _extra_fields{map_columns},
               {trimmed}
            FROM {landing}
        ), parsed AS (
            SELECT trimmed.*,
               {parsed_sql}
            FROM trimmed {joins}
        )
        SELECT {kept}, {reason_case} AS _reason, {detail_case} AS _detail
        FROM parsed
    """


def _key_sql(spec: TableSpec, column: str, dialect: DuckDBDialect) -> str:
    return spec.key_expressions.get(column, dialect.ident(column))


def _key_words(spec: TableSpec, dialect: DuckDBDialect) -> str:
    """SQL for the key as shown in a detail: "deal_id 'D-1'" or "(a, b) = ('x', 'y')"."""
    ident, literal, shown, text = dialect.ident, dialect.literal, dialect.shown, dialect.sql_type("VARCHAR")
    if len(spec.unique_key) == 1:
        column = spec.unique_key[0]
        return f"{literal(column + ' ')} || {shown('CAST(' + ident(column) + f' AS {text})')}"
    values = " || ', ' || ".join(shown(f"CAST({ident(c)} AS {text})") for c in spec.unique_key)
    return f"{literal('(' + ', '.join(spec.unique_key) + ') = (')} || {values} || ')'"


def keyed_sql(spec: TableSpec, dialect: DuckDBDialect = DUCKDB) -> str:
    """SQL creating the keyed table (_row_number, _role, _reason, _detail) for rows that passed.

    Roles: current, history or duplicate. Hash aggregates per key (not window functions over
    wide rows) keep this cheap at millions of rows, and only keys that repeat are joined back:
    the row of a key that occurs once is current whatever its version.
    """
    ident, literal = dialect.ident, dialect.literal
    key_columns = [f"{_key_sql(spec, c, dialect)} AS _key{i}" for i, c in enumerate(spec.unique_key)]
    key_names = ", ".join(f"_key{i}" for i in range(len(spec.unique_key)))
    shown_columns = ", ".join(ident(c) for c in spec.unique_key)
    words = _key_words(spec, dialect)
    version = spec.version_column
    if version is None:
        version_select, version_aggregates, version_join = "", "", ""
        role = "CASE WHEN _row_number = _first_row_of_key THEN 'current' ELSE 'duplicate' END"
        duplicate_of = "_first_row_of_key"
        explanation = literal(": only the first row of a repeated key loads; remove or correct this one.")
    else:
        version_select = f", {ident(version)} AS _version"
        version_aggregates = ", count(_version) AS _versions_in_key, max(_version) AS _latest_version"
        version_join = f"""LEFT JOIN (
                SELECT {key_names}, _version, min(_row_number) AS _first_row_of_version
                FROM valid JOIN per_key USING ({key_names}) WHERE _version IS NOT NULL GROUP BY ALL
            ) AS per_version USING ({key_names}, _version)"""
        untold = "_versions_in_key < _rows_in_key"
        role = (
            f"CASE WHEN {untold} THEN "
            "(CASE WHEN _row_number = _first_row_of_key THEN 'current' ELSE 'duplicate' END) "
            "WHEN _row_number <> _first_row_of_version THEN 'duplicate' "
            "WHEN _version = _latest_version THEN 'current' ELSE 'history' END"
        )
        duplicate_of = f"CASE WHEN {untold} THEN _first_row_of_key ELSE _first_row_of_version END"
        explanation = (
            f"CASE WHEN {untold} THEN "
            + literal(
                f": only the first row loads when not every row of the id has {version}; "
                f"give {version} on each row to keep older ones as history."
            )
            + " ELSE "
            + literal(f" with the same {version}: remove or correct this one.")
            + " END"
        )
    duplicate_detail = f"{words} || ' repeats row ' || ({duplicate_of}) || {explanation}"
    return f"""
        {dialect.create_temp(KEYED)}
        WITH valid AS (
            SELECT _row_number, {', '.join(key_columns)}, {shown_columns} {version_select}
            FROM {TYPED}
            WHERE _reason IS NULL
        ), per_key AS (
            SELECT {key_names}, count(*) AS _rows_in_key, min(_row_number) AS _first_row_of_key
                   {version_aggregates}
            FROM valid GROUP BY ALL HAVING count(*) > 1
        ), roles AS (
            SELECT *, CASE WHEN _rows_in_key IS NULL THEN 'current' ELSE {role} END AS _role
            FROM valid LEFT JOIN per_key USING ({key_names}) {version_join}
        )
        SELECT _row_number, CASE WHEN _role = 'duplicate' THEN 'rejected' ELSE _role END AS _role,
               CASE WHEN _role = 'duplicate' THEN 'duplicate_id' END AS _reason,
               CASE WHEN _role = 'duplicate' THEN {duplicate_detail} END AS _detail
        FROM roles
    """


def _rejected_ids_sql(reference: Reference, mapped: bool, dialect: DuckDBDialect) -> str:
    """The target's ids that appear only on rejected rows, with the first such row and reason."""
    # Cite the row's own failure rather than a duplicate or a cascade (history of a rejected deal).
    target_id = f"nullif({dialect.trim_blanks('_l.' + dialect.ident(reference.target_column))}, '')"
    citation = ("_r.reason IN ('duplicate_id', 'unknown_deal')", "_r.row_number")
    # A mapped table's rejects carry the source file's own record numbers (dealscope.mapping).
    row_match = (
        "_r.row_number = _l._source_row AND _r.source_file = _l._source_file" if mapped
        else "_r.row_number = _l._row_number"
    )
    return f"""
        SELECT {target_id} AS id, {dialect.arg_min('_r.row_number', citation)} AS row_number,
               {dialect.arg_min('_r.reason', citation)} AS reason, any_value(_r.source_file) AS source_file
        FROM {dialect.relation('raw', 'landing_' + reference.target)} AS _l
        JOIN {dialect.relation('main', 'rejected_rows')} AS _r
            ON _r.source = {dialect.literal(reference.target)} AND {row_match}
        WHERE {target_id} IS NOT NULL
        GROUP BY 1
    """


def result_sql(
    spec: TableSpec, target_files: dict[str, str], mapped_targets: frozenset[str] = frozenset(),
    dialect: DuckDBDialect = DUCKDB,
) -> str:
    """SQL creating the result table: references checked, every row with its final role."""
    ident, literal, shown = dialect.ident, dialect.literal, dialect.shown
    joins: list[str] = []
    checks: list[tuple[str, str, str]] = []
    for i, ref in enumerate(spec.references):
        col = ident(ref.column)
        target, rejected = f"_t{i}", f"_x{i}"
        target_file = target_files.get(ref.target, f"the {ref.target} file")
        joins.append(
            f"LEFT JOIN {dialect.relation('raw', ref.target)} AS {target} "
            f"ON {target}.{ident(ref.target_column)} = _v.{col}"
        )
        rejected_ids = _rejected_ids_sql(ref, ref.target in mapped_targets, dialect)
        joins.append(f"LEFT JOIN ({rejected_ids}) AS {rejected} ON {rejected}.id = _v.{col}")
        value = shown(f"_v.{col}")
        detail = (
            f"CASE WHEN {rejected}.id IS NOT NULL THEN {literal(ref.column + ' ')} || {value} || "
            f"' refers to a row of ' || {rejected}.source_file || ' that was itself rejected (row ' || "
            f"{rejected}.row_number || ': ' || {rejected}.reason || '): fix that row first.' "
            f"ELSE {literal(ref.column + ' ')} || {value} || {literal(' is not in ' + target_file + '.')} END"
        )
        checks.append(
            (f"_v.{col} IS NOT NULL AND {target}.{ident(ref.target_column)} IS NULL", literal(ref.reason), detail)
        )
        if ref.must_match is not None:
            mine, theirs = ref.must_match
            mismatch_detail = (
                f"{literal(ref.column + ' ')} || {value} || ' belongs to {mine} ' || "
                f"{shown(f'{target}.{ident(theirs)}')} || ' in {target_file}, not to ' || "
                f"{shown(f'_v.{ident(mine)}')} || ': correct one of the two.'"
            )
            checks.append(
                (
                    f"{target}.{ident(ref.target_column)} IS NOT NULL AND {target}.{ident(theirs)} <> _v.{ident(mine)}",
                    literal(ref.mismatch_reason or "reference_mismatch"),
                    mismatch_detail,
                )
            )
    if checks:
        reason_case = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r, _ in checks) + " END"
        detail_case = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in checks) + " END"
    else:
        reason_case = detail_case = f"CAST(NULL AS {dialect.sql_type('VARCHAR')})"
    key = ", ".join(_key_sql(spec, c, dialect) for c in spec.unique_key)
    key_columns = ", ".join(ident(c) for c in spec.unique_key)
    words = _key_words(spec, dialect)
    # A versioned id whose current row fails a reference takes its older rows with it.
    if spec.version_column is not None:
        cascade_join = f"""LEFT JOIN (
                SELECT {key} AS _cascade_key, _row_number AS _current_row, _ref_reason AS _current_reason
                FROM referenced WHERE _role = 'current' AND _ref_reason IS NOT NULL
            ) AS failed_current ON failed_current._cascade_key = ({key})"""
        history_failed = "_role = 'history' AND _ref_reason IS NULL AND _current_reason IS NOT NULL"
        final_reason = f"CASE WHEN {history_failed} THEN 'unknown_deal' ELSE _ref_reason END"
        final_detail = (
            f"CASE WHEN {history_failed} THEN {words} || ': the current row of this id (row ' || _current_row || "
            "') was rejected (' || _current_reason || '), so this older row is rejected with it.' ELSE _ref_detail END"
        )
    else:
        cascade_join = ""
        final_reason, final_detail = "_ref_reason", "_ref_detail"
    reference_columns = sorted(
        {ref.column for ref in spec.references}
        | {ref.must_match[0] for ref in spec.references if ref.must_match}
        | set(spec.unique_key)
    )
    selected = ", ".join(f"_t.{ident(c)}" for c in reference_columns)
    return f"""
        {dialect.create_temp(RESULT)}
        WITH candidates AS (
            SELECT _k._row_number, _k._role, {selected}
            FROM {KEYED} AS _k JOIN {TYPED} AS _t USING (_row_number)
            WHERE _k._reason IS NULL
        ), referenced AS (
            SELECT _v.*, {reason_case} AS _ref_reason, {detail_case} AS _ref_detail
            FROM candidates AS _v
            {' '.join(joins)}
        ), checked AS (
            SELECT *, {final_reason} AS _reason, {final_detail} AS _detail
            FROM referenced {cascade_join}
        )
        SELECT _row_number, CASE WHEN _reason IS NULL THEN _role ELSE 'rejected' END AS _role, _reason, _detail
        FROM checked
        UNION ALL
        SELECT _row_number, _role, _reason, _detail FROM {KEYED} WHERE _reason IS NOT NULL
        UNION ALL
        SELECT _row_number, 'rejected', _reason, _detail FROM {TYPED} WHERE _reason IS NOT NULL
    """
