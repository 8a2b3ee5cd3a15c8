"""The mapping file (dealscope.yml): every feature, every mapping error, row conservation, `check`.

Real DuckDB and the real loader; the fixture under tests/fixtures/mapping/salesforce is a small
Salesforce-style export whose expected values are worked out by hand in the comments below.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest

from dealscope.cli import main as cli_main
from dealscope.ingest import TABLES, load_event_types, load_table, prepare_warehouse
from dealscope.mapping import MappingDataError, MappingError, parse_mapping
from dealscope.settings import DEFAULT_EVENT_TYPES

LOADED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
SALESFORCE = Path(__file__).parent / "fixtures" / "mapping" / "salesforce"


def load_all(data_dir: Path, mapping_path: Path | None = None) -> duckdb.DuckDBPyConnection:
    mapping = parse_mapping(mapping_path or data_dir / "dealscope.yml")
    con = duckdb.connect()
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    for table in TABLES:
        counts = load_table(con, table, data_dir, LOADED_AT, mapping)
        assert counts.rows_read == counts.rows_loaded + counts.rows_rejected
    return con


@pytest.fixture(scope="module")
def salesforce() -> duckdb.DuckDBPyConnection:
    con = load_all(SALESFORCE)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> dict:
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    return {r[0]: dict(zip(names, r)) for r in result.fetchall()}


def test_accounts_bands_numbers_and_timestamps(salesforce):
    accounts = rows(salesforce, "SELECT * FROM raw.accounts")
    assert set(accounts) == {"001A", "001B", "001E"}
    # "1,200" with thousands separator ',' -> 1200 -> the open last band: enterprise
    assert accounts["001A"]["employee_count"] == 1200 and accounts["001A"]["segment"] == "enterprise"
    assert accounts["001B"]["segment"] == "smb" and accounts["001E"]["segment"] == "mid_market"
    # 2020-01-15T10:20:00.000Z under %Y-%m-%dT%H:%M:%S.%g%z; a date keeps the day as written (-0500 not applied)
    assert accounts["001A"]["created_at"] == date(2020, 1, 15)
    assert accounts["001E"]["created_at"] == date(2020, 5, 1)


def test_deals_value_maps_related_files_percent_and_currency(salesforce):
    deals = rows(salesforce, "SELECT * FROM raw.deals")
    assert set(deals) == {"006A", "006B", "006C"}
    won, lost, open_ = deals["006A"], deals["006B"], deals["006C"]
    assert (won["stage"], lost["stage"], open_["stage"]) == ("won", "lost", "open")
    assert (won["deal_type"], lost["deal_type"], open_["deal_type"]) == ("new_business", "renewal", "expansion")
    # list amount = 600 x 2 + 100 x 1; product line from the first line item by CreatedDate (P2 -> Services)
    assert won["list_amount"] == pytest.approx(1300.0) and won["product_line"] == "Services"
    assert won["final_amount"] == pytest.approx(1000.50)  # "$1,000.50"
    assert won["gross_margin_pct"] == pytest.approx(0.538)  # 53.8 means 0.538
    assert won["closed_at"] == date(2021, 1, 15)  # 01/15/2021 under %m/%d/%Y
    assert won["competitor"] == "Globex" and won["owner"] == "Ann Lee"
    # EUR at 1.1: list 2500 -> 2750, final "2,000" -> 2200
    assert lost["list_amount"] == pytest.approx(2750.0) and lost["final_amount"] == pytest.approx(2200.0)
    # an open opportunity's CloseDate is an expected date: dropped
    assert open_["closed_at"] is None and open_["list_amount"] == pytest.approx(300.0)
    others = dict(salesforce.execute("SELECT deal_id, other_competitors FROM raw.landing_deals").fetchall())
    assert others["006A"] == "Initech" and others["006B"] is None


def test_mapping_rejections_name_the_source_row_the_value_and_the_mapping_line(salesforce):
    rejected = salesforce.execute(
        "SELECT source, source_file, row_number, reason, detail, record FROM main.rejected_rows ORDER BY source, row_number"
    ).fetchall()
    got = [(r[0], r[1], r[2], r[3]) for r in rejected]
    assert got == [
        ("accounts", "Account.csv", 3, "missing_band_value:segment"),
        ("accounts", "Account.csv", 4, "bad_format:created_at"),
        ("deals", "Opportunity.csv", 4, "unmapped_value:stage"),
        ("deals", "Opportunity.csv", 5, "unknown_account"),
        ("deals", "Opportunity.csv", 6, "unknown_currency"),
        ("deals", "Opportunity.csv", 7, "bad_format:closed_at"),
        ("negotiation_events", "negotiation_events.csv", 2, "unknown_deal"),
    ]
    details = {r[3]: r[4] for r in rejected}
    stage_line = next(i for i, line in enumerate((SALESFORCE / "dealscope.yml").read_text().splitlines(), 1)
                      if line.strip() == "stage:")
    assert details["unmapped_value:stage"] == (
        f"StageName 'Qualification' has no entry in the value map of stage (dealscope.yml line {stage_line}): "
        "add it under map, or set otherwise."
    )
    assert "'JPY' has no rate in currency_rates.csv" in details["unknown_currency"]
    assert "'2021-13-45' does not match the date format %m/%d/%Y" in details["bad_format:closed_at"]
    # A reference to a rejected mapped row cites the SOURCE file and its record number.
    assert "row of Account.csv that was itself rejected (row 3: missing_band_value:segment)" in details["unknown_account"]
    assert "Opportunity.csv that was itself rejected (row 6: unknown_currency)" in details["unknown_deal"]
    # `record` is the source row as read, with the export's own column names.
    record = json.loads(next(r[5] for r in rejected if r[3] == "unmapped_value:stage"))
    assert record["Id"] == "006D" and record["StageName"] == "Qualification" and record["Margin__c"] == "30"


def test_every_source_row_is_loaded_or_rejected(salesforce):
    for source, file_name in (("accounts", "Account.csv"), ("deals", "Opportunity.csv")):
        with open(SALESFORCE / file_name, newline="", encoding="utf-8") as handle:
            records = sum(1 for fields in csv.reader(handle) if fields) - 1
        read, loaded, rejected, summary_file = salesforce.execute(
            "SELECT rows_read, rows_loaded, rows_rejected, source_file FROM raw.load_summary WHERE source = ?", [source]
        ).fetchone()
        assert (read, summary_file) == (records, file_name)
        assert loaded == salesforce.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
        assert rejected == salesforce.execute(
            "SELECT count(*) FROM main.rejected_rows WHERE source = ? AND source_file = ?", [source, file_name]
        ).fetchone()[0]
        assert read == loaded + rejected


GENERIC_MAPPING = """\
version: 1
source: generic
formats:
  date: ["%d.%m.%Y", "%Y-%m-%d"]
  timestamp: "%Y-%m-%d %H:%M"
  decimal_mark: ","
  thousands_separator: "."
  currency_symbols: ["€"]
tables:
  accounts:
    file: [kunden_a.csv, kunden_b.csv]
    columns: {account_id: Nr, account_name: Name, created_at: Seit}
    bands:
      segment:
        column: Umsatz
        bands: [{below: 1000000, value: smb}, {below: 50000000, value: mid_market}]
        when_missing: smb
  deals:
    file: chancen.csv
    columns: {deal_id: Nr, account_id: Kunde, created_at: Angelegt, closed_at: Abschluss, final_amount: Betrag,
              updated_at: Geaendert}
    related:
      list_amount: {file: positionen.csv, match: {Chance: Nr}, sum_of_product: [Preis, Menge]}
    constants: {product_line: Software}
    stage_from_flags: {is_closed: Geschlossen, is_won: Gewonnen}
    values:
      deal_type:
        column: Art
        map: {Neu: new_business, Verlaengerung: renewal}
        otherwise: keep
        missing: new_business
  negotiation_events:
    file: aktivitaeten.csv
    columns: {event_id: Nr, account_id: Kunde, occurred_at: Datum}
    event_rules:
      - {name: escalation, when: {Betreff: "(?i)eskal"}, event_type: escalated_over_buyer}
      - {name: review, when: {Typ: "(?i)^review$"}, event_type: value_review_delivered}
"""

GENERIC_FILES = {
    "kunden_a.csv": "Nr;Name;Seit;Umsatz\nK1;Alpha;01.02.2020;\"2.500.000,00\"\nK2;Beta;2020-03-01;\n",
    "kunden_b.csv": "Nr;Name;Umsatz;Seit\nK3;Gamma;99.000.000;05.05.2020\nK4;Delta;900;31.02.2020\n",
    "chancen.csv": "Nr;Kunde;Angelegt;Abschluss;Betrag;Liste;Geschlossen;Gewonnen;Art;Geaendert\n"
    "C1;K1;01.03.2021;01.04.2021;\"1.234,50 €\";2000;true;1;Neu;2021-04-02 10:20\n"
    "C2;K2;01.03.2021;;;500;false;0;;2021-04-02 10:20\n"
    "C3;K1;01.03.2021;01.05.2021;;500;1;0;Verlaengerung;2021-05-02 10:20\n"
    "C4;K1;01.03.2021;;;500;vielleicht;0;Neu;2021-05-02 10:20\n"
    "C5;K1;01.03.2021;;;500;0;0;Upsell;2021-05-02 10:20\n"
    "C6;K1;01.03.2021;;;\"1,5\";0;0;Neu;2021-05-02 10:20\n",
    "positionen.csv": "Chance;Preis;Menge\nC1;\"1.000,50\";2\nC2;500;1\nC3;500;1\nC4;500;1\nC5;500;1\nC6;\"1,5\";1\n",
    "aktivitaeten.csv": "Nr;Kunde;Datum;Betreff;Typ\nT1;K1;01.06.2021;Eskalation an CFO;Call\n"
    "T2;K1;02.06.2021;QBR;Review\nT3;K1;03.06.2021;Hallo;Call\n",
    "strategy_plan.csv": "effective_from,dimension,value,stance,weight\n2020-01-01,segment,smb,target,\n",
}


def write_folder(folder: Path, files: dict[str, str], mapping: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    if mapping is not None:
        (folder / "dealscope.yml").write_text(mapping, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def generic(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    folder = write_folder(tmp_path_factory.mktemp("generic"), GENERIC_FILES, GENERIC_MAPPING)
    con = load_all(folder)
    yield con
    con.close()


def test_several_files_decimal_comma_and_date_lists(generic):
    accounts = rows(generic, "SELECT * FROM raw.accounts")
    # K3 is above every band; K4's 31.02.2020 is not a date under either format
    assert set(accounts) == {"K1", "K2"}
    assert accounts["K1"]["segment"] == "mid_market" and accounts["K1"]["created_at"] == date(2020, 2, 1)
    assert accounts["K2"]["segment"] == "smb" and accounts["K2"]["created_at"] == date(2020, 3, 1)  # when_missing
    rejected = generic.execute(
        "SELECT source_file, row_number, reason FROM main.rejected_rows WHERE source = 'accounts' ORDER BY 1, 2"
    ).fetchall()
    # each file keeps its own name and record numbers
    assert rejected == [("kunden_b.csv", 1, "unmapped_value:segment"), ("kunden_b.csv", 2, "bad_format:created_at")]


def test_stage_flags_constants_value_map_fallbacks_and_timestamps(generic):
    deals = rows(generic, "SELECT * FROM raw.deals")
    assert deals["C1"]["stage"] == "won" and deals["C1"]["final_amount"] == pytest.approx(1234.5)
    assert deals["C1"]["product_line"] == "Software" and deals["C1"]["deal_type"] == "new_business"
    assert deals["C1"]["updated_at"] == datetime(2021, 4, 2, 10, 20, tzinfo=timezone.utc)
    assert deals["C2"]["stage"] == "open" and deals["C2"]["deal_type"] == "new_business"  # `missing:`
    assert deals["C3"]["stage"] == "lost" and deals["C3"]["deal_type"] == "renewal"
    # a related sum is read with the number formats once, not re-read as if written by the export
    assert deals["C1"]["list_amount"] == pytest.approx(2001.0) and deals["C6"]["list_amount"] == pytest.approx(1.5)
    reasons = dict(generic.execute(
        "SELECT row_number, reason FROM main.rejected_rows WHERE source = 'deals'").fetchall())
    # C4: a flag that is not a boolean; C5: `otherwise: keep` passes 'Upsell' to the contract, which rejects it
    assert reasons == {4: "bad_format:stage", 5: "bad_value:deal_type"}


def test_event_rules_pick_the_first_matching_rule(generic):
    # (what becomes of an activity no rule matches is the candidate-events review's, tested with it)
    events = dict(generic.execute("SELECT event_id, event_type FROM raw.negotiation_events").fetchall())
    assert {k: v for k, v in events.items() if k in ("T1", "T2")} == {
        "T1": "escalated_over_buyer", "T2": "value_review_delivered"}


def test_mixed_currencies_without_rates_stop_the_load_before_writing(tmp_path):
    folder = write_folder(tmp_path / "fx", {name: (SALESFORCE / name).read_text() for name in
                                            ("Account.csv", "Opportunity.csv", "OpportunityLineItem.csv", "Product2.csv",
                                             "OpportunityCompetitor.csv", "User.csv", "strategy_plan.csv")})
    text = (SALESFORCE / "dealscope.yml").read_text().replace("  rates_file: currency_rates.csv\n", "")
    (folder / "dealscope.yml").write_text(text)
    mapping = parse_mapping(folder / "dealscope.yml")
    con = duckdb.connect()
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    load_table(con, "accounts", folder, LOADED_AT, mapping)
    with pytest.raises(MappingDataError, match=r"other currencies than USD: EUR \(1 rows\), JPY \(1 rows\)"):
        load_table(con, "deals", folder, LOADED_AT, mapping)
    assert con.execute("SELECT count(*) FROM raw.load_summary WHERE source = 'deals'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM main.rejected_rows WHERE source = 'deals'").fetchone()[0] == 0


MINIMAL_MAPPING = """\
version: 1
tables:
  accounts:
    file: Account.csv
    columns: {account_id: Id, account_name: Name, created_at: CreatedDate}
    constants: {segment: smb}
"""


@pytest.mark.parametrize(
    ("mapping", "line", "problem"),
    [
        (MINIMAL_MAPPING + "    colour: blue\n", 7, "unknown key 'colour' in tables.accounts"),
        (MINIMAL_MAPPING.replace("account_name: Name", "account_nam: Name"), 5,
         "'account_nam' is not a column of the contract's accounts"),
        (MINIMAL_MAPPING + "    formats: {created_at: \"%Y-%q-%d\"}\n", 7, "'%Y-%q-%d' is not a valid strptime format"),
        (MINIMAL_MAPPING + "    formats: {segment: \"%Y\"}\n", 7, "formats apply to columns read from the export"),
        (MINIMAL_MAPPING.replace("constants: {segment: smb}", "constants: {region: EU}"), 3,
         "gives no source for the contract's required column segment"),
        (MINIMAL_MAPPING + "    values:\n      segment: {column: Size, map: {S: smb}, otherwise: reject}\n", 8,
         "accounts.segment is produced twice (also on line 6)"),
        (MINIMAL_MAPPING.replace("version: 1", "version: 2"), 1, "version must be 1"),
        (MINIMAL_MAPPING + "  deal: {file: x.csv}\n", 7, "unknown key 'deal' in tables"),
        (MINIMAL_MAPPING + "    bands:\n      region: {column: N, bands: [{below: 5, value: a}, {below: 2, value: b}]}\n",
         8, "'below' must increase"),
        (MINIMAL_MAPPING.replace("    constants: {segment: smb}\n", "    constants: {segment: smb\n"), 7,
         "is not valid YAML"),
        (MINIMAL_MAPPING.replace("constants: {segment: smb}",
                                 "values:\n      segment: {column: Size, map: {S: small}, otherwise: reject}"), 7,
         "accounts.segment: 'small' is not one of enterprise, mid_market, smb"),
    ],
)
def test_mapping_errors_name_the_file_and_line(tmp_path, mapping, line, problem):
    path = tmp_path / "dealscope.yml"
    path.write_text(mapping)
    with pytest.raises(MappingError) as raised:
        parse_mapping(path)
    message = str(raised.value)
    assert message.startswith(f"dealscope.yml line {line}: "), message
    assert problem in message


@pytest.mark.parametrize(
    ("change", "line", "problem"),
    [
        (("CreatedDate}", "Created}"), 5, "column 'Created' is not in Account.csv (its columns: Id, Name, CreatedDate)"),
        (("file: Account.csv", "file: Konto.csv"), 3, "'Konto.csv' is not in"),
    ],
)
def test_mapping_errors_about_files_stop_before_anything_is_written(tmp_path, change, line, problem):
    folder = write_folder(tmp_path / "d", {"Account.csv": "Id,Name,CreatedDate\nA1,Acme,2020-01-01\n"},
                          MINIMAL_MAPPING.replace(*change))
    con = duckdb.connect()
    prepare_warehouse(con)
    with pytest.raises(MappingError) as raised:
        load_table(con, "accounts", folder, LOADED_AT, parse_mapping(folder / "dealscope.yml"))
    assert str(raised.value).startswith(f"dealscope.yml line {line}: ") and problem in str(raised.value)
    assert con.execute("SELECT count(*) FROM raw.load_summary").fetchone()[0] == 0
    assert con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'landing_accounts'").fetchone()[0] == 0


def test_check_reports_per_table_and_applies_the_gate(capsys):
    assert cli_main(["check", "--data", str(SALESFORCE)]) == 1  # deals: 4 of 7 rejected > 50%
    out = capsys.readouterr().out
    assert "deals                Opportunity.csv                     7           3             4" in out
    assert "unmapped_value:stage  (e.g. Opportunity.csv row 4: StageName 'Qualification'" in out
    assert "THE RUN WOULD STOP" in out and "57%, more than the allowed 50%" in out
    assert cli_main(["check", "--data", str(SALESFORCE), "--max-rejected-share", "0.6"]) == 0
    assert "OK: the data can run" in capsys.readouterr().out
    assert cli_main(["check", "--data", str(SALESFORCE), "--accept-rejections"]) == 0
    assert "accepted (--accept-rejections): deals: 4 of 7" in capsys.readouterr().out


def test_check_exit_code_for_an_unusable_mapping(tmp_path, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(SALESFORCE, folder)
    text = (folder / "dealscope.yml").read_text().replace("column: StageName", "column: Stage")
    (folder / "dealscope.yml").write_text(text)
    assert cli_main(["check", "--data", str(folder)]) == 2
    out = capsys.readouterr().out
    assert "CANNOT RUN: dealscope.yml line" in out and "column 'Stage' is not in Opportunity.csv" in out


def test_check_without_mapping_reads_the_contract_format(small_export, capsys):
    assert cli_main(["check", "--data", str(small_export)]) == 0
    out = capsys.readouterr().out
    assert "(contract format, no mapping)" in out and "OK: the data can run" in out


def test_a_run_over_the_rejection_limit_fails_before_publishing(tmp_path):
    """One real Dagster run: deals lose 4 of 7 rows, so the run stops and the old warehouse stays as it was."""
    from dealscope.runner import execute
    from tests.conftest import settings_for

    settings = settings_for(tmp_path, SALESFORCE)
    settings.warehouse.parent.mkdir(parents=True)
    previous = duckdb.connect(str(settings.warehouse))
    previous.execute("CREATE TABLE fct_deals AS SELECT 'D-previous' AS deal_id")
    previous.close()
    before = settings.warehouse.read_bytes()
    outcome = execute(settings)
    assert not outcome.success
    message = "\n".join(outcome.errors)
    assert "deals: 4 of 7 rows rejected (57%, more than the allowed 50%)" in message
    assert "unmapped_value:stage  (e.g. Opportunity.csv row 4" in message
    assert settings.warehouse.read_bytes() == before
    assert not (tmp_path / "site" / "index.html").exists()


def test_settings_find_the_mapping_and_the_rejection_limit(tmp_path, monkeypatch):
    from dealscope.settings import DEFAULT_MAX_REJECTED_SHARE, ENV_MAPPING, ENV_MAX_REJECTED_SHARE, Settings

    folder = tmp_path / "export"
    folder.mkdir()
    monkeypatch.delenv(ENV_MAPPING, raising=False)
    monkeypatch.delenv(ENV_MAX_REJECTED_SHARE, raising=False)
    monkeypatch.setenv("DEALSCOPE_DATA_DIR", str(folder))
    settings = Settings.from_env()
    assert settings.mapping_file is None  # no dealscope.yml in the folder: the contract format
    (folder / "dealscope.yml").write_text("version: 1\n")
    assert settings.mapping_file == folder / "dealscope.yml"
    assert settings.rejection_limit(None) == DEFAULT_MAX_REJECTED_SHARE and settings.rejection_limit(0.2) == 0.2
    monkeypatch.setenv(ENV_MAPPING, str(tmp_path / "elsewhere.yml"))
    monkeypatch.setenv(ENV_MAX_REJECTED_SHARE, "0.1")
    settings = Settings.from_env()
    assert settings.mapping_file == tmp_path / "elsewhere.yml"
    assert settings.rejection_limit(0.2) == 0.1  # the command line / environment wins over the mapping


def test_a_malformed_source_record_is_rejected_with_the_source_row(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(SALESFORCE, folder)
    with open(folder / "Account.csv", "a", encoding="utf-8") as handle:
        handle.write('001F,"Zeta, Inc",Tech,US,10,2020-01-01T00:00:00.000Z,surplus\n')
    con = load_all(folder)
    reason, detail, record = con.execute(
        "SELECT reason, detail, record FROM main.rejected_rows WHERE source_file = 'Account.csv' AND row_number = 6"
    ).fetchone()
    assert reason == "malformed_row"
    assert detail == "The record has 7 fields but the header of Account.csv has 6: fix its quoting or delimiters (see record)."
    assert json.loads(record)["_extra_fields"] == ["surplus"] and json.loads(record)["Name"] == "Zeta, Inc"


def test_a_related_file_column_must_exist(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(SALESFORCE, folder)
    path = folder / "dealscope.yml"
    path.write_text(path.read_text().replace("column: CompetitorName", "column: Competitor"))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "column: Competitor" in text)
    con = duckdb.connect()
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    mapping = parse_mapping(path)
    load_table(con, "accounts", folder, LOADED_AT, mapping)
    with pytest.raises(MappingError, match=rf"^dealscope.yml line {line}: column 'Competitor' is not in "
                                           r"OpportunityCompetitor.csv \(its columns: Id, OpportunityId"):
        load_table(con, "deals", folder, LOADED_AT, mapping)


def test_dated_rates_use_the_rate_in_force_on_the_stated_date(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(SALESFORCE, folder)
    (folder / "currency_rates.csv").write_text(
        "currency,rate_to_reporting,effective_from\nEUR,1.1,2020-01-01\nEUR,1.2,2020-12-05\nJPY,0.007,2021-06-01\n")
    path = folder / "dealscope.yml"
    undated = path.read_text()
    con = duckdb.connect()
    prepare_warehouse(con)
    load_event_types(con, DEFAULT_EVENT_TYPES)
    load_table(con, "accounts", folder, LOADED_AT, parse_mapping(path))
    with pytest.raises(MappingError, match="has dated rates \\(effective_from\\): say which date picks the rate"):
        load_table(con, "deals", folder, LOADED_AT, parse_mapping(path))
    path.write_text(undated.replace("      amounts: [list_amount, final_amount]\n",
                                    "      amounts: [list_amount, final_amount]\n      as_of: created_at\n"))
    load_table(con, "deals", folder, LOADED_AT, parse_mapping(path))
    # 006B (EUR) was created 2020-12-10: the rate from 2020-12-05 applies, 2500 x 1.2 and 2000 x 1.2
    assert con.execute("SELECT list_amount, final_amount FROM raw.deals WHERE deal_id = '006B'").fetchone() == \
        pytest.approx((3000.0, 2400.0))
    # 006F (JPY) was created 2021-01-01, before the first JPY rate
    reason, detail = con.execute(
        "SELECT reason, detail FROM main.rejected_rows WHERE source = 'deals' AND row_number = 6").fetchone()
    assert reason == "unknown_currency"
    assert "'JPY' has no rate in currency_rates.csv in force on created_at '2021-01-01'" in detail


def test_a_value_map_without_fallback_rejects_unlisted_values(tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(SALESFORCE, folder)
    path = folder / "dealscope.yml"
    text = path.read_text()
    assert "        otherwise: reject\n" in text
    path.write_text(text.replace("        otherwise: reject\n", "", 1))
    con = load_all(folder)
    assert con.execute(
        "SELECT reason FROM main.rejected_rows WHERE source = 'deals' AND row_number = 4").fetchone() == (
        "unmapped_value:stage",)


def test_a_date_format_list_mixing_offsets_and_plain_dates(tmp_path):
    mapping = MINIMAL_MAPPING + '    formats: {created_at: ["%Y-%m-%dT%H:%M:%S.%g%z", "%Y-%m-%d"]}\n'
    folder = write_folder(tmp_path / "d", {"Account.csv": "Id,Name,CreatedDate\nA1,Acme,2020-01-15\n"
                                           "A2,Beta,2020-05-01T23:30:00.000-0500\nA3,Gamma,2020-06-01T10:00:00.000Z\n"},
                          mapping)
    con = duckdb.connect()
    prepare_warehouse(con)
    load_table(con, "accounts", folder, LOADED_AT, parse_mapping(folder / "dealscope.yml"))
    assert dict(con.execute("SELECT account_id, created_at FROM raw.accounts").fetchall()) == {
        "A1": date(2020, 1, 15), "A2": date(2020, 5, 1), "A3": date(2020, 6, 1)}
