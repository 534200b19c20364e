"""The hub: one farm over several networks.

Each network keeps its own Manager and workers (a *site*); the hub is where artists submit and
watch. Sites connect out to the hub (only the hub needs an address others can reach), so a site
behind a NAT or firewall joins without opening anything. The hub runs no workers: it routes each
job to a site, keeps what it sends in a persisted outbox until the site confirms it, and keeps
the last state of every site's jobs to show them in one list. See docs/architecture.md, "The hub".
"""
