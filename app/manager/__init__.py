"""The Manager: job store, scheduler, state machines and the Flamenco v3 HTTP API.

`service` puts it together and runs it; each subpackage owns one part:

- `web`: the HTTP API, who may call what (`web.access`), the event stream and the status page;
- `jobs`: jobs and tasks as the API sees them, where they may write, their files and logs;
- `workers`: the worker API, worker management, vitals, "last seen" and a worker's day;
- `scheduling`: workers waiting for work, the periodic services, the drain before a stop;
- `state_machine`: job, task and worker status changes and their effects;
- `persistence`: the store, its thread, migrations and queries;
- `job_compilers`: the JavaScript job types and the engine that runs them;
- `pictures`: the frames workers upload, checked, shrunk and kept;
- `credentials`: worker credentials, the admin token, the Manager's secrets and worker keys;
- `settings`: the configuration, its changes through the API, the variables;
- `checks`: checks of request fields, a shared-storage folder and a Blender executable;
- `lan`: being found on the network (SSDP) and the add-on handed out with the Manager's address;
- `runtime`: the process's tuning for a large farm (garbage collector, open files, loop turns).
"""
