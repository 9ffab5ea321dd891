"""Tests of infer_econ.scenario: exact round trip, migration, validation, atomic writes, fuzzing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infer_econ import scenario as sc
from infer_econ.errors import InferEconError, ValidationError

D = Path(__file__).parent / "data"
BASE = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm", "n_devices": 1,
        "input_tokens": 1000, "output_tokens": 200}


def test_save_writes_versioned_json(tmp_path):
    p = sc.save(tmp_path / "plan.json", BASE)
    doc = json.loads(p.read_text())
    assert list(doc)[:2] == ["schema_version", "app"] and doc["schema_version"] == sc.SCHEMA_VERSION == 2
    assert [k for k in doc if k not in ("schema_version", "app")] == [f.name for f in sc.FIELDS]
    assert sc.load(p) == sc.validate(BASE)


def test_defaults_are_documented_values():
    s = sc.validate(BASE)
    assert (s["context_depth"], s["price_model"], s["utilization"], s["batch_size"]) == (0, "on_demand", 1.0, None)


def test_v1_file_migrates():
    s = sc.load(D / "scenario_v1.json")
    assert s["hardware"] == "h100-sxm" and s["n_devices"] == 4
    assert (s["input_tokens"], s["output_tokens"]) == (1500, 300)
    assert s["request_rate_per_s"] == 2.5
    # 800 ms → 0.8 s; 50 ms → 0.05 s; 65 % → 0.65
    assert s["ttft_p99_s"] == 0.8 and s["tpot_p99_s"] == 0.05 and s["utilization"] == 0.65
    assert s["price_model"] == "reserved_1y"


def test_v1_migrated_then_saved_is_v2(tmp_path):
    s = sc.load(D / "scenario_v1.json")
    p = sc.save(tmp_path / "v2.json", s)
    assert json.loads(p.read_text())["schema_version"] == 2 and sc.load(p) == s


def test_v1_bad_pricing_named(tmp_path):
    doc = json.loads((D / "scenario_v1.json").read_text())
    doc["pricing"] = "lease"
    p = tmp_path / "old.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match=r"old\.json: version-1 key 'pricing': 'lease'"):
        sc.load(p)


def test_newer_version_and_no_version(tmp_path):
    p = tmp_path / "new.json"
    p.write_text(json.dumps({"schema_version": 3, **BASE}))
    with pytest.raises(ValidationError, match=r"new\.json: schema_version 3 was written by a newer infer-econ"):
        sc.load(p)
    p.write_text(json.dumps(BASE))
    with pytest.raises(ValidationError, match="no 'schema_version' key"):
        sc.load(p)
    p.write_text(json.dumps({"schema_version": "2", **BASE}))
    with pytest.raises(ValidationError, match="is not an integer"):
        sc.load(p)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"n_devices": 0}, r"key 'n_devices': 0 must be ≥ 1 \[count\]"),
        ({"n_devices": 1.5}, r"key 'n_devices': 1.5 is not a whole number"),
        ({"n_devices": True}, r"key 'n_devices': True is a bool"),
        ({"input_tokens": "1000"}, r"key 'input_tokens': '1000' is a str, expected a number"),
        ({"utilization": 0}, r"key 'utilization': 0.0 must be > 0 \[fraction\]"),
        ({"utilization": 1.2}, r"key 'utilization': 1.2 must be ≤ 1 \[fraction\]"),
        ({"price_model": "lease"}, r"key 'price_model': 'lease' is not one of"),
        ({"model": ""}, r"key 'model': an empty string"),
        ({"model": None}, r"key 'model': a value is required"),
        ({"modle": "x"}, r"unknown key 'modle' \(did you mean 'model'\?\)"),
        ({"tensor_parallel": 3, "n_devices": 4}, r"key 'tensor_parallel': 3 does not divide 'n_devices' \(4\)"),
        ({"tensor_parallel": 2, "pipeline_parallel": 1, "n_devices": 4}, r"key 'tensor_parallel' × 'pipeline_parallel' \(2 × 1\) must equal 'n_devices' \(4\)"),
        ({"ttft_p99_s": -1}, r"key 'ttft_p99_s': -1.0 must be > 0 \[s\]"),
        ({"extra_catalogs": {"cloud_prices": 3}}, r"key 'extra_catalogs': expected an object"),
    ],
)
def test_bad_values_name_the_key(tmp_path, change, message):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"schema_version": 2, **BASE, **change}))
    with pytest.raises(ValidationError, match=r"bad\.json: " + message):
        sc.load(p)
    with pytest.raises(ValidationError, match=message):
        sc.save(tmp_path / "x.json", {**BASE, **change})
    assert not (tmp_path / "x.json").exists()


def test_missing_required_key():
    s = dict(BASE)
    del s["engine"]
    with pytest.raises(ValidationError, match="key 'engine' is missing"):
        sc.validate(s)


def test_nan_and_infinity_refused(tmp_path):
    p = tmp_path / "nan.json"
    p.write_text(json.dumps({"schema_version": 2, **BASE}).replace('"input_tokens": 1000', '"utilization": NaN, '
                                                                   '"input_tokens": 1000'))
    with pytest.raises(ValidationError, match="NaN is not a valid JSON number"):
        sc.load(p)
    with pytest.raises(ValidationError, match="not a finite number"):
        sc.validate({**BASE, "request_rate_per_s": float("inf")})


def test_crash_mid_write_keeps_old_file(tmp_path, monkeypatch):
    p = sc.save(tmp_path / "plan.json", BASE)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", boom)
    with pytest.raises(OSError, match="disk full"):
        sc.save(p, {**BASE, "n_devices": 2})
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["plan.json"]  # no temporary file left behind


def test_interrupt_mid_write_keeps_old_file(tmp_path, monkeypatch):
    p = sc.save(tmp_path / "plan.json", BASE)
    before = p.read_bytes()

    def stop(obj, fh, **k):
        fh.write('{"schema_version": 2, "mod')
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", stop)
    with pytest.raises(KeyboardInterrupt):
        sc.save(p, {**BASE, "n_devices": 2})
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["plan.json"]


def test_user_catalog_file_never_overwritten(tmp_path):
    cat = tmp_path / "my_prices.json"
    cat.write_text("keep me")
    s = {**BASE, "extra_catalogs": {"cloud_prices": str(cat)}}
    with pytest.raises(ValidationError, match="never overwritten"):
        sc.save(cat, s)
    assert cat.read_text() == "keep me"
    with pytest.raises(ValidationError, match=r"saved as a \.json file"):
        sc.save(tmp_path / "prices.csv", BASE)
    # saving elsewhere leaves the catalog file as it was
    sc.save(tmp_path / "plan.json", s)
    assert cat.read_text() == "keep me"


def test_load_limits(tmp_path, monkeypatch):
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"schema_version": 2, **BASE, "notes": "x" * 50}))
    monkeypatch.setattr(sc, "MAX_SCENARIO_BYTES", 100)
    with pytest.raises(ValidationError, match="limit for scenario files is 100"):
        sc.load(p)
    p.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ValidationError, match="not a UTF-8"):
        sc.load(p)
    p.write_text("[1, 2]")
    with pytest.raises(ValidationError, match="a scenario is a JSON object"):
        sc.load(p)


# --------------------------------------------------------------- properties

def _value(f: sc.Field):
    if f.type == "str":
        s = st.sampled_from(f.allowed) if f.allowed else st.text(min_size=1 if f.required else 0, max_size=30)
        if f.required:
            s = s.filter(lambda x: x.strip() != "")
    elif f.type == "int":
        s = st.integers(int(f.min), int(min(f.max, 10**7)))
    elif f.type == "float":
        lo = f.min
        s = st.floats(lo, f.max, allow_nan=False, allow_infinity=False, exclude_min=f.min_exclusive)
    else:
        s = st.dictionaries(st.sampled_from(["cloud_prices", "hardware", "models"]), st.text(max_size=20), max_size=3)
    return s if f.required else st.none() | s


@st.composite
def scenarios(draw):
    out = {}
    for f in sc.FIELDS:
        if f.required or draw(st.booleans()):
            out[f.name] = draw(_value(f))
    # keep the parallelism consistent with n_devices
    n = out["n_devices"]
    out.pop("tensor_parallel", None)
    out.pop("pipeline_parallel", None)
    if draw(st.booleans()):
        divisors = [d for d in range(1, min(n, 64) + 1) if n % d == 0]
        pp = draw(st.sampled_from(divisors))
        out["pipeline_parallel"], out["tensor_parallel"] = pp, n // pp
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=scenarios())
def test_round_trip_exact(tmp_path, s):
    p = sc.save(tmp_path / "s.json", s)
    back = sc.load(p)
    assert back == sc.validate(s)
    # a second round trip changes nothing, byte for byte
    before = p.read_bytes()
    sc.save(p, back)
    assert p.read_bytes() == before
    assert sc.loads(sc.dumps(s)) == back


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_fuzz_text_only_documented_errors(text):
    try:
        sc.loads(text)
    except InferEconError:
        pass


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(st.sampled_from([f.name for f in sc.FIELDS] + ["schema_version", "version", "gpu",
                                                                          "slo_ttft_ms", "pricing", "x"]),
                           st.none() | st.booleans() | st.integers(-5, 10**8) | st.floats() | st.text(max_size=5)
                           | st.lists(st.integers(), max_size=2), max_size=12))
def test_fuzz_documents_only_documented_errors(doc):
    try:
        text = json.dumps(doc)
    except ValueError:
        return
    try:
        out = sc.loads(text)
    except InferEconError:
        return
    assert out == sc.validate(out)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_mutated_v1_file(tmp_path, data):
    text = (D / "scenario_v1.json").read_text()
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, min(len(text), i + 30)))
    text = text[:i] + data.draw(st.text(max_size=10)) + text[j:]
    p = tmp_path / "m.json"
    p.write_text(text)
    try:
        sc.load(p)
    except InferEconError:
        pass


def test_lone_surrogate_refused(tmp_path):
    with pytest.raises(ValidationError, match="key 'notes': text holds characters that are not valid Unicode"):
        sc.save(tmp_path / "s.json", {**BASE, "notes": "bad \udc80"})


def test_to_frame_columns_and_types():
    f = sc.to_frame({**BASE, "utilization": 1, "batch_size": 8, "provider": "aws"})
    assert f.height == 1
    assert f.schema["utilization"] == pl.Float64 and f.schema["batch_size"] == pl.Int64
    # null knobs are left out so the estimator's defaults apply; non-frame knobs never appear
    assert "kv_precision" not in f.columns and "notes" not in f.columns and "ttft_p99_s" not in f.columns


def test_saved_scenario_evaluates_with_the_users_price_file(tmp_path):
    import infer_econ as ie

    prices = tmp_path / "our_prices.csv"
    prices.write_text("id,provider,instance_type,hardware,n_devices,region,price_model,usd_per_hour,"
                      "usd_per_device_hour,currency_year,source,as_of\n"
                      "ourco:h100box:eu:reserved_1y,ourco,h100box,h100-sxm,1,eu,reserved_1y,2.0,2.0,2025,"
                      "contract 17,2025-10\n")
    before = prices.read_bytes()
    s = {**BASE, "provider": "ourco", "region": "eu", "price_model": "reserved_1y", "utilization": 0.5,
         "extra_catalogs": {"cloud_prices": str(prices)}}
    p = sc.save(tmp_path / "plan.json", s)
    back = sc.load(p)
    out = ie.evaluate(sc.to_frame(back), catalogs=sc.catalogs(back))
    r = out.row(0, named=True)
    assert r["usd_per_device_hour"] == 2.0 and r["price_id"] == "ourco:h100box:eu:reserved_1y"
    # $/M output tokens = usd_per_hour / (output_tokens_per_s × utilization × 3600 s) × 1e6
    expected = 2.0 / (r["output_tokens_per_s"] * 0.5 * 3600) * 1e6
    assert r["usd_per_million_output_tokens"] == pytest.approx(expected, rel=1e-9)
    assert prices.read_bytes() == before  # the user's catalog file is only read
