"""Energy and carbon: device power by workload, J per token, kWh, operational and embodied CO₂.

Power model
-----------
A device draws between its idle power and its TDP by how hard the workload
drives it. "How hard" is measured by the compute utilization *u* of each phase
(achieved FLOP/s over the device's peak at the scenario's precision):
memory-bound decode at a small batch does few FLOPs per byte (small *u*) and
draws less than compute-bound prefill (large *u*). Per phase

    activity(u) = floor + (1 − floor) × u / (u + u_half)

and the device power averages the two phases by their share of time:

    P = idle_w + (tdp_w − idle_w) × [s_prefill × activity(u_prefill) + (1 − s_prefill) × activity(u_decode)]

``floor`` (the activity of streaming weights at negligible arithmetic; per
hardware family) and ``u_half`` are fitted on GPU-only measurements
(:func:`fit_power_model`, parameters shipped in ``data/power_model.csv``,
source ``infer-econ-fit``). The wall meter sees more: host CPUs, fans, NICs and
power-supply losses, modelled as a share of the accelerator power
(``host_power_share``, fitted on whole-server wall measurements), and the
facility adds its PUE. The two scopes are kept apart everywhere:
``accelerator_power_w`` is what a GPU power meter (NVML) reads, ``power_w``
what the facility meter reads.

All functions take polars expressions (or numbers) with glossary-name defaults.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl

from .cost import HOURS_PER_YEAR
from .errors import ValidationError

__all__ = [
    "J_PER_KWH",
    "compute_utilization",
    "prefill_time_share",
    "activity",
    "device_power_w",
    "average_power_w",
    "occupied_share",
    "facility_power_w",
    "j_per_output_token",
    "kwh_per_million_output_tokens",
    "g_co2e_per_request",
    "g_co2e_per_request_embodied",
    "peak_tflops",
    "power_model",
    "power_parameters",
    "measurements",
    "fit_power_model",
    "power_fit_residuals",
]

J_PER_KWH = 3.6e6
_SECONDS_PER_YEAR = HOURS_PER_YEAR * 3600.0

Num = pl.Expr | float | int


def _e(x: Num) -> pl.Expr:
    return x if isinstance(x, pl.Expr) else pl.lit(x, pl.Float64)


def compute_utilization(
    tokens_per_s: Num = pl.col("decode_tokens_per_s"),
    active_params_b: Num = pl.col("active_params_b"),
    n_devices: Num = pl.col("n_devices"),
    peak_tflops: Num = pl.col("peak_tflops"),
) -> pl.Expr:
    """Share of the devices' peak FLOP/s a phase uses [fraction].

    Parameters
    ----------
    tokens_per_s : expr or float
        Tokens the phase processes per second, whole deployment [tokens/s].
    active_params_b : expr or float
        Parameters used per token [1e9 params].
    n_devices : expr or int
        Devices [count].
    peak_tflops : expr or float
        Dense peak of one device at the precision the matrices run in [TFLOP/s].

    Returns
    -------
    polars.Expr
        ``compute_utilization`` [fraction].

    Notes
    -----
    u = 2 × active_params × tokens_per_s / (n_devices × peak). Attention FLOPs are left out (a few
    per cent at chat lengths), so *u* is a slight underestimate at long contexts.

    References
    ----------
    Kaplan et al. 2020 (arXiv:2001.08361): forward FLOPs ≈ 2 × parameters per token.

    Examples
    --------
    An 8B model decoding 10,000 tokens/s on one 989 TFLOP/s device: 2 × 8e9 × 1e4 / 989e12 = 0.1618.

    >>> round(pl.select(compute_utilization(10_000.0, 8.0, 1, 989.0)).item(), 4)
    0.1618
    """
    return (2.0 * _e(active_params_b) * 1e9 * _e(tokens_per_s) / (_e(n_devices) * _e(peak_tflops) * 1e12)).alias(
        "compute_utilization"
    )


def prefill_time_share(
    prefill_s: Num = pl.col("prefill_s"),
    tpot_s: Num = pl.col("tpot_s"),
    output_tokens: Num = pl.col("output_tokens"),
) -> pl.Expr:
    """Share of a request cycle spent in prefill [fraction].

    Parameters
    ----------
    prefill_s : expr or float
        Prefill time of the whole batch [s].
    tpot_s : expr or float
        Mean time per output token [s].
    output_tokens : expr or int
        Output tokens per request [tokens].

    Returns
    -------
    polars.Expr
        ``prefill_time_share`` [fraction].

    Notes
    -----
    s = prefill_s / (prefill_s + output_tokens × tpot_s), the cycle of a batch served back to back
    (prefill of the batch, then its output tokens).

    References
    ----------
    Issue 3 contract (``prefill_s``, ``tpot_s``).

    Examples
    --------
    >>> pl.select(prefill_time_share(0.5, 0.02, 100)).item()
    0.2
    """
    p = _e(prefill_s)
    return (p / (p + _e(output_tokens) * _e(tpot_s))).alias("prefill_time_share")


def activity(
    compute_utilization: Num = pl.col("compute_utilization"),
    power_floor: Num = pl.col("power_floor"),
    power_u_half: Num = pl.col("power_u_half"),
) -> pl.Expr:
    """How far between idle and TDP a phase drives the device [fraction].

    Parameters
    ----------
    compute_utilization : expr or float
        Achieved over peak FLOP/s of the phase [fraction].
    power_floor : expr or float
        Activity of a memory-bound phase at vanishing arithmetic [fraction].
    power_u_half : expr or float
        Compute utilization at which the activity is halfway from the floor to 1 [fraction].

    Returns
    -------
    polars.Expr
        ``activity`` [fraction].

    Notes
    -----
    activity = floor + (1 − floor) × u / (u + u_half), clipped to [0, 1]; monotone in *u*.

    References
    ----------
    Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    >>> pl.select(activity(0.1, 0.5, 0.1)).item()
    0.75
    """
    u = _e(compute_utilization).clip(0.0)
    f = _e(power_floor)
    return (f + (1.0 - f) * u / (u + _e(power_u_half))).clip(0.0, 1.0).alias("activity")


def device_power_w(
    idle_w: Num = pl.col("idle_w"),
    tdp_w: Num = pl.col("tdp_w"),
    prefill_time_share: Num = pl.col("prefill_time_share"),
    prefill_compute_utilization: Num = pl.col("prefill_compute_utilization"),
    decode_compute_utilization: Num = pl.col("decode_compute_utilization"),
    power_floor: Num = pl.col("power_floor"),
    power_u_half: Num = pl.col("power_u_half"),
) -> pl.Expr:
    """Power of one busy device, as a GPU power meter reads it [W].

    Parameters
    ----------
    idle_w, tdp_w : expr or float
        Idle power with a model loaded and the board power limit [W].
    prefill_time_share : expr or float
        Share of time in prefill [fraction] (:func:`prefill_time_share`).
    prefill_compute_utilization, decode_compute_utilization : expr or float
        Compute utilization of each phase [fraction] (:func:`compute_utilization`).
    power_floor, power_u_half : expr or float
        Power-model parameters (:func:`activity`; fitted values in ``data/power_model.csv``).

    Returns
    -------
    polars.Expr
        ``device_power_w`` [W], between ``idle_w`` and ``tdp_w``.

    Notes
    -----
    P = idle + (tdp − idle) × [s × activity(u_prefill) + (1 − s) × activity(u_decode)].

    References
    ----------
    Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    A 700 W device (idle 100 W), 10 % of the time in prefill at u = 0.6, decode at u = 0.02,
    floor 0.5, u_half 0.1: activities 0.9286 and 0.5833, mix 0.6179, P = 100 + 600 × 0.6179 = 470.7 W.

    >>> round(pl.select(device_power_w(100.0, 700.0, 0.1, 0.6, 0.02, 0.5, 0.1)).item(), 1)
    470.7
    """
    s = _e(prefill_time_share)
    mix = s * activity(prefill_compute_utilization, power_floor, power_u_half) + (1.0 - s) * activity(
        decode_compute_utilization, power_floor, power_u_half
    )
    i = _e(idle_w)
    return (i + (_e(tdp_w) - i) * mix).alias("device_power_w")


def average_power_w(
    busy_power_w: Num = pl.col("accelerator_power_w"),
    idle_power_w: Num = pl.col("accelerator_idle_power_w"),
    utilization: Num = pl.col("utilization"),
) -> pl.Expr:
    """Power averaged over all paid hours, busy and idle [W].

    Parameters
    ----------
    busy_power_w : expr or float
        Power while producing tokens [W].
    idle_power_w : expr or float
        Power while idle with the model loaded [W].
    utilization : expr or float
        Busy share of time [fraction].

    Returns
    -------
    polars.Expr
        ``average_power_w`` [W].

    Notes
    -----
    P_avg = utilization × P_busy + (1 − utilization) × P_idle.

    References
    ----------
    Idle power with a model loaded: the hardware catalog's ``idle_w`` and its sources.

    Examples
    --------
    >>> pl.select(average_power_w(600.0, 100.0, 0.5)).item()
    350.0
    """
    u = _e(utilization)
    return (u * _e(busy_power_w) + (1.0 - u) * _e(idle_power_w)).alias("average_power_w")


def occupied_share(batch_mean: Num = pl.col("batch_mean")) -> pl.Expr:
    """Share of time a replica has at least one sequence in flight, from its mean batch [fraction].

    Parameters
    ----------
    batch_mean : expr or float
        Mean number of sequences in the replica under load [sequences] (``serving.latency_under_load``).

    Returns
    -------
    polars.Expr
        ``occupied_share`` [fraction].

    Notes
    -----
    With Poisson arrivals and continuous batching the number in service is close to Poisson with mean
    batch_mean (an M/G/∞ queue), so P(N ≥ 1) = 1 − exp(−batch_mean).

    References
    ----------
    Kleinrock, Queueing Systems Vol. 1 (1975): the M/G/∞ queue.

    Examples
    --------
    >>> round(pl.select(occupied_share(1.0)).item(), 4)
    0.6321
    """
    return (1.0 - (-_e(batch_mean)).exp()).alias("occupied_share")


def facility_power_w(
    accelerator_power_w: Num = pl.col("accelerator_power_w"),
    host_power_share: Num = pl.col("host_power_share"),
    pue: Num = pl.col("pue"),
) -> pl.Expr:
    """Power at the facility meter: devices, their host share, and the facility overhead [W].

    Parameters
    ----------
    accelerator_power_w : expr or float
        Devices' power [W].
    host_power_share : expr or float
        Host power over device power [fraction] (fitted; ``data/power_model.csv``).
    pue : expr or float
        Power usage effectiveness [ratio].

    Returns
    -------
    polars.Expr
        ``power_w`` [W].

    Notes
    -----
    power_w = accelerator_power_w × (1 + host_power_share) × pue. ``host_power_share`` is fitted on
    whole-server wall measurements (``data/power_model.csv``); pass pue = 1 for the server's wall plug.

    References
    ----------
    The Green Grid, PUE: a comprehensive examination of the metric (White Paper 49, 2012); host share: Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    >>> round(pl.select(facility_power_w(4000.0, 0.3, 1.2)).item(), 6)
    6240.0
    """
    return (_e(accelerator_power_w) * (1.0 + _e(host_power_share)) * _e(pue)).alias("power_w")


def j_per_output_token(
    power_w: Num = pl.col("power_w"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    utilization: Num = 1.0,
    idle_power_w: Num = 0.0,
) -> pl.Expr:
    """Energy per output token, idle hours charged to the tokens made in the busy ones [J].

    Parameters
    ----------
    power_w : expr or float
        Power while busy, in whatever scope the caller wants (devices alone or facility) [W].
    output_tokens_per_s : expr or float
        Output tokens/s while busy [tokens/s].
    utilization : expr or float
        Busy share of time [fraction]; 1 gives the energy of a saturated deployment.
    idle_power_w : expr or float
        Power while idle, same scope [W].

    Returns
    -------
    polars.Expr
        ``energy_j_per_output_token`` [J/token].

    Notes
    -----
    J/token = (u × P_busy + (1 − u) × P_idle) / (u × output_tokens_per_s).

    References
    ----------
    ML.ENERGY Leaderboard (energy per output token from GPU energy over the steady-state window).

    Examples
    --------
    >>> pl.select(j_per_output_token(600.0, 1200.0)).item()
    0.5
    >>> pl.select(j_per_output_token(600.0, 1200.0, 0.5, 100.0)).item()
    0.5833333333333334
    """
    u = _e(utilization)
    return ((u * _e(power_w) + (1.0 - u) * _e(idle_power_w)) / (u * _e(output_tokens_per_s))).alias(
        "energy_j_per_output_token"
    )


def kwh_per_million_output_tokens(energy_j_per_output_token: Num = pl.col("energy_j_per_output_token")) -> pl.Expr:
    """Energy of one million output tokens [kWh].

    Parameters
    ----------
    energy_j_per_output_token : expr or float
        Energy per output token [J].

    Returns
    -------
    polars.Expr
        ``kwh_per_million_output_tokens`` [kWh].

    Notes
    -----
    kWh / 1M = J/token × 1e6 / 3.6e6.

    References
    ----------
    SI: 1 kWh = 3.6e6 J.

    Examples
    --------
    >>> round(pl.select(kwh_per_million_output_tokens(0.36)).item(), 6)
    0.1
    """
    return (_e(energy_j_per_output_token) * 1e6 / J_PER_KWH).alias("kwh_per_million_output_tokens")


def g_co2e_per_request(
    energy_j_per_output_token: Num = pl.col("energy_j_per_output_token"),
    output_tokens: Num = pl.col("output_tokens"),
    grid_g_co2e_per_kwh: Num = pl.col("grid_g_co2e_per_kwh"),
) -> pl.Expr:
    """Operational CO₂e of one request [g].

    The energy per output token already carries the prefill, so a request costs output_tokens of them.

    Parameters
    ----------
    energy_j_per_output_token : expr or float
        Energy per output token, facility scope [J].
    output_tokens : expr or int
        Output tokens per request [tokens].
    grid_g_co2e_per_kwh : expr or float
        Carbon intensity [g CO₂e/kWh].

    Returns
    -------
    polars.Expr
        ``g_co2e_per_request`` [g CO₂e].

    Notes
    -----
    g = J/token × output_tokens / 3.6e6 × grid_g_co2e_per_kwh. The grid figure's definition
    (location-based operational, lifecycle, market-based) travels with it in ``grid_metric``.

    References
    ----------
    GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015) for location- vs market-based intensities; the grid figure's
    own source is in ``data/grid_carbon.csv``.

    Examples
    --------
    0.5 J/token × 500 tokens = 250 J = 6.944e-5 kWh; at 400 g/kWh: 0.02778 g.

    >>> round(pl.select(g_co2e_per_request(0.5, 500, 400.0)).item(), 5)
    0.02778
    """
    return (_e(energy_j_per_output_token) * _e(output_tokens) / J_PER_KWH * _e(grid_g_co2e_per_kwh)).alias(
        "g_co2e_per_request"
    )


def g_co2e_per_request_embodied(
    kg_co2e_per_device: Num = pl.col("kg_co2e_per_device"),
    n_devices: Num = pl.col("n_devices"),
    lifetime_years: Num = pl.col("lifetime_years"),
    utilization: Num = pl.col("utilization"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    output_tokens: Num = pl.col("output_tokens"),
) -> pl.Expr:
    """Embodied (manufacturing) CO₂e of the devices, amortized over the requests of their life [g].

    Parameters
    ----------
    kg_co2e_per_device : expr or float
        Cradle-to-gate footprint of one device [kg CO₂e] (``embodied_carbon`` catalog).
    n_devices : expr or int
        Devices [count].
    lifetime_years : expr or float
        Service life [years].
    utilization : expr or float
        Busy share of that life [fraction].
    output_tokens_per_s, output_tokens
        Deployment throughput while busy [tokens/s] and tokens per request [tokens].

    Returns
    -------
    polars.Expr
        ``g_co2e_per_request_embodied`` [g CO₂e].

    Notes
    -----
    requests in a life = lifetime_years × 8760 × 3600 × utilization × output_tokens_per_s / output_tokens;
    g = kg_co2e_per_device × 1000 × n_devices / requests.

    References
    ----------
    ``data/embodied_carbon.csv`` and its sources (cradle-to-gate figures; scope column).

    Examples
    --------
    1,000 kg over 5 years at 50 %, 1,000 tokens/s, 500 tokens per request:
    requests = 5 × 31,536,000 × 0.5 × 2 = 157,680,000; 1e6 g / 157.68e6 = 0.006342 g.

    >>> round(pl.select(g_co2e_per_request_embodied(1000.0, 1, 5.0, 0.5, 1000.0, 500)).item(), 6)
    0.006342
    """
    requests = _e(lifetime_years) * _SECONDS_PER_YEAR * _e(utilization) * _e(output_tokens_per_s) / _e(output_tokens)
    return (_e(kg_co2e_per_device) * 1000.0 * _e(n_devices) / requests).alias("g_co2e_per_request_embodied")


# ---------------------------------------------------------------- catalog helpers


def peak_tflops(frame: pl.DataFrame, hardware: pl.DataFrame, precisions: pl.DataFrame) -> pl.DataFrame:
    """Add ``peak_tflops``: each row's device peak at its ``precision`` [TFLOP/s].

    The precision's ``native_peak_column`` of the hardware row, or its ``fallback_peak_column`` where the
    native one is null (the dtype the weights are dequantized to).

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with ``hardware`` and ``precision``.
    hardware, precisions : polars.DataFrame
        The catalogs (or users' versions).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``peak_tflops`` [TFLOP/s].

    Notes
    -----
    peak = hardware[native_peak_column] if not null else hardware[fallback_peak_column].

    References
    ----------
    ``data/precisions.csv`` (native and fallback peak columns) and ``data/hardware.csv``.

    Examples
    --------
    >>> hw = pl.DataFrame({"id": ["g"], "bf16_tflops": [100.0], "fp8_tflops": [None]}, schema_overrides={"fp8_tflops": pl.Float64})
    >>> pr = pl.DataFrame({"id": ["fp8"], "native_peak_column": ["fp8_tflops"], "fallback_peak_column": ["bf16_tflops"]})
    >>> peak_tflops(pl.DataFrame({"hardware": ["g"], "precision": ["fp8"]}), hw, pr)["peak_tflops"].item()
    100.0
    """
    cols = sorted(set(precisions["native_peak_column"].to_list()) | set(precisions["fallback_peak_column"].to_list()))
    cols = [c for c in cols if c in hardware.columns]
    hw = hardware.select(pl.col("id").alias("_hw"), *[pl.col(c).alias(f"_pk_{c}") for c in cols])
    pr = precisions.select(pl.col("id").alias("_pr"), pl.col("native_peak_column").alias("_nat"), pl.col("fallback_peak_column").alias("_fb"))
    out = frame.join(hw, left_on="hardware", right_on="_hw", how="left").join(pr, left_on="precision", right_on="_pr", how="left")

    def pick(which: str) -> pl.Expr:
        e = pl.lit(None, pl.Float64)
        for c in cols:
            e = pl.when(pl.col(which) == c).then(pl.col(f"_pk_{c}")).otherwise(e)
        return e

    out = out.with_columns(pl.coalesce(pick("_nat"), pick("_fb")).alias("peak_tflops"))
    return out.drop([f"_pk_{c}" for c in cols] + ["_nat", "_fb"])


@functools.cache
def power_model() -> pl.DataFrame:
    """The shipped power-model parameters (``data/power_model.csv``).

    Parameters
    ----------
    None

    Returns
    -------
    polars.DataFrame
        One row per parameter (``parameter``, ``applies_to``, ``value``, fit errors).

    Notes
    -----
    Cached; regenerate with ``fit_power_model().write_csv('data/power_model.csv')``.

    References
    ----------
    Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    >>> set(power_model()["parameter"]) >= {"power_floor", "power_u_half", "host_power_share"}
    True
    """
    from . import catalog

    return catalog.load("power_model")


def power_parameters(frame: pl.DataFrame, params: pl.DataFrame | None = None) -> pl.DataFrame:
    """Add ``power_floor``, ``power_u_half`` and ``host_power_share`` to scenarios.

    ``power_floor`` is per hardware ``family`` (the frame's ``family`` column); families without a fitted
    row get the ``default`` row (fitted on all families together). ``host_power_share`` is per system class
    ``server`` (datacenter, workstation), ``desktop`` (consumer) or ``soc`` (edge, apple: the meter's device
    is the whole system), from the frame's ``category`` column.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with ``family`` and ``category`` (hardware catalog columns).
    params : polars.DataFrame, optional
        Power-model parameters (default: :func:`power_model`).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``power_floor``, ``power_u_half``, ``host_power_share`` [fraction].

    Notes
    -----
    A family without a fitted floor takes the ``default`` row; a class without a host share the server's.

    References
    ----------
    Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    >>> p = pl.DataFrame({"parameter": ["power_floor", "power_floor", "power_u_half", "host_power_share"],
    ...     "applies_to": ["default", "hopper", "default", "server"], "value": [0.5, 0.4, 0.1, 0.3]})
    >>> f = power_parameters(pl.DataFrame({"family": ["hopper", "ada"], "category": ["datacenter", "datacenter"]}), p)
    >>> f["power_floor"].to_list(), f["host_power_share"].to_list()
    ([0.4, 0.5], [0.3, 0.3])
    """
    from . import catalog

    frame = catalog.id_columns(frame, [c for c in ("family", "category") if c in frame.columns], "power_parameters")
    p = power_model() if params is None else params

    def one(name: str, key: str | None) -> pl.DataFrame | float:
        rows = p.filter(pl.col("parameter") == name)
        if key is None:
            return float(rows.filter(pl.col("applies_to") == "default")["value"].item())
        return rows.select(pl.col("applies_to").alias(key), pl.col("value").alias(name))

    default_floor = one("power_floor", None)
    u_half = one("power_u_half", None)
    hosts = p.filter(pl.col("parameter") == "host_power_share")
    server_share = float(hosts.filter(pl.col("applies_to") == "server")["value"].item())
    out = frame.join(one("power_floor", "family"), on="family", how="left") if "family" in frame.columns else frame.with_columns(
        pl.lit(None, pl.Float64).alias("power_floor")
    )
    cls = (
        pl.when(pl.col("category").is_in(["edge", "apple"]))
        .then(pl.lit("soc"))
        .when(pl.col("category") == "consumer")
        .then(pl.lit("desktop"))
        .otherwise(pl.lit("server"))
        if "category" in frame.columns
        else pl.lit("server")
    )
    out = out.with_columns(cls.alias("_cls")).join(
        hosts.select(pl.col("applies_to").alias("_cls"), pl.col("value").alias("host_power_share")), on="_cls", how="left"
    )
    return out.with_columns(
        pl.col("power_floor").fill_null(default_floor),
        pl.lit(u_half).alias("power_u_half"),
        pl.col("host_power_share").fill_null(server_share),
    ).drop("_cls")


# ---------------------------------------------------------------- measurements and fit


def measurements() -> pl.DataFrame:
    """The shipped energy measurements (``data/energy_measurements.csv``).

    Parameters
    ----------
    None

    Returns
    -------
    polars.DataFrame
        The catalog ``energy_measurements`` (columns in ``data/columns/energy_measurements.csv``).

    Notes
    -----
    Carried from ``shared/reference/energy/energy_calibration.csv`` with ids, sources and the meter's scope
    (gpu_only, wall, wall_peak) kept apart.

    References
    ----------
    ML.ENERGY Leaderboard v1–v3; MLPerf Inference power results; J. Geerling's ai-benchmarks.

    Examples
    --------
    >>> m = measurements()
    >>> sorted(m["power_scope"].unique().to_list())
    ['gpu_only', 'wall', 'wall_peak']
    """
    from . import catalog

    return catalog.load("energy_measurements")


def _fit_frame(meas: pl.DataFrame, hardware: pl.DataFrame, models: pl.DataFrame, precisions: pl.DataFrame) -> pl.DataFrame:
    """Measurement rows with device power, compute utilization and the hardware columns the model needs."""
    known = meas.filter(
        pl.col("power_w").is_not_null()
        & pl.col("hardware").is_in(hardware["id"].implode())
        & pl.col("model").is_in(models["id"].implode())
        & pl.col("precision").is_in(precisions["id"].implode())
        & pl.col("throughput_unit").is_in(["output_tokens_per_s", "output_tokens_per_s_per_request", "samples_per_s"])
    )
    hw = hardware.select(
        pl.col("id").alias("hardware"), "idle_w", "tdp_w", "family", "category", *[c for c in hardware.columns if c.endswith(("_tflops", "_tops"))]
    )
    md = models.select(pl.col("id").alias("model"), "active_params_b", "gflops_per_item", "task")
    f = peak_tflops(known.join(hw, on="hardware", how="left").join(md, on="model", how="left"), hardware, precisions)
    per_req = pl.col("throughput_unit") == "output_tokens_per_s_per_request"
    tput = pl.when(per_req).then(pl.col("throughput") * pl.col("batch_size").fill_null(1)).otherwise(pl.col("throughput"))
    flops = (
        pl.when(pl.col("throughput_unit") == "samples_per_s")
        .then(tput * pl.col("gflops_per_item") * 1e9)
        .otherwise(2.0 * pl.col("active_params_b") * 1e9 * tput)
    )
    f = f.with_columns((flops / (pl.col("n_devices") * pl.col("peak_tflops") * 1e12)).alias("compute_utilization"))
    return f.filter(pl.col("compute_utilization").is_not_null() & pl.col("compute_utilization").is_finite())


def _device_power_np(u, idle, tdp, floor, u_half):
    a = floor + (1.0 - floor) * u / (u + u_half)
    return idle + (tdp - idle) * np.clip(a, 0.0, 1.0)


def _system_class(category: pl.Expr) -> pl.Expr:
    return (
        pl.when(category.is_in(["edge", "apple"])).then(pl.lit("soc")).when(category == "consumer").then(pl.lit("desktop")).otherwise(pl.lit("server"))
    )


def fit_power_model(
    meas: pl.DataFrame | None = None,
    hardware: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
    precisions: pl.DataFrame | None = None,
    as_of: str = "2026-12-01",
) -> pl.DataFrame:
    """Fit the power model on measurements; return parameter rows like ``data/power_model.csv``.

    Steps:

    1. GPU-only rows (``power_scope = gpu_only``): per-device power = power_w / n_devices; compute
       utilization from the measured throughput (decode FLOPs only: input lengths are mostly
       unpublished, so prefill share is taken as 0). Least squares on the relative error of
       :func:`device_power_w` over one ``power_floor`` per hardware family and one shared
       ``power_u_half``; a ``default`` floor is fitted over all rows together for families
       without measurements.
    2. Wall rows (``power_scope = wall``): the fitted device power times n_devices is compared
       with the wall reading; per system class (server, desktop, soc) ``host_power_share`` =
       exp(mean(log(P_wall / P_devices))) − 1 (the least-squares fit in log space), floored at 0.
       Only text-generation rows are fitted (the device model is calibrated on LLM serving; the
       non-LLM wall rows, often power-capped MaxQ systems, are reported by
       :func:`power_fit_residuals` as a check). A class without LLM wall rows gets a documented
       convention row (desktop: the server share; soc: 0, the package TDP covers what the meter
       sees), source ``infer-econ-conventions``. ``wall_peak`` rows (upper bounds) are not fitted.

    Each row carries ``n_rows`` and the median and 90th-percentile absolute percentage error of the
    fitted power on the rows it was fitted on (power, not J/token, is what the model predicts; the
    J/token error equals it when the measured throughput is used).

    Parameters
    ----------
    meas : polars.DataFrame, optional
        Measurements (default :func:`measurements`).
    hardware, models, precisions : polars.DataFrame, optional
        Catalogs (default: shipped).
    as_of : str
        Date stamped on the rows.

    Returns
    -------
    polars.DataFrame
        Parameter rows in the schema of ``data/columns/power_model.csv``.

    Notes
    -----
    Minimizes Σ ((P_model − P_measured) / P_measured)² (scipy least_squares); host share by the
    geometric mean of wall / device ratios.

    References
    ----------
    Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    >>> fit = fit_power_model()
    >>> sorted(set(fit["parameter"]))
    ['host_power_share', 'power_floor', 'power_u_half']
    """
    from scipy.optimize import least_squares

    from . import catalog

    meas = measurements() if meas is None else meas
    hardware = catalog.load("hardware") if hardware is None else hardware
    models = catalog.load("models") if models is None else models
    precisions = catalog.load("precisions") if precisions is None else precisions
    f = _fit_frame(meas, hardware, models, precisions)
    g = f.filter(pl.col("power_scope") == "gpu_only").with_columns((pl.col("power_w") / pl.col("n_devices")).alias("_p"))
    if g.height < 3:
        raise ValidationError(f"power model: {g.height} usable gpu_only rows; at least 3 are needed")
    fams = sorted(set(g["family"].to_list()))
    fi = np.array([fams.index(x) for x in g["family"].to_list()])
    u, p = g["compute_utilization"].to_numpy(), g["_p"].to_numpy()
    idle, tdp = g["idle_w"].to_numpy(), g["tdp_w"].to_numpy()

    def res_family(x):
        return (_device_power_np(u, idle, tdp, x[fi], x[-1]) - p) / p

    nf = len(fams)
    fit = least_squares(res_family, [0.5] * nf + [0.05], bounds=([0.0] * nf + [1e-4], [1.0] * nf + [10.0]))
    floors, u_half = fit.x[:nf], float(fit.x[-1])
    fit_d = least_squares(lambda x: (_device_power_np(u, idle, tdp, x[0], u_half) - p) / p, [0.5], bounds=([0.0], [1.0]))
    err = np.abs(res_family(fit.x))
    err_default = np.abs((_device_power_np(u, idle, tdp, fit_d.x[0], u_half) - p) / p)

    def row(parameter, applies_to, value, unit, e, note):
        return {
            "id": f"{parameter}:{applies_to}",
            "parameter": parameter,
            "applies_to": applies_to,
            "value": float(value),
            "unit": unit,
            "power_scope": "gpu_only" if parameter != "host_power_share" else "wall",
            "n_rows": int(len(e)),
            "median_abs_pct_error": float(np.median(e) * 100) if len(e) else None,
            "p90_abs_pct_error": float(np.percentile(e, 90) * 100) if len(e) else None,
            "source": "infer-econ-fit",
            "as_of": as_of,
            "notes": note,
        }

    rows = [row("power_u_half", "default", u_half, "fraction", err, "compute utilization at half activity; shared by all families")]
    rows.append(row("power_floor", "default", fit_d.x[0], "fraction", err_default, "fitted on all gpu_only rows with the shared u_half; used for families without measurements"))
    for k, fam in enumerate(fams):
        rows.append(row("power_floor", fam, floors[k], "fraction", err[fi == k], f"activity of memory-bound work in family {fam}"))

    # wall rows through the host-overhead model
    floor_of = dict(zip(fams, floors))
    w = f.filter((pl.col("power_scope") == "wall") & (pl.col("task") == "text-generation")).with_columns(
        _system_class(pl.col("category")).alias("_cls")
    )
    if w.height:
        wf = np.array([floor_of.get(x, fit_d.x[0]) for x in w["family"].to_list()])
        dev = _device_power_np(w["compute_utilization"].to_numpy(), w["idle_w"].to_numpy(), w["tdp_w"].to_numpy(), wf, u_half)
        ratio = w["power_w"].to_numpy() / (dev * w["n_devices"].to_numpy())
        cls = np.array(w["_cls"].to_list())
        for c in ("server", "desktop", "soc"):
            m = cls == c
            if not m.any():
                continue
            share = max(0.0, float(np.exp(np.mean(np.log(ratio[m]))) - 1.0))
            e = np.abs((1.0 + share) / ratio[m] - 1.0)
            rows.append(row("host_power_share", c, share, "fraction", e, f"host (CPUs; fans; NICs; PSU losses) power over accelerator power; system class {c}"))
    fitted = {r["applies_to"] for r in rows if r["parameter"] == "host_power_share"}
    if "server" not in fitted:
        raise ValidationError("power model: no LLM wall rows of class 'server' to fit host_power_share on")
    server = next(r["value"] for r in rows if r["id"] == "host_power_share:server")
    if "desktop" not in fitted:
        r = row("host_power_share", "desktop", server, "fraction", np.array([]), "no LLM wall measurement of a desktop: the server share is used")
        rows.append(r | {"source": "infer-econ-conventions"})
    if "soc" not in fitted:
        r = row("host_power_share", "soc", 0.0, "fraction", np.array([]), "a system-on-chip's TDP covers the package the meter sees: no host share")
        rows.append(r | {"source": "infer-econ-conventions"})
    return pl.DataFrame(rows)


def power_fit_residuals(
    params: pl.DataFrame | None = None,
    meas: pl.DataFrame | None = None,
    hardware: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
    precisions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Predicted vs measured power for every usable measurement row, with its scope.

    Returns one row per measurement: ``id``, ``power_scope``, ``measured_w``, ``predicted_w`` (devices alone
    for gpu_only rows, devices × (1 + host share) for wall and wall_peak rows) and ``pct_error``.

    Parameters
    ----------
    params : polars.DataFrame, optional
        Power-model parameters (default: shipped).
    meas, hardware, models, precisions : polars.DataFrame, optional
        As in :func:`fit_power_model`.

    Returns
    -------
    polars.DataFrame
        ``id``, ``power_scope`` (gpu_only, wall, wall_peak), ``measured_w`` [W], ``predicted_w`` [W],
        ``pct_error`` [%], one row per usable measurement.

    Notes
    -----
    pct_error = (predicted / measured − 1) × 100.

    References
    ----------
    Parameters fitted by :func:`fit_power_model` on ``data/energy_measurements.csv`` (ML.ENERGY Leaderboard
    v3 GPU-only batch sweeps; MLPerf Inference power results at the wall); errors in ``data/power_model.csv``.

    Examples
    --------
    >>> r = power_fit_residuals()
    >>> bool((r.filter(pl.col("power_scope") == "gpu_only")["pct_error"].abs().median()) < 25)
    True
    """
    from . import catalog

    meas = measurements() if meas is None else meas
    hardware = catalog.load("hardware") if hardware is None else hardware
    models = catalog.load("models") if models is None else models
    precisions = catalog.load("precisions") if precisions is None else precisions
    f = power_parameters(_fit_frame(meas, hardware, models, precisions), params)
    dev = device_power_w(prefill_time_share=0.0, prefill_compute_utilization=0.0, decode_compute_utilization=pl.col("compute_utilization"))
    pred = pl.when(pl.col("power_scope") == "gpu_only").then(dev * pl.col("n_devices")).otherwise(
        facility_power_w(dev * pl.col("n_devices"), pl.col("host_power_share"), 1.0)  # the wall meter: host share, no PUE
    )
    return f.select(
        "id", "power_scope", "hardware", "model", pl.col("power_w").alias("measured_w"), pred.alias("predicted_w")
    ).with_columns(((pl.col("predicted_w") / pl.col("measured_w") - 1.0) * 100).alias("pct_error"))


def output_tokens_per_s_per_w(
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    power_w: Num = pl.col("power_w"),
) -> pl.Expr:
    """Throughput per watt of the deployment [tokens/s/W] (= output tokens per joule).

    Parameters
    ----------
    output_tokens_per_s : expr [tokens/s]
        Output throughput of the deployment.
    power_w : expr [W]
        Its power at the meter of your choice (``power_w``: facility;
        ``accelerator_power_w``: the devices alone).

    Returns
    -------
    polars.Expr [tokens/s/W], named ``output_tokens_per_s_per_w``.

    Notes
    -----
    ``output_tokens_per_s / power_w``, which is ``1 / energy_j_per_output_token``
    at the same meter.

    References
    ----------
    MLCommons, MLPerf Inference power results report performance per watt the same way.

    Examples
    --------
    >>> df = pl.DataFrame({"output_tokens_per_s": [10_000.0], "power_w": [2_500.0]})
    >>> df.select(output_tokens_per_s_per_w()).item()
    4.0
    """
    return (_e(output_tokens_per_s) / _e(power_w)).alias("output_tokens_per_s_per_w")
