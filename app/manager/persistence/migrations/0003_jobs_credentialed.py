"""Jobs remember whether their submitter showed a credential (the access token, a submit token or the
admin token): Python stored in a job's .blend file may run on the workers only for such jobs, and only
when the Manager's `allow_blend_scripts` is on. Jobs stored before are anonymous.
"""


def up(migrator, db):
    db.execute_sql("ALTER TABLE jobs ADD COLUMN credentialed BOOLEAN NOT NULL DEFAULT FALSE")
