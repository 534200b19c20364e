"""The hub's tables (sites, its persisted outbox to them, its view of their jobs, the file lists of
its Shaman checkouts) and the site's record of the hub messages it applied.

A hub and a site Manager share this schema (both are Manager stores); each only fills its own
tables. Messages are keyed by their id, so a message sent twice (a reconnect, a replay) is applied
once: `hub_outbox.msg_id` on the hub, `hub_link_applied.msg_id` on the site.
"""

import peewee as pw


def up(migrator, db):
    class Base(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class HubSite(Base):
        name = pw.CharField(max_length=64, unique=True)
        token_hash = pw.CharField(max_length=64)
        created_at = pw.DateTimeField()
        last_heard_at = pw.DateTimeField(null=True)
        info = pw.TextField(default="{}")  # what the site last said it offers (job types, workers, load)
        cursor = pw.CharField(default="")  # the newest job change applied from it (RFC 3339)

        class Meta:
            table_name = "hub_sites"

    class HubOutbox(Base):
        msg_id = pw.CharField(max_length=36, unique=True)
        site = pw.CharField(max_length=64)
        kind = pw.CharField(max_length=16)
        job_id = pw.CharField(max_length=36)
        payload = pw.TextField()
        created_at = pw.DateTimeField()
        done_at = pw.DateTimeField(null=True)
        result = pw.TextField(default="")

        class Meta:
            table_name = "hub_outbox"

    class HubJob(Base):
        uuid = pw.CharField(max_length=36, unique=True)
        site = pw.CharField(max_length=64)
        state = pw.CharField(max_length=16)  # waiting | delivered | refused
        snapshot = pw.TextField()
        updated = pw.DateTimeField()
        route_reason = pw.TextField(default="")
        note = pw.TextField(default="")

        class Meta:
            table_name = "hub_jobs"

    class HubCheckout(Base):
        path = pw.CharField(max_length=1024, unique=True)
        files = pw.TextField()  # the checkout's file list, for sites that fetch what they lack
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "hub_checkouts"

    class HubLinkApplied(Base):
        msg_id = pw.CharField(max_length=36, unique=True)
        result = pw.TextField()
        applied_at = pw.DateTimeField()

        class Meta:
            table_name = "hub_link_applied"

    db.create_tables([HubSite, HubOutbox, HubJob, HubCheckout, HubLinkApplied])
    db.execute_sql("CREATE INDEX hub_outbox_pending ON hub_outbox (site, done_at, id)")
    db.execute_sql("CREATE INDEX hub_jobs_site ON hub_jobs (site)")
