"""The package as users get it: a plain (non-editable) wheel carries data/,
the template and the console script; installed from that wheel the library
works from any directory; and the library needs none of the app stack."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True, timeout=600,
    )
    return next(out.glob("infer_econ-*.whl"))


def test_wheel_carries_every_catalog_and_the_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for csv in (ROOT / "data").glob("*.csv"):
        assert f"infer_econ/_data/{csv.name}" in names, csv.name
    for csv in (ROOT / "data" / "columns").glob("*.csv"):
        assert f"infer_econ/_data/columns/{csv.name}" in names, csv.name
    assert "infer_econ/share/jupyter/voila/templates/infer-econ/index.html.j2" in names
    assert any(n.endswith("fa-solid-900.woff2") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "infer-econ = infer_econ.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_loads_catalogs_from_any_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, timeout=600)
    code = (
        "import infer_econ, polars as pl; "
        "assert infer_econ.__file__.startswith(%r), infer_econ.__file__; "
        "hw = infer_econ.catalog.load('hardware'); print(hw.height, infer_econ.catalog.get('hardware', 'h100-sxm')['memory_gib'])"
    ) % str(target)
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    n, mem = out.stdout.split()
    assert int(n) >= 70 and float(mem) == 80.0


def test_library_needs_no_app_stack(tmp_path):
    """estimate, evaluate and the catalogs run with the app packages made unimportable."""
    code = """
import sys
for m in ("altair", "ipywidgets", "jupyterlab", "voila", "anywidget", "vl_convert", "IPython", "pyarrow"):
    sys.modules[m] = None          # import of any of them now raises ImportError
import polars as pl
import infer_econ as ie
s = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"], "engine": ["vllm"],
                  "n_devices": [1], "input_tokens": [1000], "output_tokens": [200]})
e = ie.estimate(s)
v = ie.evaluate(s.with_columns(usd_per_device_hour=pl.lit(2.0)))
assert e["fits"][0] and v["usd_per_million_output_tokens"][0] > 0
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_pyproject_keeps_the_app_stack_optional():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split("=")[0].split("<")[0].strip().lower() for d in meta["dependencies"]}
    assert core <= {"polars", "numpy"}, core
    assert meta["requires-python"] == ">=3.11"
    assert {"jupyterlab", "voila", "ipywidgets", "altair"} <= {
        d.split(">")[0].split("=")[0].strip() for d in meta["optional-dependencies"]["app"]
    }
    assert meta["scripts"]["infer-econ"] == "infer_econ.cli:main"
