"""Kernels that talk over Unix sockets, so that two kernels starting at once never collide.

A kernel started with TCP gets five free ports picked before it binds them;
another kernel starting at the same moment (JupyterLab's, nbgrader's
Validate, a classmate's on the same machine) can pick the same ones, and one
of them dies with "Address already in use". With ZeroMQ's ``ipc`` transport
each kernel's sockets are files with names of their own, so there is nothing
to pick. The course's Jupyter configuration (``jupyter_config/``) uses it
where it can: on Linux and macOS, when the runtime folder's path leaves room
for a socket's name (at most 104 bytes there).
"""

from __future__ import annotations

import os

from jupyter_core.paths import jupyter_runtime_dir

# A kernel's sockets are <runtime folder>/kernel-<36-character id>-ipc-<n>: 52 bytes more than the folder.
LONGEST_RUNTIME_FOLDER = 48


def unix_socket_folder() -> str | None:
    """The folder for kernels' Unix sockets (Jupyter's runtime folder, created), or None where they cannot be used."""
    folder = jupyter_runtime_dir()
    if os.name != "posix" or len(os.fsencode(folder)) > LONGEST_RUNTIME_FOLDER:
        return None
    os.makedirs(folder, exist_ok=True)
    return folder
