"""Uncertainty bands: Monte Carlo over documented priors, draws × scenarios as one frame.

:func:`bands` takes a frame that :func:`infer_econ.pipeline.add_economics` produced and
adds ``<metric>_p10``, ``_p50`` and ``_p90`` for :data:`METRICS`. Each draw perturbs
the inputs below, then the metrics are recomputed with the same functions of
:mod:`infer_econ.cost` and :mod:`infer_econ.energy` that made the point values
(no formula is repeated here):

=========================== =====================================================================
input                        prior (see :func:`priors`)
=========================== =====================================================================
output_tokens_per_s          log-normal, σ from the estimator's calibration residuals
                             (``calibrate.predict``: 1.4826 × MAD of log(predicted / measured));
                             the ``throughput_rel_sd`` default where those are unavailable
accelerator power            log-normal on the part above idle, σ = median abs. error of the power fit / 0.6745
                             (``data/power_model.csv``)
pue                          triangular(min, value, max) over the ``pue`` catalog's figures for 2020 on
grid_g_co2e_per_kwh          log-normal, σ = ``grid_intensity_rel_sd`` default
spot usd_per_device_hour     log-normal, σ = ``spot_price_rel_sd`` default (other rented prices fixed)
owned capex                  uniform over the ``hardware_prices`` range, when the catalog price is used
owned interest, years,       uniform over the documented low–high range, when the row uses the
hosting, ops                 default (a value the user gave is held fixed)
=========================== =====================================================================

Draws are independent between inputs; the seed makes them reproducible.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl

from . import cost, defaults, energy
from .errors import ValidationError

__all__ = ["METRICS", "priors", "throughput_log_sigma", "power_log_sigma", "draws_frame", "bands"]

#: metrics that get bands
METRICS = [
    "usd_per_million_output_tokens",
    "usd_per_request",
    "energy_j_per_output_token",
    "kwh_per_million_output_tokens",
    "g_co2e_per_request",
]
_QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
#: columns of an evaluated frame the draws read
_USED = [
    "n_devices", "output_tokens", "output_tokens_per_s", "utilization", "usd_per_device_hour", "price_model",
    "price_source", "accelerator_average_power_w", "served_output_tokens_per_s", "accelerator_idle_power_w", "host_power_share", "pue", "grid_g_co2e_per_kwh",
    "capex_usd_per_device", "catalog_capex_usd_per_device", "capex_usd_per_device_low", "capex_usd_per_device_high",
    "depreciation_years", "interest_rate", "hosting_usd_per_kw_month", "ops_usd_per_device_year",
    "electricity_usd_per_kwh", "_provisioned_w",
]


@functools.cache
def throughput_log_sigma() -> tuple[float, str]:
    """σ of log(throughput error) and where it came from.

    From the estimator's calibration residuals when :func:`infer_econ.calibrate.predict` runs
    (robust: 1.4826 × median absolute deviation of log(predicted / measured)), else the
    ``throughput_rel_sd`` default.

    Parameters
    ----------
    None

    Returns
    -------
    tuple of (float, str)
        σ [log units] and its origin.

    Notes
    -----
    σ = 1.4826 × median(|r − median(r)|), r = log(predicted / measured).

    References
    ----------
    Robust scale estimate (normal-consistent MAD); residuals from :func:`infer_econ.calibrate.predict`.

    Examples
    --------
    >>> s, origin = throughput_log_sigma()
    >>> 0 < s < 2, origin in ("calibration residuals", "default throughput_rel_sd")
    (True, True)
    """
    try:
        from . import calibrate

        p = calibrate.predict().filter(pl.col("predicted").is_not_null() & (pl.col("predicted") > 0) & (pl.col("measured") > 0))
        r = np.log(p["predicted"].to_numpy() / p["measured"].to_numpy())
        if len(r) >= 20:
            return float(1.4826 * np.median(np.abs(r - np.median(r)))), "calibration residuals"
    except Exception:  # calibration unavailable: fall back to the documented default
        pass
    return float(defaults.value("throughput_rel_sd")), "default throughput_rel_sd"


def power_log_sigma(params: pl.DataFrame | None = None) -> float:
    """σ of log(power error): the power fit's median absolute % error / 0.6745 (normal MAD).

    Parameters
    ----------
    params : polars.DataFrame, optional
        Power-model parameters (default: shipped).

    Returns
    -------
    float
        σ [log units].

    Notes
    -----
    For a normal error the median absolute deviation is 0.6745 σ.

    References
    ----------
    ``data/power_model.csv`` (fit errors).

    Examples
    --------
    >>> 0 < power_log_sigma() < 1
    True
    """
    p = energy.power_model() if params is None else params
    row = p.filter(pl.col("id") == "power_u_half:default")
    return float(row["median_abs_pct_error"].item()) / 100.0 / 0.6745


def priors(catalogs: dict | None = None) -> pl.DataFrame:
    """The priors :func:`bands` draws from, one row per input (name, distribution, parameters, source).

    Parameters
    ----------
    catalogs : dict, optional
        Catalog frames replacing shipped ones.

    Returns
    -------
    polars.DataFrame
        ``input``, ``distribution``, ``sigma``, ``low``, ``high``, ``source``.

    Notes
    -----
    Log-normal priors have median 1 × the point value.

    References
    ----------
    ``data/defaults.csv``; ``data/pue.csv``; ``data/power_model.csv``; calibration residuals.

    Examples
    --------
    >>> "output_tokens_per_s" in priors()["input"].to_list()
    True
    """
    from .pipeline import _cat

    s_tp, origin = throughput_log_sigma()
    pue = _recent_pue(_cat("pue", catalogs))
    rows = [
        ("output_tokens_per_s", "lognormal", s_tp, None, None, origin),
        ("accelerator_power_w", "lognormal", power_log_sigma(_cat("power_model", catalogs)), None, None, "power-model fit error (data/power_model.csv)"),
        ("pue", "triangular", None, float(pue.min()), float(pue.max()), "pue catalog range (figures for 2020 on); mode = the row's value"),
        ("grid_g_co2e_per_kwh", "lognormal", defaults.value("grid_intensity_rel_sd"), None, None, "default grid_intensity_rel_sd"),
        ("spot usd_per_device_hour", "lognormal", defaults.value("spot_price_rel_sd"), None, None, "default spot_price_rel_sd"),
        ("capex_usd_per_device", "uniform", None, None, None, "hardware_prices range of the row's hardware"),
    ]
    for name in ("interest_rate", "depreciation_years", "hosting_usd_per_kw_month", "ops_usd_per_device_year"):
        lo, hi = defaults.range_of(name)
        rows.append((name, "uniform", None, lo, hi, f"default {name} range"))
    return pl.DataFrame(rows, schema=["input", "distribution", "sigma", "low", "high", "source"], orient="row")


#: columns of an evaluated frame the draws cannot do without (the owned-TCO ones are optional)
_REQUIRED = [
    "n_devices", "output_tokens", "output_tokens_per_s", "utilization", "usd_per_device_hour", "price_model",
    "accelerator_average_power_w", "served_output_tokens_per_s", "accelerator_idle_power_w", "host_power_share",
    "pue", "grid_g_co2e_per_kwh",
]


def _check_draw_inputs(frame: pl.DataFrame, draws: object, seed: object, where: str, min_draws: int, why: str) -> None:
    for name, v in (("draws", draws), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValidationError(f"{where}: {name} must be a whole number, got {v!r}")
    if draws < min_draws:
        raise ValidationError(f"draws: {draws} is too few {why} (at least {min_draws})")
    if seed < 0:
        raise ValidationError(f"{where}: seed must be >= 0, got {seed}")
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValidationError(f"{where}: missing column(s) {missing}; pass the output of infer_econ.evaluate / add_economics")


def _recent_pue(pue: pl.DataFrame) -> pl.Series:
    recent = pue.filter(pl.col("year") >= 2020)["pue"]
    return recent if recent.len() else pue["pue"]


def _lognormal(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    # median 1: the point estimate stays the p50 of an unbiased input
    return np.exp(rng.normal(0.0, sigma, size))


def draws_frame(frame: pl.DataFrame, draws: int = 1000, seed: int = 0, catalogs: dict | None = None) -> pl.DataFrame:
    """All draws of all scenarios as one long frame (``_scenario``, ``_draw`` and the perturbed metrics).

    Vectorized: the random inputs are numpy arrays of length scenarios × draws, the metrics polars
    expressions on the long frame.

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`infer_econ.pipeline.add_economics`.
    draws : int
        Draws per scenario.
    seed : int
        Random seed.
    catalogs : dict, optional
        Catalog frames replacing shipped ones.

    Returns
    -------
    polars.DataFrame
        scenarios × draws rows: ``_scenario``, ``_draw`` and :data:`METRICS`.

    Notes
    -----
    Metrics recomputed with :mod:`infer_econ.cost` and :mod:`infer_econ.energy` on the perturbed inputs.
    Common random numbers: draw k of every scenario uses the same random inputs, so a scenario's
    bands are the same alone, in a batch or in another row order (and differences between
    scenarios carry less noise).

    References
    ----------
    See the module docstring for each prior's source.

    Examples
    --------
    >>> f = pl.DataFrame({"n_devices": [1], "output_tokens": [100], "output_tokens_per_s": [1000.0],
    ...     "utilization": [1.0], "usd_per_device_hour": [2.0], "price_model": ["on_demand"],
    ...     "accelerator_average_power_w": [500.0], "served_output_tokens_per_s": [1000.0],
    ...     "accelerator_idle_power_w": [100.0], "host_power_share": [0.3],
    ...     "pue": [1.2], "grid_g_co2e_per_kwh": [400.0]})
    >>> draws_frame(f, draws=10).height
    10
    """
    from .pipeline import _cat

    _check_draw_inputs(frame, draws, seed, "draws_frame", 1, "for draws_frame")
    rng = np.random.default_rng(seed)
    n = frame.height
    need = [c for c in _USED if c in frame.columns]
    idx = np.repeat(np.arange(n), draws)
    long = frame.select(need)[idx].with_columns(
        pl.Series("_scenario", idx, dtype=pl.UInt32), pl.Series("_draw", np.tile(np.arange(draws), n))
    )
    s_tp, _ = throughput_log_sigma()
    pue_cat = _recent_pue(_cat("pue", catalogs))
    pmin, pmax = float(pue_cat.min()), float(pue_cat.max())
    mode = long["pue"].to_numpy().astype(float)
    lo, hi = np.minimum(pmin, mode), np.maximum(pmax, mode)
    # common random numbers: draw k uses the same random inputs in every scenario, so a scenario's bands
    # do not depend on which other rows share the frame, nor on their order
    def per_draw(x: np.ndarray) -> np.ndarray:
        return np.tile(x, n)

    # triangular needs lo < hi; where equal the value is fixed (inverse CDF of a shared uniform)
    hi_adj = np.where(hi > lo, hi, lo + 1e-12)
    c = np.clip(mode, lo, hi_adj)
    u = per_draw(rng.random(draws))
    left = u < (c - lo) / (hi_adj - lo)
    pue = np.where(left, lo + np.sqrt(u * (hi_adj - lo) * (c - lo)), hi_adj - np.sqrt((1 - u) * (hi_adj - lo) * (hi_adj - c)))
    cols = {
        "_f_tp": per_draw(_lognormal(rng, s_tp, draws)),
        "_f_pw": per_draw(_lognormal(rng, power_log_sigma(_cat("power_model", catalogs)), draws)),
        "_pue": pue,
        "_f_grid": per_draw(_lognormal(rng, defaults.value("grid_intensity_rel_sd"), draws)),
        "_f_spot": per_draw(_lognormal(rng, defaults.value("spot_price_rel_sd"), draws)),
        "_u01_capex": per_draw(rng.random(draws)),
    }
    for name in ("interest_rate", "depreciation_years", "hosting_usd_per_kw_month", "ops_usd_per_device_year"):
        lo_, hi_ = defaults.range_of(name)
        cols[f"_d_{name}"] = per_draw(rng.uniform(lo_, hi_, draws))
    long = long.with_columns(pl.Series(k, v) for k, v in cols.items())

    tps = pl.col("output_tokens_per_s") * pl.col("_f_tp")
    idle = pl.col("accelerator_idle_power_w")
    # the power error scales the part above idle; served tokens scale with the throughput error
    acc_avg = idle + (pl.col("accelerator_average_power_w") - idle) * pl.col("_f_pw")
    long = long.with_columns(
        tps.alias("_tps"),
        acc_avg.alias("_acc_avg_w"),
        (pl.col("served_output_tokens_per_s") * pl.col("_f_tp")).alias("_served"),
        energy.facility_power_w(acc_avg, pl.col("host_power_share"), pl.col("_pue")).alias("_avg_w"),
    )
    # price per device-hour
    price = pl.when(pl.col("price_model") == "spot").then(pl.col("usd_per_device_hour") * pl.col("_f_spot")).otherwise(pl.col("usd_per_device_hour"))
    if "capex_usd_per_device" in long.columns and "catalog_capex_usd_per_device" in long.columns:
        owned_row = (pl.col("price_model") == "owned") & (pl.col("price_source") == "owned:tco")

        def vary(name: str) -> pl.Expr:
            return pl.when(pl.col(name) == defaults.value(name)).then(pl.col(f"_d_{name}")).otherwise(pl.col(name))

        from_catalog = pl.col("capex_usd_per_device") == pl.col("catalog_capex_usd_per_device")
        capex = pl.when(from_catalog).then(
            pl.col("capex_usd_per_device_low") + pl.col("_u01_capex") * (pl.col("capex_usd_per_device_high") - pl.col("capex_usd_per_device_low"))
        ).otherwise(pl.col("capex_usd_per_device"))
        avg = pl.col("_acc_avg_w") / pl.col("n_devices")
        # the whole TCO is recomputed with the perturbed inputs; provisioned power (TDP × (1 + host share),
        # ``_provisioned_w``, added by :func:`bands`) is not perturbed
        own = cost.owned_usd_per_device_hour(
            capex_usd_per_device=capex,
            depreciation_years=vary("depreciation_years"),
            interest_rate=vary("interest_rate"),
            average_power_w_per_device=energy.facility_power_w(avg, pl.col("host_power_share"), 1.0),
            provisioned_power_w_per_device=pl.col("_provisioned_w"),
            pue=pl.col("_pue"),
            electricity_usd_per_kwh=pl.col("electricity_usd_per_kwh"),
            hosting_usd_per_kw_month=vary("hosting_usd_per_kw_month"),
            ops_usd_per_device_year=vary("ops_usd_per_device_year"),
        )
        if "_provisioned_w" not in long.columns:
            long = long.with_columns(pl.lit(None, pl.Float64).alias("_provisioned_w"))
        price = pl.when(owned_row & pl.col("_provisioned_w").is_not_null()).then(own).otherwise(price)
    long = long.with_columns(cost.usd_per_hour(price))
    long = long.with_columns(
        cost.usd_per_million_output_tokens(pl.col("usd_per_hour"), pl.col("_tps"), pl.col("utilization")),
        cost.usd_per_request(pl.col("usd_per_hour"), pl.col("_tps"), pl.col("utilization"), pl.col("output_tokens")),
        energy.j_per_output_token(pl.col("_avg_w"), pl.col("_served")),
    ).with_columns(
        energy.kwh_per_million_output_tokens(),
        energy.g_co2e_per_request(
            pl.col("energy_j_per_output_token"), pl.col("output_tokens"), pl.col("grid_g_co2e_per_kwh") * pl.col("_f_grid")
        ),
    )
    return long.select("_scenario", "_draw", *METRICS)


def bands(frame: pl.DataFrame, draws: int = 1000, seed: int = 0, catalogs: dict | None = None) -> pl.DataFrame:
    """Add ``<metric>_p10``, ``_p50``, ``_p90`` for each of :data:`METRICS`.

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :func:`infer_econ.pipeline.add_economics` (or ``evaluate``).
    draws : int
        Monte Carlo draws per scenario (memory: about 20 floats × scenarios × draws).
    seed : int
        Random seed; the same seed gives the same bands.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``<metric>_p10``, ``_p50``, ``_p90`` for each of :data:`METRICS`.

    Notes
    -----
    Linear-interpolated quantiles of the draws per scenario.

    References
    ----------
    Issue 8, capability 8.

    Examples
    --------
    >>> f = pl.DataFrame({"n_devices": [4], "output_tokens": [250], "output_tokens_per_s": [10000.0],
    ...     "utilization": [1.0], "usd_per_device_hour": [2.0], "price_model": ["on_demand"],
    ...     "accelerator_average_power_w": [2000.0], "served_output_tokens_per_s": [10000.0],
    ...     "accelerator_idle_power_w": [300.0], "host_power_share": [0.35],
    ...     "pue": [1.2], "grid_g_co2e_per_kwh": [400.0]})
    >>> b = bands(f, draws=2000, seed=1)
    >>> bool(b["usd_per_million_output_tokens_p10"].item() < 0.2222 < b["usd_per_million_output_tokens_p90"].item())
    True
    """
    _check_draw_inputs(frame, draws, seed, "bands", 10, "for p10/p90 bands")
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias(f"{m}_{k}") for m in METRICS for k in _QUANTILES)
    work = frame
    if "price_model" in work.columns and (work["price_model"] == "owned").any():
        # provisioned power per device for the owned TCO: TDP × (1 + host share), TDP from the hardware catalog
        from .pipeline import _cat

        tdp = _cat("hardware", catalogs).select(pl.col("id").alias("hardware"), pl.col("tdp_w").alias("_tdp"))
        work = work.join(tdp, on="hardware", how="left", maintain_order="left").with_columns(
            energy.facility_power_w(pl.col("_tdp"), pl.col("host_power_share"), 1.0).alias("_provisioned_w")
        ).drop("_tdp")
    long = draws_frame(work, draws=draws, seed=seed, catalogs=catalogs)
    q = long.group_by("_scenario").agg(
        pl.col(m).quantile(v, interpolation="linear").alias(f"{m}_{k}") for m in METRICS for k, v in _QUANTILES.items()
    ).sort("_scenario")
    return pl.concat([frame, q.drop("_scenario")], how="horizontal")
