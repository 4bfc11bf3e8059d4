"""The OS confinement layer alone: what a student's code inside the sandbox can and cannot do.

Each test runs a small Python program where a student's code runs: as the
answer cell of a grading worker, started cold (bubblewrap) or warm (forked by
the fork server), inside nbgrader's offline network namespace, and checks one
property, so a failure names the broken wall. Skipped, with the reason,
where this machine cannot confine (no bubblewrap, no user namespaces).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from course_grading import confine
from course_utils.layout import REPO, SOLUTIONS

AVAILABLE, WHY = confine.status()
pytestmark = [pytest.mark.skipif(not AVAILABLE, reason=f"no OS confinement on this machine: {WHY}"),
              pytest.mark.integration]  # sandboxes and kernels: not in make test-fast


@pytest.fixture(params=["cold", "warm"])
def kernel_start(request) -> str:
    """Each wall is checked for both ways a grading kernel starts: cold, or forked by the fork server."""
    return request.param


def run_inside(code: str, limits: confine.Limits | None = None, timeout: float = 60,
               start: str = "cold", also: tuple[str, ...] = (), env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    """Run ``code`` where a student's code runs: as the answer cell of a grading worker, inside offline nbgrader.

    ``start="cold"``: the worker in bubblewrap; ``"warm"``: forked by a fork server
    (:mod:`course_grading.forkserver`). ``also``: programs run first, each in a
    worker of its own; ``env``: the grader's environment (the sandbox keeps its
    ``COURSE_*`` variables). What ``code`` prints is the result's stdout.
    """
    limits = limits or confine.Limits()
    programs = [textwrap.dedent(c) for c in (*also, code)]
    client = [sys.executable, str(REPO / "tests" / "support" / "worker_client.py"), start, json.dumps(programs)]
    if start == "warm":
        client = [sys.executable, "-m", "course_grading.forkserver", "batch", "--", *client]
    command = confine.offline_command(client)
    env = dict(os.environ) | (env or {}) | {f"COURSE_GRADER_{name.upper()}": str(getattr(limits, name))
                                            for name in confine.Limits.__dataclass_fields__}
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
                              preexec_fn=lambda: confine.cap_processes(limits.processes,
                                                                       memory_mb=limits.sandbox_memory_mb))
    finally:
        confine.remove_empty_cgroups()


def test_python_torch_and_course_utils_work_inside(kernel_start):
    result = run_inside("""
        import torch, matplotlib.pyplot, course_utils.checks, course_utils.data
        print(float(torch.ones(3).sum()), course_utils.data.data_dir().is_dir())
    """, start=kernel_start)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3.0", "True"]


def test_the_solutions_the_repository_and_home_are_not_there(kernel_start):
    result = run_inside(f"""
        import os
        for path in ({str(SOLUTIONS)!r}, {str(REPO / 'nbgrader_config.py')!r}, {str(REPO / 'tests')!r},
                     os.path.expanduser('~root'), '/etc/passwd', '/etc/shadow', '/var', '/home'):
            print(path, os.path.exists(path))
    """, start=kernel_start)
    assert result.returncode == 0, result.stderr
    seen = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    leaked = {path for path, exists in seen.items() if exists == "True" and path != "/root"}
    assert not leaked, f"visible inside the sandbox: {leaked}"


def test_the_host_is_read_only_inside(kernel_start):
    targets = [str(REPO / "course_utils" / "checks.py"), str(REPO / "course_utils" / "data_files" / "exam_scores.csv"),
               str(REPO / ".venv" / "pyvenv.cfg"), sys.executable]
    result = run_inside(f"""
        for path in {targets!r}:
            try:
                open(path, 'a').write('x')
                print('WROTE', path)
            except OSError as error:
                print('refused', error.errno)
    """, start=kernel_start)
    assert result.returncode == 0, result.stderr
    assert "WROTE" not in result.stdout and result.stdout.count("refused") == len(targets)


def test_only_its_own_processes_are_visible(kernel_start):
    outside = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = run_inside(f"""
            import os
            pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
            print(len(pids), max(pids), os.path.exists('/proc/{outside.pid}'))
            try:
                os.kill({outside.pid}, 9)
                print('killed')
            except OSError as error:
                print('kill refused')
        """, start=kernel_start)
    finally:
        alive = outside.poll() is None
        outside.kill()
        outside.wait()
    assert result.returncode == 0, result.stderr
    count, highest, seen, verdict = result.stdout.split(maxsplit=3)
    assert int(count) <= 3 and int(highest) <= 3, result.stdout
    assert seen == "False" and verdict.strip() == "kill refused" and alive


def test_no_network_not_even_the_graders_loopback(kernel_start):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        try:
            accepted.append(server.accept())
        except OSError:  # the server is closed when the test ends
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        result = run_inside(f"""
            import socket
            for host, port in (('127.0.0.1', {port}), ('1.1.1.1', 53)):
                try:
                    socket.create_connection((host, port), timeout=3)
                    print('connected', host)
                except OSError:
                    print('refused', host)
        """, start=kernel_start)
    finally:
        server.close()
        thread.join(timeout=5)
    assert result.returncode == 0, result.stderr
    assert "connected" not in result.stdout and not accepted


def test_private_tmp_and_shm_are_capped_and_vanish(kernel_start):
    marker = f"course-grader-test-{os.getpid()}"
    limits = confine.Limits(tmp_mb=8, shm_mb=4)
    result = run_inside(f"""
        import os
        for folder, size in (('/tmp', 20), ('/dev/shm', 20)):
            written = 0
            try:
                with open(os.path.join(folder, {marker!r}), 'wb') as f:
                    for _ in range(size):
                        f.write(b'x' * 2**20)
                        f.flush()
                        written += 1
            except OSError:
                pass
            print(folder, written)
    """, limits, start=kernel_start)
    assert result.returncode == 0, result.stderr
    written = dict(line.split() for line in result.stdout.splitlines())
    assert int(written["/tmp"]) <= 8 and int(written["/dev/shm"]) <= 4, written
    assert not os.path.exists(f"/tmp/{marker}") and not os.path.exists(f"/dev/shm/{marker}")


def test_processes_are_capped_and_die_with_the_sandbox(kernel_start):
    limits = confine.Limits(processes=16)
    marker = f"course-grader-orphan-{os.getpid()}"
    result = run_inside(f"""
        import os
        from course_grading.confine import Limits
        from course_grading.sandbox import resource_limits
        resource_limits(Limits(processes=16))  # as the grading kernel does before it starts
        children = 0
        try:
            for _ in range(64):
                if os.fork() == 0:
                    os.setsid()
                    os.execv('/bin/sh', ['sh', '-c', 'exec -a {marker} sleep 300'])
                children += 1
        except OSError:
            pass
        print(children)
    """, limits, start=kernel_start)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip() or 0) < 20, f"started {result.stdout.strip()} processes"
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    leftovers.append(pid)
        except OSError:
            pass
    assert not leftovers, "processes outlived the sandbox"


def test_environment_is_cleared(kernel_start):
    result = run_inside("""
        import os
        print(sorted(k for k in os.environ if k.startswith(('NBGRADER', 'JUPYTER', 'SSH', 'GIT', 'CI'))))
    """, start=kernel_start)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_status_explains_what_to_install(monkeypatch):
    confine.status.cache_clear()
    monkeypatch.setattr(confine.shutil, "which", lambda name: None)
    try:
        available, why = confine.status()
    finally:
        confine.status.cache_clear()
    assert not available and "apt-get install bubblewrap" in why


def test_limits_from_the_environment_are_checked():
    assert confine.Limits.from_environment({"COURSE_GRADER_MEMORY_MB": "512"}).memory_mb == 512
    with pytest.raises(ValueError, match="COURSE_GRADER_CPU_SECONDS must be a whole number"):
        confine.Limits.from_environment({"COURSE_GRADER_CPU_SECONDS": "lots"})
    with pytest.raises(ValueError, match="at least 1"):
        confine.Limits.from_environment({"COURSE_GRADER_PROCESSES": "0"})
    with pytest.raises(ValueError, match="Limits.tmp_mb must be a whole number of at least 1"):
        confine.Limits(tmp_mb=0)  # built in code, checked the same way
    with pytest.raises(ValueError, match="Limits.memory_mb"):
        confine.Limits(memory_mb=1.5)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        confine.Limits().memory_mb = 1  # type: ignore[misc]  # frozen


# The walls forkserver._start and _init build, for a warm child of the server and a cold one alike (forkserver.one).

def test_a_worker_has_no_capability_and_no_way_to_gain_one(kernel_start):
    result = run_inside("""
        status = dict(line.split(':', 1) for line in open('/proc/self/status'))
        print(*(status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs')))
        import os
        kinds = []
        for fd in range(3, 64):
            try:
                kinds.append(os.readlink(f'/proc/self/fd/{fd}').split(':')[0])
            except OSError:
                pass
        print(kinds)
    """, start=kernel_start)
    assert result.returncode == 0, result.stderr
    caps, fds = result.stdout.splitlines()
    assert caps.split() == ["0000000000000000"] * 5 + ["1"], caps
    assert fds == "['socket']", f"a {kernel_start} worker holds more than its socket to the kernel: {fds}"


def test_a_worker_cannot_touch_the_hosts_device_files(kernel_start):
    result = run_inside("""
        import os
        for path in ('/dev/null', '/dev/zero', '/dev/urandom'):
            try:
                os.chmod(path, os.stat(path).st_mode & 0o7777)
                print('CHANGED', path)
            except OSError as error:
                print('refused', error.errno)
        open('/dev/null', 'w').write('still usable')
        print(len(open('/dev/urandom', 'rb').read(4)))
    """, start=kernel_start)
    assert result.returncode == 0, result.stderr
    assert "CHANGED" not in result.stdout and result.stdout.split()[-1] == "4", result.stdout


def test_warm_kernels_of_one_batch_share_nothing():
    """One student's kernel changes what it can; the next one forked by the same server sees none of it."""
    first = """
        import os, torch, course_utils.checks
        open('/tmp/left-behind', 'w').write('x')
        open('/dev/shm/left-behind', 'w').write('x')
        # outside /tmp and /dev/shm the root is the fork server's: read-only for every kernel and worker
        # (a kernel reads IPython's configuration from /etc/ipython: a worker must never write it)
        for folder in ('/etc/ipython', '/usr/local/etc/jupyter', '/left-behind', '/dev/left-behind', '/run/x'):
            try:
                os.makedirs(folder, exist_ok=True)
                open(folder + '/planted.py', 'w').write('x')
                print('planted', folder)
            except OSError:
                pass
        torch.sigmoid = course_utils.checks.check_close = lambda *a, **k: 'tampered'
        if os.fork() == 0:
            os.setsid()
            import time
            time.sleep(300)
        print('first done')
    """
    result = run_inside("""
        import os, torch, course_utils.checks
        print(os.path.exists('/tmp/left-behind'), os.path.exists('/dev/shm/left-behind'),
              any(os.path.exists(f + '/planted.py') for f in ('/etc/ipython', '/left-behind', '/dev/left-behind')),
              torch.sigmoid(torch.zeros(1)).item(), course_utils.checks.check_close.__name__,
              sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
    """, start="warm", also=(first,))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["first done", "False False False 0.5 check_close [1, 2]"], result.stdout


def test_without_a_server_a_kernel_starts_cold(monkeypatch, tmp_path):
    from course_grading import forkserver, kernel

    connection = tmp_path / "kernel.json"
    connection.write_text("{}")
    a, b = socket.socketpair()
    assert forkserver.launch_kernel(["-f", str(connection)], str(tmp_path / "no-server" / "socket"), a) is None
    started = []
    monkeypatch.setenv("COURSE_GRADER_FORKSERVER", str(tmp_path / "no-server" / "socket"))
    monkeypatch.setattr(kernel, "run_confined", lambda argv, factory: started.append(argv) or 7)
    assert kernel.launch(["-f", str(connection)]) == 7
    assert started == [["-f", str(connection)]]


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (the sandbox keeps the grader's COURSE_* variables)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"COURSE_TEST_MARKER={marker}".encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_killed_batch_leaves_neither_nbgrader_nor_its_server_running():
    """make grade's timeout kills the batch: what ran beside nbgrader must not outlive it."""
    marker = f"course-grader-batch-{os.getpid()}"
    env = dict(os.environ, COURSE_TEST_MARKER=marker)
    batch = subprocess.Popen(confine.offline_command([sys.executable, "-m", "course_grading.forkserver", "batch", "--",
                                                      "/bin/sh", "-c", "exec sleep 300"]), cwd=REPO, env=env)
    try:
        for _ in range(200):  # the batch, its bubblewrap, the server, the stand-in for nbgrader
            if len(_processes_with(marker)) >= 5:
                break
            time.sleep(0.1)
        assert len(_processes_with(marker)) >= 5, "the batch did not start its server and its command"
    finally:
        batch.kill()
        batch.wait()
    for _ in range(100):
        left = _processes_with(marker)
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"still running after the batch was killed: {left}"


def test_a_course_under_tmp_stays_readable_behind_the_private_tmp(kernel_start, tmp_path):
    """A clone in /tmp (CI's, say): its read-only folders stay visible under the kernel's own /tmp."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "inside.txt").write_text("read")
    assert str(data).startswith("/tmp/")
    result = run_inside(f"""
        import os
        print(open({str(data / 'inside.txt')!r}).read())
        try:
            open({str(data / 'written.txt')!r}, 'w').write('x')
            print('WROTE')
        except OSError:
            print('refused')
        open('/tmp/mine.txt', 'w').write('x')
        print(os.path.exists('/tmp/mine.txt'))
    """, start=kernel_start, env={"COURSE_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["read", "refused", "True"], result.stdout
    assert not (data / "written.txt").exists()


WORKER_PROBE = """
import os
def facts():
    with open('/proc/net/dev') as f:
        interfaces = sorted(line.split(':')[0].strip() for line in f.readlines()[2:])
    return {'interfaces': interfaces, 'pid': os.getpid(),
            'processes': len([p for p in os.listdir('/proc') if p.isdigit()]),
            'kernel connection': os.path.exists('/tmp/.kernel-connection.json'),
            'solutions': os.path.exists(SOLUTIONS), 'uid': os.getuid(),
            'tmp': sorted(os.listdir('/tmp')), 'loopback': reach(PORT)}
def reach(port):
    import socket
    try:
        socket.create_connection(('127.0.0.1', port), timeout=3)
        return 'connected'
    except OSError as error:
        return type(error).__name__
"""


def _worker_facts(tmp_path: object, start: str) -> dict:
    """The facts a worker finds about its walls, started as make grade starts one (cold, or from a server)."""
    client = textwrap.dedent(f"""
        import json, os, socket, subprocess, sys
        from course_grading import boundary
        from course_grading.confine import Limits
        start = {start!r}
        def spawn():
            ours, theirs = socket.socketpair()
            if start == "warm":
                from course_grading.forkserver import start_worker
                start_worker(os.environ["COURSE_GRADER_FORKSERVER"], theirs, Limits().processes)
            else:
                subprocess.Popen(boundary.worker_command(theirs.fileno(), confined=True), pass_fds=(theirs.fileno(),))
            theirs.close()
            return ours, None
        boundary.spawn_worker = spawn
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()  # the kernel's loopback, which the worker must not reach
        namespace = {{"__name__": "__main__", "SOLUTIONS": {str(SOLUTIONS)!r}, "PORT": server.getsockname()[1]}}
        boundary.answer(namespace, "probe", {WORKER_PROBE!r}, protected=[], context=["SOLUTIONS", "PORT"])
        print(json.dumps(namespace["facts"]()))
        namespace[boundary.NAMESPACE_KEY].stop()
    """)
    command = [sys.executable, "-c", client]
    if start == "warm":
        command = [sys.executable, "-m", "course_grading.forkserver", "batch", "--", *command]
    result = subprocess.run(confine.offline_command(command), capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_worker_has_no_network_no_kernel_and_nothing_of_the_host(kernel_start, tmp_path):
    facts = _worker_facts(tmp_path, kernel_start)
    assert facts["interfaces"] == ["lo"] and facts["loopback"] != "connected", \
        "a worker has a network namespace of its own: not even the kernel's loopback"
    assert facts["processes"] <= 3 and facts["pid"] <= 3, facts
    assert not facts["kernel connection"] and not facts["solutions"], facts
    # (a course kept under /tmp stays readable there, behind the private /tmp)
    course = [REPO.parts[2]] if REPO.parts[1:2] == ("tmp",) else []
    assert sorted(set(facts["tmp"]) - set(course)) in ([], ["matplotlib"]), facts


@pytest.mark.skipif(os.geteuid() != 0 or confine._cgroup_root("memory") is None,
                    reason="the memory of a whole sandbox is capped by a root grader's memory cgroup only")
def test_a_sandbox_shares_one_memory_cap_among_its_processes(kernel_start):
    limits = confine.Limits(sandbox_memory_mb=1536)
    # Each child keeps its block until the first of them ends, however slowly a busy machine lets them
    # allocate: the first to end is the one the cap killed (or, without a cap, one that slept it out).
    result = run_inside("""
        import os, signal, time
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                try:
                    block = bytearray(700 * 2**20)  # well within each process's own limit (4 GiB)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(60)
                finally:
                    os._exit(0)
            children.append(pid)
        first, status = os.waitpid(-1, 0)
        for pid in children:
            if pid != first:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """, limits, start=kernel_start)
    assert result.returncode == 0, result.stderr
    code = int(result.stdout.strip())
    assert code == -9, f"2.1 GiB in one sandbox capped at 1.5 GiB: the first process to end exited with {code}"


def test_a_cold_kernel_and_its_cold_workers_grade_the_reference_with_full_marks(tmp_path):
    """Without a fork server every kernel and worker starts cold, through forkserver.one: the same walls."""
    from course_grading.course import Course
    from course_grading.reference import filled_submission

    course = Course(tmp_path / "course", "00_tensors_autograd")
    course.generate()
    course.submit("reference", filled_submission(course.release_path, "00_tensors_autograd"))
    result = course.autograde(warm=False)
    assert result.returncode == 0, result.stderr[-3000:]
    scores = course.scores("reference")
    assert scores and all(got == top for got, top in scores.values()), scores
