"""Migration 0008 on a store made before it: queued tasks keep their order, and the scheduler's index
orders on the hand-out rank (a real SQLite file, migrated as a Manager start migrates it)."""

from __future__ import annotations

import shutil

import peewee as pw
from playhouse.migrations import Runner

from app.manager.persistence.db import MIGRATIONS_DIR, migrate

RANK_MIGRATION = "0008_tasks_hand_out_rank.py"


def test_tasks_stored_before_keep_their_order_and_the_index_moves_to_the_rank(tmp_path):
    older = tmp_path / "older-migrations"
    older.mkdir()
    for path in MIGRATIONS_DIR.glob("0*.py"):
        if path.name < RANK_MIGRATION:
            shutil.copy(path, older / path.name)
    db = pw.SqliteDatabase(str(tmp_path / "old.sqlite"))
    db.connect()
    Runner(db, str(older)).up()  # the schema of a Manager from before the hand-out rank
    stamp = "2026-01-01 00:00:00"
    db.execute_sql("INSERT INTO jobs (uuid, name, job_type, priority, status, activity, settings, metadata,"
                   " submitter_platform, type_etag, storage_shaman_checkout_id, steps_completed, steps_total,"
                   " created_at, updated_at) VALUES ('j', 'old', 'x', 50, 'queued', '', '{}', '{}', 'linux', '',"
                   " '', 0, 3, ?, ?)", [stamp, stamp])
    for i in (3, 1, 2):
        db.execute_sql("INSERT INTO tasks (uuid, job_id, name, type, index_in_job, priority, job_priority, status,"
                       " commands, activity, steps_completed, steps_total, created_at, updated_at)"
                       " VALUES (?, 1, ?, 'misc', ?, 50, 50, 'queued', '[]', '', 0, 1, ?, ?)",
                       [f"t{i}", f"t{i}", i, stamp, stamp])

    assert migrate(db) == [RANK_MIGRATION.removesuffix(".py")] + [
        p.stem for p in sorted(MIGRATIONS_DIR.glob("0*.py")) if p.name > RANK_MIGRATION]
    ranks = db.execute_sql("SELECT name, index_in_job, hand_out_rank FROM tasks ORDER BY name").fetchall()
    assert ranks == [("t1", 1, 1), ("t2", 2, 2), ("t3", 3, 3)]
    index = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'tasks_runnable'").fetchone()[0]
    assert "hand_out_rank" in index and "index_in_job" not in index
    order = db.execute_sql("SELECT name FROM tasks INDEXED BY tasks_runnable"
                           " WHERE status IN ('queued', 'soft-failed') AND deps_left = 0"
                           " ORDER BY job_priority DESC, priority DESC, job_id, hand_out_rank").fetchall()
    assert [r[0] for r in order] == ["t1", "t2", "t3"]
    db.close()
