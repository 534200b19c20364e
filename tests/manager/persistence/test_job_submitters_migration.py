"""Migration 0012 on a store made before it: each job's submitter is read from its metadata into a
column, once, and the fair-share claim's indexes exist (a real SQLite file, migrated as a Manager
start migrates it)."""

from __future__ import annotations

import shutil

import peewee as pw
from playhouse.migrations import Runner

from app.manager.persistence.db import MIGRATIONS_DIR, migrate

SUBMITTER_MIGRATION = "0012_schedfill_job_submitters.py"
_METADATA = {"a": '{"user.name": " alice "}', "b": '{"project": "film"}', "c": "not json", "d": '["a list"]'}


def test_jobs_stored_before_get_their_submitter_from_their_metadata(tmp_path):
    older = tmp_path / "older-migrations"
    older.mkdir()
    for path in MIGRATIONS_DIR.glob("0*.py"):
        if path.name < SUBMITTER_MIGRATION:
            shutil.copy(path, older / path.name)
    db = pw.SqliteDatabase(str(tmp_path / "old.sqlite"))
    db.connect()
    Runner(db, str(older)).up()  # the schema of a Manager from before submitter columns
    stamp = "2026-01-01 00:00:00"
    for uuid, metadata in _METADATA.items():
        db.execute_sql("INSERT INTO jobs (uuid, name, job_type, priority, status, activity, settings, metadata,"
                       " submitter_platform, type_etag, storage_shaman_checkout_id, steps_completed,"
                       " steps_total, created_at, updated_at) VALUES (?, 'old', 'x', 50, 'queued', '', '{}', ?,"
                       " 'linux', '', '', 0, 0, ?, ?)", [uuid, metadata, stamp, stamp])

    assert SUBMITTER_MIGRATION.removesuffix(".py") in migrate(db)
    rows = db.execute_sql("SELECT uuid, share_by, submitter FROM jobs ORDER BY uuid").fetchall()
    assert rows == [("a", "user.name", "alice"), ("b", "user.name", ""), ("c", "user.name", ""),
                    ("d", "user.name", "")]
    indexes = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()}
    assert {"jobs_unfinished_by_priority", "jobs_unfinished_by_share_key", "tasks_running_by_job"} <= indexes
    db.close()
