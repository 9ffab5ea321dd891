"""Demand over time and autoscaling: hourly profiles, the user's CSV, fleet policies and price mixes.

Real traffic peaks at noon and sleeps at night; a fleet sized for the peak idles the
rest of the day. This module builds hourly demand (a parametric daily and weekly
curve with growth and bursts, or the user's own CSV), simulates how a fleet follows
it under an autoscaling policy (target utilization, scale-up lag, minimum replicas,
scale-down delay), and compares fixed-for-peak, autoscaled, and reserved baseline +
on-demand burst + spot mixes, returning the cheapest that meets the SLO.

``data/sample_demand.csv`` (read by :func:`sample_demand`) is a *synthetic* example
week for tests and workbooks, not a measurement: it is
``demand_profile(168, peak_requests_per_s=12, peak_to_trough_ratio=6, peak_hour=14,
weekend_factor=0.6, burst_probability_per_hour=0.02, burst_multiplier=2, seed=7)``
rounded to 4 decimals, starting Monday 2025-01-06 00:00, with 800 input and 250 output
tokens per request.

The per-replica capacity at the SLO comes from :mod:`infer_econ.serving` (e.g.
``serving.capacity`` or the largest rate at which ``latency_under_load`` meets the
targets); here it is a number, so every policy is checkable by hand.

References
----------
- Kubernetes Horizontal Pod Autoscaler: target utilization and stabilization window
  (the scale-down delay), https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/
- AWS EC2 Spot: two-minute interruption notice; interruption-frequency bands from the
  Spot Instance Advisor, https://aws.amazon.com/ec2/spot/instance-advisor/
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .cost import HOURS_PER_MONTH
from .errors import ValidationError

__all__ = [
    "DAYS_PER_MONTH",
    "requests_per_month",
    "requests_per_day",
    "requests_per_s",
    "tokens_per_month",
    "per_month",
    "demand_profile",
    "read_demand_csv",
    "sample_demand",
    "model_load_time_s",
    "replicas_for_load",
    "autoscale",
    "fixed_fleet",
    "compare_strategies",
    "MAX_DEMAND_BYTES",
    "MAX_DEMAND_ROWS",
]

#: Days in the billing month [days] (730 h / 24 h, the month :mod:`infer_econ.cost` bills).
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0


def requests_per_month(requests_per_day):
    """Requests per month from requests per day [requests/month].

    Notes
    -----
    requests_per_month = requests_per_day × 730 / 24.

    Examples
    --------
    >>> requests_per_month(24.0)
    730.0
    """
    return requests_per_day * DAYS_PER_MONTH


def requests_per_day(requests_per_s):
    """Requests per day from a mean rate [requests/day].

    Notes
    -----
    requests_per_day = requests_per_s × 86,400.

    Examples
    --------
    >>> requests_per_day(1.0)
    86400.0
    """
    return requests_per_s * 86400.0


def requests_per_s(requests_per_day):
    """Mean request rate from requests per day [requests/s].

    Notes
    -----
    requests_per_s = requests_per_day / 86,400.

    Examples
    --------
    >>> requests_per_s(86400.0)
    1.0
    """
    return requests_per_day / 86400.0


def tokens_per_month(requests_per_day, tokens_per_request):
    """Tokens per month from a daily request volume and tokens per request [tokens/month].

    Notes
    -----
    tokens_per_month = requests_per_day × 730 / 24 × tokens_per_request.

    Examples
    --------
    >>> tokens_per_month(24.0, 100)
    73000.0
    """
    return requests_per_month(requests_per_day) * tokens_per_request


def per_month(per_request, requests_per_day):
    """A per-request quantity (USD, g CO2e, J) summed over a month's requests.

    Notes
    -----
    per_month = per_request × requests_per_day × 730 / 24; None stays None.

    Examples
    --------
    >>> per_month(0.5, 24.0)
    365.0
    >>> per_month(None, 24.0) is None
    True
    """
    if per_request is None:
        return None
    return per_request * requests_per_month(requests_per_day)


#: Largest demand CSV accepted [bytes].
MAX_DEMAND_BYTES = 20_000_000
#: Largest number of demand rows accepted (about 11 years hourly) [rows].
MAX_DEMAND_ROWS = 100_000



def demand_profile(
    hours: int = 24 * 7,
    *,
    peak_requests_per_s: float = 10.0,
    peak_to_trough_ratio: float = 4.0,
    peak_hour: float = 14.0,
    weekend_factor: float = 1.0,
    growth_per_month: float = 0.0,
    burst_probability_per_hour: float = 0.0,
    burst_multiplier: float = 2.0,
    start_weekday: int = 0,
    input_tokens: float | None = None,
    output_tokens: float | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Hourly demand from a parametric daily and weekly curve (analytical; bursts seeded random).

    Parameters
    ----------
    hours : int
        Length of the profile [h].
    peak_requests_per_s : float
        Rate at the daily peak of the first weekday [1/s].
    peak_to_trough_ratio : float
        Daily peak / daily trough (≥ 1; 1 = flat).
    peak_hour : float
        Hour of the daily peak [h, 0-24].
    weekend_factor : float
        Multiplier on Saturday and Sunday (e.g. 0.6).
    growth_per_month : float
        Compound growth per month (0.05 = +5 %/month; a month is 730 h).
    burst_probability_per_hour : float
        Chance that an hour carries a burst [1/h].
    burst_multiplier : float
        Rate multiplier in a burst hour (≥ 1).
    start_weekday : int
        Weekday of hour 0 (0 = Monday).
    input_tokens, output_tokens : float, optional
        Request shape to add as columns [tokens].
    seed : int
        Seed of the burst draw.

    Returns
    -------
    polars.DataFrame
        ``hour`` (0…), ``weekday`` (0 = Monday), ``hour_of_day``, ``burst`` (bool),
        ``request_rate_per_s`` [1/s] and, if given, ``input_tokens`` and ``output_tokens``.

    Notes
    -----
    With trough ``T = peak / r``::

        rate(h) = [T + (peak − T) (1 + cos(2π (h − peak_hour) / 24)) / 2]
                  × weekend_factor^[weekend] × (1 + g)^(h / 730) × burst_multiplier^[burst]

    References
    ----------
    A. Patel et al., "Splitwise: Efficient Generative LLM Inference Using Phase Splitting",
    ISCA 2024, and its Azure LLM inference traces (github.com/Azure/AzurePublicDataset):
    production request arrivals that vary over the day; the cosine shape here is a
    parametric stand-in, fit it to your own traffic with :func:`read_demand_csv`.

    Examples
    --------
    >>> d = demand_profile(24, peak_requests_per_s=8.0, peak_to_trough_ratio=4.0, peak_hour=12)
    >>> d["request_rate_per_s"].max(), d["request_rate_per_s"].min()  # peak 8, trough 8 / 4
    (8.0, 2.0)
    """
    checks = {"hours": hours, "peak_requests_per_s": peak_requests_per_s, "peak_to_trough_ratio": peak_to_trough_ratio,
              "burst_multiplier": burst_multiplier, "weekend_factor": weekend_factor}
    for k, v in checks.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValidationError(f"demand_profile: {k} must be a finite number > 0, got {v!r}")
    if peak_to_trough_ratio < 1:
        raise ValidationError(f"demand_profile: peak_to_trough_ratio must be >= 1, got {peak_to_trough_ratio}")
    if burst_multiplier < 1:
        raise ValidationError(f"demand_profile: burst_multiplier must be >= 1, got {burst_multiplier}")
    if not 0 <= burst_probability_per_hour <= 1:
        raise ValidationError(f"demand_profile: burst_probability_per_hour must be in [0, 1], got {burst_probability_per_hour}")
    if not (math.isfinite(growth_per_month) and growth_per_month > -1):
        raise ValidationError(f"demand_profile: growth_per_month must be > -1, got {growth_per_month}")
    if int(hours) > MAX_DEMAND_ROWS:
        raise ValidationError(f"demand_profile: hours must be <= {MAX_DEMAND_ROWS}, got {hours}")
    if not (isinstance(peak_hour, (int, float, np.number)) and 0 <= peak_hour < 24):
        raise ValidationError(f"demand_profile: peak_hour must be in [0, 24) [hour of day], got {peak_hour!r}")
    if isinstance(start_weekday, bool) or not isinstance(start_weekday, (int, np.integer)) or not 0 <= start_weekday <= 6:
        raise ValidationError(f"demand_profile: start_weekday must be 0 (Monday) … 6 (Sunday), got {start_weekday!r}")
    for k, v in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValidationError(f"demand_profile: {k} must be a finite number > 0 [tokens] or None, got {v!r}")
    h = np.arange(int(hours), dtype=float)
    hod = np.mod(h, 24.0)
    wd = ((np.floor(h / 24.0).astype(int) + int(start_weekday)) % 7)
    trough = peak_requests_per_s / peak_to_trough_ratio
    daily = trough + (peak_requests_per_s - trough) * (1.0 + np.cos(2 * np.pi * (hod - peak_hour) / 24.0)) / 2.0
    rate = daily * np.where(wd >= 5, weekend_factor, 1.0) * (1.0 + growth_per_month) ** (h / HOURS_PER_MONTH)
    burst = np.random.default_rng(seed).random(h.size) < burst_probability_per_hour
    rate = rate * np.where(burst, burst_multiplier, 1.0)
    out = pl.DataFrame({
        "hour": h.astype(np.int64), "weekday": wd.astype(np.int64), "hour_of_day": hod.astype(np.int64),
        "burst": burst, "request_rate_per_s": rate,
    })
    if input_tokens is not None:
        out = out.with_columns(pl.lit(float(input_tokens)).alias("input_tokens"))
    if output_tokens is not None:
        out = out.with_columns(pl.lit(float(output_tokens)).alias("output_tokens"))
    return out


def read_demand_csv(path: str | Path) -> pl.DataFrame:
    """Read and validate a user's hourly demand CSV.

    Parameters
    ----------
    path : str or Path
        CSV with a ``hour`` (int, 0…, increasing) or ``timestamp`` (ISO date-time) column
        and either ``request_rate_per_s`` [1/s] or ``requests`` (count in the hour);
        optional ``input_tokens``, ``output_tokens`` [tokens]. At most
        :data:`MAX_DEMAND_BYTES` bytes and :data:`MAX_DEMAND_ROWS` rows.

    Returns
    -------
    polars.DataFrame
        ``hour`` (int, from 0), ``request_rate_per_s`` and any of ``timestamp``,
        ``input_tokens``, ``output_tokens`` present.

    Raises
    ------
    ValidationError
        Missing file or columns, too large, unparsable or negative values: the message
        names the file, the row (1 = first data row) and the column.

    Notes
    -----
    ``request_rate_per_s = requests / 3600`` when counts are given. Timestamps must be
    one hour apart; ``hour`` is the index from the first.

    References
    ----------
    ISO 8601 date-time strings as parsed by polars ``str.to_datetime``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(p, "w").write("hour,requests\\n0,3600\\n1,7200\\n")
    >>> read_demand_csv(p)["request_rate_per_s"].to_list()
    [1.0, 2.0]
    """
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"demand file {str(p)!r}: not found")
    size = p.stat().st_size
    if size > MAX_DEMAND_BYTES:
        raise ValidationError(f"demand file {p.name!r}: {size} bytes is over the limit of {MAX_DEMAND_BYTES} bytes")
    try:
        raw = pl.read_csv(p, infer_schema=False, n_rows=MAX_DEMAND_ROWS + 1)
    except Exception as exc:  # polars raises several types for malformed CSV
        raise ValidationError(f"demand file {p.name!r}: cannot be read as CSV ({exc})") from None
    if raw.height > MAX_DEMAND_ROWS:
        raise ValidationError(f"demand file {p.name!r}: more than {MAX_DEMAND_ROWS} rows")
    if raw.height == 0:
        raise ValidationError(f"demand file {p.name!r}: no data rows")
    cols = set(raw.columns)
    if not ({"hour", "timestamp"} & cols):
        raise ValidationError(f"demand file {p.name!r}: needs a 'hour' or 'timestamp' column; found {sorted(cols)}")
    if not ({"request_rate_per_s", "requests"} & cols):
        raise ValidationError(
            f"demand file {p.name!r}: needs a 'request_rate_per_s' [1/s] or 'requests' [per hour] column; found {sorted(cols)}")

    def num(col: str, *, positive: bool = False) -> pl.Series:
        s = raw[col].str.strip_chars()
        v = s.cast(pl.Float64, strict=False)
        bad = v.is_null() | v.is_nan() | v.is_infinite() | ((v <= 0) if positive else (v < 0))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            want = "a finite number > 0" if positive else "a finite number >= 0"
            raise ValidationError(f"demand file {p.name!r}: row {i + 1}, column {col!r}: {s[i]!r} is not {want}")
        return v

    out: dict[str, Any] = {}
    if "hour" in cols:
        hr = num("hour")
        if (hr != hr.round(0)).any():
            i = int(np.flatnonzero((hr != hr.round(0)).to_numpy())[0])
            raise ValidationError(f"demand file {p.name!r}: row {i + 1}, column 'hour': {raw['hour'][i]!r} is not a whole number")
        d = np.diff(hr.to_numpy())
        if (d != 1).any():
            i = int(np.flatnonzero(d != 1)[0]) + 1
            raise ValidationError(f"demand file {p.name!r}: row {i + 1}, column 'hour': hours must increase by 1")
        out["hour"] = (hr - hr[0]).cast(pl.Int64)
    if "timestamp" in cols:
        try:
            ts = raw["timestamp"].str.strip_chars().str.to_datetime(strict=False)
        except pl.exceptions.PolarsError:  # no common date-time format at all
            ts = pl.Series("timestamp", [None] * raw.height, dtype=pl.Datetime)
        if ts.is_null().any():
            i = int(np.flatnonzero(ts.is_null().to_numpy())[0])
            raise ValidationError(
                f"demand file {p.name!r}: row {i + 1}, column 'timestamp': {raw['timestamp'][i]!r} is not an ISO date-time")
        step = ts.diff().dt.total_seconds()[1:]
        if (step != 3600).any():
            i = int(np.flatnonzero((step != 3600).to_numpy())[0]) + 1
            raise ValidationError(f"demand file {p.name!r}: row {i + 1}, column 'timestamp': rows must be one hour apart")
        out["timestamp"] = ts
        out.setdefault("hour", pl.Series(np.arange(raw.height, dtype=np.int64)))
    out["request_rate_per_s"] = num("request_rate_per_s") if "request_rate_per_s" in cols else num("requests") / 3600.0
    for c in ("input_tokens", "output_tokens"):
        if c in cols:
            out[c] = num(c, positive=True)
    return pl.DataFrame({k: (v.alias(k) if isinstance(v, pl.Series) else v) for k, v in out.items()})


def sample_demand() -> pl.DataFrame:
    """The synthetic example week shipped as ``data/sample_demand.csv`` (see the module notes).

    Parameters
    ----------
    None

    Returns
    -------
    polars.DataFrame
        As :func:`read_demand_csv`: 168 hourly rows.

    Notes
    -----
    Synthetic: generated by :func:`demand_profile`, not measured; the call that made it is in the
    module docstring.

    References
    ----------
    None: a made-up week for tests and workbooks (its ``data/sources.csv``-style provenance is the
    generating call above).

    Examples
    --------
    >>> d = sample_demand()
    >>> d.height, round(d["request_rate_per_s"].max(), 1)
    (168, 23.7)
    """
    from ._paths import data_dir

    return read_demand_csv(data_dir() / "sample_demand.csv")


def model_load_time_s(weights_gb: Any, storage_gb_per_s: Any = 2.0, instance_start_s: Any = 120.0) -> np.ndarray:
    """Scale-up lag: instance start plus reading the weights from storage (analytical).

    Parameters
    ----------
    weights_gb : array-like
        Model weights to load per replica [GB].
    storage_gb_per_s : array-like
        Read bandwidth from the model store (local NVMe ~2-7 GB/s, object store
        ~0.5-2 GB/s per node) [GB/s].
    instance_start_s : array-like
        Provisioning and container start before the load begins [s].

    Returns
    -------
    numpy.ndarray
        Lag [s] = instance_start_s + weights_gb / storage_gb_per_s.

    Notes
    -----
    ``lag = instance_start_s + weights_gb / storage_gb_per_s``; pass ``lag / 3600`` as
    ``scale_up_lag_h`` to :func:`autoscale`.

    References
    ----------
    vLLM and SGLang model-loading docs (safetensors read bandwidth bound); cloud
    instance boot times are typically one to a few minutes.

    Examples
    --------
    >>> float(model_load_time_s(140.0, 2.0, 120.0)[()])  # 120 + 70 s
    190.0
    """
    w, b, s = (np.asarray(x, dtype=float) for x in (weights_gb, storage_gb_per_s, instance_start_s))
    if np.any(b <= 0) or np.any(w < 0) or np.any(s < 0):
        raise ValidationError("model_load_time_s: weights_gb and instance_start_s must be >= 0 and storage_gb_per_s > 0")
    return s + w / b


#: A load / capacity ratio this close above a whole number is float noise, not one more replica.
_WHOLE_TOLERANCE = 1e-9


def replicas_for_load(load_per_s: Any, capacity_per_replica_per_s: Any, target_utilization: Any = 1.0) -> Any:
    """Replicas a load needs when each replica may run at ``target_utilization`` of its capacity (analytical).

    Parameters
    ----------
    load_per_s : float, numpy.ndarray or polars.Expr
        Demand: requests or tokens per second, the same kind as ``capacity_per_replica_per_s``
        [1/s or tokens/s].
    capacity_per_replica_per_s : float, numpy.ndarray or polars.Expr
        What one replica serves at its SLO [1/s or tokens/s].
    target_utilization : float, numpy.ndarray or polars.Expr
        Highest share of its capacity a replica may run at [fraction].

    Returns
    -------
    numpy.ndarray or polars.Expr
        Replicas [count], whole numbers as floats (an expression when any input is one); no
        lower bound (a zero load needs zero replicas: callers clip to their minimum).

    Notes
    -----
    ``replicas = ceil(load_per_s / (target_utilization × capacity_per_replica_per_s) − 1e-9)``: the 1e-9 keeps a
    ratio that rounding put just above a whole number (an exact fill at 0.3 utilization can give
    18.000000000000004) from asking for one more replica.

    References
    ----------
    Standard peak provisioning; the Kubernetes Horizontal Pod Autoscaler's
    ``desired = ceil(current × metric / target)`` (module references).

    Examples
    --------
    9 requests/s on replicas serving 2/s each at 100 %: 9 / 2 = 4.5 → 5; at 80 %: 9 / 1.6 = 5.625 → 6;
    an exact fill stays exact, 18 × 1234.5 × 0.3 tokens/s → 18:

    >>> replicas_for_load(np.array([9.0, 9.0]), 2.0, np.array([1.0, 0.8])).tolist()
    [5.0, 6.0]
    >>> float(replicas_for_load(18 * 1234.5 * 0.3, 1234.5, 0.3))
    18.0
    >>> pl.select(replicas_for_load(pl.lit(9.0), 2.0)).item()
    5.0
    """
    ratio = load_per_s / (target_utilization * capacity_per_replica_per_s) - _WHOLE_TOLERANCE
    return ratio.ceil() if isinstance(ratio, pl.Expr) else np.ceil(ratio)


def _rates(demand: pl.DataFrame) -> np.ndarray:
    if "request_rate_per_s" not in demand.columns:
        raise ValidationError("demand frame needs a 'request_rate_per_s' column [1/s]")
    if not (demand.schema["request_rate_per_s"].is_numeric() or demand.schema["request_rate_per_s"] == pl.Null):
        raise ValidationError(f"column 'request_rate_per_s': expected numbers [1/s], got {demand.schema['request_rate_per_s']}")
    r = demand["request_rate_per_s"].cast(pl.Float64).to_numpy()
    if r.size == 0 or np.any(~np.isfinite(r)) or np.any(r < 0):
        raise ValidationError("column 'request_rate_per_s': expected finite numbers >= 0 (one per hour)")
    return r


def _check(name: str, v: float, *, lo: float = 0.0, strict: bool = False) -> None:
    if not (isinstance(v, (int, float)) and math.isfinite(v) and (v > lo if strict else v >= lo)):
        raise ValidationError(f"{name} must be a finite number {'>' if strict else '>='} {lo}, got {v!r}")


def _finish(demand: pl.DataFrame, rate: np.ndarray, ready: np.ndarray, billed: np.ndarray, cap: float,
            usd_per_replica_hour: np.ndarray | float, step_h: float, tokens: float | None,
            serving: np.ndarray | None = None) -> pl.DataFrame:
    capacity = (ready if serving is None else serving) * cap
    served = np.minimum(rate, capacity)
    short = rate > capacity * (1 + 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        idle = np.where(billed > 0, 1.0 - served / (billed * cap), 0.0)
        viol_share = np.where(rate > 0, (rate - served) / rate, 0.0)
    cost = billed * usd_per_replica_hour * step_h
    cols = {
        "hour": demand["hour"] if "hour" in demand.columns else pl.Series(np.arange(rate.size)),
        "request_rate_per_s": rate,
        "replicas": ready.astype(np.int64),
        "replicas_billed": billed.astype(np.int64),
        "capacity_requests_per_s": capacity,
        "served_requests_per_s": served,
        "slo_violation": short,
        "violated_request_share": viol_share,
        "idle_share": idle,
        "usd": cost,
    }
    out = pl.DataFrame(cols)
    if tokens is not None:
        out = out.with_columns((pl.col("usd") / (pl.col("served_requests_per_s") * 3600.0 * step_h * tokens) * 1e6)
                               .alias("usd_per_million_tokens"))
    return out


def fixed_fleet(
    demand: pl.DataFrame,
    *,
    capacity_per_replica_rps: float,
    usd_per_replica_hour: float,
    target_utilization: float = 1.0,
    replicas: int | None = None,
    step_h: float = 1.0,
) -> pl.DataFrame:
    """A constant fleet, by default sized for the peak hour (analytical).

    Parameters
    ----------
    demand : polars.DataFrame
        ``request_rate_per_s`` per step [1/s] (e.g. :func:`demand_profile`).
    capacity_per_replica_rps : float
        Largest rate one replica serves within the SLO [1/s].
    usd_per_replica_hour : float
        Price of one replica (all its devices) [USD/h].
    target_utilization : float
        Headroom: size for ``peak / (target × capacity)``.
    replicas : int, optional
        Fixed fleet size (default: peak-sized).
    step_h : float
        Length of one demand row [h].

    Returns
    -------
    polars.DataFrame
        Per step: ``hour``, ``request_rate_per_s``, ``replicas``, ``replicas_billed``,
        ``capacity_requests_per_s``, ``served_requests_per_s``, ``slo_violation``,
        ``violated_request_share``, ``idle_share``, ``usd``.

    Notes
    -----
    ``replicas = ceil(max_t λ_t / (u* × capacity))`` (:func:`replicas_for_load`); ``idle_share = 1 − served / (billed × capacity)``.

    References
    ----------
    Standard peak provisioning; see the module references.

    Examples
    --------
    >>> d = pl.DataFrame({"request_rate_per_s": [1.0, 5.0, 9.0, 2.0]})
    >>> fixed_fleet(d, capacity_per_replica_rps=2.0, usd_per_replica_hour=3.0)["usd"].sum()  # 5 × 3 × 4
    60.0
    """
    rate = _rates(demand)
    _check("capacity_per_replica_rps", capacity_per_replica_rps, strict=True)
    _check("usd_per_replica_hour", usd_per_replica_hour)
    _check("target_utilization", target_utilization, strict=True)
    if target_utilization > 1:
        raise ValidationError(f"target_utilization must be in (0, 1], got {target_utilization}")
    _check("step_h", step_h, strict=True)
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 0):
        raise ValidationError(f"replicas must be a whole number >= 0, got {replicas!r}")
    n = replicas if replicas is not None else max(1, int(replicas_for_load(rate.max(), capacity_per_replica_rps, target_utilization)))
    ready = np.full(rate.size, float(n))
    return _finish(demand if "hour" in demand.columns else demand.with_row_index("hour"), rate, ready, ready,
                   capacity_per_replica_rps, usd_per_replica_hour, step_h, _tokens(demand))


def _tokens(demand: pl.DataFrame) -> float | None:
    if "input_tokens" in demand.columns and "output_tokens" in demand.columns:
        io = demand.select("input_tokens", "output_tokens")
        for c, t in io.schema.items():
            if not t.is_numeric():
                raise ValidationError(f"column {c!r}: expected numbers [tokens per request], got {t}")
        tokens = (io["input_tokens"] + io["output_tokens"]).cast(pl.Float64)
        if tokens.null_count() or not tokens.is_finite().all() or (tokens <= 0).any():
            raise ValidationError("columns 'input_tokens' + 'output_tokens': expected finite numbers > 0 "
                                  "[tokens per request] in every row")
        return float(tokens.mean())
    return None


def autoscale(
    demand: pl.DataFrame,
    *,
    capacity_per_replica_rps: float,
    usd_per_replica_hour: float,
    target_utilization: float = 0.8,
    scale_up_lag_h: float = 0.25,
    min_replicas: int = 1,
    max_replicas: int = 100_000,
    scale_down_delay_h: float = 1.0,
    initial_replicas: int | None = None,
    step_h: float = 1.0,
) -> pl.DataFrame:
    """Simulate a reactive autoscaling policy over a demand profile, step by step (simulation).

    A simulation because the fleet's state (replicas starting, replicas waiting out
    the scale-down delay) carries from one step to the next; it is a deterministic
    recursion over time, one step per demand row, no randomness.

    Parameters
    ----------
    demand : polars.DataFrame
        ``request_rate_per_s`` per step [1/s].
    capacity_per_replica_rps : float
        Largest rate one replica serves within the SLO [1/s].
    usd_per_replica_hour : float
        Price of one replica [USD/h]; starting replicas bill from the request.
    target_utilization : float
        Desired ``λ / (replicas × capacity)`` in (0, 1].
    scale_up_lag_h : float
        From the scale-up decision until the new replica serves (instance start +
        model load, see :func:`model_load_time_s`) [h]; a replica that comes up within a
        step serves the rest of that step.
    min_replicas, max_replicas : int
        Fleet bounds.
    scale_down_delay_h : float
        Desired size must stay below the current one this long before replicas are
        released (the HPA stabilization window) [h]; rounded up to whole steps.
    initial_replicas : int, optional
        Ready replicas at step 0 (default: the desired size for step 0).
    step_h : float
        Length of one demand row [h].

    Returns
    -------
    polars.DataFrame
        As :func:`fixed_fleet`: per step ``replicas`` (serving), ``replicas_billed``
        (serving + starting), ``slo_violation`` (demand above serving capacity),
        ``violated_request_share``, ``idle_share``, ``usd``.

    Notes
    -----
    At step t: replicas whose start completes join; ``desired = clip(ceil(λ_t / (u* c)),
    min, max)`` (:func:`replicas_for_load`); if desired exceeds serving + starting, the difference is requested and
    serves from time ``t + lag / step`` (the step it comes up in counts the remaining
    fraction: capacity of a step = (ready + Σ starting × fraction up) × c); if desired stays below serving for
    ``ceil(delay / step)`` consecutive steps (0: at once) the surplus is released
    (starting replicas are cancelled first).

    References
    ----------
    Kubernetes Horizontal Pod Autoscaler algorithm (desired = ceil(current × metric / target))
    and its scale-down stabilization window.

    Examples
    --------
    >>> d = pl.DataFrame({"request_rate_per_s": [1.0, 5.0, 9.0, 2.0]})
    >>> r = autoscale(d, capacity_per_replica_rps=2.0, usd_per_replica_hour=3.0, target_utilization=1.0,
    ...     scale_up_lag_h=1.0, scale_down_delay_h=0.0)
    >>> r["replicas"].to_list(), r["replicas_billed"].to_list()
    ([1, 1, 3, 1], [1, 3, 5, 1])
    """
    rate = _rates(demand)
    _check("capacity_per_replica_rps", capacity_per_replica_rps, strict=True)
    _check("usd_per_replica_hour", usd_per_replica_hour)
    _check("target_utilization", target_utilization, strict=True)
    _check("scale_up_lag_h", scale_up_lag_h)
    _check("scale_down_delay_h", scale_down_delay_h)
    _check("step_h", step_h, strict=True)
    if target_utilization > 1:
        raise ValidationError(f"target_utilization must be in (0, 1], got {target_utilization}")
    if not (isinstance(min_replicas, int) and isinstance(max_replicas, int) and 0 <= min_replicas <= max_replicas):
        raise ValidationError(f"min_replicas and max_replicas must be whole numbers with 0 <= min <= max, got {min_replicas}, {max_replicas}")
    lag = scale_up_lag_h / step_h  # in steps, may be fractional
    delay = math.ceil(scale_down_delay_h / step_h - 1e-9)
    desired_all = np.clip(replicas_for_load(rate, capacity_per_replica_rps, target_utilization), min_replicas, max_replicas)
    n = rate.size
    ready = np.zeros(n)
    serving = np.zeros(n)
    billed = np.zeros(n)
    if initial_replicas is not None and (isinstance(initial_replicas, bool) or not isinstance(initial_replicas, (int, np.integer))
                                         or initial_replicas < 0):
        raise ValidationError(f"initial_replicas must be a whole number >= 0, got {initial_replicas!r}")
    cur = int(desired_all[0] if initial_replicas is None else initial_replicas)
    pending: list[list[float]] = []  # [ready_at (in steps, fractional), count]
    below = 0
    for t in range(n):
        cur += int(sum(c for at, c in pending if at <= t))
        pending = [[at, c] for at, c in pending if at > t]
        want = int(desired_all[t])
        starting = int(sum(c for _, c in pending))
        if want > cur + starting:
            add = want - cur - starting
            if lag <= 0:
                cur += add
            else:
                pending.append([t + lag, add])
        if want < cur + starting:
            below += 1
            if below > delay or delay == 0:
                surplus = cur + starting - want
                while surplus > 0 and pending:  # cancel the newest starts first
                    take = min(surplus, pending[-1][1])
                    pending[-1][1] -= take
                    surplus -= take
                    if pending[-1][1] == 0:
                        pending.pop()
                cur -= min(surplus, cur)
                below = 0
        else:
            below = 0
        ready[t] = cur
        # replicas that come up during this step serve its remaining fraction
        serving[t] = cur + sum(c * (t + 1 - at) for at, c in pending if at < t + 1)
        billed[t] = cur + sum(c for _, c in pending)
    hours = demand if "hour" in demand.columns else demand.with_row_index("hour")
    return _finish(hours, rate, ready, billed, capacity_per_replica_rps, usd_per_replica_hour, step_h, _tokens(demand),
                   serving=serving)


def compare_strategies(
    demand: pl.DataFrame,
    *,
    capacity_per_replica_rps: float,
    on_demand_usd_per_replica_hour: float,
    reserved_usd_per_replica_hour: float | None = None,
    spot_usd_per_replica_hour: float | None = None,
    spot_interruptions_per_hour: float = 0.05,
    rework_h: float = 0.05,
    spot_shares: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0),
    target_utilization: float = 0.8,
    scale_up_lag_h: float = 0.25,
    min_replicas: int = 1,
    scale_down_delay_h: float = 1.0,
    max_violated_request_share: float = 0.0,
    step_h: float = 1.0,
) -> pl.DataFrame:
    """Total cost and SLO record of fleet strategies over a demand profile (simulation).

    Strategies: ``fixed_for_peak`` (on-demand, peak-sized); ``autoscaled`` (on-demand,
    :func:`autoscale`); ``reserved_R+on_demand`` for every reserved baseline ``R`` from 0
    to the peak size (reserved replicas bill every hour; the autoscaled remainder is
    on-demand); ``spot_S`` mixes where a share ``S`` of the autoscaled burst runs on spot.

    Parameters
    ----------
    demand : polars.DataFrame
        ``request_rate_per_s`` per step [1/s]; with ``input_tokens``/``output_tokens`` the
        result also carries $/million tokens.
    capacity_per_replica_rps : float
        Largest rate one replica serves within the SLO [1/s].
    on_demand_usd_per_replica_hour, reserved_usd_per_replica_hour, spot_usd_per_replica_hour : float
        Prices per replica-hour [USD/h]; reserved and spot optional.
    spot_interruptions_per_hour : float
        Interruption rate of one spot replica [1/h].
    rework_h : float
        Work lost per interruption (requests in flight re-run elsewhere) [h of one replica].
    spot_shares : tuple of float
        Shares of the burst fleet on spot to try.
    target_utilization, scale_up_lag_h, min_replicas, scale_down_delay_h, step_h
        Autoscaling policy (see :func:`autoscale`).
    max_violated_request_share : float
        SLO tolerance: the largest share of all requests that may arrive when capacity is
        short (0 = never short).

    Returns
    -------
    polars.DataFrame
        One row per strategy: ``strategy``, ``reserved_replicas``, ``spot_share``,
        ``total_usd``, ``usd_per_hour_mean``, ``slo_violation_hours``,
        ``violated_request_share``, ``idle_share``, ``meets_slo``, ``cheapest`` (true on
        the cheapest row that meets the SLO) and ``usd_per_million_tokens`` when the
        shape is known; sorted by ``total_usd``.

    Notes
    -----
    A spot replica loses ``f = interruptions/h × (lag + rework)`` of its hours to
    replacement and re-run work, so the spot part of the burst is provisioned at
    ``1 / (1 − f)`` times its size; its cost is ``spot price × that size``. Reserved
    replicas bill every hour whether used or not (that is the trade-off).

    References
    ----------
    AWS EC2 Spot Instance Advisor (interruption-frequency bands); AWS and GCP committed-use
    / reserved-instance pricing pages (the ``cloud_prices`` catalog carries the prices).

    Examples
    --------
    >>> d = pl.DataFrame({"request_rate_per_s": [2.0] * 12 + [8.0] * 12})
    >>> c = compare_strategies(d, capacity_per_replica_rps=2.0, on_demand_usd_per_replica_hour=4.0,
    ...     reserved_usd_per_replica_hour=2.5, target_utilization=1.0, scale_up_lag_h=0.0,
    ...     scale_down_delay_h=0.0)
    >>> c.filter(pl.col("cheapest"))["strategy"].item()
    'reserved_1+on_demand'
    """
    rate = _rates(demand)
    _check("on_demand_usd_per_replica_hour", on_demand_usd_per_replica_hour)
    _check("spot_interruptions_per_hour", spot_interruptions_per_hour)
    _check("rework_h", rework_h)
    _check("max_violated_request_share", max_violated_request_share)
    kw = dict(capacity_per_replica_rps=capacity_per_replica_rps, target_utilization=target_utilization,
              scale_up_lag_h=scale_up_lag_h, min_replicas=min_replicas, scale_down_delay_h=scale_down_delay_h,
              step_h=step_h)
    tokens = _tokens(demand)
    total_req = float(rate.sum() * 3600.0 * step_h)
    rows: list[dict[str, Any]] = []

    def record(name: str, frame: pl.DataFrame, usd: float, reserved: int = 0, spot: float = 0.0) -> None:
        short = frame["slo_violation"].to_numpy()
        lost = float(((frame["request_rate_per_s"] - frame["served_requests_per_s"]) * 3600.0 * step_h).sum())
        share = lost / total_req if total_req > 0 else 0.0
        billed = frame["replicas_billed"].to_numpy().astype(float)
        served = frame["served_requests_per_s"].to_numpy()
        idle = 1.0 - served.sum() / (billed.sum() * capacity_per_replica_rps) if billed.sum() > 0 else 0.0
        row = {"strategy": name, "reserved_replicas": reserved, "spot_share": spot, "total_usd": usd,
               "usd_per_hour_mean": usd / (rate.size * step_h), "slo_violation_hours": float(short.sum() * step_h),
               "violated_request_share": share, "idle_share": idle,
               "meets_slo": share <= max_violated_request_share + 1e-12}
        if tokens is not None:
            row["usd_per_million_tokens"] = usd / max(float(served.sum() * 3600.0 * step_h * tokens), 1e-300) * 1e6
        rows.append(row)

    fx = fixed_fleet(demand, capacity_per_replica_rps=capacity_per_replica_rps,
                     usd_per_replica_hour=on_demand_usd_per_replica_hour, target_utilization=target_utilization,
                     step_h=step_h)
    record("fixed_for_peak", fx, float(fx["usd"].sum()))
    au = autoscale(demand, usd_per_replica_hour=on_demand_usd_per_replica_hour, max_replicas=100_000, **kw)
    record("autoscaled", au, float(au["usd"].sum()))
    billed = au["replicas_billed"].to_numpy().astype(float)
    peak = int(fx["replicas"].max())
    if reserved_usd_per_replica_hour is not None:
        _check("reserved_usd_per_replica_hour", reserved_usd_per_replica_hour)
        for r in range(0, peak + 1):
            # reserved replicas are always up (no lag); the autoscaler adds on-demand above them
            base = autoscale(demand, usd_per_replica_hour=on_demand_usd_per_replica_hour, max_replicas=100_000,
                             **{**kw, "min_replicas": max(min_replicas, r)})
            b = base["replicas_billed"].to_numpy().astype(float)
            ready = base["replicas"].to_numpy().astype(float)
            od = np.maximum(b - r, 0.0)
            usd = float((r * reserved_usd_per_replica_hour + od * on_demand_usd_per_replica_hour).sum() * step_h)
            frame = base.with_columns(pl.Series("replicas", ready.astype(np.int64)))
            record(f"reserved_{r}+on_demand", frame, usd, reserved=r)
    if spot_usd_per_replica_hour is not None:
        _check("spot_usd_per_replica_hour", spot_usd_per_replica_hour)
        lag_h = scale_up_lag_h
        f = spot_interruptions_per_hour * (lag_h + rework_h)
        if f >= 1:
            raise ValidationError(
                f"spot: interruptions/h × (lag + rework) = {f:.3g} >= 1, a spot replica would never finish its work")
        base_r = min_replicas
        for s in spot_shares:
            if not 0 < s <= 1:
                raise ValidationError(f"spot_shares: each share must be in (0, 1], got {s}")
            burst = np.maximum(billed - base_r, 0.0)
            spot_n = burst * s / (1.0 - f)
            od_n = billed - burst * s
            usd = float((od_n * on_demand_usd_per_replica_hour + spot_n * spot_usd_per_replica_hour).sum() * step_h)
            record(f"spot_{s:g}", au, usd, reserved=0, spot=s)
    out = pl.DataFrame(rows).sort("total_usd")
    cheapest = out.filter(pl.col("meets_slo")).head(1)["strategy"].to_list()
    return out.with_columns((pl.col("strategy").is_in(cheapest)).alias("cheapest"))
