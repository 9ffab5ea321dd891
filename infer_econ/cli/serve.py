"""``infer-econ serve``: the Voila gallery of workbooks on localhost, offline.

Voila runs with the repository root as its root folder (so workbook links of the
form ``voila/render/workbooks/NN_name.ipynb`` work as they do on Binder), the
project's template ``infer-econ`` (the ``lab`` template with Font Awesome served
locally: the page fetches nothing from outside the server), sources stripped,
tracebacks hidden, one pre-heated kernel per workbook, and kernels of closed
pages culled after ten idle minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import ValidationError
from .._paths import jupyter_dir, new_ready_dir, ready_count

_PKG = Path(__file__).resolve().parents[1]


def template_root() -> Path:
    """Folder to put on ``JUPYTER_PATH`` so Voila finds the ``infer-econ`` template [path]."""
    return _PKG / "share" / "jupyter"


def find_root(start: Path | None = None) -> Path:
    """Return the folder holding ``workbooks/``: the checkout, or ``start`` [path]."""
    for cand in [start] if start else [Path.cwd(), _PKG.parent]:
        if cand is not None and (cand / "workbooks").is_dir():
            return cand.resolve()
    raise ValidationError(
        "no workbooks/ folder found: run from the infer-econ checkout or pass --root DIR "
        "(the folder that holds workbooks/)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


#: seconds Voila waits before it replaces a pre-heated kernel a page has taken [s]. The replacement starts a
#: kernel and runs the workbook in it: about 4 s of a core. Started 1 s after the page's request (Voila's
#: default), it ran while that page's JavaScript loaded and took the pre-heated first render from about 1.5 s to
#: 2.5-3.1 s on two cores; ten seconds lets the page draw and the user's first moves run first.
REFILL_DELAY_S = 10.0


#: longest socket path the kernel's IPC transport may need: a Unix socket path holds at most 107 bytes on Linux
#: and 103 on macOS; Voila puts the sockets in ``<root>/voila_XXXXXXXX/kernel-<uuid>-ipc-<n>`` (``<root>`` + 66)
_SOCKET_PATH_MAX = 100
_SOCKET_SUFFIX = len("/voila_XXXXXXXX/kernel-00000000-0000-0000-0000-000000000000-ipc-10")


def kernel_transport_args(tmp_root: str | None = None) -> list[str]:
    """Voila options that connect kernels over Unix sockets where the system has them [list of str].

    Over TCP (Jupyter's default) the server picks each kernel's five ports by binding a free port and releasing it;
    the kernel binds them later, and in between the system may hand the same port to any outgoing connection (the
    same ephemeral range). Voila starts every pre-heated kernel at once (12 at ``serve``, 7 in a benchmark pool):
    on 2026-12-03 one of seven died with "Address already in use", its five restarts failed, and Voila gave that
    dead kernel to a page, which then never drew. Unix sockets are files named per kernel: nothing to race for.
    On Windows (no ``ipc`` transport) this returns no options. The sockets go in the system's temporary folder,
    or in ``/tmp`` where that folder's path is too long for a socket path (macOS's ``/var/folders/…``).

    Examples
    --------
    On Linux or macOS:

    >>> kernel_transport_args("/tmp")
    ['--KernelManager.transport=ipc', '--Voila.connection_dir_root=/tmp']
    >>> kernel_transport_args("/var/folders/zz/" + "x" * 26 + "/T")[1]  # 44 bytes + 66 > 100
    '--Voila.connection_dir_root=/tmp'
    """
    if os.name != "posix":
        return []
    root = tmp_root or tempfile.gettempdir()
    if len(os.fsencode(root)) + _SOCKET_SUFFIX > _SOCKET_PATH_MAX:
        root = "/tmp"
    return ["--KernelManager.transport=ipc", f"--Voila.connection_dir_root={root}"]


def voila_command(root: Path, port: int, *, host: str = "127.0.0.1", preheat: bool = True, pool_size: int = 1,
                  fill_delay_s: float = REFILL_DELAY_S) -> list[str]:
    """The Voila command line ``serve`` runs (also used by the browser tests).

    ``pool_size`` pre-heated kernels per workbook (a workshop sets it to the
    class size); ``fill_delay_s`` is how long Voila waits before starting a
    kernel to refill a pool (a longer delay keeps refills from competing with
    the first wave of users on a small server).
    """
    cmd = [
        sys.executable, "-m", "voila", str(root),
        f"--port={port}", f"--Voila.ip={host}", "--no-browser",
        "--template=infer-econ", "--strip_sources=True", "--show_tracebacks=False",
    ]
    if preheat:
        cmd += ["--preheat_kernel=True", f"--pool_size={pool_size}", f"--VoilaKernelManager.fill_delay={fill_delay_s}"]
    else:  # said explicitly: voila.json in the root turns pre-heating on, and Voila reads it
        cmd += ["--preheat_kernel=False"]
    # kernels of closed pages are stopped after 10 idle minutes (Voila's own shutdown-on-close request is
    # refused by its XSRF check: voila-dashboards/voila#1458), so a workshop server does not fill up
    cmd += ["--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60"]
    return cmd + kernel_transport_args()


def voila_env() -> dict[str, str]:
    """Environment for Voila: our template on JUPYTER_PATH, no browser auto-open [dict]."""
    env = dict(os.environ)
    # our template, then the cache folder whose voila/templates/infer-econ/static holds the chart bundle
    # (infer_econ.ui.offline: Voila serves it, so each chart widget need not carry it)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in [str(template_root()), str(jupyter_dir()), env.get("JUPYTER_PATH", "")] if p
    )
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


class WarmUp:
    """Counts the workbooks whose pre-heated kernel has built its app, and says when all have.

    Voila starts every workbook's kernel at once and reports a pool as
    "filled" as soon as the kernel has started, while the workbook still runs
    in it; on two cores that warm-up takes tens of seconds, and a page opened
    during it waits. Each app leaves a file in ``folder`` once built
    (``infer_econ._paths.announce_ready``, called by every :class:`infer_econ.ui.App`, through
    ``$INFER_ECON_READY_DIR``); ``serve`` counts them and prints when every
    workbook will open at once.

    Parameters
    ----------
    n_workbooks : int
        Workbooks Voila pre-heats [count].
    folder : path
        The folder the kernels write to.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> w = WarmUp(2, d)
    >>> w.poll() is None
    True
    >>> _ = (d / "101-1").write_text("01")
    >>> w.poll()
    'warming up: 1 of 2 workbooks ready'
    >>> _ = (d / "102-1").write_text("02")
    >>> w.poll(), w.ready
    ('warming up: 2 of 2 workbooks ready', True)
    """

    def __init__(self, n_workbooks: int, folder) -> None:
        self.expected = int(n_workbooks)
        self.folder = Path(folder)
        self.count = 0

    @property
    def ready(self) -> bool:
        """Every workbook has a pre-heated kernel with its app built [bool]."""
        return self.count >= self.expected

    def poll(self) -> str | None:
        """Count the files; return a progress message when the count grew, else None."""
        n = ready_count(self.folder)
        if n <= self.count:
            return None
        self.count = n
        return f"warming up: {min(n, self.expected)} of {self.expected} workbooks ready"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="open the workbook gallery in Voila on localhost",
        description="Start Voila on the workbooks gallery (offline, from the shipped data) and print its URL.",
        epilog="examples:\n  infer-econ serve\n  infer-econ serve --port 9000 --no-preheat\n  infer-econ serve --pool-size 25 --fill-delay 120   # a workshop of 25",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8866, help="TCP port (default 8866; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--root", type=Path, help="folder that holds workbooks/ (default: the checkout)")
    p.add_argument("--no-preheat", action="store_true", help="don't keep a pre-heated kernel per workbook")
    p.add_argument("--pool-size", type=int, default=1,
                   help="pre-heated kernels per workbook (default 1; a workshop: the class size)")
    p.add_argument("--fill-delay", type=float, default=REFILL_DELAY_S,
                   help=f"seconds before a used pre-heated kernel is replaced (default {REFILL_DELAY_S:g}: the page "
                        "that took it renders first)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import subprocess

    if not 0 <= args.port <= 65535:
        raise ValidationError(f"--port must be between 0 and 65535, got {args.port}")
    if not 1 <= args.pool_size <= 200:
        raise ValidationError(f"--pool-size must be between 1 and 200, got {args.pool_size}")
    if not 0 <= args.fill_delay <= 3600:
        raise ValidationError(f"--fill-delay must be between 0 and 3600 s, got {args.fill_delay}")
    root = find_root(args.root)
    port = args.port or free_port(args.host)
    url = f"http://{'localhost' if args.host in ('127.0.0.1', 'localhost') else args.host}:{port}/voila/render/workbooks/00_start_here.ipynb"
    print(f"infer-econ gallery: {url}", flush=True)
    print(f"all workbooks:      {url.split('/voila/')[0]}/voila/tree/workbooks", flush=True)
    cmd = voila_command(root, port, host=args.host, preheat=not args.no_preheat, pool_size=args.pool_size,
                        fill_delay_s=args.fill_delay)
    n_workbooks = len(list((root / "workbooks").glob("*.ipynb")))
    env = voila_env()
    ready_dir = new_ready_dir(env)
    if args.no_preheat:
        print("ready (no pre-heated kernels: each page starts its own kernel, a few seconds)", flush=True)
    else:
        print(f"warming up: one kernel per workbook ({n_workbooks}); pages open in about a second once this "
              "says ready", flush=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=env)
    warm = WarmUp(n_workbooks * args.pool_size, ready_dir)

    def watch() -> None:
        while not warm.ready and proc.poll() is None:
            msg = warm.poll()
            if msg:
                print(msg, flush=True)
                if warm.ready:
                    print(f"ready after {time.monotonic() - t0:.0f} s: {url}", flush=True)
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, name="warm-up", daemon=True)
    if not args.no_preheat:
        watcher.start()
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
        rc = 0
    shutil.rmtree(ready_dir, ignore_errors=True)
    return rc
