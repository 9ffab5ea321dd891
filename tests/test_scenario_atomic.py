"""Scenario files under stress: a reader never sees half a file, a killed writer leaves the old file,
user catalog files (also through a symlink) are never written, and every planner knob round-trips."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer_econ import catalog, scenario
from infer_econ.errors import ValidationError

BASE = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm", "n_devices": 1,
        "input_tokens": 1000, "output_tokens": 200}


def test_concurrent_reader_never_sees_half_a_file(tmp_path):
    p = tmp_path / "plan.json"
    docs = [{**BASE, "notes": "a" * 9000, "input_tokens": 1000}, {**BASE, "notes": "b" * 9000, "input_tokens": 2000}]
    valid = [scenario.validate(d) for d in docs]
    scenario.save(p, docs[0])
    stop = threading.Event()
    seen, errors = set(), []

    def reader():
        while not stop.is_set():
            try:
                s = scenario.load(p)
                assert s in valid, s["input_tokens"]
            except Exception as exc:  # any failure is a torn or wrong read
                errors.append(exc)
                return
            seen.add(s["input_tokens"])

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(200):
            scenario.save(p, docs[i % 2])
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:1]
    assert seen <= {1000, 2000}
    assert not list(tmp_path.glob(".plan.json.*.tmp")), "temporary files left behind"


WRITER = r"""
import sys
from infer_econ import scenario
base = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm", "n_devices": 1,
        "input_tokens": 1000, "output_tokens": 200}
i = 0
print("ready", flush=True)
while True:
    i += 1
    scenario.save(sys.argv[1], {**base, "input_tokens": 1 + i % 5000, "notes": "x" * 9000})
"""


def test_killed_writer_leaves_a_complete_file(tmp_path):
    p = tmp_path / "plan.json"
    scenario.save(p, BASE)
    for delay in (0.05, 0.15, 0.3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(p)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        s = scenario.load(p)  # the last complete save, never half of one
        assert s["model"] == "llama-3.1-8b" and 1 <= s["input_tokens"] <= 5000
    # a killed writer may leave its temporary file; it is hidden (dot file) and never read as the scenario
    for tmp in tmp_path.glob(".plan.json.*.tmp"):
        assert tmp.name.startswith(".")


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_symlink_to_a_user_catalog_is_never_written(tmp_path):
    cat = tmp_path / "my_hardware.csv"
    cat.write_text(catalog.load("hardware").head(1).drop("origin").write_csv())
    before = _digest(cat)
    link = tmp_path / "plan.json"
    os.symlink(cat, link)
    with pytest.raises(ValidationError, match="never overwritten"):
        scenario.save(link, {**BASE, "extra_catalogs": {"hardware": str(cat)}})
    assert _digest(cat) == before
    with pytest.raises(ValidationError, match=r"\.json"):
        scenario.save(cat, BASE)
    assert _digest(cat) == before


def test_loading_a_scenario_never_touches_its_catalog_files(tmp_path):
    cat = tmp_path / "my_prices.csv"
    cat.write_bytes(b"id,provider\nx,y\n")
    before, mtime = _digest(cat), cat.stat().st_mtime_ns
    p = scenario.save(tmp_path / "plan.json", {**BASE, "extra_catalogs": {"cloud_prices": str(cat)}})
    assert scenario.load(p)["extra_catalogs"] == {"cloud_prices": str(cat)}
    assert _digest(cat) == before and cat.stat().st_mtime_ns == mtime


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        scenario.save(tmp_path / "no" / "plan.json", BASE)


def _value(f: scenario.Field):
    if f.allowed:
        return st.sampled_from(f.allowed)
    if f.type == "str":
        return st.text(max_size=30).filter(lambda s: s.strip() or not f.required)
    if f.type == "dict":
        return st.dictionaries(st.sampled_from(["hardware", "cloud_prices"]), st.text(min_size=1, max_size=20),
                               max_size=2)
    lo = f.min if f.min is not None else 0
    hi = f.max if f.max is not None else 1e6
    if f.type == "int":
        return st.integers(int(lo) + (1 if f.min_exclusive else 0), int(hi))
    return st.floats(lo, hi, allow_nan=False, exclude_min=f.min_exclusive)


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_every_knob_round_trips_exactly(tmp_path_factory, data):
    doc = dict(BASE)
    for f in scenario.FIELDS:
        if f.name in ("tensor_parallel", "pipeline_parallel"):
            continue
        if data.draw(st.booleans()):
            doc[f.name] = data.draw(st.one_of(st.none(), _value(f)) if not f.required else _value(f))
    p = tmp_path_factory.mktemp("rt") / "plan.json"
    try:
        want = scenario.validate(doc)
    except ValidationError:
        return
    scenario.save(p, doc)
    got = scenario.load(p)
    assert got == want
    assert list(got) == [f.name for f in scenario.FIELDS]
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in want.items()}
