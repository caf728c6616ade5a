"""Whether a directory can hold our files, asked before anything is written there.

`DAGSTER_HOME` and a SQLite database's directory are created on first use; a path under a
regular file, or on a filesystem nobody may write (`/proc`), would otherwise fail deep inside
Dagster or SQLite with a traceback. The probe creates nothing that outlives it, so a command
refused for another reason leaves no empty directory behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def why_not_writable(directory: Path) -> str | None:
    """Why files could not be created in `directory` (made first if missing), or None."""
    existing = directory
    while True:
        try:
            existing.stat()  # not `exists()`, which calls a loop of symbolic links missing
            break
        except (FileNotFoundError, NotADirectoryError):  # to be created, or under a file
            if existing.parent == existing:
                return "has no existing parent directory"
            existing = existing.parent
        except OSError as err:  # a loop of symbolic links, a name too long
            return f"cannot be inspected ({err.strerror or err})"
    if not existing.is_dir():
        if existing == directory:
            return "is not a directory"
        return f"cannot be created: {existing} is not a directory"
    try:
        handle, probe = tempfile.mkstemp(prefix=".dgas-probe-", dir=existing)
    except OSError as err:
        why = err.strerror or str(err)
        if existing == directory:
            return f"is not writable ({why})"
        return f"cannot be created: {existing} is not writable ({why})"
    os.close(handle)
    os.unlink(probe)
    return None
