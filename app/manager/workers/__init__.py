"""The workers as the Manager knows them.

The worker API: registration, sign-on and off, states, task hand-out and updates
(`worker_sessions`); management for the dashboard (`worker_admin`); their vitals (`worker_vitals`),
"last seen" times (`last_seen`), finished task runs (`task_runs`) and the day those add up to
(`worker_day`). Who a worker is, is `app.manager.credentials`; who waits for work,
`app.manager.scheduling`.
"""
