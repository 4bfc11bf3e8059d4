"""nbgrader's Validate, as JupyterLab runs it for students: its kernel on Unix sockets (course_utils.kernels)."""

import os

from course_utils.kernels import unix_socket_folder

folder = unix_socket_folder()
if folder:
    # Validate's kernel has no connection file of its own when the socket names are chosen: name them after
    # this process (one Validate runs at a time in a server; the next takes free names after it)
    c.KernelManager.transport = "ipc"  # noqa: F821  (c: the config nbgrader provides)
    c.KernelManager.ip = os.path.join(folder, f"validate-{os.getpid()}-ipc")  # noqa: F821
