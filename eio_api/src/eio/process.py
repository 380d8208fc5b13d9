"""Child processes (Eio's ``Process``).

Only the errors and exit statuses are here so far; the functions that run
processes are added below them.
"""

from __future__ import annotations

# -- errors and statuses -----------------------------------------------------------
# Every process error is an `eio.process.ProcessError` (an `eio.Io`); see eio/_io_errors.py.

from ._io_errors import ChildError, ExecutableNotFound, Exited, ExitStatus, ProcessError, Signaled

__all__ = ["ChildError", "ExecutableNotFound", "ExitStatus", "Exited", "ProcessError", "Signaled"]
# -- end of errors and statuses -------------------------------------------------------
