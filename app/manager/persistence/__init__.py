"""The Manager's store: the only code that builds database queries.

Each Manager owns its database: `db.Store` opens it, and the query functions here (`jobs`,
`tasks`, `workers`, `scheduler_queries`, `blocklist`) run only inside that Store's transactions
(`Store.call`, `call_sync`, `try_quick`), which hand them that database for the call. Nothing is
bound for the whole process, so two Managers in one process (the hub, tests) keep to their own
rows, and a query function called outside a Store raises `models.OutsideStore`.
"""
