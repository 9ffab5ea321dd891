"""Doctest namespace for infer_econ.io: ``SAMPLES`` is the folder of sample benchmark files."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _samples(doctest_namespace):
    doctest_namespace["SAMPLES"] = Path(__file__).resolve().parents[2] / "tests" / "data"
