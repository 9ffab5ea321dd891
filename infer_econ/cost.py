"""Money: rent, reserve or own, and what an hour of devices costs per token.

Pure functions on polars expressions (or numbers; a number is taken as a
literal). Default arguments are the glossary's column names, so
``frame.with_columns(usd_per_hour=usd_per_hour())`` works on any frame that has
``usd_per_device_hour`` and ``n_devices``. Catalog lookups
(:func:`rented_usd_per_device_hour`, :func:`capex_usd_per_device`) turn
``provider`` / ``region`` / ``price_model`` into prices, vectorized as joins.

Conventions
-----------
- One month is ``HOURS_PER_MONTH`` = 8760 / 12 = 730 hours.
- ``utilization`` is the share of paid hours that produce tokens, in (0, 1].
- Owned hardware is paid every hour whether busy or not; on-demand and spot
  hours can be switched off, so a rented deployment at utilization *u* pays
  for *u* of the hours only when the user scales to zero (see
  :func:`break_even_utilization`).
"""

from __future__ import annotations

import polars as pl

from .errors import UnknownIdError, ValidationError

__all__ = [
    "HOURS_PER_YEAR",
    "HOURS_PER_MONTH",
    "usd_per_hour",
    "usd_per_million_output_tokens",
    "usd_per_million_tokens",
    "usd_per_request",
    "capital_recovery_factor",
    "owned_usd_per_device_hour",
    "break_even_utilization",
    "break_even_months",
    "rented_usd_per_device_hour",
    "capex_usd_per_device",
    "PRICE_MODELS",
    "check_price_inputs",
]

HOURS_PER_YEAR = 8760.0
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0
#: values of ``price_model``; ``owned`` means total cost of ownership
PRICE_MODELS = ("on_demand", "spot", "reserved_1y", "reserved_3y", "owned")

Num = pl.Expr | float | int


def _e(x: Num) -> pl.Expr:
    return x if isinstance(x, pl.Expr) else pl.lit(x, pl.Float64)


def usd_per_hour(usd_per_device_hour: Num = pl.col("usd_per_device_hour"), n_devices: Num = pl.col("n_devices")) -> pl.Expr:
    """Hourly price of the whole deployment [USD/h].

    Parameters
    ----------
    usd_per_device_hour : expr or float
        Price of one device-hour [USD/h].
    n_devices : expr or int
        Devices in the deployment [count].

    Returns
    -------
    polars.Expr
        ``usd_per_hour`` [USD/h].

    Notes
    -----
    usd_per_hour = usd_per_device_hour × n_devices (an identity the tests check exactly).

    References
    ----------
    Issue 8 contract: the identity a rented deployment must satisfy exactly.

    Examples
    --------
    >>> pl.select(usd_per_hour(2.0, 4)).item()
    8.0
    """
    return (_e(usd_per_device_hour) * _e(n_devices)).alias("usd_per_hour")


def usd_per_million_output_tokens(
    usd_per_hour: Num = pl.col("usd_per_hour"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    utilization: Num = pl.col("utilization"),
) -> pl.Expr:
    """Cost of one million output tokens [USD].

    Parameters
    ----------
    usd_per_hour : expr or float
        Price of the whole deployment [USD/h].
    output_tokens_per_s : expr or float
        Output tokens per second of the deployment while busy [tokens/s].
    utilization : expr or float
        Share of paid time that produces tokens [fraction, (0, 1]].

    Returns
    -------
    polars.Expr
        ``usd_per_million_output_tokens`` [USD/1M tokens]; null where the
        throughput is null (a scenario that does not fit).

    Notes
    -----
    usd_per_million_output_tokens = usd_per_hour / (output_tokens_per_s × utilization × 3600) × 1e6.
    The whole hourly price is charged to output tokens (prefill included).

    References
    ----------
    Issue 8 contract (hand case: 4 GPUs at $2.00 producing 10,000 tokens/s → $0.2222).

    Examples
    --------
    Four GPUs at $2.00 per GPU-hour producing 10,000 output tokens/s at full
    utilization: 8 / (10,000 × 1 × 3600) × 1e6 = 0.2222 USD:

    >>> round(pl.select(usd_per_million_output_tokens(8.0, 10_000.0, 1.0)).item(), 4)
    0.2222
    """
    return (_e(usd_per_hour) / (_e(output_tokens_per_s) * _e(utilization) * 3600.0) * 1e6).alias(
        "usd_per_million_output_tokens"
    )


def usd_per_million_tokens(
    usd_per_hour: Num = pl.col("usd_per_hour"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    utilization: Num = pl.col("utilization"),
    input_tokens: Num = pl.col("input_tokens"),
    output_tokens: Num = pl.col("output_tokens"),
) -> pl.Expr:
    """Cost of one million tokens, input and output counted alike [USD].

    Parameters
    ----------
    usd_per_hour, output_tokens_per_s, utilization
        As in :func:`usd_per_million_output_tokens`.
    input_tokens, output_tokens : expr or int
        Request shape [tokens].

    Returns
    -------
    polars.Expr
        ``usd_per_million_tokens`` [USD/1M tokens].

    Notes
    -----
    Tokens/s of both kinds = output_tokens_per_s × (input_tokens + output_tokens) / output_tokens, so
    usd_per_million_tokens = usd_per_million_output_tokens × output_tokens / (input_tokens + output_tokens).

    References
    ----------
    Issue 8 contract: ``usd_per_million_tokens`` counts input and output tokens alike.

    Examples
    --------
    >>> round(pl.select(usd_per_million_tokens(8.0, 10_000.0, 1.0, 1000, 250)).item(), 5)
    0.04444
    """
    per_out = usd_per_million_output_tokens(usd_per_hour, output_tokens_per_s, utilization)
    return (per_out * _e(output_tokens) / (_e(input_tokens) + _e(output_tokens))).alias("usd_per_million_tokens")


def usd_per_request(
    usd_per_hour: Num = pl.col("usd_per_hour"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    utilization: Num = pl.col("utilization"),
    output_tokens: Num = pl.col("output_tokens"),
) -> pl.Expr:
    """Cost of one request of the scenario's shape [USD].

    Parameters
    ----------
    usd_per_hour, output_tokens_per_s, utilization
        As in :func:`usd_per_million_output_tokens`.
    output_tokens : expr or int
        Output tokens per request [tokens].

    Returns
    -------
    polars.Expr
        ``usd_per_request`` [USD].

    Notes
    -----
    usd_per_request = usd_per_million_output_tokens × output_tokens / 1e6.

    References
    ----------
    Issue 8 contract (``usd_per_request``).

    Examples
    --------
    >>> round(pl.select(usd_per_request(8.0, 10_000.0, 1.0, 500)).item(), 7)
    0.0001111
    """
    per_out = usd_per_million_output_tokens(usd_per_hour, output_tokens_per_s, utilization)
    return (per_out * _e(output_tokens) / 1e6).alias("usd_per_request")


def capital_recovery_factor(interest_rate: Num = pl.col("interest_rate"), years: Num = pl.col("depreciation_years")) -> pl.Expr:
    """Capital recovery factor: the yearly payment that repays 1 USD over ``years`` [1/year].

    Parameters
    ----------
    interest_rate : expr or float
        Yearly cost of capital [fraction], ≥ 0.
    years : expr or float
        Depreciation period [years], > 0.

    Returns
    -------
    polars.Expr
        ``capital_recovery_factor`` [1/year].

    Notes
    -----
    CRF = r (1 + r)^n / ((1 + r)^n − 1); at r = 0 it is 1 / n (straight-line depreciation).
    For r·n < 1e-4, where (1 + r)^n − 1 loses its digits, the series
    1/n + r (n + 1) / (2n) + r² (n² − 1) / (12n) is used (error < 1e-12 relative).

    References
    ----------
    Any engineering-economics text, e.g. the "capital recovery factor" in NREL's
    levelized-cost documentation (annualized capital cost = capex × CRF).

    Examples
    --------
    >>> round(pl.select(capital_recovery_factor(0.08, 5)).item(), 5)
    0.25046
    >>> pl.select(capital_recovery_factor(0.0, 4)).item()
    0.25
    """
    r, n = _e(interest_rate), _e(years)
    g = (1.0 + r).pow(n)
    series = 1.0 / n + r * (n + 1.0) / (2.0 * n) + r * r * (n * n - 1.0) / (12.0 * n)
    return pl.when(r * n < 1e-4).then(series).otherwise(r * g / (g - 1.0)).alias("capital_recovery_factor")


def owned_usd_per_device_hour(
    capex_usd_per_device: Num = pl.col("capex_usd_per_device"),
    depreciation_years: Num = pl.col("depreciation_years"),
    interest_rate: Num = pl.col("interest_rate"),
    average_power_w_per_device: Num = pl.col("average_power_w_per_device"),
    provisioned_power_w_per_device: Num = pl.col("provisioned_power_w_per_device"),
    pue: Num = pl.col("pue"),
    electricity_usd_per_kwh: Num = pl.col("electricity_usd_per_kwh"),
    hosting_usd_per_kw_month: Num = pl.col("hosting_usd_per_kw_month"),
    ops_usd_per_device_year: Num = pl.col("ops_usd_per_device_year"),
) -> pl.Expr:
    """Total cost of ownership of one device per hour of its life [USD/h].

    Parameters
    ----------
    capex_usd_per_device : expr or float
        Purchase price of one device with its share of the server [USD].
    depreciation_years : expr or float
        Years over which the capex is recovered [years].
    interest_rate : expr or float
        Yearly cost of capital [fraction].
    average_power_w_per_device : expr or float
        Average power of one device and its host share over all hours, busy and idle [W].
    provisioned_power_w_per_device : expr or float
        IT power the facility must provision for one device with its host share [W]
        (hosting is billed per provisioned kW).
    pue : expr or float
        Power usage effectiveness of the facility [ratio].
    electricity_usd_per_kwh : expr or float
        Electricity price [USD/kWh].
    hosting_usd_per_kw_month : expr or float
        Colocation price per provisioned kW of IT load and month (space, cooling, power delivery;
        electricity itself billed separately) [USD/(kW·month)].
    ops_usd_per_device_year : expr or float
        Operations: staff, support contracts, spares [USD/(device·year)].

    Returns
    -------
    polars.Expr
        ``owned_usd_per_device_hour`` [USD/h].

    Notes
    -----
    owned = capex × CRF(r, n) / 8760
    + average_power_w / 1000 × pue × electricity_usd_per_kwh
    + provisioned_power_w / 1000 × hosting_usd_per_kw_month / 730
    + ops_usd_per_device_year / 8760.

    References
    ----------
    Capital recovery: :func:`capital_recovery_factor`; defaults and their sources
    (Amazon 10-K 2024 server life, CBRE colocation rates, Damodaran WACC) in ``data/defaults.csv``.

    Examples
    --------
    $30,000 over 5 years at 8 %, 900 W average and 1,400 W provisioned, PUE 1.4, $0.08/kWh, $180/kW-month,
    $1,500/year: 30000 × 0.250456 / 8760 + 0.9 × 1.4 × 0.08 + 1.4 × 180 / 730 + 1500 / 8760
    = 0.85773 + 0.1008 + 0.34521 + 0.17123 = 1.47497:

    >>> e = owned_usd_per_device_hour(30000.0, 5, 0.08, 900.0, 1400.0, 1.4, 0.08, 180.0, 1500.0)
    >>> round(pl.select(e).item(), 4)
    1.475
    """
    capital = _e(capex_usd_per_device) * capital_recovery_factor(interest_rate, depreciation_years) / HOURS_PER_YEAR
    energy = _e(average_power_w_per_device) / 1000.0 * _e(pue) * _e(electricity_usd_per_kwh)
    hosting = _e(provisioned_power_w_per_device) / 1000.0 * _e(hosting_usd_per_kw_month) / HOURS_PER_MONTH
    ops = _e(ops_usd_per_device_year) / HOURS_PER_YEAR
    return (capital + energy + hosting + ops).alias("owned_usd_per_device_hour")


def break_even_utilization(
    owned_usd_per_device_hour: Num = pl.col("owned_usd_per_device_hour"),
    rented_usd_per_device_hour: Num = pl.col("rented_usd_per_device_hour"),
) -> pl.Expr:
    """Utilization above which owning (or a reservation) beats renting by the hour [fraction].

    A rented on-demand device is paid only for the hours it is switched on
    (utilization × all hours); an owned or reserved one for every hour.

    Parameters
    ----------
    owned_usd_per_device_hour : expr or float
        All-hours cost of owning (or a reservation) [USD/h].
    rented_usd_per_device_hour : expr or float
        Pay-as-you-go price [USD/h].

    Returns
    -------
    polars.Expr
        ``break_even_utilization`` [fraction].

    Notes
    -----
    u* = owned_usd_per_device_hour / rented_usd_per_device_hour. u* ≥ 1 means renting is always cheaper.

    References
    ----------
    Issue 8, capability 1 (rent vs reserve vs own break-even in utilization).

    Examples
    --------
    >>> pl.select(break_even_utilization(1.5, 3.0)).item()
    0.5
    """
    return (_e(owned_usd_per_device_hour) / _e(rented_usd_per_device_hour)).alias("break_even_utilization")


def break_even_months(
    capex_usd_per_device: Num = pl.col("capex_usd_per_device"),
    opex_usd_per_device_hour: Num = pl.col("opex_usd_per_device_hour"),
    rented_usd_per_device_hour: Num = pl.col("rented_usd_per_device_hour"),
    utilization: Num = pl.col("utilization"),
) -> pl.Expr:
    """Months after which buying a device has cost less than renting it [months].

    Parameters
    ----------
    capex_usd_per_device : expr or float
        Up-front price [USD].
    opex_usd_per_device_hour : expr or float
        Running cost of the owned device per hour, every hour (energy, hosting, ops) [USD/h].
    rented_usd_per_device_hour : expr or float
        Rental price [USD/h], paid for the utilized hours only.
    utilization : expr or float
        Share of hours the device is needed [fraction].

    Returns
    -------
    polars.Expr
        ``break_even_months``; null when renting costs no more per month than running the owned device.

    Notes
    -----
    Cumulative costs after m months: own = capex + opex × 730 m; rent = rented × utilization × 730 m.
    They meet at m* = capex / (730 × (rented × utilization − opex)).

    References
    ----------
    Issue 8, capability 1 (break-even in months).

    Examples
    --------
    $25,000 device, $0.40/h to run, $2.50/h to rent at 80 %: 25000 / (730 × (2.0 − 0.4)) = 21.4 months.

    >>> round(pl.select(break_even_months(25000.0, 0.4, 2.5, 0.8)).item(), 1)
    21.4
    """
    monthly_gap = (_e(rented_usd_per_device_hour) * _e(utilization) - _e(opex_usd_per_device_hour)) * HOURS_PER_MONTH
    return pl.when(monthly_gap > 0).then(_e(capex_usd_per_device) / monthly_gap).otherwise(None).alias("break_even_months")


# ---------------------------------------------------------------- catalog lookups


def _valid_choices(prices: pl.DataFrame, hardware: str) -> str:
    rows = prices.filter(pl.col("hardware") == hardware).select("provider", "region", "price_model").unique().sort(
        "provider", "region", "price_model"
    )
    return "; ".join(f"{p}/{r}/{m}" for p, r, m in rows.iter_rows())


def rented_usd_per_device_hour(frame: pl.DataFrame, prices: pl.DataFrame | None = None) -> pl.DataFrame:
    """Look up the rental price of each scenario's hardware in ``cloud_prices``.

    Parameters
    ----------
    frame : polars.DataFrame
        Scenarios with ``hardware``, ``provider``, ``price_model`` (on_demand, spot, reserved_1y,
        reserved_3y) and optionally ``region`` (null: the cheapest region of that provider).
    prices : polars.DataFrame, optional
        The ``cloud_prices`` catalog (default: the shipped one).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``rented_usd_per_device_hour`` [USD/h] and ``price_id`` (the catalog row used)
        added; when several instance types match, the cheapest per device-hour is taken.

    Raises
    ------
    UnknownIdError
        A hardware / provider / region / price model combination is not in the catalog; the message
        lists the valid provider/region/price_model choices for that hardware.

    Notes
    -----
    A vectorized join on (hardware, provider, price_model[, region]) of the catalog's cheapest row per key.

    References
    ----------
    ``data/cloud_prices.csv`` and its sources (``data/sources.csv``).

    Examples
    --------
    >>> p = pl.DataFrame({"id": ["x:8gpu:r1:on_demand"], "provider": ["x"], "hardware": ["h100-sxm"],
    ...     "region": ["r1"], "price_model": ["on_demand"], "usd_per_device_hour": [2.5]})
    >>> s = pl.DataFrame({"hardware": ["h100-sxm"], "provider": ["x"], "region": ["r1"],
    ...     "price_model": ["on_demand"]})
    >>> rented_usd_per_device_hour(s, p)["rented_usd_per_device_hour"].item()
    2.5
    """
    if prices is None:
        from . import catalog

        prices = catalog.load("cloud_prices")
    missing_cols = [c for c in ("hardware", "provider", "price_model") if c not in frame.columns]
    if missing_cols:
        raise ValidationError(f"rented_usd_per_device_hour: scenario frame lacks column(s) {missing_cols} "
                              "(hardware, provider and price_model name a cloud_prices row)")
    for c in ("hardware", "provider", "price_model", "region"):
        if c in frame.columns and frame.schema[c] not in (pl.String, pl.Categorical, pl.Null):
            raise ValidationError(f"column {c!r} must be text (a cloud_prices id part), got dtype {frame.schema[c]}")
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in ("hardware", "provider", "price_model", "region")
                               if c in frame.columns and frame.schema[c] != pl.String)
    if "region" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("region"))
    keys = ["hardware", "provider", "price_model"]
    best_region = (
        prices.sort("usd_per_device_hour", "id")
        .group_by(keys + ["region"], maintain_order=True)
        .first()
        .select(keys + ["region", pl.col("usd_per_device_hour").alias("_p_region"), pl.col("id").alias("_id_region")])
    )
    best_any = (
        prices.sort("usd_per_device_hour", "id")
        .group_by(keys, maintain_order=True)
        .first()
        .select(keys + [pl.col("usd_per_device_hour").alias("_p_any"), pl.col("id").alias("_id_any")])
    )
    out = frame.join(best_region, on=keys + ["region"], how="left", nulls_equal=False).join(best_any, on=keys, how="left")
    out = out.with_columns(
        pl.when(pl.col("region").is_null()).then(pl.col("_p_any")).otherwise(pl.col("_p_region")).alias(
            "rented_usd_per_device_hour"
        ),
        pl.when(pl.col("region").is_null()).then(pl.col("_id_any")).otherwise(pl.col("_id_region")).alias("price_id"),
    ).drop("_p_region", "_id_region", "_p_any", "_id_any")
    missing = out.filter(pl.col("rented_usd_per_device_hour").is_null())
    if missing.height:
        hw, prov, reg, pm = missing.select("hardware", "provider", "region", "price_model").row(0)
        what = f"{prov}/{reg if reg is not None else '*'}/{pm}"
        valid = _valid_choices(prices, hw) or "none: no cloud price for this hardware"
        raise UnknownIdError(
            f"provider/region/price_model for hardware {hw!r}", [what], valid.split("; ")
        )
    return out


def capex_usd_per_device(frame: pl.DataFrame, hardware_prices: pl.DataFrame | None = None) -> pl.DataFrame:
    """Purchase price of each scenario's hardware from ``hardware_prices`` [USD per device].

    Rows that include a server (``n_devices`` > 1: a per-device share of the whole server) are preferred,
    since an accelerator is not run without one; otherwise the single-device rows are used. The price is
    the midpoint of the range spanned by those rows (lowest ``usd_per_device_low`` to highest
    ``usd_per_device_high``); the range itself comes back for the uncertainty bands.

    Parameters
    ----------
    frame : polars.DataFrame
        Scenarios with ``hardware``.
    hardware_prices : polars.DataFrame, optional
        The ``hardware_prices`` catalog (default: the shipped one).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``catalog_capex_usd_per_device``, ``capex_usd_per_device_low``,
        ``capex_usd_per_device_high`` [USD] added (null for hardware without a price row).

    Notes
    -----
    capex = (min(usd_per_device_low) + max(usd_per_device_high)) / 2 over the chosen rows.

    References
    ----------
    ``data/hardware_prices.csv``: datacenter GPU prices are not published by vendors; most rows are
    estimates or listings (``is_estimate``, ``price_type``).

    Examples
    --------
    >>> hp = pl.DataFrame({"hardware": ["h100-sxm", "h100-sxm"], "n_devices": [1, 8],
    ...     "usd_per_device_low": [25000.0, 35000.0], "usd_per_device_high": [30000.0, 40000.0]})
    >>> capex_usd_per_device(pl.DataFrame({"hardware": ["h100-sxm"]}), hp)["catalog_capex_usd_per_device"].item()
    37500.0
    """
    from . import catalog

    frame = catalog.id_columns(frame, ["hardware"], "capex_usd_per_device")
    if hardware_prices is None:
        hardware_prices = catalog.load("hardware_prices")
    hp = hardware_prices.filter(pl.col("hardware").is_not_null()).with_columns(
        (pl.col("n_devices") > 1).alias("_server")
    )
    hp = hp.filter(pl.col("_server") == pl.col("_server").max().over("hardware"))
    ranges = hp.group_by("hardware").agg(
        pl.col("usd_per_device_low").min().alias("capex_usd_per_device_low"),
        pl.col("usd_per_device_high").max().alias("capex_usd_per_device_high"),
    ).with_columns(
        ((pl.col("capex_usd_per_device_low") + pl.col("capex_usd_per_device_high")) / 2).alias(
            "catalog_capex_usd_per_device"
        )
    )
    return frame.join(ranges, on="hardware", how="left")


def check_price_inputs(frame: pl.DataFrame) -> None:
    """Raise :class:`ValidationError` naming the column for impossible price or utilization inputs.

    Checked when present: prices and costs ≥ 0 (``usd_per_device_hour``, ``capex_usd_per_device``,
    ``electricity_usd_per_kwh``, ``hosting_usd_per_kw_month``, ``ops_usd_per_device_year``),
    ``interest_rate`` ≥ 0, ``depreciation_years`` > 0, ``pue`` ≥ 1, ``utilization`` in (0, 1],
    ``price_model`` one of :data:`PRICE_MODELS`.

    Parameters
    ----------
    frame : polars.DataFrame
        Scenario inputs.

    Returns
    -------
    None
        Raises on the first bad value.

    Notes
    -----
    Null values are allowed (they take documented defaults).

    References
    ----------
    Issue 8, Tests: clear errors for impossible inputs.

    Examples
    --------
    >>> check_price_inputs(pl.DataFrame({"utilization": [0.5, 1.2]}))
    Traceback (most recent call last):
    ...
    infer_econ.errors.ValidationError: column 'utilization': 1.2 (row 1) is outside (0, 1]: the share of paid time that produces tokens
    """
    rules = {
        "usd_per_device_hour": (lambda c: c < 0, "is negative; a price must be ≥ 0 USD/h"),
        "capex_usd_per_device": (lambda c: c < 0, "is negative; a price must be ≥ 0 USD"),
        "electricity_usd_per_kwh": (lambda c: c < 0, "is negative; a price must be ≥ 0 USD/kWh"),
        "hosting_usd_per_kw_month": (lambda c: c < 0, "is negative; a price must be ≥ 0 USD/(kW·month)"),
        "ops_usd_per_device_year": (lambda c: c < 0, "is negative; a cost must be ≥ 0 USD/(device·year)"),
        "interest_rate": (lambda c: c < 0, "is negative; the cost of capital must be ≥ 0"),
        "depreciation_years": (lambda c: c <= 0, "must be > 0 years"),
        "pue": (lambda c: c < 1, "is below 1; PUE = facility energy / IT energy ≥ 1"),
        "grid_g_co2e_per_kwh": (lambda c: c < 0, "is negative; carbon intensity must be ≥ 0 g/kWh"),
        "utilization": (lambda c: (c <= 0) | (c > 1), "is outside (0, 1]: the share of paid time that produces tokens"),
    }
    for col, (bad, why) in rules.items():
        if col not in frame.columns:
            continue
        s = frame[col]
        if s.dtype == pl.Null:  # all null: the documented defaults apply
            continue
        if not s.dtype.is_numeric():
            raise ValidationError(f"column {col!r} must be numeric, got {s.dtype}")
        if s.dtype.is_float():
            odd = (s.is_nan() | s.is_infinite()).fill_null(False)
            if odd.any():
                i = int(odd.arg_true()[0])
                raise ValidationError(f"column {col!r}: {s[i]} (row {i}) is not a finite number")
        mask = bad(s).fill_null(False)
        if mask.any():
            i = int(mask.arg_true()[0])
            raise ValidationError(f"column {col!r}: {s[i]} (row {i}) {why}")
    if "price_model" in frame.columns:
        if frame.schema["price_model"] not in (pl.String, pl.Null, pl.Categorical, pl.Enum):
            raise ValidationError(f"column 'price_model' must be text, got {frame.schema['price_model']}")
        bad = frame.filter(pl.col("price_model").is_not_null() & ~pl.col("price_model").is_in(list(PRICE_MODELS)))
        if bad.height:
            raise ValidationError(
                f"column 'price_model': {bad['price_model'][0]!r} is not one of {list(PRICE_MODELS)}"
            )


def output_tokens_per_s_per_capex_usd(
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    capex_usd_per_device: Num = pl.col("capex_usd_per_device"),
    n_devices: Num = pl.col("n_devices"),
) -> pl.Expr:
    """Throughput bought per dollar of hardware [tokens/s/USD].

    Parameters
    ----------
    output_tokens_per_s : expr [tokens/s]
        Output throughput of the deployment.
    capex_usd_per_device : expr [USD]
        Purchase price of one device (e.g. :func:`capex_usd_per_device`).
    n_devices : expr [count]
        Devices in the deployment.

    Returns
    -------
    polars.Expr [tokens/s/USD], named ``output_tokens_per_s_per_capex_usd``.

    Notes
    -----
    ``output_tokens_per_s / (capex_usd_per_device × n_devices)``.

    References
    ----------
    The capacity-per-capital ratio of data-centre TCO analyses, e.g. Barroso, Hölzle, Ranganathan,
    "The Datacenter as a Computer", 3rd ed., 2018, ch. 6.

    Examples
    --------
    >>> df = pl.DataFrame({"output_tokens_per_s": [10_000.0], "capex_usd_per_device": [25_000.0], "n_devices": [4]})
    >>> df.select(output_tokens_per_s_per_capex_usd()).item()  # 10,000 / 100,000
    0.1
    """
    return (_e(output_tokens_per_s) / (_e(capex_usd_per_device) * _e(n_devices))).alias(
        "output_tokens_per_s_per_capex_usd"
    )
