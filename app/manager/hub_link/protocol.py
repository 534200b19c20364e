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
hub -> site
  `welcome`   {cursor}: the newest job change the hub has from this site; the site sends what
              changed since
  `submit`    {id, job_id, job, credentialed}: store this job under id `job_id`, once
  `action`    {id, job_id, action, body}: setstatus / setpriority / delete on a job, or settaskstatus
              on one of its tasks (body {task_id, status, reason}), once
  `ask`       {rid, what, job_id | job | task_id}: a question answered at once, never stored
              (`tasks` of a job; `check`: would this job compile there; a `task`; its `logtail`;
              for the hub's pages `eta`, `taskstats`, `lastrendered`, a `frame`, a `worker`, the
              `variables` users see: `questions.py`)

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

ACTIONS = ("setstatus", "setpriority", "delete", "settaskstatus")
#: The most bytes one message may have (a hello with many job types; a batch of job snapshots).
MAX_MESSAGE = 8 * 1024 * 1024
#: Job snapshots per `jobs` message.
JOBS_PER_MESSAGE = 200
