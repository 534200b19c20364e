"""JavaScript job types: loading, validating and compiling submitted jobs into tasks.

The front door is `JobCompiler` (`compiler.py`); the rest of the Manager needs nothing else
from this package except the result types and errors re-exported here.
"""

from app.manager.job_compilers.author import AuthoredJob, AuthoredTask
from app.manager.job_compilers.compiler import JobCompiler
from app.manager.job_compilers.errors import (
    InvalidJobSettings,
    InvalidSubmittedJob,
    JobCompileError,
    JobCompileTimeout,
    JobTypeOutdated,
    UnknownJobType,
    UnknownJobTypeSubmitted,
)

__all__ = [
    "AuthoredJob",
    "AuthoredTask",
    "InvalidJobSettings",
    "InvalidSubmittedJob",
    "JobCompileError",
    "JobCompileTimeout",
    "JobCompiler",
    "JobTypeOutdated",
    "UnknownJobType",
    "UnknownJobTypeSubmitted",
]
