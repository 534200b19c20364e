"""When work moves: workers waiting for it, the services that keep it moving, and stopping safely.

Workers waiting on a long-poll and who is woken when work may be there (`waiters`); the periodic
services that give a silent worker's task back, put workers to sleep on schedule, delete jobs and
keep the farm status (`background`); and what a Manager has going on, with the drain that stops
handing out work before it stops (`activity`). Which task a worker gets is the scheduler's query in
`app.manager.persistence.scheduler_queries`.
"""
