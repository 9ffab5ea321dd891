"""Where the shipped data lives (``data/`` in a checkout, ``infer_econ/_data`` in a wheel), and the
ready files of pre-heated workbook kernels. Standard library only: the command line imports it."""

from __future__ import annotations

import os
import time
from pathlib import Path

_here = Path(__file__).resolve().parent


def data_dir() -> Path:
    """Return the folder holding the shipped catalogs [path]."""
    checkout = _here.parent / "data"
    if (checkout / "columns").is_dir():
        return checkout
    installed = _here / "_data"
    if (installed / "columns").is_dir():
        return installed
    import importlib.resources as ir

    return Path(str(ir.files("infer_econ._data")))


#: environment variable naming a folder where each app's kernel leaves a file once the app is built
READY_DIR_ENV = "INFER_ECON_READY_DIR"


def announce_ready(title: str) -> Path | None:
    """Leave a file in ``$INFER_ECON_READY_DIR`` saying an app has been built and drawn once in this kernel.

    ``infer-econ serve`` sets the variable for Voila's kernels and counts the
    files: Voila reports a pool as filled when the kernel has started, while
    the workbook is still running in it, so the files are what tells the
    server (and the browser tests) that a pre-heated page will open at once.
    Without the variable nothing is written.

    Returns
    -------
    pathlib.Path or None
        The file written, or None.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> os.environ[READY_DIR_ENV] = d
    >>> announce_ready("demo").name.startswith(f"{os.getpid()}-")
    True
    >>> del os.environ[READY_DIR_ENV]
    >>> announce_ready("demo") is None
    True
    """
    folder = os.environ.get(READY_DIR_ENV)
    if not folder:
        return None
    path = Path(folder) / f"{os.getpid()}-{time.monotonic_ns()}"
    try:
        path.write_text(title + "\n", encoding="utf-8")
    except OSError:  # a missing or read-only folder must not break the app
        return None
    return path


def new_ready_dir(env: dict[str, str]) -> Path:
    """Make an empty folder for ready files and name it in ``env`` (the environment of a Voila server) [path].

    Examples
    --------
    >>> env = {}
    >>> d = new_ready_dir(env)
    >>> env[READY_DIR_ENV] == str(d), ready_count(d)
    (True, 0)
    """
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="infer-econ-ready-"))
    env[READY_DIR_ENV] = str(folder)
    return folder


def ready_count(folder: Path) -> int:
    """How many apps have announced themselves in ``folder`` (:func:`announce_ready`) [count]; 0 if it is gone."""
    try:
        return sum(1 for _ in Path(folder).iterdir())
    except OSError:
        return 0


def _cache_base() -> Path:
    return Path(os.environ.get("INFER_ECON_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "infer-econ"
    ))


def jupyter_dir() -> Path:
    """The folder to put on ``JUPYTER_PATH`` so that Voila serves the cached bundle [path].

    The chart bundle of :mod:`infer_econ.ui.offline` lies in ``<this>/voila/templates/infer-econ/static/``, which Voila
    serves at ``<base_url>voila/templates/infer-econ/static/<file>``.

    Examples
    --------
    >>> jupyter_dir().name
    'jupyter'
    """
    return _cache_base() / "jupyter"
