"""JavaScript job types: loading, validating and compiling submitted jobs into tasks."""
