"""The route table: Flamenco v3 paths first, then Tablao's additions under /api/v3/tablao/."""

from __future__ import annotations

from aiohttp import web

from app.api.headers import API_PREFIX
from app.manager.web.handlers import (
    addon,
    events_ws,
    fair_share,
    jobs,
    meta,
    requirements,
    task_stats,
    tasks,
    upnp,
    worker_api,
    worker_mgt,
)

V3 = API_PREFIX


def add_routes(app: web.Application) -> None:
    r = app.router
    # meta
    r.add_get(f"{V3}/version", meta.get_version)
    r.add_get("/upnp/description.xml", upnp.get_description)  # SSDP discovery, as Flamenco
    r.add_get(f"{V3}/configuration", meta.get_configuration)
    r.add_post(f"{V3}/configuration/check/shared-storage", meta.check_shared_storage)
    r.add_get(f"{V3}/configuration/check/blender", meta.find_blender)
    r.add_post(f"{V3}/configuration/check/blender", meta.check_blender)
    r.add_get(f"{V3}/configuration/variables/{{audience}}/{{platform}}", meta.get_variables)
    r.add_get(f"{V3}/configuration/shared-storage/{{audience}}/{{platform}}", meta.get_shared_storage)
    r.add_get(f"{V3}/status", meta.get_farm_status)
    r.add_post(f"{V3}/configuration/setup-assistant", meta.save_setup_assistant)
    r.add_get(f"{V3}/configuration/file", meta.get_configuration_file)
    r.add_put(f"{V3}/configuration/file", meta.put_configuration_file)
    # jobs (fixed paths before {job_id})
    r.add_get(f"{V3}/jobs/types", meta.get_job_types)
    r.add_get(f"{V3}/jobs/type/{{type_name}}", meta.get_job_type)
    r.add_get(f"{V3}/jobs", jobs.fetch_jobs)
    r.add_post(f"{V3}/jobs", jobs.submit_job)
    r.add_post(f"{V3}/jobs/check", jobs.check_job)
    r.add_delete(f"{V3}/jobs/mass-delete", jobs.mass_delete)
    r.add_get(f"{V3}/jobs/last-rendered", jobs.global_last_rendered)
    r.add_get(f"{V3}/jobs/{{job_id}}", jobs.fetch_job)
    r.add_delete(f"{V3}/jobs/{{job_id}}", jobs.delete_job)
    r.add_get(f"{V3}/jobs/{{job_id}}/what-would-delete-do", jobs.what_would_delete_do)
    r.add_get(f"{V3}/jobs/{{job_id}}/last-rendered", jobs.last_rendered)
    r.add_post(f"{V3}/jobs/{{job_id}}/setstatus", jobs.set_job_status)
    r.add_post(f"{V3}/jobs/{{job_id}}/setpriority", jobs.set_job_priority)
    r.add_post(f"{V3}/jobs/{{job_id}}/settag", jobs.set_job_tag)
    r.add_get(f"{V3}/jobs/{{job_id}}/tasks", jobs.fetch_job_tasks)
    r.add_get(f"{V3}/jobs/{{job_id}}/blocklist", jobs.fetch_blocklist)
    r.add_delete(f"{V3}/jobs/{{job_id}}/blocklist", jobs.remove_blocklist)
    # tasks
    r.add_get(f"{V3}/tasks/{{task_id}}", tasks.fetch_task)
    r.add_post(f"{V3}/tasks/{{task_id}}/setstatus", tasks.set_task_status)
    r.add_get(f"{V3}/tasks/{{task_id}}/logtail", tasks.fetch_log_tail)
    r.add_get(f"{V3}/tasks/{{task_id}}/log", tasks.fetch_log_info)
    # worker
    r.add_post(f"{V3}/worker/register-worker", worker_api.register_worker)
    r.add_post(f"{V3}/worker/sign-on", worker_api.sign_on)
    r.add_post(f"{V3}/worker/sign-off", worker_api.sign_off)
    r.add_get(f"{V3}/worker/state", worker_api.worker_state)
    r.add_post(f"{V3}/worker/state-changed", worker_api.worker_state_changed)
    r.add_post(f"{V3}/worker/task", worker_api.schedule_task)
    r.add_post(f"{V3}/worker/task/{{task_id}}", worker_api.task_update)
    r.add_get(f"{V3}/worker/task/{{task_id}}/may-i-run", worker_api.may_i_run)
    r.add_post(f"{V3}/worker/task/{{task_id}}/output-produced", worker_api.output_produced)
    # worker management
    r.add_get(f"{V3}/worker-mgt/workers", worker_mgt.fetch_workers)
    r.add_get(f"{V3}/worker-mgt/workers/{{worker_id}}", worker_mgt.fetch_worker)
    r.add_delete(f"{V3}/worker-mgt/workers/{{worker_id}}", worker_mgt.delete_worker)
    r.add_post(f"{V3}/worker-mgt/workers/{{worker_id}}/setstatus", worker_mgt.request_status_change)
    r.add_post(f"{V3}/worker-mgt/workers/{{worker_id}}/settags", worker_mgt.set_worker_tags)
    r.add_get(f"{V3}/worker-mgt/workers/{{worker_id}}/sleep-schedule", worker_mgt.fetch_sleep_schedule)
    r.add_post(f"{V3}/worker-mgt/workers/{{worker_id}}/sleep-schedule", worker_mgt.set_sleep_schedule)
    r.add_get(f"{V3}/worker-mgt/tags", worker_mgt.fetch_tags)
    r.add_post(f"{V3}/worker-mgt/tags", worker_mgt.create_tag)
    r.add_get(f"{V3}/worker-mgt/tag/{{tag_id}}", worker_mgt.fetch_tag)
    r.add_put(f"{V3}/worker-mgt/tag/{{tag_id}}", worker_mgt.update_tag)
    r.add_delete(f"{V3}/worker-mgt/tag/{{tag_id}}", worker_mgt.delete_tag)
    # Tablao additions
    r.add_get(f"{V3}/tablao/events", events_ws.event_stream)
    r.add_get(f"{V3}/tablao/jobs", jobs.tablao_jobs_page)
    r.add_get(f"{V3}/tablao/jobs/{{job_id}}/chain", jobs.tablao_job_chain)
    r.add_put(f"{V3}/tablao/jobs/{{job_id}}/depends-on", jobs.tablao_set_depends_on)
    r.add_get(f"{V3}/tablao/jobs/{{job_id}}/requirements", requirements.job_requirements)
    r.add_get(f"{V3}/tablao/jobs/{{job_id}}/task-stats", task_stats.job_task_stats)
    r.add_get(f"{V3}/tablao/fair-share", fair_share.get_fair_share)
    r.add_get(f"{V3}/tablao/jobs/eta", jobs.fetch_job_etas)
    r.add_get(f"{V3}/tablao/submit-policy", meta.get_submit_policy)
    r.add_get(f"{V3}/tablao/variables", meta.get_tablao_variables)
    r.add_put(f"{V3}/tablao/variables", meta.put_tablao_variables)
    r.add_post(f"{V3}/tablao/storage-check", meta.tablao_storage_check)
    r.add_get(f"{V3}/tablao/tasks/{{task_id}}/log", tasks.fetch_whole_log)
    r.add_post(f"{V3}/tablao/worker/prove", worker_api.prove_manager)
    r.add_post(f"{V3}/tablao/worker/vitals", worker_api.worker_vitals)
    r.add_get(f"{V3}/tablao/workers/{{worker_id}}/day", worker_mgt.fetch_worker_day)
    # the Blender add-on, with this Manager's address filled in
    r.add_get("/tablao-addon.zip", addon.get_addon)
    r.add_get("/tablao-extension.zip", addon.get_extension)
