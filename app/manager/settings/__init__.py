"""The Manager's configuration: the file and flags, as the API changes it, and its variables.

`ManagerConfig` from flamenco-manager.yaml and the command line (`config`); the configuration as
clients read and change it, applied without a restart (`settings_service`); the two-way variables
that map paths between platforms (`variables`); and what a new user is told to do next once the
Manager listens (`guidance`).
"""
