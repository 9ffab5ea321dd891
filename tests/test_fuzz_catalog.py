"""Fuzzing the file readers: whatever the bytes, only the documented error type (InferEconError) escapes.

Readers fuzzed: the catalog ``extra=`` CSV reader (random text, random bytes,
mutations of a valid user file), the benchmark importers (``io.read_any`` on
random bytes and on mutated sample files of every supported tool), hourly
demand CSVs and scenario JSON files (random bytes, mutated valid files).
A mutated file that still parses must give a frame that passes validation
again (a load never returns something it would refuse).
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infer_econ import catalog, demand, io, scenario
from infer_econ.errors import InferEconError

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIR = Path(tempfile.mkdtemp(prefix="ie-fuzz-"))
atexit.register(shutil.rmtree, DIR, ignore_errors=True)
SAMPLES = Path(__file__).resolve().parent / "data"


def _user_row(name: str) -> str:
    row = catalog.load(name).head(1).drop("origin")
    return row.with_columns(pl.lit("my-own-id").alias("id"), pl.lit("my own quote").alias("source")).write_csv()


VALID = {name: _user_row(name) for name in ("hardware", "cloud_prices", "models", "api_prices")}


@st.composite
def mutated(draw, text: str):
    """A valid text with a few random edits: delete, insert, replace, duplicate or drop a line, swap fields."""
    s = text
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "dup_line", "drop_line", "swap_fields", "cell"]))
        n = len(s)
        if op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            j = draw(st.integers(i, min(n, i + 8)))
            s = s[:i] + s[j:]
        elif op == "insert":
            i = draw(st.integers(0, n))
            s = s[:i] + draw(st.text(min_size=1, max_size=6)) + s[i:]
        elif op == "replace" and n:
            i = draw(st.integers(0, n - 1))
            s = s[:i] + draw(st.sampled_from([",", '"', "\n", "\r", ";", "\x00", "é", "-", "1", "e", "NaN"])) + s[i + 1:]
        elif op in ("dup_line", "drop_line"):
            lines = s.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines = lines[:i] + ([lines[i]] if op == "dup_line" else []) + lines[i:] if op == "dup_line" \
                else lines[:i] + lines[i + 1:]
            s = "\n".join(lines)
        elif op == "swap_fields":
            lines = s.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            parts = lines[i].split(",")
            if len(parts) > 1:
                a = draw(st.integers(0, len(parts) - 1))
                b = draw(st.integers(0, len(parts) - 1))
                parts[a], parts[b] = parts[b], parts[a]
                lines[i] = ",".join(parts)
            s = "\n".join(lines)
        elif op == "cell":
            lines = s.split("\n")
            if len(lines) > 1:
                parts = lines[1].split(",")
                k = draw(st.integers(0, len(parts) - 1))
                parts[k] = draw(st.one_of(st.text(max_size=8), st.sampled_from(
                    ["", "nan", "inf", "-inf", "-1", "0", "1e400", "2,50", "true", "yes", "9999999999999999999999"])))
                lines[1] = ",".join(parts)
            s = "\n".join(lines)
    return s


def _write(name: str, content: str | bytes) -> Path:
    p = DIR / name
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        p.write_bytes(content)
    return p


def _only_documented(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except InferEconError:
        return None


# ----------------------------------------------------------------------------- catalog extra= files
@FUZZ
@given(name=st.sampled_from(sorted(VALID)), text=st.text(max_size=400))
def test_catalog_random_text(name, text):
    p = _write("random.csv", text)
    before = p.read_bytes()
    _only_documented(catalog.load, name, extra=p)
    assert p.read_bytes() == before


@FUZZ
@given(name=st.sampled_from(sorted(VALID)), data=st.binary(max_size=400))
def test_catalog_random_bytes(name, data):
    p = _write("random.bin", data)
    _only_documented(catalog.load, name, extra=p)
    assert p.read_bytes() == data


@FUZZ
@given(name=st.sampled_from(sorted(VALID)), data=st.data())
def test_catalog_mutated_valid_file(name, data):
    text = data.draw(mutated(VALID[name]))
    p = _write("mutated.csv", text)
    before = p.read_bytes()
    out = _only_documented(catalog.load, name, extra=p)
    assert p.read_bytes() == before
    if out is not None:  # what loads passes validation again, and keeps the shipped rows
        user = out.filter(pl.col("origin") == "user").drop("origin")
        assert user.height >= 1
        again = catalog.load(name, extra=user)
        assert again.height == out.height
        assert set(catalog.ids(name)) - set(user["id"].to_list()) <= set(out["id"].to_list())


@FUZZ
@given(data=st.data())
def test_catalog_mutated_frame(data):
    """An extra frame with random cells of random types never escapes as a raw polars error."""
    base = pl.read_csv(VALID["cloud_prices"].encode(), infer_schema=False)
    col = data.draw(st.sampled_from(base.columns))
    value = data.draw(st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                                st.text(max_size=10), st.booleans()))
    frame = base.with_columns(pl.Series(col, [value], strict=False))
    _only_documented(catalog.load, "cloud_prices", extra=frame)


# ----------------------------------------------------------------------------- benchmark uploads
SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if p.is_file() and p.name != "scenario_v1.json")
IDS = {"hardware": "h100-sxm", "precision": "bf16", "n_devices": 1}


@FUZZ
@given(data=st.binary(max_size=600))
def test_read_any_random_bytes(data):
    p = _write("upload.bin", data)
    _only_documented(io.read_any, p, **IDS)


@FUZZ
@given(sample=st.sampled_from(SAMPLE_FILES), data=st.data())
def test_read_any_mutated_samples(sample, data):
    text = data.draw(mutated(sample.read_text(encoding="utf-8")))
    p = _write("mutated" + sample.suffix, text)
    before = p.read_bytes()
    out = _only_documented(io.read_any, p, **IDS)
    assert p.read_bytes() == before
    if out is not None:
        assert isinstance(out, pl.DataFrame)


@FUZZ
@given(fmt=st.sampled_from(sorted(io.FORMATS)), sample=st.sampled_from(SAMPLE_FILES), data=st.data())
def test_every_reader_on_every_other_format(fmt, sample, data):
    """A file of one tool handed to another tool's reader: a clear error, never a crash."""
    text = data.draw(st.one_of(st.just(sample.read_text(encoding="utf-8")), mutated(sample.read_text("utf-8"))))
    p = _write("other" + sample.suffix, text)
    _only_documented(io.read_any, p, format=fmt, **IDS)


# ----------------------------------------------------------------------------- demand CSVs
DEMAND = "hour,requests,input_tokens,output_tokens\n0,3600,1000,200\n1,7200,1000,200\n2,1800,900,150\n"


@FUZZ
@given(data=st.data())
def test_demand_mutated_and_random(data):
    text = data.draw(st.one_of(mutated(DEMAND), st.text(max_size=300)))
    p = _write("demand.csv", text)
    out = _only_documented(demand.read_demand_csv, p)
    if out is not None:
        assert (out["request_rate_per_s"] >= 0).all()


# ----------------------------------------------------------------------------- scenario JSON
GOOD = scenario.dumps({"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16", "engine": "vllm",
                       "n_devices": 2, "tensor_parallel": 2, "input_tokens": 1000, "output_tokens": 200,
                       "request_rate_per_s": 3.5, "utilization": 0.6, "notes": "try this"})


@FUZZ
@given(data=st.data())
def test_scenario_mutated_and_random(data):
    content = data.draw(st.one_of(mutated(GOOD), st.binary(max_size=300), mutated(
        (SAMPLES / "scenario_v1.json").read_text(encoding="utf-8"))))
    p = _write("plan.json", content)
    out = _only_documented(scenario.load, p)
    if out is not None:  # what loads saves and loads back identically
        q = scenario.save(DIR / "again.json", out)
        assert scenario.load(q) == out


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_samples_truncated_at_every_tenth(sample):
    """Each sample cut short (a half-uploaded file) at 10 %, 20 %, … gives a clear error or a valid frame."""
    raw = sample.read_bytes()
    for k in range(1, 10):
        p = _write("cut" + sample.suffix, raw[: len(raw) * k // 10])
        _only_documented(io.read_any, p, **IDS)


def test_scenario_truncated_at_every_byte():
    text = GOOD.rstrip()
    for k in range(len(text)):
        p = _write("cut.json", text[:k])
        with pytest.raises(InferEconError):
            scenario.load(p)
    assert json.loads(GOOD)["schema_version"] == scenario.SCHEMA_VERSION


# ----------------------------------------------------------------------------- scenario frames
_IDS = {"model": ["llama-3.1-8b", "mixtral-8x7b", "zz", "", None], "hardware": ["h100-sxm", "l4", "apple-m2-max-38c", "zz"],
        "precision": ["bf16", "int4", "q4_0", "zz"], "engine": ["vllm", "llama.cpp", "mlx", "zz"],
        "kv_precision": ["fp8", "bf16", None, "zz"], "price_model": ["on_demand", "spot", "owned", "x", None],
        "provider": ["aws", "gcp", "lambda", "zz", None], "region": ["us-east-1", None, "zz"],
        "grid_region": ["aws:us-east-1", "country:DE", None, "zz"], "input_length_dist": ["fixed", "lognormal", "zz", None]}
_VALID = {"batch_size": st.integers(1, 256), "context_depth": st.integers(0, 4096), "tensor_parallel": st.sampled_from([1, 2]),
          "pipeline_parallel": st.sampled_from([1, 2]), "usd_per_device_hour": st.floats(0, 10),
          "utilization": st.floats(0.01, 1), "pue": st.floats(1, 2), "capex_usd_per_device": st.floats(1e3, 5e4),
          "electricity_usd_per_kwh": st.floats(0, 0.5), "depreciation_years": st.floats(1, 6),
          "interest_rate": st.floats(0, 0.2), "hosting_usd_per_kw_month": st.floats(0, 300),
          "ops_usd_per_device_year": st.floats(0, 5000), "grid_g_co2e_per_kwh": st.floats(0, 900),
          "request_rate_per_s": st.floats(0.01, 100), "concurrency": st.integers(1, 256), "length_cv": st.floats(0.1, 3),
          "prefill_chunk_tokens": st.integers(256, 8192)}
_JUNK = st.one_of(st.sampled_from([0, -1, 0.5, 1.5, 1e-9, 1e12, 10**9, None, "1", True]),
                  st.floats(allow_nan=True, allow_infinity=True))


def _value(valid, junk_share: int = 8):
    """Mostly valid values, one in ``junk_share`` junk, so the fuzzer gets past the first check."""
    return st.integers(0, junk_share - 1).flatmap(lambda i: _JUNK if i == 0 else valid)


@st.composite
def _frames(draw):
    n = draw(st.integers(1, 3))
    def ids(k):  # a known id most of the time, sometimes an unknown one, an empty string or null
        return st.one_of(st.sampled_from(_IDS[k][:2]), st.sampled_from(_IDS[k]))

    cols = {k: [draw(ids(k)) for _ in range(n)] for k in ("model", "hardware", "precision", "engine")}
    cols["n_devices"] = [draw(_value(st.sampled_from([1, 2, 4, 8]))) for _ in range(n)]
    for k in ("input_tokens", "output_tokens"):
        cols[k] = [draw(_value(st.integers(1, 8000))) for _ in range(n)]
    for k in draw(st.lists(st.sampled_from(sorted(_VALID)), max_size=5, unique=True)):
        cols[k] = [draw(_value(_VALID[k])) for _ in range(n)]
    for k in draw(st.lists(st.sampled_from(sorted(set(_IDS) - {"model", "hardware", "precision", "engine"})),
                           max_size=3, unique=True)):
        cols[k] = [draw(st.sampled_from(_IDS[k])) for _ in range(n)]
    try:
        frame = pl.DataFrame(cols, strict=False)
    except (TypeError, pl.exceptions.PolarsError):  # a column polars itself cannot build
        frame = pl.DataFrame({k: pl.Series(k, [None if v is None else str(v) for v in vals])
                              for k, vals in cols.items()})
    if draw(st.booleans()):  # categorical or all-null id columns are valid input too
        frame = frame.with_columns(pl.col(c).cast(pl.Categorical) for c in ("model", "hardware")
                                   if frame.schema[c] == pl.String)
    return frame


@FUZZ
@given(frame=_frames())
def test_evaluate_on_random_frames(frame):
    """Random scenario frames (ids, numbers, NaN/inf, text, nulls, categoricals): a result or InferEconError."""
    import infer_econ

    before = frame.clone()
    out = _only_documented(infer_econ.evaluate, frame)
    assert frame.equals(before)
    if out is not None:
        assert out.height == frame.height


# ----------------------------------------------------------------------------- the command line
_GOOD_ARGS = {"--model": "llama-3.1-8b", "--hardware": "h100-sxm", "--precision": "bf16", "--engine": "vllm",
              "--devices": "1", "--input-tokens": "1000", "--output-tokens": "200"}
_MORE_ARGS = ["--batch", "--context-depth", "--provider", "--region", "--price-model", "--usd-per-device-hour",
              "--utilization", "--pue", "--grid-region", "--grid-g-co2e-per-kwh"]
_ARG_VALUES = st.sampled_from(["0", "-1", "1", "8", "1e9", "nan", "inf", "1.5", "abc", "", "2,5", "aws", "owned",
                               "on_demand", "us-east-1", "country:DE", "h100-sxm", "0.5"])


@FUZZ
@given(cmd=st.sampled_from(["estimate", "evaluate"]), data=st.data())
def test_cli_random_arguments(cmd, data):
    """Random option values: exit 0, or exit 2 with exactly one line on stderr; never a traceback."""
    import contextlib
    import io as _io

    from infer_econ import cli

    argv = [cmd]
    for flag, good in _GOOD_ARGS.items():
        if data.draw(st.integers(0, 5)):  # mostly the good value, sometimes junk, sometimes left out
            argv += [flag, good]
        elif data.draw(st.booleans()):
            argv += [flag, data.draw(_ARG_VALUES)]
    for flag in data.draw(st.lists(st.sampled_from(_MORE_ARGS), max_size=4, unique=True)):
        argv += [flag, data.draw(_ARG_VALUES)]
    out, errbuf = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(errbuf):
        rc = cli.main(argv)
    err = errbuf.getvalue()
    assert rc in (0, 2), (argv, rc, err)
    assert "Traceback" not in err
    if rc == 2:
        assert len(err.strip().splitlines()) == 1, (argv, err)
