"""Jobs keep what their scene needs of a worker, and workers what they have, so a claim can match them.

`jobs.requirements` is the submitted `requirements` object as JSON (for the words a dashboard shows);
the three columns a claim compares are beside it: `needs_gpu` (the GPU backends that will do, as
bits; 0: no GPU needed), `needs_blender` (the file's Blender as major * 1000 + minor; 0: none) and
`needs_memory` (bytes; 0: not recorded). A worker's facts from its sign-on are NULL until it reports
them (a stock Flamenco worker never does): `gpu_mask` (its backends as bits; 0: no GPU),
`memory_total` (bytes), `blender_version` (as it says it) and `blender_number` (as a job's).
Jobs stored before need nothing; workers signed on before are unknown until their next sign-on.
"""


def up(migrator, db):
    for sql in (
        "ALTER TABLE jobs ADD COLUMN requirements TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE jobs ADD COLUMN needs_gpu INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN needs_blender INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN needs_memory BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE workers ADD COLUMN gpu_mask INTEGER NULL",
        "ALTER TABLE workers ADD COLUMN memory_total BIGINT NULL",
        "ALTER TABLE workers ADD COLUMN blender_version VARCHAR(255) NULL",
        "ALTER TABLE workers ADD COLUMN blender_number INTEGER NULL",
    ):
        db.execute_sql(sql)
