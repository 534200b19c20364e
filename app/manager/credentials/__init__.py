"""Who is who: the secrets the Manager keeps and the credentials it checks.

Workers' credentials and their cache (`auth`), the admin token (`admin_token`), the Manager's
secret files beside flamenco-manager.yaml (`secret_file`), and the keys it gives its workers and the
proofs it gives them in return (`worker_keys`). Which route needs which credential is
`app.manager.web.access`.
"""
