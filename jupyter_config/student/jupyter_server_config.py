"""JupyterLab for students (make lab): kernels on Unix sockets where the system has them (course_utils.kernels)."""

from course_utils.kernels import unix_socket_folder

if unix_socket_folder():
    # each kernel's sockets are named after its connection file, in the runtime folder
    c.KernelManager.transport = "ipc"  # noqa: F821  (c: the config Jupyter provides)
