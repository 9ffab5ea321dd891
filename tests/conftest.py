"""Test-session settings shared by every test.

A user's calibration kept by workbook 11 lives in ``$INFER_ECON_HOME`` (default
``~/.infer-econ``); the tests point it at a temporary folder, for this process and
for every kernel, Voila or JupyterLab server they start, so a test never reads a
real user's file and never leaves one behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_HOME = tempfile.mkdtemp(prefix="infer-econ-home-")
os.environ["INFER_ECON_HOME"] = _HOME


@pytest.fixture(scope="session", autouse=True)
def _isolated_infer_econ_home():
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)
