"""Confining Blender and FFmpeg: a render reads the job's files, writes its output folder, and no more.

On Linux each program a task runs is started inside bubblewrap (`bwrap`): no network, the whole
filesystem read-only, home folders and the worker's own data hidden, only the output folder and a
scratch `/tmp` writable, GPU devices kept. `spec` says what one command line needs, `policy`
decides which of those wishes may be granted and in which order folders are mounted, `bwrap`
writes the command-line prefix and probes whether bubblewrap works here, and `confinement` holds
the worker's setting, the probe's result and the scratch folders.
"""

from app.worker.sandbox.confinement import Sandbox, SandboxError
from app.worker.sandbox.spec import SandboxSpec, blender_spec, ffmpeg_spec

__all__ = ["Sandbox", "SandboxError", "SandboxSpec", "blender_spec", "ffmpeg_spec"]
