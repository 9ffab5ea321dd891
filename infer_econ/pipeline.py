"""``evaluate``: estimate → cost → energy and carbon → (serving under load), one frame.

:func:`add_economics` is the economics half: it takes any frame that already
has the estimator's output columns (``output_tokens_per_s``, ``prefill_s``,
``tpot_s``, ``prefill_tokens_per_s``, ``decode_tokens_per_s`` …, see issue 3)
and adds prices, energy and carbon, vectorized as joins and expressions.
:func:`evaluate` runs :func:`infer_econ.perf.estimate` first and, when the
scenarios carry ``request_rate_per_s`` or ``concurrency``,
:func:`infer_econ.serving.latency_under_load` after.

Optional input columns and their defaults (``data/defaults.csv`` gives each
default's source):

======================== ===================================================================
column                   default
======================== ===================================================================
utilization              ``utilization`` default (1.0: saturated)
provider, region         none; region null = the provider's cheapest region
price_model              ``on_demand`` when a provider is given
usd_per_device_hour      overrides the catalog price
capex_usd_per_device     owned: midpoint of the ``hardware_prices`` range (server rows first)
depreciation_years       ``depreciation_years`` default
interest_rate            ``interest_rate`` default
electricity_usd_per_kwh  the ``electricity_region`` column's ``electricity_prices`` row, else the
                         ``electricity_region`` default row
pue                      owned: ``pue_owned`` default row; rented: ``pue_cloud`` default row
hosting_usd_per_kw_month ``hosting_usd_per_kw_month`` default
ops_usd_per_device_year  ``ops_usd_per_device_year`` default
grid_g_co2e_per_kwh      from ``grid_region``; else ``provider:region`` if a grid_carbon id;
                         else the ``grid_region`` default; ``grid_metric`` says which definition
lifetime_years           embodied carbon: the embodied_carbon row's assumed life, else default
======================== ===================================================================

Rows with none of provider, usd_per_device_hour or price_model = owned get null
costs (energy and carbon are still computed): no price is invented.
"""

from __future__ import annotations

import polars as pl

from . import cost, defaults, energy
from ._memo import memo as _memo
from .errors import ValidationError

__all__ = ["add_economics", "evaluate", "ESTIMATE_COLUMNS", "ECONOMICS_COLUMNS"]

#: columns ``add_economics`` needs (the estimator's contract, issue 3)
ESTIMATE_COLUMNS = [
    "model", "hardware", "precision", "n_devices", "input_tokens", "output_tokens",
    "prefill_s", "tpot_s", "prefill_tokens_per_s", "decode_tokens_per_s", "output_tokens_per_s",
]
#: columns ``add_economics`` adds
ECONOMICS_COLUMNS = [
    "utilization", "price_model", "price_source", "usd_per_device_hour", "usd_per_hour",
    "usd_per_million_output_tokens", "usd_per_million_tokens", "usd_per_request",
    "accelerator_power_w", "accelerator_idle_power_w", "accelerator_average_power_w", "average_power_w",
    "served_output_tokens_per_s", "host_power_share", "accelerator_energy_j_per_output_token", "power_w", "energy_j_per_output_token",
    "kwh_per_million_output_tokens", "pue", "grid_g_co2e_per_kwh", "grid_region", "grid_metric",
    "g_co2e_per_request", "g_co2e_per_request_embodied",
]
_RENTED = ("on_demand", "spot", "reserved_1y", "reserved_3y")


def _cat(name: str, catalogs: dict | None) -> pl.DataFrame:
    if catalogs and name in catalogs:
        return catalogs[name]
    from . import catalog

    return catalog.load(name)


def _col_or(columns, name: str, default, dtype=pl.Float64) -> pl.Expr:
    """Column ``name`` with nulls replaced by ``default`` if ``name`` is among ``columns``, else ``default``."""
    lit = pl.lit(default, dtype)
    return pl.coalesce(pl.col(name).cast(dtype), lit) if name in columns else lit


def _catalog_value(catalog_frame: pl.DataFrame, id_: str, column: str) -> float:
    hit = catalog_frame.filter(pl.col("id") == id_)
    if hit.height == 0:
        from .errors import UnknownIdError

        raise UnknownIdError(f"default row of catalog with column {column}", [id_], catalog_frame["id"].to_list())
    return float(hit[column].item())


def _check_estimate_columns(df: pl.DataFrame) -> None:
    """The estimator's columns: ids as text, numbers finite, not negative, devices and output tokens > 0.

    Null is allowed: a scenario that does not fit has null times and throughputs.
    """
    from . import catalog

    catalog.id_columns(df, ["model", "hardware", "precision"], "add_economics")
    numbers = ESTIMATE_COLUMNS[3:]
    positive = ["n_devices", "output_tokens"]
    catalog.check_numeric(df, "add_economics", numbers, positive=positive,
                          nonnegative=[c for c in numbers if c not in positive])

def add_economics(frame: pl.DataFrame | pl.LazyFrame, catalogs: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Add cost, energy and carbon columns to a frame that has the estimator's output.

    Parameters
    ----------
    frame : polars.DataFrame or LazyFrame
        Scenarios with :data:`ESTIMATE_COLUMNS` and the optional economics inputs listed in the
        module docstring.
    catalogs : dict, optional
        Catalog frames to use instead of the shipped ones, by name (``hardware``, ``models``,
        ``precisions``, ``cloud_prices``, ``hardware_prices``, ``electricity_prices``, ``pue``,
        ``grid_carbon``, ``embodied_carbon``, ``power_model``), e.g. to add a negotiated price.

    Returns
    -------
    polars.DataFrame (LazyFrame in, LazyFrame out)
        ``frame`` plus :data:`ECONOMICS_COLUMNS` (and ``price_id``, ``capex_usd_per_device`` for
        owned rows …).

    Raises
    ------
    ValidationError
        A required estimator column is missing, a price is negative, utilization is outside (0, 1],
        or an owned row has no capex (no ``capex_usd_per_device`` and no ``hardware_prices`` row).
    UnknownIdError
        A provider / region / price model has no price for the row's hardware (the valid choices
        are listed), or a ``grid_region`` is not in ``grid_carbon``.

    Notes
    -----
    usd_per_hour = usd_per_device_hour × n_devices;
    usd_per_million_output_tokens = usd_per_hour / (output_tokens_per_s × utilization × 3600) × 1e6
    (:mod:`infer_econ.cost`); power and carbon as in :mod:`infer_econ.energy`.

    References
    ----------
    Issue 8 contract; issue 3 contract for the estimator columns.

    Examples
    --------
    >>> f = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
    ...     "n_devices": [4], "input_tokens": [1000], "output_tokens": [250], "prefill_s": [0.5],
    ...     "tpot_s": [0.02], "prefill_tokens_per_s": [64000.0], "decode_tokens_per_s": [1600.0],
    ...     "output_tokens_per_s": [10000.0], "usd_per_device_hour": [2.0], "utilization": [1.0]})
    >>> round(add_economics(f)["usd_per_million_output_tokens"].item(), 4)
    0.2222
    """
    lazy = isinstance(frame, pl.LazyFrame)
    df = frame.collect() if lazy else frame
    missing = [c for c in ESTIMATE_COLUMNS if c not in df.columns]
    if missing:
        raise ValidationError(f"add_economics needs the estimator's column(s) {missing}; run infer_econ.estimate first")
    _check_estimate_columns(df)
    cost.check_price_inputs(df)
    keep = df.columns
    optional = {
        "provider": pl.String, "region": pl.String, "price_model": pl.String, "usd_per_device_hour": pl.Float64,
        "grid_region": pl.String, "grid_g_co2e_per_kwh": pl.Float64,
        "pue": pl.Float64, "lifetime_years": pl.Float64, "utilization": pl.Float64,
    }
    # One lazy query from here on (a small frame pays polars' per-query overhead once, not per step); the
    # decisions that depend on the data (which rows need a cloud price or an owned TCO, unknown region ids)
    # are taken on the eager input, whose columns are all known here.
    ids = dict.fromkeys(["model", "hardware", "precision"], pl.String)
    schema = df.schema
    fill = [pl.lit(None, t).alias(c) for c, t in optional.items() if c not in schema]
    # an all-null column (dtype Null) or categorical ids get the documented type so the catalog joins line up
    casts = [pl.col(c).cast(t) for c, t in {**ids, **optional}.items()
             if c in schema and (schema[c] == pl.Null or (t == pl.String and (
                 schema[c] == pl.Categorical or isinstance(schema[c], pl.Enum))))]
    # ---- inputs with documented defaults
    util = _col_or(optional, "utilization", defaults.value("utilization"))  # every optional column exists now
    has_provider = pl.col("provider").is_not_null()
    pm = pl.col("price_model")
    pm = pl.when(pm.is_null() & has_provider).then(pl.lit(defaults.value_id("price_model"))).otherwise(pm)
    df = (df.lazy().with_columns(*fill, *casts).with_row_index("_row")
          .with_columns(util.alias("utilization"), pm.alias("price_model")).collect(engine="in-memory"))

    # ---- hardware, model, precision facts for the power model
    hw, models_cat = _cat("hardware", catalogs), _cat("models", catalogs)
    precisions_cat, power_cat = _cat("precisions", catalogs), _cat("power_model", catalogs)
    keys3 = ["hardware", "model", "precision"]
    triples = df.select(keys3).unique(maintain_order=True)
    w = _memo("power", (hw, models_cat, precisions_cat, power_cat), triples,
              lambda: _power_facts(triples, hw, models_cat, precisions_cat, power_cat))
    lf = df.lazy().join(w.lazy(), on=keys3, how="left", nulls_equal=True, maintain_order="left")

    n = pl.col("n_devices")
    # throughputs of the estimator are per replica; its devices are n_devices / replicas
    reps = pl.col("replicas").cast(pl.Float64).fill_null(1.0) if "replicas" in df.columns else pl.lit(1.0)
    d = n / reps
    active, peak = pl.col("_active_params_b"), pl.col("_peak_tflops")
    idle, tdp, floor, u_half = pl.col("_idle_w"), pl.col("_tdp_w"), pl.col("_floor"), pl.col("_u_half")
    u_p = energy.compute_utilization(pl.col("prefill_tokens_per_s"), active, d, peak)
    u_d = energy.compute_utilization(pl.col("decode_tokens_per_s"), active, d, peak)
    dev_w = energy.device_power_w(idle, tdp, energy.prefill_time_share(), u_p, u_d, floor, u_half)
    # saturated: busy at the scenario's batch for `utilization` of the time, idle otherwise
    avg_w = energy.average_power_w(dev_w, idle, pl.col("utilization"))
    served = pl.col("output_tokens_per_s") * pl.col("utilization")
    if {"batch_mean", "tpot_mean_s", "requests_per_s"} <= set(df.columns):
        # under load (serving.latency_under_load): the mean batch and request rate set the power
        u_d_load = energy.compute_utilization(pl.col("batch_mean") / pl.col("tpot_mean_s"), active, d, peak)
        s_p_load = (pl.col("requests_per_s") / reps * pl.col("prefill_s") / pl.col("batch_size_used")).clip(0.0, 1.0)
        busy_load = energy.device_power_w(idle, tdp, s_p_load, u_p, u_d_load, floor, u_half)
        occ = energy.occupied_share(pl.col("batch_mean"))
        load_w = energy.average_power_w(busy_load, idle, occ)  # busy while a sequence is in the batch
        loaded = pl.col("batch_mean").is_not_null() & pl.col("tpot_mean_s").is_not_null() & (pl.col("batch_mean") > 0)
        if "stable" in df.columns:
            loaded = loaded & pl.col("stable").fill_null(False)
        dev_w = pl.when(loaded).then(load_w).otherwise(dev_w)
        avg_w = pl.when(loaded).then(load_w).otherwise(avg_w)
        served = pl.when(loaded).then(pl.col("requests_per_s") * pl.col("output_tokens")).otherwise(served)
    lf = lf.with_columns(
        (dev_w * n).alias("accelerator_power_w"),
        (idle * n).alias("accelerator_idle_power_w"),
        (avg_w * n).alias("accelerator_average_power_w"),
        served.alias("served_output_tokens_per_s"),
    )

    # ---- PUE: column, else owned / cloud default rows
    pue_cat = _cat("pue", catalogs)
    pue_owned = _catalog_value(pue_cat, defaults.value_id("pue_owned"), "pue")
    pue_cloud = _catalog_value(pue_cat, defaults.value_id("pue_cloud"), "pue")
    pue_default = pl.when(pl.col("price_model") == "owned").then(pl.lit(pue_owned)).otherwise(pl.lit(pue_cloud))
    lf = lf.with_columns(pl.coalesce(pl.col("pue").cast(pl.Float64), pue_default).alias("pue"))
    lf = lf.with_columns(
        energy.facility_power_w(pl.col("accelerator_power_w"), pl.col("host_power_share"), pl.col("pue")),
        energy.facility_power_w(pl.col("accelerator_average_power_w"), pl.col("host_power_share"), pl.col("pue")).alias(
            "average_power_w"
        ),
    )
    lf = lf.with_columns(
        energy.j_per_output_token(pl.col("accelerator_average_power_w"), pl.col("served_output_tokens_per_s")).alias(
            "accelerator_energy_j_per_output_token"
        ),
        energy.j_per_output_token(pl.col("average_power_w"), pl.col("served_output_tokens_per_s")),
    ).with_columns(energy.kwh_per_million_output_tokens())

    # ---- prices
    explicit = pl.col("usd_per_device_hour").is_not_null()
    lf = lf.with_columns(explicit.alias("_explicit"))
    rented = ~explicit & pl.col("price_model").is_in(list(_RENTED)) & has_provider
    need_rent = df.filter(rented)
    if need_rent.height:
        keys4 = ["hardware", "provider", "region", "price_model"]
        offers, prices = need_rent.select(keys4).unique(maintain_order=True), _cat("cloud_prices", catalogs)
        rent = _memo("rent", (prices,), offers, lambda: cost.rented_usd_per_device_hour(offers, prices).select(
            *keys4, pl.col("rented_usd_per_device_hour").alias("_rent"), "price_id"
        ))
        lf = lf.with_columns(rented.alias("_need_rent")).join(
            rent.lazy().with_columns(pl.lit(True).alias("_need_rent")), on=[*keys4, "_need_rent"], how="left",
            nulls_equal=True, maintain_order="left",
        ).drop("_need_rent")
    else:
        lf = lf.with_columns(pl.lit(None, pl.Float64).alias("_rent"), pl.lit(None, pl.String).alias("price_id"))

    need_own = df.filter(~explicit & (pl.col("price_model") == "owned"))
    if need_own.height:
        lf = _add_owned(lf, df, need_own, catalogs)
    else:
        lf = lf.with_columns(pl.lit(None, pl.Float64).alias("_own"))
    lf = lf.with_columns(
        pl.when(pl.col("_explicit")).then(pl.col("usd_per_device_hour")).otherwise(pl.coalesce("_rent", "_own")).alias("usd_per_device_hour"),
        pl.when(pl.col("_explicit"))
        .then(pl.lit("user"))
        .when(pl.col("_rent").is_not_null())
        .then(pl.col("price_id"))
        .when(pl.col("_own").is_not_null())
        .then(pl.lit("owned:tco"))
        .otherwise(None)
        .alias("price_source"),
    )
    lf = lf.with_columns(cost.usd_per_hour()).with_columns(
        cost.usd_per_million_output_tokens(), cost.usd_per_million_tokens(), cost.usd_per_request()
    )

    # ---- carbon
    lf = _add_grid(lf, df, catalogs)
    lf = lf.with_columns(energy.g_co2e_per_request())
    lf = _add_embodied(lf, catalogs)

    out = lf.collect(engine="in-memory")  # the streaming engine is slower here (1M rows: 1.35 vs 0.9 s)
    unasked = [c for c in optional if c not in keep and c not in ECONOMICS_COLUMNS]
    extra = [c for c in out.columns if c not in keep and not c.startswith("_") and c not in unasked]
    out = out.select(*keep, *extra)
    return out.lazy() if lazy else out


def _power_facts(triples: pl.DataFrame, hw: pl.DataFrame, models: pl.DataFrame, precisions: pl.DataFrame,
                 power_model: pl.DataFrame) -> pl.DataFrame:
    """Per (hardware, model, precision): TDP, idle power, active parameters, peak and the power-model fit."""
    keys3 = ["hardware", "model", "precision"]
    peak_cols = [c for c in hw.columns if c.endswith(("_tflops", "_tops"))]
    hwf = hw.select(pl.col("id").alias("hardware"), *peak_cols, pl.col("tdp_w").alias("_tdp_w"), pl.col("idle_w").alias("_idle_w"),
                    pl.col("family").alias("_family"), pl.col("category").alias("_category"))
    md = models.select(pl.col("id").alias("model"), pl.col("active_params_b").alias("_active_params_b"))
    w = triples.join(hwf, on="hardware", how="left").join(md, on="model", how="left")
    w = energy.peak_tflops(w, hw.select("id", *peak_cols), precisions).select(
        *keys3, "_tdp_w", "_idle_w", "_family", "_category", "_active_params_b", pl.col("peak_tflops").alias("_peak_tflops")
    )
    return energy.power_parameters(w.rename({"_family": "family", "_category": "category"}), power_model).select(
        *keys3, "_tdp_w", "_idle_w", "_active_params_b", "_peak_tflops",
        pl.col("power_floor").alias("_floor"), pl.col("power_u_half").alias("_u_half"), pl.col("host_power_share"),
    )


def _add_owned(lf: pl.LazyFrame, df: pl.DataFrame, need_own: pl.DataFrame, catalogs: dict | None) -> pl.LazyFrame:
    """Owned rows: TCO per device-hour from capex, capital cost, energy, hosting and operations.

    ``lf`` is the query so far, ``df`` the checked input (its columns and data decide), ``need_own`` the
    rows of ``df`` that need an owned price.
    """
    has = set(df.columns)
    capex_given = pl.col("capex_usd_per_device") if "capex_usd_per_device" in has else pl.lit(None, pl.Float64)
    rows = cost.capex_usd_per_device(need_own.select("hardware").unique(maintain_order=True), _cat("hardware_prices", catalogs))
    missing = need_own.join(rows, on="hardware", how="left", maintain_order="left").filter(
        pl.coalesce(capex_given, pl.col("catalog_capex_usd_per_device")).is_null()
    )
    if missing.height:
        raise ValidationError(
            f"column 'capex_usd_per_device': required for price_model 'owned' and hardware {missing['hardware'][0]!r} "
            "has no hardware_prices row; give capex_usd_per_device (USD per device incl. its server share)"
        )
    lf = lf.join(rows.lazy(), on="hardware", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("price_model") == "owned").then(pl.col(c)).alias(c)
        for c in ("catalog_capex_usd_per_device", "capex_usd_per_device_low", "capex_usd_per_device_high")
    )
    lf = lf.with_columns(
        pl.when(pl.col("price_model") == "owned").then(pl.coalesce(capex_given, pl.col("catalog_capex_usd_per_device"))).alias(
            "capex_usd_per_device"
        )
    )
    has.add("capex_usd_per_device")
    elec = _cat("electricity_prices", catalogs)
    elec_default = _catalog_value(elec, defaults.value_id("electricity_region"), "usd_per_kwh")
    if "electricity_region" in has:
        bad = sorted(set(df["electricity_region"].drop_nulls().to_list()) - set(elec["id"].to_list()))
        if bad:
            from .errors import UnknownIdError

            raise UnknownIdError("electricity_region (electricity_prices)", bad, elec["id"].to_list())
        lf = lf.join(elec.lazy().select(pl.col("id").alias("electricity_region"), pl.col("usd_per_kwh").alias("_elec_region")),
                     on="electricity_region", how="left", maintain_order="left")
        given = pl.col("electricity_usd_per_kwh") if "electricity_usd_per_kwh" in has else pl.lit(None, pl.Float64)
        lf = lf.with_columns(pl.coalesce(given, pl.col("_elec_region")).alias("electricity_usd_per_kwh"))
        has.add("electricity_usd_per_kwh")

    is_owned = pl.col("price_model") == "owned"
    lf = lf.with_columns(
        pl.when(is_owned).then(_col_or(has, name, dflt)).otherwise(pl.col(name) if name in has else None).alias(name)
        for name, dflt in [
            ("depreciation_years", defaults.value("depreciation_years")),
            ("interest_rate", defaults.value("interest_rate")),
            ("electricity_usd_per_kwh", elec_default),
            ("hosting_usd_per_kw_month", defaults.value("hosting_usd_per_kw_month")),
            ("ops_usd_per_device_year", defaults.value("ops_usd_per_device_year")),
        ]
    )
    avg_dev_w = pl.col("accelerator_average_power_w") / pl.col("n_devices")
    host = pl.col("host_power_share")
    # server power per device (accelerator + host share) at PUE 1: the TCO applies the PUE itself
    own = cost.owned_usd_per_device_hour(
        average_power_w_per_device=energy.facility_power_w(avg_dev_w, host, 1.0),
        provisioned_power_w_per_device=energy.facility_power_w(pl.col("_tdp_w"), host, 1.0),
    )
    return lf.with_columns(pl.when(pl.col("price_model") == "owned").then(own).otherwise(None).alias("_own"))


def _add_grid(lf: pl.LazyFrame, df: pl.DataFrame, catalogs: dict | None) -> pl.LazyFrame:
    grid = _cat("grid_carbon", catalogs).select(
        pl.col("id").alias("_gid"), pl.col("g_co2e_per_kwh").alias("_g"), pl.col("metric").alias("_metric")
    )
    bad = sorted(set(df["grid_region"].drop_nulls().to_list()) - set(grid["_gid"].to_list()))
    if bad:
        from .errors import UnknownIdError

        raise UnknownIdError("grid_region (grid_carbon)", bad, grid["_gid"].to_list())
    cloud_region = pl.concat_str([pl.col("provider"), pl.lit(":"), pl.col("region")])
    known = grid["_gid"].implode()
    region = pl.coalesce(pl.col("grid_region"), pl.when(cloud_region.is_in(known)).then(cloud_region),
                         pl.lit(defaults.value_id("grid_region")))
    lf = lf.with_columns(region.alias("_grid_region")).join(grid.lazy(), left_on="_grid_region", right_on="_gid",
                                                            how="left", maintain_order="left")
    user = pl.col("grid_g_co2e_per_kwh").cast(pl.Float64)
    return lf.with_columns(
        pl.coalesce(user, pl.col("_g")).alias("grid_g_co2e_per_kwh"),
        pl.when(user.is_not_null()).then(pl.lit("user")).otherwise(pl.col("_grid_region")).alias("grid_region"),
        pl.when(user.is_not_null()).then(pl.lit("user")).otherwise(pl.col("_metric")).alias("grid_metric"),
    )


def _add_embodied(lf: pl.LazyFrame, catalogs: dict | None) -> pl.LazyFrame:
    emb = _cat("embodied_carbon", catalogs)
    if emb.height == 0:
        return lf.with_columns(pl.lit(None, pl.Float64).alias("g_co2e_per_request_embodied"))
    e = _memo("embodied", (emb,), None, lambda: emb.sort("id").group_by("hardware", maintain_order=True).first().select(
        "hardware", pl.col("kg_co2e_per_device").alias("_kg"), pl.col("lifetime_years_assumed").alias("_life")
    ))
    lf = lf.join(e.lazy(), on="hardware", how="left", maintain_order="left")
    life = pl.coalesce(pl.col("lifetime_years").cast(pl.Float64), pl.col("_life"), pl.lit(defaults.value("lifetime_years")))
    return lf.with_columns(energy.g_co2e_per_request_embodied(pl.col("_kg"), lifetime_years=life))


def _with_load(est: pl.DataFrame) -> pl.DataFrame:
    """Serving latency under load; its utilization ρ becomes the cost utilization unless the user gave one."""
    from . import serving

    user = "utilization" in est.columns
    if user:
        est = est.rename({"utilization": "_user_utilization"})
    out = serving.latency_under_load(est)
    if "utilization" in out.columns:
        # ρ ≥ 1 is an unstable queue (``stable`` false): the devices are busy all the time
        out = out.with_columns(pl.col("utilization").clip(upper_bound=1.0))
    if user:
        out = out.rename({"utilization": "load_utilization"}) if "utilization" in out.columns else out
        out = out.rename({"_user_utilization": "utilization"})
    return out


def evaluate(
    scenarios: pl.DataFrame | pl.LazyFrame,
    *,
    uncertainty: bool = False,
    draws: int = 1000,
    seed: int = 0,
    catalogs: dict[str, pl.DataFrame] | None = None,
    **estimate_kwargs,
) -> pl.DataFrame | pl.LazyFrame:
    """Estimate, then cost, energy and carbon, then serving latency under load when asked.

    Parameters
    ----------
    scenarios : polars.DataFrame or LazyFrame
        The estimator's inputs (issue 3) plus the optional economics columns of :func:`add_economics`
        and, for latency under load, ``request_rate_per_s`` or ``concurrency``.
    uncertainty : bool
        Add ``*_p10`` / ``*_p50`` / ``*_p90`` bands for cost, energy and CO₂
        (:func:`infer_econ.uncertainty.bands`).
    draws, seed : int
        Monte Carlo draws per scenario and the random seed (reproducible bands).
    catalogs : dict, optional
        Catalog frames replacing the shipped ones (see :func:`add_economics`).
    **estimate_kwargs
        Passed to :func:`infer_econ.perf.estimate` (e.g. ``efficiency=``).

    Returns
    -------
    polars.DataFrame (LazyFrame in, LazyFrame out)
        One row per scenario with the estimator's and the economics columns.

    Notes
    -----
    Under load (``request_rate_per_s`` / ``concurrency``), :func:`infer_econ.serving.latency_under_load`
    runs before the economics and its ``utilization`` (ρ, capped at 1) is the share of paid time that
    produces tokens, unless the scenario gives ``utilization`` itself (then ρ is kept as
    ``load_utilization``).

    References
    ----------
    Issue 8 contract.

    Examples
    --------
    >>> s = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
    ...     "engine": ["vllm"], "n_devices": [1], "input_tokens": [1000], "output_tokens": [200],
    ...     "usd_per_device_hour": [2.0]})
    >>> r = evaluate(s).row(0, named=True)
    >>> r["usd_per_hour"], r["price_source"]
    (2.0, 'user')
    """
    from . import perf

    lazy = isinstance(scenarios, pl.LazyFrame)
    est = perf.estimate(scenarios, **estimate_kwargs)
    if isinstance(est, pl.LazyFrame):
        est = est.collect()
    if {"request_rate_per_s", "concurrency"} & set(est.columns):
        est = _with_load(est)
    out = add_economics(est, catalogs=catalogs)
    if uncertainty:
        from . import uncertainty as unc

        out = unc.bands(out, draws=draws, seed=seed, catalogs=catalogs)
    return out.lazy() if lazy else out
