"""The words a hub and its sites exchange over the site's websocket, in one place for both ends.

A site connects out to `LINK_PATH` on the hub with `Authorization: Bearer <site token>` and
`SITE_HEADER: <site name>`. Every message is one JSON object with a `type`:

site -> hub
  `hello`     {site, job_types, tags, storage, workers, load}: what the site offers, first on every connection
  `inventory` {uuids}: every job the site has (the hub forgets the ones gone while it was away)
  `jobs`      {jobs, gone}: jobs as they are now, and ids of jobs deleted; applied newest-wins by
              each job's `updated`, so a replayed or late message never turns a job back
  `status`    {workers, load}: when the workers or the queue changed
  `ack`       {id, ok, status, message, job?}: the answer to the hub's message `id`
  `frame`     {job_id}: a job got a new last rendered frame (the hub asks for it when shown)
  `reply`     {rid, ok, status, message, data?}: the answer to a question (`ask`)
  `tasks`     {tasks, stale}: task changes as the Manager's `task_did_change` events, the newest of
              each task gathered for 0.1 s; `stale`: jobs whose task changes were too many to send
              one by one (the hub tells its pages to read their tasks again). Best-effort: lost
              with a dropped connection, which is why the hub has its pages re-read an unfinished
              job's tasks whenever a site connects
  `log`       {task_id, job_id, log}: new lines of a task's log the hub follows (`follow`), at most
              `LOG_CHUNK` characters per task per 0.1 s (older text beyond that is skipped, said so)
hub -> site
  `welcome`   {cursor, follows}: the newest job change the hub has from this site (the site sends
              what changed since) and the tasks whose log lines the hub follows there (as `follow`)
  `submit`    {id, job_id, job, credentialed}: store this job under id `job_id`, once
  `action`    {id, job_id, action, body}: setstatus / setpriority / delete on a job, or settaskstatus
              on one of its tasks (body {task_id, status, reason}), once
  `ask`       {rid, what, job_id | job | task_id}: a question answered at once, never stored
              (`tasks` of a job; `check`: would this job compile there; a `task`; its `logtail`;
              for the hub's pages `eta`, `taskstats`, `lastrendered`, a `frame`, a `worker`, the
              `variables` users see: `questions.py`)
  `follow`    {task_id}: send that task's new log lines (`log`) while this connection lasts; at
              most `FOLLOWS_MAX` tasks at once (a new connection's `welcome` lists them again)
  `unfollow`  {task_id}: stop sending them

`submit` and `action` come from the hub's persisted outbox: the hub sends them again after every
reconnect until it has their `ack`; the site keeps every applied id with its answer, so a message
that comes twice is answered twice and applied once.
"""

from __future__ import annotations

from app.api.headers import API_PREFIX

LINK_PATH = f"{API_PREFIX}/tablao/hub/link"
SITE_HEADER = "X-Tablao-Site"

HELLO, INVENTORY, JOBS, STATUS, ACK, REPLY, FRAME = "hello", "inventory", "jobs", "status", "ack", "reply", "frame"
WELCOME, SUBMIT, ACTION, ASK = "welcome", "submit", "action", "ask"
TASKS, LOG, FOLLOW, UNFOLLOW = "tasks", "log", "follow", "unfollow"

ACTIONS = ("setstatus", "setpriority", "delete", "settaskstatus")
#: The most bytes one message may have (a hello with many job types; a batch of job snapshots).
MAX_MESSAGE = 8 * 1024 * 1024
#: Job snapshots per `jobs` message.
JOBS_PER_MESSAGE = 200
#: Task changes per `tasks` message.
TASKS_PER_MESSAGE = 500
#: Tasks whose newest change a site keeps waiting to be sent; past it, their jobs go in `stale`.
TASKS_PENDING_MAX = 5_000
#: Tasks whose log a site sends the hub at once.
FOLLOWS_MAX = 64
#: The most characters of one task's log in one `log` message.
LOG_CHUNK = 64 * 1024
#: The longest id of a job or a task on the link.
ID_MAX = 36
