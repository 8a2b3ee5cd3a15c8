"""Build-aside publishing: readers never see a half-built file, a killed writer's WAL is handled."""

from __future__ import annotations

import threading

import duckdb
import pytest

from dealscope import warehouse


def make_db(path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE t AS SELECT ? AS v", [value])
    con.close()


def test_publish_replaces_atomically_while_a_reader_holds_the_old_file(tmp_path):
    build, published = tmp_path / ".w.build.duckdb", tmp_path / "w.duckdb"
    make_db(build, 1)
    warehouse.publish(build, published)
    reader = warehouse.open_readonly(published)
    assert reader.execute("SELECT v FROM t").fetchone()[0] == 1

    make_db(build, 2)  # the next run, while the reader stays open
    warehouse.publish(build, published)
    assert reader.execute("SELECT v FROM t").fetchone()[0] == 1  # its snapshot
    reader.close()
    fresh = warehouse.open_readonly(published)
    assert fresh.execute("SELECT v FROM t").fetchone()[0] == 2
    fresh.close()


def test_publish_removes_a_stale_wal(tmp_path):
    build, published = tmp_path / ".w.build.duckdb", tmp_path / "w.duckdb"
    make_db(build, 3)
    warehouse.publish(build, published)
    warehouse.wal_path(published).write_bytes(b"left by a killed writer")
    make_db(build, 4)
    warehouse.publish(build, published)
    assert not warehouse.wal_path(published).exists()
    con = duckdb.connect(str(published))  # read-write open works: no mismatched WAL
    assert con.execute("SELECT v FROM t").fetchone()[0] == 4
    con.close()


def test_writer_lock_is_exclusive(tmp_path):
    build = tmp_path / ".w.build.duckdb"
    with warehouse.writer_lock(build):
        failure: list[BaseException] = []

        def second_writer():
            try:
                with warehouse.writer_lock(build, timeout=0.2):
                    pass
            except BaseException as error:  # noqa: BLE001 - recorded for the assertion
                failure.append(error)

        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join()
    # flock is per open file description, so a second open in the same process is refused too
    assert failure and isinstance(failure[0], warehouse.WarehouseBusyError)
    with warehouse.writer_lock(build, timeout=0.2):
        pass  # free again once released


def test_open_readonly_cannot_write(tmp_path):
    published = tmp_path / "w.duckdb"
    make_db(published, 5)
    con = warehouse.open_readonly(published)
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE x AS SELECT 1")
    con.close()


def test_table_exists_looks_only_in_the_current_database(tmp_path):
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE SCHEMA analytics")
        con.execute("CREATE TABLE analytics.only_elsewhere AS SELECT 1 AS v")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("CREATE SCHEMA analytics")
        con.execute("CREATE TABLE analytics.here AS SELECT 1 AS v")
        con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
        assert warehouse.table_exists(con, "analytics", "here")
        assert not warehouse.table_exists(con, "analytics", "missing")
        # information_schema.tables lists the attached file's analytics.only_elsewhere too (a filter on
        # schema and name alone would find it), yet an unqualified read of it would fail.
        assert con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'analytics' AND table_name = 'only_elsewhere'").fetchone()[0] == 1
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM analytics.only_elsewhere")
        assert not warehouse.table_exists(con, "analytics", "only_elsewhere")
        # Named explicitly, the attached database is the one looked in.
        assert warehouse.table_exists(con, "analytics", "only_elsewhere", catalog="other")
        assert not warehouse.table_exists(con, "analytics", "here", catalog="other")
    finally:
        con.close()
