"""Every operation of the served OpenAPI document has a client method (the list in one place)."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.api.client import ManagerClient
from app.worker.client import WorkerClient

SERVED = Path(__file__).resolve().parents[2] / "app" / "manager" / "web" / "tablao-openapi.yaml"

#: operationId -> ManagerClient method.
MANAGER_CLIENT = {
    "getVersion": "version", "getConfiguration": "configuration",
    "checkSharedStoragePath": "check_shared_storage", "findBlenderExePath": "find_blender",
    "checkBlenderExePath": "check_blender", "saveSetupAssistantConfig": "save_setup_assistant",
    "getConfigurationFile": "configuration_file", "updateConfigurationFile": "set_configuration_file",
    "getVariables": "resolved_variables", "getSharedStorage": "shared_storage", "getFarmStatus": "farm_status",
    "fetchWorkers": "workers", "fetchWorker": "worker", "deleteWorker": "delete_worker",
    "requestWorkerStatusChange": "request_worker_status", "setWorkerTags": "set_worker_tags",
    "fetchWorkerSleepSchedule": "sleep_schedule", "setWorkerSleepSchedule": "set_sleep_schedule",
    "fetchWorkerTags": "worker_tags", "createWorkerTag": "create_worker_tag", "fetchWorkerTag": "worker_tag",
    "updateWorkerTag": "update_worker_tag", "deleteWorkerTag": "delete_worker_tag",
    "getJobTypes": "job_types", "getJobType": "job_type", "fetchJobs": "jobs", "submitJob": "submit_job",
    "deleteJobMass": "mass_delete_jobs", "submitJobCheck": "check_job", "fetchJob": "job",
    "deleteJob": "delete_job", "deleteJobWhatWouldItDo": "what_would_delete_do",
    "fetchJobLastRenderedInfo": "last_rendered", "fetchGlobalLastRenderedInfo": "last_rendered",
    "setJobStatus": "set_job_status", "setJobPriority": "set_job_priority", "setJobTag": "set_job_tag",
    "fetchJobTasks": "job_tasks", "fetchJobBlocklist": "job_blocklist", "removeJobBlocklist": "remove_from_blocklist",
    "fetchTask": "task", "fetchTaskLogTail": "task_log_tail", "fetchTaskLogInfo": "task_log_info",
    "setTaskStatus": "set_task_status",
    "shamanCheckoutRequirements": "shaman_requirements", "shamanCheckout": "shaman_checkout",
    "shamanFileStoreCheck": "shaman_file_status", "shamanFileStore": "shaman_upload",
    "tablaoEvents": "events", "tablaoGetVariables": "variables", "tablaoSetVariables": "set_variables",
    "tablaoCheckStorage": "storage_check", "tablaoFetchJobsPage": "jobs_page",
    "tablaoFetchJobChain": "job_chain", "tablaoSetJobDependsOn": "set_job_depends_on",
    "tablaoFetchJobRequirements": "job_requirements", "tablaoFetchTaskLog": "task_log",
    "tablaoGetSubmitPolicy": "submit_policy", "tablaoFetchWorkerDay": "worker_day",
    "tablaoGetFairShare": "fair_share", "tablaoFetchJobEtas": "job_etas",
    "tablaoFetchJobTaskStats": "job_task_stats",
}
#: operationId -> WorkerClient method: only workers call these.
WORKER_CLIENT = {
    "registerWorker": "register", "signOn": "sign_on", "signOff": "sign_off", "workerState": "state",
    "workerStateChanged": "state_changed", "scheduleTask": "ask_for_task", "taskUpdate": "task_update",
    "mayWorkerRun": "may_i_run", "taskOutputProduced": "output_produced", "tablaoProveManager": "prove_manager",
    "tablaoWorkerVitals": "send_vitals",
}


def test_every_served_operation_has_a_client_method():
    doc = yaml.safe_load(SERVED.read_text())
    served = {op["operationId"] for ops in doc["paths"].values() for method, op in ops.items()
              if method in ("get", "post", "put", "patch", "delete")}
    assert served == set(MANAGER_CLIENT) | set(WORKER_CLIENT)
    for op, method in MANAGER_CLIENT.items():
        assert callable(getattr(ManagerClient, method, None)), f"{op}: ManagerClient.{method}"
    for op, method in WORKER_CLIENT.items():
        assert callable(getattr(WorkerClient, method, None)), f"{op}: WorkerClient.{method}"
