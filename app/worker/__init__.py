"""The Worker: registers with a Manager, runs tasks, reports back.

Public entry points (the CLI's `tablao worker` uses these):

* `app.worker.config.WorkerConfig.load(path=None, **overrides)`: settings; raises `ConfigError`.
* `app.worker.service.run_worker(config) -> int`: runs until the Manager sends the worker offline
  (0) or to restart (`restart_exit_code`); cancel it to shut down (signs off, then re-raises).
* `app.worker.service.flush_and_exit(config) -> int`: the `--flush-updates` one-shot.

Module map: `client` (HTTP), `registration` (register/sign on), `state_machine` (status → coroutine
table), `task_runner` + `task_reporter` (running a task, batched logs), `commands/` (what a task
step can do), `procs` (processes and tree kill), `upstream_buffer` (SQLite queue of updates),
`output_uploader` (last-rendered previews), `service` (composition root).
"""
