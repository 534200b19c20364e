"""Jobs and tasks as the API sees them.

Submission, queries and changes (`job_service`), the wire views of store rows (`convert`), where a
job may write (`output_roots`), whether the Python in its .blend file may run (`blend_scripts`), the
Manager's own files per job (`local_storage`) and its tasks' logs (`task_logs`). The store itself is
`app.manager.persistence`; status changes go through `app.manager.state_machine`.
"""
