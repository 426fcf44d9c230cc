"""Files and folders readable by their owner only.

What the embedded default keeps on disk — the SQLite database, the originals, the exports
— is clients' documents and books. The process umask usually makes new files readable by
every local user (0644); these helpers create them 0600 and their folders 0700 instead.
"""

import contextlib
import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dirs(path: Path) -> None:
    """Create `path` and its missing parents as 0700 (existing folders are left alone:
    a data folder the operator made is theirs to set)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=PRIVATE_DIR)


def private_file(path: Path) -> None:
    """Create `path` (empty, if missing) as 0600, and tighten an existing one."""
    private_dirs(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    with contextlib.suppress(OSError):  # not ours to change (a shared, managed file)
        os.chmod(path, PRIVATE_FILE)
