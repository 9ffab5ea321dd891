"""One app per workbook: knobs, a compute function that calls the library, cards and charts.

A workbook cell is just ``from infer_econ.ui import apps; apps.hardware()``.
Each builder returns an :class:`infer_econ.ui.App`; tests set its knobs and
read ``app.state`` (frames, headline) and the charts' specs.

The compute functions only turn knob values into scenario frames, call the
library (:func:`infer_econ.evaluate` and the concern modules), and pick rows
and columns out of what comes back. Every number is the library's.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import polars as pl

from .. import catalog, plot
from .._memo import memo
from .cards import Card, Cards
from .core import App, ChartView, Result, TableView
from . import knobs as K

__all__ = ["start_here", "hardware", "quantization", "latency", "build_vs_buy", "model_size", "value_of_accuracy", "edge_vs_cloud", "sustainability", "autoscaling", "planner", "calibrate", "PRIMARY_CLASS"]

#: CSS class of the sliders the browser tests and benchmarks turn.
PRIMARY_CLASS = "ie-primary"


@functools.cache
def _calibration() -> dict:
    """``{"efficiency": table}`` when the user kept a fit in workbook 11, else ``{}``.

    Read once per kernel: a workbook opened (or reloaded) after the fit was
    kept uses it, for every chart of that workbook alike.
    """
    from .. import calibrate

    table = calibrate.load_user_efficiency()
    return {} if table is None else {"efficiency": table}


def calibration_note() -> str | None:
    """A line for the app saying whose efficiencies it uses (None for the shipped ones)."""
    if not _calibration():
        return None
    from .. import calibrate

    return (f"Using your calibration from workbook 11 ({calibrate.user_efficiency_path()}); "
            "delete that file to return to the shipped efficiencies.")


def _app(*args, **kwargs) -> App:
    """An :class:`App` that says when it runs on the user's calibration."""
    return App(*args, note=calibration_note(), **kwargs)


def _primary(*widgets):
    for wdg in widgets:
        wdg.add_class(PRIMARY_CLASS)
    return widgets[0] if len(widgets) == 1 else widgets


def _batch(value: float) -> int | None:
    """Batch knob value → ``batch_size`` column (0 on the slider means "the largest that fits")."""
    return None if value is None or value < 1 else int(round(value))


def _scenarios(values: Mapping[str, Any], rows: Mapping[str, list] | None = None, **fixed) -> pl.DataFrame:
    """A scenario frame: the knob columns the estimator reads, repeated for ``rows``' values."""
    base = {
        "model": values.get("model"),
        "precision": values.get("precision"),
        "engine": values.get("engine"),
        "n_devices": int(values.get("n_devices", 1)),
        "input_tokens": int(round(values.get("input_tokens", 1000))),
        "output_tokens": int(round(values.get("output_tokens", 250))),
    }
    base.update(fixed)
    n = len(next(iter(rows.values()))) if rows else 1
    data = {k: [v] * n for k, v in base.items() if k not in (rows or {})}
    data.update({k: list(v) for k, v in (rows or {}).items()})
    frame = pl.DataFrame(data)
    # an all-None column (no provider, no region) is a string column with nulls, not a Null-typed one
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Null)
    if "batch_size" not in frame.columns:
        frame = frame.with_columns(pl.lit(_batch(values.get("batch_size", 0)), pl.Int64).alias("batch_size"))
    return frame


def _cheapest_cloud(price_model: str) -> pl.DataFrame:
    """Per hardware, the provider and region of its cheapest ``price_model`` row in ``cloud_prices``."""
    prices = catalog.load("cloud_prices").filter(pl.col("price_model") == price_model)
    return (prices.sort("usd_per_device_hour", "id").group_by("hardware", maintain_order=True).first()
            .select("hardware", "provider", "region"))


def _owned_hardware() -> list[str]:
    """Hardware with a purchase price in ``hardware_prices`` (the TCO needs one)."""
    return catalog.load("hardware_prices")["hardware"].drop_nulls().unique().sort().to_list()


def _priced_fleet(values: Mapping[str, Any]) -> pl.DataFrame:
    """Every hardware that has a price under the chosen price model, with how it is priced."""
    pm = values["price_model"]
    frames = tuple(catalog.load(n) for n in ("hardware", "cloud_prices", "hardware_prices"))
    return memo("priced-fleet", frames, pl.DataFrame({"price_model": [pm]}), lambda: _priced_fleet_of(pm, frames[0]))


def _priced_fleet_of(pm: str, hardware: pl.DataFrame) -> pl.DataFrame:
    hw = hardware.select(pl.col("id").alias("hardware"), "category", "vendor", "memory_gb")
    if pm == "owned":
        return hw.filter(pl.col("hardware").is_in(_owned_hardware())).with_columns(
            pl.lit("owned").alias("price_model"), pl.lit(None, pl.String).alias("provider"),
            pl.lit(None, pl.String).alias("region"))
    return hw.join(_cheapest_cloud(pm), on="hardware", how="inner").with_columns(pl.lit(pm).alias("price_model"))


def _row(frame: pl.DataFrame, **match) -> dict | None:
    sub = frame
    for k, v in match.items():
        sub = sub.filter(pl.col(k) == v)
    return sub.row(0, named=True) if sub.height else None


def _headline_of(row: dict | None, keys: list[str]) -> dict:
    return {k: (row.get(k) if row else None) for k in keys}


# --------------------------------------------------------------------------- 01 hardware
_HW_COLUMNS = ["hardware", "category", "vendor", "price_model", "provider", "n_devices", "batch_size_used", "fits",
               "limit", "output_tokens_per_s", "ttft_s", "tpot_s", "usd_per_device_hour", "usd_per_hour",
               "usd_per_million_output_tokens", "usd_per_million_tokens", "power_w",
               "energy_j_per_output_token", "kwh_per_million_output_tokens", "g_co2e_per_request",
               "weights_gb_per_device", "memory_gb", "efficiency_id", "efficiency_fitted"]


def _basis_note(row: dict | None) -> str:
    """Whether the efficiencies behind ``row``'s speeds were fitted on its engine and hardware family."""
    if row is None or row.get("efficiency_fitted") is None:
        return ""
    if row["efficiency_fitted"]:
        return f"calibrated: {row['engine']} measured on this family ({row['efficiency_id']})"
    return f"not calibrated for {row['engine']} on this family: fallback row {row['efficiency_id']}"


def hardware(model: str = "llama-3.1-8b", precision: str = "fp8", engine: str = "vllm",
             pick: str = "h100-sxm") -> App:
    """Workbook 01: every accelerator compared for one model, precision, engine and request shape.

    Knobs: model, precision, engine, prompt and output tokens (log sliders),
    devices per replica, batch (0 = the largest that fits), price model, and
    the hardware to highlight. Charts: $/1M output tokens vs output tokens/s
    (log-log, one point per accelerator), energy per output token per
    accelerator, throughput against the purchase price of one device
    (:func:`infer_econ.cost.capex_usd_per_device`; hardware with a price row).
    Headline: the highlighted accelerator's numbers.

    Examples
    --------
    >>> app = hardware()
    >>> app.state.error is None and app.state.frames["hardware"].height > 5
    True
    """
    ks = {
        "model": K.model(model),
        "precision": K.precision(precision),
        "engine": K.engine(engine),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
        "n_devices": K.int_slider("Devices per replica", 1, 1, 8, unit="count", continuous_update=False),
        "batch_size": K.int_slider("Batch (0 = max)", 0, 0, 512, unit="sequences",
                                   continuous_update=False),
        "price_model": K.price_model("on_demand"),
        "pick": K.hardware(pick),
    }
    _primary(ks["input_tokens"], ks["output_tokens"], ks["n_devices"])

    def compute(v: dict) -> Result:
        from .. import evaluate

        fleet = _priced_fleet(v)
        scen = _scenarios(v, rows={"hardware": fleet["hardware"].to_list()},
                          price_model=v["price_model"]).with_columns(
            provider=fleet["provider"], region=fleet["region"])
        from ..energy import output_tokens_per_s_per_w
        from ..cost import output_tokens_per_s_per_capex_usd
        from ..perf import efficiency_basis, phase_roofline, roofline_curve

        out = evaluate(scen, **_calibration()).join(fleet.select("hardware", "category", "vendor", "memory_gb"), on="hardware",
                                  how="left")
        out = efficiency_basis(out, **_calibration())  # which efficiency row each speed rests on
        cols = [c for c in _HW_COLUMNS if c in out.columns]
        fits = out.filter(pl.col("fits")).select(cols).sort("usd_per_million_output_tokens").with_columns(
            output_tokens_per_s_per_w())
        nofit = out.filter(~pl.col("fits")).select("hardware", "memory_gb", "limit", "weights_gb_per_device")
        row = _row(out, hardware=v["pick"])
        from ..cost import capex_usd_per_device

        capex = capex_usd_per_device(fits.select("hardware", "category", "n_devices", "output_tokens_per_s",
                                                 "usd_per_million_output_tokens")).filter(
            pl.col("catalog_capex_usd_per_device").is_not_null()).rename(
            {"catalog_capex_usd_per_device": "capex_usd_per_device"}).with_columns(
            output_tokens_per_s_per_capex_usd())
        picked = out.filter((pl.col("hardware") == v["pick"]) & pl.col("fits"))
        if picked.height:
            points = phase_roofline(picked.head(1))
            p0 = points.row(0, named=True)
            roof = pl.concat([roofline_curve(p0["peak_tflops"], p0["memory_bandwidth_gb_per_s"]),
                              points.select("kind", "phase", "arithmetic_intensity_flop_per_byte",
                                            "achieved_tflops", "attainable_tflops")], how="diagonal_relaxed")
        else:
            roof = pl.DataFrame(schema={"kind": pl.String, "phase": pl.String,
                                        "arithmetic_intensity_flop_per_byte": pl.Float64,
                                        "attainable_tflops": pl.Float64, "achieved_tflops": pl.Float64})
        headline = _headline_of(row, ["usd_per_million_output_tokens", "output_tokens_per_s", "ttft_s", "tpot_s",
                                      "energy_j_per_output_token", "usd_per_hour"])
        msg = None
        if row is None:
            msg = (f"{v['pick']} has no {K.PRICE_MODEL_LABELS.get(v['price_model'], v['price_model']).lower()} "
                   "price in the catalogs: pick another price model or hardware.")
        elif not row["fits"]:
            msg = f"{v['pick']} cannot run this: {row['limit']} (weights {row['weights_gb_per_device']:.3g} GB per device)."
        best = fits.row(0, named=True) if fits.height else None
        notes = {"usd_per_million_output_tokens": f"cheapest here: {best['hardware']}" if best else "",
                 "output_tokens_per_s": _basis_note(row) if row and row["fits"] else ""}
        return Result(frames={"hardware": fits, "energy": fits.select("hardware", "category",
                                                                      "energy_j_per_output_token", "power_w",
                                                                      "output_tokens_per_s",
                                                                      "output_tokens_per_s_per_w"),
                              "capex": capex, "roofline": roof, "does_not_fit": nofit},
                      headline=headline, notes=notes, message=msg)

    views = [
        ChartView("hardware", plot.cost_vs_throughput, params=lambda v: {"highlight": v["pick"]}),
        ChartView("energy", lambda f: plot.bars(f, "energy_j_per_output_token", "hardware", color="category",
                                                sort_descending=False, title="Energy per output token (lower is better)",
                                                extra_tooltip=["power_w", "output_tokens_per_s",
                                                               "output_tokens_per_s_per_w"])),
        ChartView("capex", lambda f: plot.scatter(f, "capex_usd_per_device", "output_tokens_per_s", color="category",
                                                  text="hardware", log_x=True, log_y=True,
                                                  extra_tooltip=["capex_usd_per_device_low", "capex_usd_per_device_high",
                                                                 "output_tokens_per_s_per_capex_usd",
                                                                 "usd_per_million_output_tokens"],
                                                  title="Throughput against the purchase price of one device"),
                  params=lambda v: {"highlight": v["pick"]}),
        ChartView("roofline", lambda f: plot.roofline(f, title="Roofline of the highlighted hardware: where prefill "
                                                                  "and decode sit")),
        TableView("does_not_fit", ["hardware", "memory_gb", "limit", "weights_gb_per_device"]),
    ]
    cards = Cards([
        Card("usd_per_million_output_tokens", "Cost per 1M output tokens", "usd", "", "highlighted hardware"),
        Card("output_tokens_per_s", "Output tokens/s", "si", "tokens/s"),
        Card("ttft_s", "Time to first token", "ms"),
        Card("tpot_s", "Time per output token", "ms"),
        Card("energy_j_per_output_token", "Energy per output token", "float", "J"),
        Card("usd_per_hour", "Deployment cost", "usd", "per hour"),
    ])
    groups = [("Workload", ["model", "precision", "engine", "input_tokens", "output_tokens"]),
              ("Deployment", ["n_devices", "batch_size", "price_model"]),
              ("Highlight", ["pick"])]
    return _app("Which accelerator? Cost per token vs speed", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 03 quantization
_QUANT_COLUMNS = ["precision", "fits", "limit", "weights_gb_per_device", "kv_cache_gb_per_device", "batch_size_used",
                  "output_tokens_per_s", "tpot_s", "ttft_s", "usd_per_million_output_tokens", "energy_j_per_output_token"]


def quantization(model: str = "llama-3.1-70b", pick: str = "h100-sxm", engine: str = "vllm",
                 precision: str = "int4") -> App:
    """Workbook 03: every precision of one model on one device: memory, fit, speed, cost, accuracy kept.

    Knobs: model, hardware, engine, devices, prompt and output tokens, price
    model, and the precision to highlight. Charts: $/1M output tokens vs
    tokens/s per precision; weights per device per precision; devices the
    model fits on per precision. Table: published accuracy recovery of the
    quantized model (``quantization_accuracy`` catalog).

    Examples
    --------
    >>> app = quantization()
    >>> app.state.frames["precisions"].height >= 3
    True
    """
    ks = {
        "model": K.model(model),
        "pick_hardware": K.hardware(pick),
        "engine": K.engine(engine),
        "n_devices": K.int_slider("Devices per replica", 1, 1, 8, unit="count", continuous_update=False),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "owned"]),
        "precision": K.precision(precision),
    }
    _primary(ks["n_devices"], ks["input_tokens"])

    def compute(v: dict) -> Result:
        from .. import evaluate

        precisions = catalog.load("precisions")["id"].to_list()
        hw = v["pick_hardware"]
        if v["price_model"] == "owned":
            price = {"price_model": "owned", "provider": None, "region": None}
        else:
            cheap = _cheapest_cloud(v["price_model"]).filter(pl.col("hardware") == hw)
            price = ({"price_model": v["price_model"], "provider": cheap["provider"].item(), "region": cheap["region"].item()}
                     if cheap.height else None)
        fixed = {"hardware": hw, "engine": v["engine"]}
        if price:
            fixed.update(price)
        scen = _scenarios({**v, "precision": None}, rows={"precision": precisions}, **fixed)
        if price is None:  # no price for this device: speed and memory only
            from .. import estimate

            out = estimate(scen.drop("provider", "region", "price_model", strict=False), **_calibration())
        else:
            out = evaluate(scen, **_calibration())
        cols = [c for c in _QUANT_COLUMNS if c in out.columns]
        table = out.select(cols)
        fits = table.filter(pl.col("fits"))
        # where each precision fits: every device, one replica of n devices
        all_hw = catalog.load("hardware")["id"].to_list()
        grid = _scenarios({**v, "precision": None},
                          rows={"precision": [p for p in precisions for _ in all_hw],
                                "hardware": [h for _ in precisions for h in all_hw]},
                          engine=v["engine"], batch_size=1)
        fit_grid = estimate_fit(grid)
        row = _row(out, precision=v["precision"])
        headline = _headline_of(row, ["weights_gb_per_device", "output_tokens_per_s", "usd_per_million_output_tokens",
                                      "tpot_s"])
        count = _row(fit_grid, precision=v["precision"])
        headline["devices_that_fit"] = count["devices_that_fit"] if count else None
        acc = catalog.load("quantization_accuracy").filter(pl.col("model") == v["model"]).select(
            "precision_detail", "benchmark", "score", "baseline_score", "recovery_pct", "source")
        msg = None
        if price is None:
            msg = f"{hw} has no {v['price_model']} price in the catalogs: costs are not shown."
        elif row is not None and not row["fits"]:
            msg = f"{v['precision']} does not run here: {row['limit']}."
        return Result(frames={"precisions": fits, "memory": table.select("precision", "weights_gb_per_device", "fits"),
                              "fit_count": fit_grid, "accuracy": acc},
                      headline=headline, message=msg)

    def estimate_fit(grid: pl.DataFrame) -> pl.DataFrame:
        from .. import estimate

        return (estimate(grid, **_calibration()).group_by("precision", maintain_order=True)
                .agg(pl.col("fits").sum().alias("devices_that_fit")))

    views = [
        ChartView("precisions", lambda f: plot.cost_vs_throughput(
            f, text="precision", color="limit", title="Cost per token vs speed, by precision"),
            params=lambda v: {"highlight": v["precision"]}),
        ChartView("memory", lambda f: plot.bars(f, "weights_gb_per_device", "precision", color="fits",
                                                title="Weights per device")),
        ChartView("fit_count", lambda f: plot.bars(f, "devices_that_fit", "precision",
                                                   title="Catalog devices the model fits on (per replica of n devices)")),
        TableView("accuracy", ["precision_detail", "benchmark", "score", "baseline_score", "recovery_pct", "source"],
                  {"score": "float", "baseline_score": "float", "recovery_pct": "float"}),
    ]
    cards = Cards([
        Card("weights_gb_per_device", "Weights per device", "float", "GB"),
        Card("devices_that_fit", "Devices it fits on", "int", "of the catalog"),
        Card("output_tokens_per_s", "Output tokens/s", "si", "tokens/s"),
        Card("usd_per_million_output_tokens", "Cost per 1M output tokens", "usd"),
        Card("tpot_s", "Time per output token", "ms"),
    ])
    groups = [("Model and device", ["model", "pick_hardware", "engine", "n_devices"]),
              ("Requests", ["input_tokens", "output_tokens", "price_model"]),
              ("Highlight", ["precision"])]
    return _app("Quantization: memory, speed, cost and accuracy per precision", ks, compute, views, cards=cards,
               groups=groups)


# --------------------------------------------------------------------------- shared: self-hosted vs API
def _price_columns(hardware_id: str, price_model: str) -> dict:
    """How a single hardware is priced: the cheapest catalog row under ``price_model`` (or owned TCO)."""
    if price_model == "owned":
        return {"price_model": "owned", "provider": None, "region": None}
    cheap = _cheapest_cloud(price_model).filter(pl.col("hardware") == hardware_id)
    if not cheap.height:
        from ..errors import ValidationError

        have = catalog.load("cloud_prices").filter(pl.col("hardware") == hardware_id)["price_model"].unique().sort()
        raise ValidationError(
            f"{hardware_id} has no {price_model} price in the cloud_prices catalog"
            + (f"; it has: {', '.join(have.to_list())}" if have.len() else "; try price model 'owned'"))
    return {"price_model": price_model, "provider": cheap["provider"].item(), "region": cheap["region"].item()}


_SCENARIO_KEYS = ("model", "precision", "engine", "n_devices", "input_tokens", "output_tokens", "batch_size",
                  "price_model")


@functools.lru_cache(maxsize=256)
def _self_hosted_cached(key: tuple, hardware_id: str) -> dict:
    from .. import evaluate

    v = dict(key)
    scen = _scenarios(v, hardware=hardware_id, **_price_columns(hardware_id, v["price_model"]))
    return evaluate(scen, **_calibration()).row(0, named=True)


def _self_hosted(v: Mapping[str, Any], hardware_id: str) -> dict:
    """One replica of ``hardware_id`` evaluated for the knob values (a row of :func:`infer_econ.evaluate`).

    Cached on the values the estimate depends on, so a volume knob does not re-run it.
    """
    key = tuple((k, v[k]) for k in _SCENARIO_KEYS if k in v)
    return dict(_self_hosted_cached(key, hardware_id))


def _api(api_id: str) -> dict:
    return catalog.load("api_prices").filter(pl.col("id") == api_id).row(0, named=True)


def _monthly_costs(v: Mapping[str, Any], replica: dict, api: dict, requests_per_day: pl.Series,
                   peak_to_mean: float = 1.0, target_utilization: float = 1.0) -> pl.DataFrame:
    """Monthly cost of the API and of a self-hosted fleet over a range of daily volumes (long form)."""
    from .. import value
    from . import units

    i, o = int(round(v["input_tokens"])), int(round(v["output_tokens"]))
    vol = pl.DataFrame({"requests_per_day": requests_per_day}).with_columns(
        input_tokens_per_month=units.tokens_per_month(pl.col("requests_per_day"), i),
        output_tokens_per_month=units.tokens_per_month(pl.col("requests_per_day"), o),
    )
    api_cost = vol.with_columns(value.api_monthly_cost_usd(
        usd_per_million_input_tokens=api["usd_per_million_input_tokens"],
        usd_per_million_output_tokens=api["usd_per_million_output_tokens"],
        usd_per_million_cached_input_tokens=api["usd_per_million_cached_input_tokens"],
        batch_discount_fraction=api["batch_discount_fraction"],
        cached_input_share=v.get("cached_input_share", 0.0), batch_share=v.get("batch_share", 0.0),
    ).alias("usd_per_month"), pl.lit(None, pl.Int64).alias("replicas"),
        pl.lit(f"API: {api['model_name']}").alias("option"))
    if replica.get("fits") and replica.get("output_tokens_per_s"):
        own = vol.with_columns(
            value.self_hosted_monthly_cost_usd(output_tokens_per_s=replica["output_tokens_per_s"],
                                               usd_per_hour=replica["usd_per_hour"], peak_to_mean=peak_to_mean,
                                               target_utilization=target_utilization).alias("usd_per_month"),
            value.self_hosted_replicas(output_tokens_per_s=replica["output_tokens_per_s"], peak_to_mean=peak_to_mean,
                                       target_utilization=target_utilization),
            pl.lit(f"self-hosted: {replica['model']} on {replica['hardware']}").alias("option"))
        frames = [own, api_cost]
    else:
        frames = [api_cost]
    cols = ["option", "requests_per_day", "input_tokens_per_month", "output_tokens_per_month", "usd_per_month",
            "replicas"]
    return pl.concat([f.select(cols) for f in frames])


def _at_volume(costs: pl.DataFrame, requests_per_day: float, v: Mapping[str, Any], replica: dict, api: dict,
               peak_to_mean: float = 1.0, target_utilization: float = 1.0) -> dict:
    """Both monthly costs at exactly the user's volume."""
    one = _monthly_costs(v, replica, api, pl.Series([float(requests_per_day)]), peak_to_mean, target_utilization)
    own = one.filter(pl.col("option").str.starts_with("self-hosted"))
    apis = one.filter(pl.col("option").str.starts_with("API"))
    return {
        "self_hosted_usd_per_month": own["usd_per_month"].item() if own.height else None,
        "replicas": own["replicas"].item() if own.height else None,
        "api_usd_per_month": apis["usd_per_month"].item(),
        "output_tokens_per_month": apis["output_tokens_per_month"].item(),
        "input_tokens_per_month": apis["input_tokens_per_month"].item(),
    }


# --------------------------------------------------------------------------- 00 start here
def start_here(model: str = "llama-3.1-8b", hardware_id: str = "l40s",
               api_model: str = "openai:gpt-4o-mini") -> App:
    """Workbook 00: what will my AI feature cost? Self-hosted and API side by side.

    Knobs: requests per day (log), prompt and output tokens, model,
    precision, hardware, price model, API model. Chart: monthly cost against
    requests per day for both (log-log; the dashed line is your volume, a
    Vega param that moves without a redraw). Headline: $/month each way,
    replicas, $/1M tokens at full load, operational CO2 per month.

    Examples
    --------
    >>> app = start_here()
    >>> app.state.headline["api_usd_per_month"] > 0
    True
    """
    from . import units

    catalog.check_ids("api_prices", [api_model])  # an unknown API model is an error listing the valid ones
    ks = {
        "requests_per_day": _primary(K.volume(10_000, min=10, max=1e8, unit="requests/day")),
        "input_tokens": K.tokens("Prompt", 800, min=16, max=32768),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384),
        "model": K.model(model, open_weights=True),
        "precision": K.precision("fp8"),
        "engine": K.engine("vllm"),
        "hardware": K.hardware(hardware_id),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "reserved_3y",
                                                            "owned"]),
        "api_model": K.api_model(api_model),
    }

    def compute(v: dict) -> Result:
        replica = _self_hosted(v, v["hardware"])
        api = _api(v["api_model"])
        costs = _monthly_costs(v, replica, api, units.log_grid(10, 1e8, 57))
        at = _at_volume(costs, v["requests_per_day"], v, replica, api)
        own, apic = at["self_hosted_usd_per_month"], at["api_usd_per_month"]
        headline = {
            **at,
            "cheaper": None if own is None else ("self-hosted" if own < apic else "API"),
            "usd_per_million_tokens": replica.get("usd_per_million_tokens"),
            "kg_co2e_per_month": units.per_month(replica.get("g_co2e_per_request"), v["requests_per_day"]),
        }
        if headline["kg_co2e_per_month"] is not None:
            headline["kg_co2e_per_month"] /= 1000.0  # g → kg
        msg = None
        if not replica.get("fits"):
            msg = f"{v['model']} does not run on one {v['hardware']}: {replica.get('limit')}. Only the API is priced."
        return Result(frames={"monthly_cost": costs}, headline=headline, message=msg,
                      notes={"usd_per_million_tokens": "self-hosted at full load"})

    views = [ChartView("monthly_cost", lambda f: plot.break_even(
        f, x="requests_per_day", marker=1.0, title="Monthly cost by daily volume (dashed: your volume)"),
        params=lambda v: {"volume": v["requests_per_day"]})]
    cards = Cards([
        Card("self_hosted_usd_per_month", "Self-hosted per month", "usd"),
        Card("api_usd_per_month", "API per month", "usd"),
        Card("cheaper", "Cheaper at your volume", "si"),
        Card("replicas", "Replicas needed", "int"),
        Card("usd_per_million_tokens", "Self-hosted $ per 1M tokens", "usd"),
        Card("kg_co2e_per_month", "Operational CO2 per month", "float", "kg CO2e", "requests served, idle excluded"),
    ])
    groups = [("Your feature", ["requests_per_day", "input_tokens", "output_tokens"]),
              ("Self-hosted", ["model", "precision", "engine", "hardware", "price_model"]),
              ("Hosted API", ["api_model"])]
    return _app("What will my AI feature cost?", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 04 latency and throughput
_WORKLOAD_KEYS = ("model", "hardware", "precision", "engine", "n_devices", "input_tokens", "output_tokens",
                  "price_model")


def _workload_key(v: Mapping[str, Any]) -> tuple:
    return tuple((k, v[k]) for k in _WORKLOAD_KEYS if k in v)


@functools.lru_cache(maxsize=64)
def _batch_sweep(key: tuple) -> pl.DataFrame:
    """The deployment at every power-of-two batch: speed per user vs total speed, cost (evaluate)."""
    from .. import evaluate

    v = dict(key)
    batches = [2 ** i for i in range(11)]
    scen = _scenarios(v, rows={"batch_size": batches}, hardware=v["hardware"],
                      **_price_columns(v["hardware"], v["price_model"]))
    out = evaluate(scen, **_calibration()).filter(pl.col("fits"))
    return out.select("batch_size_used", "tpot_s", "ttft_s", "output_tokens_per_s", "usd_per_million_output_tokens",
                      "limit")


@functools.lru_cache(maxsize=64)
def _load_sweep(key: tuple) -> pl.DataFrame:
    """Latency percentiles of one replica over request rates up to its capacity (serving.latency_under_load)."""
    from .. import serving
    from . import units

    v = dict(key)
    blocks = serving.step_times(_scenarios(v, hardware=v["hardware"]).drop("batch_size"))
    probe = serving.latency_under_load(blocks.with_columns(pl.lit(1e-6).alias("request_rate_per_s")), **_calibration())
    cap = probe["capacity_requests_per_s"].item()
    if cap is None or not cap > 0:
        return probe.select("request_rate_per_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s",
                            "utilization", "stable", "capacity_requests_per_s").clear()
    rates = units.load_grid(cap, 48)
    grid = blocks.join(pl.DataFrame({"request_rate_per_s": rates}), how="cross")
    return serving.latency_under_load(grid, **_calibration()).select(
        "request_rate_per_s", "ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "utilization", "stable",
        "capacity_requests_per_s")


def latency(model: str = "llama-3.1-8b", hardware_id: str = "h100-sxm", precision: str = "fp8") -> App:
    """Workbook 04: interactive vs batch work, the batch frontier, latency under load and SLOs.

    Knobs: model, hardware, precision, engine, devices, prompt and output
    tokens, price model; demand (requests/s, log); SLO sliders for TTFT p99
    and TPOT p99 (log). Charts: the batch frontier (time per output token vs
    total tokens/s, coloured by $/1M tokens); TTFT and TPOT percentiles vs
    request rate on one replica with the SLO lines (Vega params). Headline:
    the cheapest fleet meeting the SLO at the demand
    (:func:`infer_econ.serving.capacity`), the highest rate one replica serves
    within the SLO, and the batch-job cost (largest batch, no latency target).

    Examples
    --------
    >>> app = latency()
    >>> app.state.headline["replicas"] >= 1
    True
    """
    ks = {
        "slo_ttft_p99_s": _primary(K.log_slider("TTFT p99 target", 2.0, 0.05, 30.0, unit="s")),
        "slo_tpot_p99_s": K.log_slider("TPOT p99 target", 0.05, 0.004, 0.5, unit="s"),
        "request_rate_per_s": K.log_slider("Demand", 10.0, 0.1, 1000.0, unit="requests/s", fmt=".3s"),
        "model": K.model(model),
        "hardware": K.hardware(hardware_id),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "n_devices": K.int_slider("Devices per replica", 1, 1, 8, unit="count", continuous_update=False),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "reserved_3y"]),
    }

    def compute(v: dict) -> Result:
        from .. import serving

        key = _workload_key(v)
        frontier = _batch_sweep(key)
        load = _load_sweep(key)
        price = _price_columns(v["hardware"], v["price_model"])
        cand = _scenarios(v, hardware=v["hardware"]).drop("batch_size")
        cap = serving.capacity(cand, request_rate_per_s=float(v["request_rate_per_s"]),
                               input_tokens=float(v["input_tokens"]), output_tokens=float(v["output_tokens"]),
                               slo_ttft_p99_s=float(v["slo_ttft_p99_s"]), slo_tpot_p99_s=float(v["slo_tpot_p99_s"]),
                               provider=price["provider"], price_model=price["price_model"], region=price["region"],
                               **_calibration())
        best = cap.row(0, named=True)
        within = load.filter(pl.col("stable") & (pl.col("ttft_p99_s") <= v["slo_ttft_p99_s"])
                             & (pl.col("tpot_p99_s") <= v["slo_tpot_p99_s"]))
        batch_job = frontier.sort("usd_per_million_output_tokens").row(0, named=True) if frontier.height else None
        headline = {
            "replicas": best["replicas"], "batch_cap": best["batch_cap"], "usd_per_hour": best["usd_per_hour"],
            "interactive_usd_per_million_output_tokens": best["usd_per_million_output_tokens"],
            "max_rate_within_slo": within["request_rate_per_s"].max() if within.height else None,
            "batch_usd_per_million_output_tokens": batch_job["usd_per_million_output_tokens"] if batch_job else None,
        }
        msg = None
        if not within.height:
            msg = "No request rate on this grid meets both targets on one replica: relax the SLO or pick faster hardware."
        return Result(frames={"batch_frontier": frontier, "ttft_under_load": load, "tpot_under_load": load},
                      headline=headline, message=msg,
                      notes={"batch_usd_per_million_output_tokens": "largest batch, no latency target",
                             "interactive_usd_per_million_output_tokens": "cheapest fleet meeting the SLO"})

    views = [
        ChartView("batch_frontier", lambda f: plot.batch_frontier(f), params=lambda v: {"highlight": -1}),
        ChartView("ttft_under_load", lambda f: plot.load_curve(f, slo_s=2.0, title="Time to first token under load (one replica)"),
                  params=lambda v: {"slo_s": v["slo_ttft_p99_s"]}),
        ChartView("tpot_under_load", lambda f: plot.load_curve(f, y=("tpot_p50_s", "tpot_p99_s"), slo_s=0.05,
                                                               title="Time per output token under load (one replica)"),
                  params=lambda v: {"slo_s": v["slo_tpot_p99_s"]}),
    ]
    cards = Cards([
        Card("replicas", "Replicas for the demand", "int", "", "cheapest fleet meeting the SLO"),
        Card("batch_cap", "Batch cap per replica", "int", "sequences"),
        Card("usd_per_hour", "Fleet cost", "usd", "per hour"),
        Card("interactive_usd_per_million_output_tokens", "Interactive $ per 1M output tokens", "usd"),
        Card("batch_usd_per_million_output_tokens", "Batch-job $ per 1M output tokens", "usd"),
        Card("max_rate_within_slo", "Most one replica serves in SLO", "float", "requests/s"),
    ])
    groups = [("Latency targets (SLO)", ["slo_ttft_p99_s", "slo_tpot_p99_s"]),
              ("Demand", ["request_rate_per_s"]),
              ("Deployment", ["model", "hardware", "precision", "engine", "n_devices", "price_model"]),
              ("Requests", ["input_tokens", "output_tokens"])]
    return _app("Latency and throughput: interactive vs batch", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 08 build vs buy
def build_vs_buy(model: str = "llama-3.1-70b", hardware_id: str = "h100-sxm", precision: str = "fp8",
                 api_model: str = "openai:gpt-4o") -> App:
    """Workbook 08: API vs self-hosted open weights; break-even volume; price shocks and lock-in.

    Knobs: requests per day (log), prompt and output tokens, cached-input and
    batch-API shares; the self-hosted model, hardware, devices, price model,
    peak-to-mean and target utilization; the API model; the price shocks (API
    %, GPU %), the one-off switching cost and the horizon. Charts: monthly
    cost by volume (your volume a dashed line); staying vs switching over the
    horizon (:func:`infer_econ.value.lock_in`).

    Examples
    --------
    >>> app = build_vs_buy()
    >>> app.state.headline["api_usd_per_month"] > 0
    True
    """
    from . import units

    catalog.check_ids("api_prices", [api_model])  # an unknown API model is an error listing the valid ones
    ks = {
        "requests_per_day": _primary(K.volume(100_000, min=100, max=1e8, unit="requests/day")),
        "api_price_change": _primary(K.slider("API price change", 0.0, -0.8, 2.0, 0.1, unit="fraction")),
        "gpu_price_change": K.slider("GPU price change", 0.0, -0.8, 1.0, 0.1, unit="fraction"),
        "switching_cost_usd": K.log_slider("Switching cost", 50_000, 1_000, 5e6, unit="USD", fmt=".3s"),
        "horizon_months": K.int_slider("Horizon", 24, 3, 60, unit="months"),
        "input_tokens": K.tokens("Prompt", 1500, min=16, max=32768),
        "output_tokens": K.tokens("Output", 300, min=16, max=16384),
        "cached_input_share": K.slider("Cached prompt share", 0.0, 0.0, 0.9, 0.1, unit="fraction"),
        "batch_share": K.slider("Batch-API share", 0.0, 0.0, 1.0, 0.1, unit="fraction"),
        "api_model": K.api_model(api_model),
        "model": K.model(model, open_weights=True),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "hardware": K.hardware(hardware_id),
        "n_devices": K.int_slider("Devices per replica", 2, 1, 8, unit="count", continuous_update=False),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "reserved_3y",
                                                            "owned"]),
        "peak_to_mean": K.slider("Peak / mean demand", 2.0, 1.0, 6.0, 0.25, unit="ratio"),
        "target_utilization": K.slider("Target utilization", 0.7, 0.2, 1.0, 0.05, unit="fraction"),
    }

    def compute(v: dict) -> Result:
        from .. import value

        replica = _self_hosted(v, v["hardware"])
        api = _api(v["api_model"])
        p2m, tu = float(v["peak_to_mean"]), float(v["target_utilization"])
        costs = _monthly_costs(v, replica, api, units.log_grid(100, 1e8, 57), p2m, tu)
        at = _at_volume(costs, v["requests_per_day"], v, replica, api, p2m, tu)
        headline = dict(at)
        frames = {"monthly_cost": costs}
        msg = None
        if at["self_hosted_usd_per_month"] is None:
            msg = f"{v['model']} does not run on {v['n_devices']} × {v['hardware']} ({replica.get('limit')}): add devices."
        else:
            pair = pl.DataFrame({"api_monthly_cost_usd": [at["api_usd_per_month"]],
                                 "self_hosted_monthly_cost_usd": [at["self_hosted_usd_per_month"]]})
            li = value.lock_in(pair, api_price_change=float(v["api_price_change"]),
                               gpu_price_change=float(v["gpu_price_change"]),
                               switching_cost_usd=float(v["switching_cost_usd"]),
                               horizon_months=float(v["horizon_months"])).row(0, named=True)
            headline.update({k: li[k] for k in ("lock_in_cost_usd", "switch_payback_months", "stay_cost_usd",
                                                "switch_cost_usd")})
            frames["stay_or_switch"] = pl.DataFrame({
                "choice": ["stay on the API", "switch to self-hosted"],
                "usd_over_horizon": [li["stay_cost_usd"], li["switch_cost_usd"]],
            })
        return Result(frames=frames, headline=headline, message=msg)

    views = [
        ChartView("monthly_cost", lambda f: plot.break_even(
            f, x="requests_per_day", marker=1.0, title="Monthly cost by daily volume (dashed: your volume)"),
            params=lambda v: {"volume": v["requests_per_day"]}),
        ChartView("stay_or_switch", lambda f: plot.bars(f, "usd_over_horizon", "choice",
                                                        title="Over the horizon, after the price shocks")),
    ]
    cards = Cards([
        Card("api_usd_per_month", "API per month", "usd"),
        Card("self_hosted_usd_per_month", "Self-hosted per month", "usd", "", "sized for the peak"),
        Card("replicas", "Replicas", "int"),
        Card("lock_in_cost_usd", "Cost of staying vs switching", "usd", "", "over the horizon; < 0: staying is cheaper"),
        Card("switch_payback_months", "Switching pays back in", "months"),
    ])
    groups = [("Volume", ["requests_per_day", "input_tokens", "output_tokens"]),
              ("Shocks and lock-in", ["api_price_change", "gpu_price_change", "switching_cost_usd", "horizon_months"]),
              ("Buy: hosted API", ["api_model", "cached_input_share", "batch_share"]),
              ("Build: self-hosted", ["model", "precision", "engine", "hardware", "n_devices", "price_model",
                                      "peak_to_mean", "target_utilization"])]
    return _app("Build vs buy: API or self-hosted open weights", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 02 model size, 07 value of accuracy
_MODEL_KEYS = ("hardware", "precision", "engine", "input_tokens", "output_tokens", "price_model", "benchmark")


def _benchmarks() -> list[str]:
    q = catalog.load("model_quality")
    counts = q.filter(pl.col("model").is_not_null()).group_by("benchmark").agg(pl.col("model").n_unique().alias("n"))
    return counts.filter(pl.col("n") >= 8).sort("n", descending=True)["benchmark"].to_list()


@functools.lru_cache(maxsize=32)
def _model_sweep(key: tuple) -> pl.DataFrame:
    """Every scored text-generation model on the chosen hardware at 1, 2, 4 or 8 devices: the cheapest layout that runs."""
    from .. import evaluate, value

    v = dict(key)
    models = catalog.load("models").filter(pl.col("task") == "text-generation").select(
        pl.col("id").alias("model"), "total_params_b", "active_params_b", "family")
    scored = value.model_quality(models.with_columns(pl.lit(v["precision"]).alias("precision")), v["benchmark"])
    scored = scored.filter(pl.col("quality").is_not_null())
    ids = scored["model"].to_list()
    devices = [1, 2, 4, 8]
    scen = _scenarios(v, rows={"model": [m for m in ids for _ in devices], "n_devices": [d for _ in ids for d in devices]},
                      hardware=v["hardware"], **_price_columns(v["hardware"], v["price_model"]))
    out = evaluate(scen, **_calibration()).filter(pl.col("fits"))
    best = out.sort("usd_per_request").group_by("model", maintain_order=True).first()
    return best.join(scored.select("model", "total_params_b", "active_params_b", "family", "quality",
                                   "quality_is_unquantized"), on="model", how="inner").select(
        "model", "family", "total_params_b", "n_devices", "quality", "quality_is_unquantized", "usd_per_request",
        "usd_per_million_tokens", "output_tokens_per_s", "tpot_s", "usd_per_hour")


def _with_frontier(frame: pl.DataFrame, cost: str, quality: str = "quality") -> pl.DataFrame:
    from .. import value

    front = value.pareto_frontier(frame, cost_col=cost, quality_col=quality)["model"].to_list()
    return frame.with_columns(pl.col("model").is_in(front).alias("on_frontier"))


def model_size(hardware_id: str = "h100-sxm", precision: str = "fp8", benchmark: str = "MMLU") -> App:
    """Workbook 02: model size vs accuracy vs cost per query; the Pareto frontier; distillation payback.

    Knobs: requests per day (log), quality target, benchmark, hardware,
    precision, engine, request shape, price model; distillation teacher and
    student, training tokens. Chart: monthly cost at your volume vs the
    benchmark score, Pareto frontier (:func:`infer_econ.value.pareto_frontier`)
    and the target line. Headline: the cheapest model that meets the target,
    its monthly cost, and the payback of distilling the teacher into the student
    (:func:`infer_econ.value.training_cost_usd`, :func:`infer_econ.value.lock_in`).

    Examples
    --------
    >>> app = model_size()
    >>> app.state.frames["models"].height >= 5
    True
    """
    from . import units

    benches = _benchmarks()
    ks = {
        "requests_per_day": _primary(K.volume(100_000, min=100, max=1e8, unit="requests/day")),
        "quality_target": K.slider("Quality target", 70.0, 30.0, 95.0, 1.0, unit="benchmark score"),
        "benchmark": K.dropdown("Benchmark", benches, benchmark if benchmark in benches else benches[0]),
        "hardware": K.hardware(hardware_id),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "reserved_3y"]),
        "teacher": K.model("llama-3-70b", description="Distil from"),
        "student": K.model("llama-3-8b", description="Into"),
        "training_tokens": K.log_slider("Distillation tokens", 2e9, 1e7, 1e12, unit="tokens", fmt=".3s"),
    }

    def compute(v: dict) -> Result:
        from .. import value
        from ..perf import peak_tflops

        key = tuple((k, v[k]) for k in _MODEL_KEYS)
        sweep = _model_sweep(key).with_columns(
            units.per_month(pl.col("usd_per_request"), float(v["requests_per_day"])).alias("usd_per_month"))
        sweep = _with_frontier(sweep, "usd_per_month")
        ok = sweep.filter(pl.col("quality") >= v["quality_target"]).sort("usd_per_month")
        pick = ok.row(0, named=True) if ok.height else None
        headline = {"good_enough_model": pick["model"] if pick else None,
                    "good_enough_usd_per_month": pick["usd_per_month"] if pick else None,
                    "good_enough_quality": pick["quality"] if pick else None}
        teacher, student = _row(sweep, model=v["teacher"]), _row(sweep, model=v["student"])
        msg = None if pick else "No model in the catalog reaches this score on this benchmark: lower the target."
        if teacher and student:
            hw = catalog.load("hardware").filter(pl.col("id") == v["hardware"])
            peak = peak_tflops(hw, catalog.load("precisions").filter(pl.col("id") == "bf16"))["peak_tflops"].item()
            params = catalog.load("models").filter(pl.col("id") == v["student"])["total_params_b"].item()
            price = _self_hosted({**v, "model": v["student"], "n_devices": 1, "batch_size": 0},
                                 v["hardware"])["usd_per_device_hour"]
            train = pl.select(value.training_cost_usd(params, float(v["training_tokens"]), peak, price)).item()
            pair = pl.DataFrame({"api_monthly_cost_usd": [teacher["usd_per_month"]],
                                 "self_hosted_monthly_cost_usd": [student["usd_per_month"]]})
            li = value.lock_in(pair, switching_cost_usd=train, horizon_months=12.0).row(0, named=True)
            headline.update({"distillation_cost_usd": train, "distillation_payback_months": li["switch_payback_months"],
                             "teacher_quality": teacher["quality"], "student_quality": student["quality"]})
        else:
            missing = [m for m, r in ((v["teacher"], teacher), (v["student"], student)) if r is None]
            msg = (msg + " " if msg else "") + (f"No {v['benchmark']} score or no layout that runs for {', '.join(missing)}: "
                                                "the distillation is not priced.")
        return Result(frames={"models": sweep}, headline=headline, message=msg)

    views = [
        ChartView("models", lambda f: plot.pareto(f, x="usd_per_month", y="quality", color="family", target=70.0,
                                                  extra_tooltip=["total_params_b", "n_devices", "usd_per_request",
                                                                 "quality_is_unquantized"],
                                                  title="Monthly cost at your volume vs benchmark score"),
                  params=lambda v: {"target": v["quality_target"]}),
        TableView("models", ["model", "total_params_b", "n_devices", "quality", "usd_per_request", "usd_per_month",
                             "on_frontier"], {"quality": "float", "usd_per_request": "usd", "usd_per_month": "usd",
                                              "total_params_b": "float", "n_devices": "int"}),
    ]
    cards = Cards([
        Card("good_enough_model", "Cheapest model meeting the target", "si"),
        Card("good_enough_usd_per_month", "Its cost per month", "usd"),
        Card("good_enough_quality", "Its score", "float"),
        Card("distillation_cost_usd", "Distillation compute", "usd", "", "one-off"),
        Card("distillation_payback_months", "Distillation pays back in", "months"),
    ])
    groups = [("Volume and target", ["requests_per_day", "quality_target", "benchmark"]),
              ("Deployment", ["hardware", "precision", "engine", "input_tokens", "output_tokens", "price_model"]),
              ("Distillation", ["teacher", "student", "training_tokens"])]
    return _app("Model size: accuracy vs cost, and when smaller is good enough", ks, compute, views, cards=cards,
               groups=groups)


def value_of_accuracy(hardware_id: str = "h100-sxm", precision: str = "fp8", benchmark: str = "MMLU",
                      small: str = "qwen2.5-7b", large: str = "qwen2.5-72b") -> App:
    """Workbook 07: is +1 % accuracy worth it at my volume? Net value per model, marginal value, cascades.

    Knobs: value of a correct answer and cost of an error [USD] (log),
    requests per day (log), benchmark, hardware, precision, price model; the
    cascade's small and large models, escalation share and how much better than
    average the small model does on the requests it keeps. Charts: net value per
    month per model (:func:`infer_econ.value.net_value_usd`, benchmark score
    as accuracy); the cascade's accuracy and cost per request against the
    escalation share (:func:`infer_econ.value.cascade`). Headline: the most
    valuable model, the value of one more point of accuracy
    (:func:`infer_econ.value.marginal_value_of_accuracy`), the cascade at your share.

    Examples
    --------
    >>> app = value_of_accuracy()
    >>> app.state.headline["marginal_value_of_accuracy_usd"] > 0
    True
    """
    from . import units

    benches = _benchmarks()
    ks = {
        "value_per_correct_usd": _primary(K.log_slider("Value of a correct answer", 0.05, 0.0001, 100.0, unit="USD")),
        "cost_per_error_usd": K.log_slider("Cost of a wrong answer", 0.02, 0.0001, 1000.0, unit="USD"),
        "requests_per_day": _primary(K.volume(100_000, min=100, max=1e8, unit="requests/day")),
        "escalation_share": K.slider("Escalated share", 0.3, 0.0, 1.0, 0.05, unit="fraction"),
        "router_lift": K.slider("Router lift", 0.05, 0.0, 0.3, 0.01, unit="fraction"),
        "small": K.model(small, description="Cascade: small"),
        "large": K.model(large, description="Cascade: large"),
        "benchmark": K.dropdown("Benchmark (accuracy proxy)", benches,
                                benchmark if benchmark in benches else benches[0]),
        "hardware": K.hardware(hardware_id),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "reserved_3y"]),
    }

    def compute(v: dict) -> Result:
        from .. import value

        key = tuple((k, v[k]) for k in _MODEL_KEYS)
        rpm = units.requests_per_month(float(v["requests_per_day"]))
        sweep = _model_sweep(key).filter(pl.col("quality") <= 100.0)
        models = sweep.with_columns(units.fraction(pl.col("quality")).alias("accuracy")).with_columns(
            value.net_value_usd(requests=rpm, value_per_correct_usd=float(v["value_per_correct_usd"]),
                                cost_per_error_usd=float(v["cost_per_error_usd"])).alias("net_value_usd_per_month"),
            value.usd_per_correct_answer(),
        ).sort("net_value_usd_per_month", descending=True)
        best = models.row(0, named=True) if models.height else None
        marginal = pl.select(value.marginal_value_of_accuracy(
            requests=rpm, value_per_correct_usd=float(v["value_per_correct_usd"]),
            cost_per_error_usd=float(v["cost_per_error_usd"]))).item()
        s, lg = _row(models, model=v["small"]), _row(models, model=v["large"])
        frames = {"net_value": models.select("model", "family", "accuracy", "usd_per_request", "usd_per_correct_answer",
                                             "net_value_usd_per_month", "n_devices")}
        headline = {"best_model": best["model"] if best else None,
                    "best_net_value_usd_per_month": best["net_value_usd_per_month"] if best else None,
                    "marginal_value_of_accuracy_usd": marginal}
        msg = None
        if s and lg:
            shares = pl.Series("escalation_share", [i / 20 for i in range(21)])
            base = pl.DataFrame({"escalation_share": shares}).with_columns(
                small_usd_per_request=pl.lit(s["usd_per_request"]), small_accuracy=pl.lit(s["accuracy"]),
                large_usd_per_request=pl.lit(lg["usd_per_request"]), large_accuracy=pl.lit(lg["accuracy"]),
                kept_accuracy=pl.lit(min(1.0, s["accuracy"] + float(v["router_lift"]))))
            sweep_c = value.cascade(base, kept_accuracy="kept_accuracy")
            at = value.cascade(base.head(1).with_columns(pl.lit(float(v["escalation_share"])).alias("escalation_share")),
                               kept_accuracy="kept_accuracy").row(0, named=True)
            frames["cascade"] = sweep_c.select("escalation_share", "cascade_accuracy", "cascade_usd_per_request")
            headline.update({"cascade_accuracy": at["cascade_accuracy"],
                             "cascade_usd_per_request": at["cascade_usd_per_request"]})
        else:
            missing = [m for m, r in ((v["small"], s), (v["large"], lg)) if r is None]
            msg = f"No {v['benchmark']} score or no layout that runs for {', '.join(missing)}: the cascade is not shown."
        return Result(frames=frames, headline=headline, message=msg,
                      notes={"marginal_value_of_accuracy_usd": "per month, for +1 point"})

    views = [
        ChartView("net_value", lambda f: plot.bars(f, "net_value_usd_per_month", "model", color="family",
                                                   extra_tooltip=["accuracy", "usd_per_request", "usd_per_correct_answer",
                                                                  "n_devices"],
                                                   title="Net value per month (value of answers − errors − inference)")),
        ChartView("cascade", lambda f: plot.lines(f, "escalation_share", "cascade_accuracy",
                                                  extra_tooltip=["cascade_usd_per_request"], height=200,
                                                  title="Cascade: accuracy by escalation share")),
        ChartView("cascade_cost", lambda f: plot.lines(f, "escalation_share", "cascade_usd_per_request",
                                                       extra_tooltip=["cascade_accuracy"], height=200,
                                                       title="Cascade: cost per request by escalation share"),
                  frame="cascade"),
    ]
    cards = Cards([
        Card("best_model", "Most valuable model", "si"),
        Card("best_net_value_usd_per_month", "Its net value per month", "usd"),
        Card("marginal_value_of_accuracy_usd", "+1 point of accuracy is worth", "usd"),
        Card("cascade_accuracy", "Cascade accuracy", "pct"),
        Card("cascade_usd_per_request", "Cascade cost per request", "usd"),
    ])
    groups = [("What answers are worth", ["value_per_correct_usd", "cost_per_error_usd", "requests_per_day",
                                          "benchmark"]),
              ("Cascade", ["small", "large", "escalation_share", "router_lift"]),
              ("Deployment", ["hardware", "precision", "engine", "input_tokens", "output_tokens", "price_model"])]
    return _app("The value of accuracy", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 06 edge vs cloud
_EDGE = ("apple", "edge", "consumer", "workstation", "cpu")


@functools.lru_cache(maxsize=64)
def _unloaded(key: tuple, hardware_id: str) -> dict:
    """One replica's capacity and unloaded end-to-end latency (serving.latency_under_load at a trickle of load)."""
    from .. import serving

    v = dict(key)
    blocks = serving.step_times(_scenarios(v, hardware=hardware_id).drop("batch_size"))
    row = serving.latency_under_load(blocks.with_columns(pl.lit(1e-4).alias("request_rate_per_s")), **_calibration()).row(0, named=True)
    return {"capacity_requests_per_s": row["capacity_requests_per_s"], "e2e_mean_s": row["e2e_mean_s"],
            "fits": row.get("fits", True)}


def edge_vs_cloud(device: str = "apple-m4-max-40c", cloud_hardware: str = "l40s",
                  api_model: str = "openai:gpt-4o-mini") -> App:
    """Workbook 06: a device on the desk vs a cloud GPU vs an API: break-even requests/day, latency, energy.

    Knobs: the edge device (Apple, Jetson, RTX, DGX Spark, a CPU), its engine and
    precision, its price when the catalog has none, its life, electricity
    price; the cloud GPU and the API; request shape and the data sent per
    request. Charts: break-even requests per day per device against each
    cloud option, and end-to-end latency of each option
    (:func:`infer_econ.value.edge_vs_cloud`). Headline: break-evens, the
    device's capacity per day, its latency advantage.

    Examples
    --------
    >>> app = edge_vs_cloud()
    >>> app.state.error is None
    True
    """
    catalog.check_ids("api_prices", [api_model])  # an unknown API model is an error listing the valid ones
    elec = catalog.load("electricity_prices")
    us = elec.filter(pl.col("id") == "US")["usd_per_kwh"]
    ks = {
        "edge_lifetime_years": _primary(K.slider("Device life", 3.0, 1.0, 8.0, 0.5, unit="years")),
        "electricity_usd_per_kwh": K.slider("Electricity", float(us.item()) if us.len() else 0.15, 0.02, 0.6, 0.01,
                                            unit="USD/kWh"),
        "egress_gb_per_request": K.log_slider("Data sent per request", 0.0005, 1e-5, 0.1, unit="GB"),
        "api_latency_s": K.slider("API latency (no network)", 2.0, 0.2, 20.0, 0.1, unit="s"),
        "edge_capex_fallback_usd": K.log_slider("Device price (if none in catalog)", 3000, 200, 20000, unit="USD", fmt=".3s"),
        "device": K.hardware(device, categories=_EDGE, description="Edge device"),
        "edge_engine": K.engine("llama.cpp", description="Edge engine"),
        "edge_precision": K.precision("q4_k_m", description="Edge precision"),
        "model": K.model("llama-3.1-8b", open_weights=True),
        "input_tokens": K.tokens("Prompt", 500, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 200, min=16, max=16384, continuous_update=False),
        "cloud_hardware": K.hardware(cloud_hardware, categories=["datacenter"], description="Cloud GPU"),
        "precision": K.precision("fp8", description="Cloud precision"),
        "engine": K.engine("vllm", description="Cloud engine"),
        "price_model": K.price_model("on_demand", options=["on_demand", "spot", "reserved_1y", "reserved_3y"]),
        "api_model": K.api_model(api_model),
    }

    def compute(v: dict) -> Result:
        from .. import cost, evaluate, value

        edge_v = {**v, "engine": v["edge_engine"], "precision": v["edge_precision"], "n_devices": 1, "batch_size": 0}
        ekey = tuple((k, edge_v[k]) for k in _SCENARIO_KEYS if k in edge_v)
        edge_load = _unloaded(ekey, v["device"])
        edge_eval = evaluate(_scenarios(edge_v, hardware=v["device"], usd_per_device_hour=0.0, pue=1.0,
                                        utilization=1.0), **_calibration()).row(0, named=True)
        if not edge_eval["fits"]:
            return Result(message=f"{v['model']} does not run on {v['device']} with {v['edge_engine']} at "
                                  f"{v['edge_precision']}: {edge_eval['limit']}.")
        capex = cost.capex_usd_per_device(pl.DataFrame({"hardware": [v["device"]]}))["catalog_capex_usd_per_device"].item()
        capex_note = "catalog price" if capex is not None else "your price (none in the catalog)"
        capex = capex if capex is not None else float(v["edge_capex_fallback_usd"])
        idle = catalog.load("hardware").filter(pl.col("id") == v["device"])["idle_w"].item()
        cloud = _self_hosted({**v, "n_devices": 1, "batch_size": 0}, v["cloud_hardware"])
        ckey = tuple((k, {**v, "n_devices": 1, "batch_size": 0}[k]) for k in _SCENARIO_KEYS if k in v or k == "batch_size")
        cloud_load = _unloaded(ckey, v["cloud_hardware"])
        api = _api(v["api_model"])
        api_req = pl.select(value.api_monthly_cost_usd(
            int(v["input_tokens"]), int(v["output_tokens"]), api["usd_per_million_input_tokens"],
            api["usd_per_million_output_tokens"], api["usd_per_million_cached_input_tokens"],
            batch_discount_fraction=api["batch_discount_fraction"])).item()
        frame = pl.DataFrame({
            "cloud_option": [f"cloud GPU: {v['cloud_hardware']}", f"API: {api['model_name']}"],
            "cloud_usd_per_request": [cloud["usd_per_request"], api_req],
            "cloud_latency_s": [cloud_load["e2e_mean_s"], float(v["api_latency_s"])],
        }).with_columns(
            edge_capex_usd=pl.lit(capex), edge_lifetime_years=pl.lit(float(v["edge_lifetime_years"])),
            edge_power_w=pl.lit(edge_eval["power_w"]), edge_idle_power_w=pl.lit(float(idle)),
            edge_requests_per_s=pl.lit(edge_load["capacity_requests_per_s"]),
            edge_latency_s=pl.lit(edge_load["e2e_mean_s"]),
            electricity_usd_per_kwh=pl.lit(float(v["electricity_usd_per_kwh"])),
            egress_gb_per_request=pl.lit(float(v["egress_gb_per_request"])),
        )
        out = value.edge_vs_cloud(frame)
        gpu, apir = out.row(0, named=True), out.row(1, named=True)
        latency = pl.DataFrame({"option": [f"edge: {v['device']}", gpu["cloud_option"], apir["cloud_option"]],
                                "latency_s": [edge_load["e2e_mean_s"], gpu["cloud_total_latency_s"],
                                              apir["cloud_total_latency_s"]]})
        headline = {"break_even_vs_gpu": gpu["break_even_requests_per_day"],
                    "break_even_vs_api": apir["break_even_requests_per_day"],
                    "edge_capacity_requests_per_day": gpu["edge_capacity_requests_per_day"],
                    "edge_latency_s": edge_load["e2e_mean_s"], "edge_fixed_usd_per_day": gpu["edge_fixed_usd_per_day"],
                    "edge_power_w": edge_eval["power_w"]}
        be = out.select("cloud_option", "break_even_requests_per_day", "edge_capacity_requests_per_day",
                        "cloud_total_usd_per_request", "edge_marginal_usd_per_request", "edge_fixed_usd_per_day")
        return Result(frames={"break_even": be.fill_null(float("nan")), "latency": latency,
                              "comparison": be},
                      headline=headline, notes={"edge_fixed_usd_per_day": capex_note})

    views = [
        ChartView("break_even", lambda f: plot.bars(f, "break_even_requests_per_day", "cloud_option",
                                                    extra_tooltip=["edge_capacity_requests_per_day",
                                                                   "cloud_total_usd_per_request",
                                                                   "edge_marginal_usd_per_request"],
                                                    title="Requests per day above which the device is cheaper")),
        ChartView("latency", lambda f: plot.bars(f, "latency_s", "option", sort_descending=False,
                                                 title="End-to-end latency of one request (s)")),
        TableView("comparison", None, {"cloud_total_usd_per_request": "usd", "edge_marginal_usd_per_request": "usd",
                                       "edge_fixed_usd_per_day": "usd"}),
    ]
    cards = Cards([
        Card("break_even_vs_api", "Break-even vs the API", "si", "requests/day", "— : the edge never wins"),
        Card("break_even_vs_gpu", "Break-even vs the cloud GPU", "si", "requests/day", "— : the edge never wins"),
        Card("edge_capacity_requests_per_day", "Device capacity", "si", "requests/day"),
        Card("edge_latency_s", "Device latency", "ms"),
        Card("edge_fixed_usd_per_day", "Device fixed cost", "usd", "per day"),
        Card("edge_power_w", "Device power busy", "float", "W"),
    ])
    groups = [("Device economics", ["edge_lifetime_years", "electricity_usd_per_kwh", "edge_capex_fallback_usd",
                                    "egress_gb_per_request", "api_latency_s"]),
              ("Edge device", ["device", "edge_engine", "edge_precision"]),
              ("Workload", ["model", "input_tokens", "output_tokens"]),
              ("Cloud", ["cloud_hardware", "precision", "engine", "price_model", "api_model"])]
    return _app("Edge vs cloud: a device on the desk, a cloud GPU or an API", ks, compute, views, cards=cards,
               groups=groups)


# --------------------------------------------------------------------------- 09 sustainability
_GRID_SETS = [("Cloud regions (location-based, operational)", "cloud_region|location_based_operational"),
              ("Countries (lifecycle)", "country|lifecycle"),
              ("US grid subregions (location-based, operational)", "grid_subregion|location_based_operational")]


def sustainability(model: str = "llama-3.1-8b", hardware_id: str = "h100-sxm", precision: str = "fp8",
                   region: str = "aws:us-east-1") -> App:
    """Workbook 09: energy per 1M tokens and CO2 per request by region and hardware; PUE; embodied vs operational.

    Knobs: PUE, utilization, the grid definition (cloud regions, countries,
    US subregions: never mixed), your region, model, precision, engine,
    hardware, request shape. Charts: operational and embodied g CO2e per
    request by region (stacked); kWh per 1M output tokens by hardware.
    Headline: your deployment's energy and carbon, and the lowest-carbon
    region of the set (carbon-aware placement).

    Examples
    --------
    >>> app = sustainability()
    >>> app.state.headline["kwh_per_million_output_tokens"] > 0
    True
    """
    ks = {
        "pue": _primary(K.slider("PUE (facility / IT power)", 1.2, 1.0, 2.0, 0.02, unit="ratio")),
        "utilization": _primary(K.slider("Utilization", 0.6, 0.05, 1.0, 0.05, unit="fraction")),
        "grid_set": K.dropdown("Grid definition", _GRID_SETS, _GRID_SETS[0][1]),
        "region": K.region(region, description="Your grid region"),
        "model": K.model(model),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "hardware": K.hardware(hardware_id),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
    }

    def compute(v: dict) -> Result:
        from .. import evaluate

        kind, metric = v["grid_set"].split("|")
        grids = catalog.load("grid_carbon").filter((pl.col("kind") == kind) & (pl.col("metric") == metric))
        ids = grids["id"].to_list()
        fixed = dict(hardware=v["hardware"], pue=float(v["pue"]), utilization=float(v["utilization"]),
                     usd_per_device_hour=0.0)
        hw_ids = catalog.load("hardware").filter(pl.col("category") == "datacenter")["id"].to_list()
        # one evaluate call for the three views: every grid, your grid, every datacenter accelerator
        parts = [
            _scenarios(v, rows={"grid_region": ids}, **fixed).with_columns(pl.lit("regions").alias("_part")),
            _scenarios(v, grid_region=v["region"], **fixed).with_columns(pl.lit("mine").alias("_part")),
            _scenarios(v, rows={"hardware": hw_ids}, grid_region=v["region"], pue=float(v["pue"]),
                       utilization=float(v["utilization"]), usd_per_device_hour=0.0).with_columns(
                pl.lit("hardware").alias("_part")),
        ]
        allout = evaluate(pl.concat(parts, how="diagonal_relaxed"), **_calibration())
        by_region = allout.filter(pl.col("_part") == "regions").select(
            pl.col("grid_region").alias("region"), "grid_g_co2e_per_kwh", "g_co2e_per_request",
            "g_co2e_per_request_embodied", "kwh_per_million_output_tokens", "fits", "limit")
        if not by_region["fits"].any():
            return Result(message=f"{v['model']} does not run on {v['hardware']}: {by_region['limit'][0]}.")
        names = dict(zip(grids["id"].to_list(), grids["name"].to_list(), strict=True))
        # keep the chart readable: the 10 cleanest, the 10 dirtiest grids and yours
        ranked = by_region.sort("g_co2e_per_request").with_row_index("_rank")
        n = ranked.height
        shown = ranked.filter((pl.col("_rank") < 10) | (pl.col("_rank") >= n - 10) | (pl.col("region") == v["region"]))
        long = pl.concat([
            shown.select("region", "grid_g_co2e_per_kwh", pl.col("g_co2e_per_request").alias("g_co2e"),
                         pl.lit("operational").alias("scope")),
            shown.select("region", "grid_g_co2e_per_kwh", pl.col("g_co2e_per_request_embodied").alias("g_co2e"),
                         pl.lit("embodied").alias("scope")),
        ]).with_columns(pl.col("region").replace_strict(names, default=pl.col("region")).alias("region_name"))
        mine = allout.filter(pl.col("_part") == "mine").row(0, named=True)
        hw = allout.filter((pl.col("_part") == "hardware") & pl.col("fits")).select(
            "hardware", "kwh_per_million_output_tokens", "energy_j_per_output_token", "power_w",
            "output_tokens_per_s", "g_co2e_per_request")
        best = by_region.sort("g_co2e_per_request").row(0, named=True)
        headline = {"kwh_per_million_output_tokens": mine["kwh_per_million_output_tokens"],
                    "g_co2e_per_request": mine["g_co2e_per_request"],
                    "g_co2e_per_request_embodied": mine["g_co2e_per_request_embodied"],
                    "grid_g_co2e_per_kwh": mine["grid_g_co2e_per_kwh"],
                    "cleanest_region": names.get(best["region"], best["region"]),
                    "cleanest_g_co2e_per_request": best["g_co2e_per_request"]}
        return Result(frames={"carbon_by_region": long, "energy_by_hardware": hw}, headline=headline,
                      notes={"cleanest_region": f"of the {kind.replace('_', ' ')}s in this set"})

    views = [
        ChartView("carbon_by_region", lambda f: plot.bars(f, "g_co2e", "region_name", color="scope",
                                                          extra_tooltip=["grid_g_co2e_per_kwh"],
                                                          title="g CO2e per request by grid (operational + embodied)")),
        ChartView("energy_by_hardware", lambda f: plot.bars(f, "kwh_per_million_output_tokens", "hardware",
                                                            sort_descending=False,
                                                            extra_tooltip=["energy_j_per_output_token", "power_w",
                                                                           "output_tokens_per_s"],
                                                            title="kWh per 1M output tokens by datacenter accelerator")),
    ]
    cards = Cards([
        Card("kwh_per_million_output_tokens", "Energy per 1M output tokens", "float", "kWh", "at the facility meter"),
        Card("g_co2e_per_request", "Operational CO2 per request", "float", "g CO2e"),
        Card("g_co2e_per_request_embodied", "Embodied CO2 per request", "float", "g CO2e"),
        Card("grid_g_co2e_per_kwh", "Your grid", "si", "g CO2e/kWh"),
        Card("cleanest_region", "Lowest-carbon grid", "si"),
        Card("cleanest_g_co2e_per_request", "There, per request", "float", "g CO2e"),
    ])
    groups = [("Facility and load", ["pue", "utilization"]),
              ("Grid", ["grid_set", "region"]),
              ("Deployment", ["model", "precision", "engine", "hardware", "input_tokens", "output_tokens"])]
    return _app("Sustainability: energy and carbon per token", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 05 autoscaling
def _replica_prices(v: Mapping[str, Any], hardware_id: str) -> dict:
    """Price per replica-hour under each rented price model that has a catalog row (evaluate's usd_per_hour)."""
    out = {}
    for pm in ("on_demand", "reserved_1y", "spot"):
        try:
            out[pm] = _self_hosted({**v, "price_model": pm, "batch_size": 0}, hardware_id)["usd_per_hour"]
        except Exception as exc:  # no catalog row for this price model: that strategy is left out
            from ..errors import InferEconError

            if not isinstance(exc, InferEconError):
                raise
            out[pm] = None
    return out


def autoscaling(model: str = "llama-3.1-8b", hardware_id: str = "h100-sxm", precision: str = "fp8") -> App:
    """Workbook 05: a week of demand; fixed-for-peak vs autoscaled vs reserved baseline + on-demand + spot.

    Knobs: demand (peak requests/s, peak-to-trough ratio, peak hour, weekend
    factor, growth per month); policy (target utilization, scale-up lag,
    minimum replicas, scale-down delay, spot interruptions per hour); the
    deployment and its SLO (which sets what one replica may carry). Charts:
    replicas hour by hour for the fixed and autoscaled fleets with the demand
    (:func:`infer_econ.demand.fixed_fleet`, :func:`infer_econ.demand.autoscale`);
    total cost of every strategy (:func:`infer_econ.demand.compare_strategies`).

    Examples
    --------
    >>> app = autoscaling()
    >>> app.state.headline["cheapest_strategy"] is not None
    True
    """
    ks = {
        "target_utilization": _primary(K.slider("Target utilization", 0.7, 0.3, 1.0, 0.05, unit="fraction")),
        "peak_to_trough_ratio": _primary(K.slider("Peak / trough", 4.0, 1.0, 20.0, 0.5, unit="ratio")),
        "peak_requests_per_s": K.log_slider("Peak demand", 60.0, 1.0, 5000.0, unit="requests/s", fmt=".3s"),
        "peak_hour": K.slider("Peak hour", 14.0, 0.0, 23.0, 1.0, unit="h"),
        "weekend_factor": K.slider("Weekend factor", 0.6, 0.1, 1.5, 0.05, unit="ratio"),
        "growth_per_month": K.slider("Growth", 0.0, 0.0, 0.5, 0.05, unit="per month"),
        "scale_up_lag_h": K.slider("Scale-up lag", 0.25, 0.0, 2.0, 0.05, unit="h"),
        "min_replicas": K.int_slider("Minimum replicas", 1, 0, 20),
        "scale_down_delay_h": K.slider("Scale-down delay", 1.0, 0.0, 6.0, 0.25, unit="h"),
        "spot_interruptions_per_hour": K.slider("Spot interruptions", 0.05, 0.0, 0.5, 0.01, unit="per replica-hour"),
        "slo_ttft_p99_s": K.log_slider("TTFT p99 target", 2.0, 0.05, 30.0, unit="s", continuous_update=False),
        "slo_tpot_p99_s": K.log_slider("TPOT p99 target", 0.05, 0.004, 0.5, unit="s", continuous_update=False),
        "model": K.model(model),
        "hardware": K.hardware(hardware_id),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "n_devices": K.int_slider("Devices per replica", 1, 1, 8, unit="count", continuous_update=False),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
    }

    def compute(v: dict) -> Result:
        from .. import demand

        key = _workload_key({**v, "price_model": "on_demand"})
        load = _load_sweep(key)
        ok = load.filter(pl.col("stable") & (pl.col("ttft_p99_s") <= v["slo_ttft_p99_s"])
                         & (pl.col("tpot_p99_s") <= v["slo_tpot_p99_s"]))
        if not ok.height:
            return Result(message="One replica cannot meet this SLO at any load: relax the targets or pick faster "
                                  "hardware (workbook 04).")
        cap = float(ok["request_rate_per_s"].max())
        prices = _replica_prices(v, v["hardware"])
        if prices["on_demand"] is None:
            return Result(message=f"{v['hardware']} has no on-demand price in the catalog: pick another device.")
        d = demand.demand_profile(168, peak_requests_per_s=float(v["peak_requests_per_s"]),
                                  peak_to_trough_ratio=float(v["peak_to_trough_ratio"]), peak_hour=float(v["peak_hour"]),
                                  weekend_factor=float(v["weekend_factor"]), growth_per_month=float(v["growth_per_month"]),
                                  input_tokens=float(v["input_tokens"]), output_tokens=float(v["output_tokens"]))
        policy = dict(target_utilization=float(v["target_utilization"]), scale_up_lag_h=float(v["scale_up_lag_h"]),
                      min_replicas=int(v["min_replicas"]), scale_down_delay_h=float(v["scale_down_delay_h"]))
        fixed = demand.fixed_fleet(d, capacity_per_replica_rps=cap, usd_per_replica_hour=prices["on_demand"],
                                   target_utilization=float(v["target_utilization"]))
        auto = demand.autoscale(d, capacity_per_replica_rps=cap, usd_per_replica_hour=prices["on_demand"], **policy)
        hourly = pl.concat([fixed.with_columns(pl.lit("fixed for peak").alias("strategy")),
                            auto.with_columns(pl.lit("autoscaled").alias("strategy"))]).select(
            "hour", "strategy", "replicas", "request_rate_per_s", "usd", "slo_violation", "idle_share")
        comp = demand.compare_strategies(
            d, capacity_per_replica_rps=cap, on_demand_usd_per_replica_hour=prices["on_demand"],
            reserved_usd_per_replica_hour=prices["reserved_1y"], spot_usd_per_replica_hour=prices["spot"],
            spot_interruptions_per_hour=float(v["spot_interruptions_per_hour"]), **policy)
        best = comp.filter(pl.col("cheapest"))
        b = best.row(0, named=True) if best.height else None
        named = comp.filter(pl.col("strategy").is_in(["fixed_for_peak", "autoscaled"]))
        costs = dict(zip(named["strategy"].to_list(), named["total_usd"].to_list(), strict=True))
        headline = {"cheapest_strategy": b["strategy"] if b else None,
                    "cheapest_total_usd": b["total_usd"] if b else None,
                    "fixed_total_usd": costs.get("fixed_for_peak"), "autoscaled_total_usd": costs.get("autoscaled"),
                    "capacity_per_replica_rps": cap,
                    "autoscaled_violation_hours": int(auto["slo_violation"].sum())}
        shown = comp.head(10).select("strategy", "total_usd", "usd_per_hour_mean", "slo_violation_hours",
                                     "idle_share", "meets_slo", *(["usd_per_million_tokens"]
                                                                  if "usd_per_million_tokens" in comp.columns else []))
        msg = None if b else "No strategy meets the SLO every hour: lower the scale-up lag or raise the minimum."
        return Result(frames={"hourly": hourly, "strategies": shown}, headline=headline, message=msg,
                      notes={"cheapest_total_usd": "for the week", "fixed_total_usd": "for the week",
                             "autoscaled_total_usd": "for the week"})

    views = [
        ChartView("hourly", lambda f: plot.hourly_fleet(f, extra_tooltip=("request_rate_per_s", "usd", "slo_violation",
                                                                          "idle_share"),
                                                        title="Replicas hour by hour over a week")),
        ChartView("strategies", lambda f: plot.bars(f, "total_usd", "strategy", color="meets_slo", sort_descending=False,
                                                    extra_tooltip=["usd_per_hour_mean", "slo_violation_hours",
                                                                   "idle_share"],
                                                    title="Cost of the week by strategy (10 cheapest)")),
    ]
    cards = Cards([
        Card("cheapest_strategy", "Cheapest strategy meeting the SLO", "si"),
        Card("cheapest_total_usd", "Its cost", "usd"),
        Card("fixed_total_usd", "Fixed for peak", "usd"),
        Card("autoscaled_total_usd", "Autoscaled on demand", "usd"),
        Card("autoscaled_violation_hours", "Autoscaled hours short of capacity", "int"),
        Card("capacity_per_replica_rps", "One replica within the SLO", "float", "requests/s"),
    ])
    groups = [("Demand", ["peak_to_trough_ratio", "peak_requests_per_s", "peak_hour", "weekend_factor",
                          "growth_per_month"]),
              ("Policy", ["target_utilization", "scale_up_lag_h", "min_replicas", "scale_down_delay_h",
                          "spot_interruptions_per_hour"]),
              ("Deployment and SLO", ["model", "hardware", "precision", "engine", "n_devices", "input_tokens",
                                      "output_tokens", "slo_ttft_p99_s", "slo_tpot_p99_s"])]
    return _app("Autoscaling: following demand through the day", ks, compute, views, cards=cards, groups=groups)


# --------------------------------------------------------------------------- 10 planner
_PLAN_KEYS = ("model", "hardware", "precision", "engine", "n_devices", "input_tokens", "output_tokens", "batch_size",
              "price_model", "utilization", "grid_region", "pue")


@functools.lru_cache(maxsize=32)
def _plan_eval(key: tuple) -> tuple[dict, pl.DataFrame]:
    """The scenario evaluated with uncertainty bands, and its savings waterfall (per request)."""
    from .. import evaluate, value

    v = dict(key)
    scen = _scenarios(v, hardware=v["hardware"], utilization=float(v["utilization"]), grid_region=v["grid_region"],
                      pue=float(v["pue"]), **_price_columns(v["hardware"], v["price_model"]))
    row = evaluate(scen, uncertainty=True, draws=400, **_calibration()).row(0, named=True)
    if not row["fits"]:
        return row, pl.DataFrame()
    wf = value.savings_waterfall(scen.drop("pue"), requests_per_month=1e6)
    return row, wf


def _scenario_of(v: Mapping[str, Any]) -> dict:
    """The app's knobs as an :mod:`infer_econ.scenario` dict."""
    from . import units

    return {"name": "planner", "model": v["model"], "hardware": v["hardware"], "precision": v["precision"],
            "engine": v["engine"], "n_devices": int(v["n_devices"]), "batch_size": _batch(v["batch_size"]),
            "input_tokens": int(round(v["input_tokens"])), "output_tokens": int(round(v["output_tokens"])),
            "request_rate_per_s": units.requests_per_s(float(v["requests_per_day"])),
            "price_model": v["price_model"], "utilization": float(v["utilization"]),
            "grid_region": v["grid_region"], "pue": float(v["pue"])}


def _values_of(sc: Mapping[str, Any], knob_names) -> dict:
    """Knob values from a loaded scenario (fields the planner has no knob for are ignored)."""
    from . import units

    out = {k: sc[k] for k in ("model", "hardware", "precision", "engine", "n_devices", "price_model", "utilization",
                              "grid_region", "pue") if sc.get(k) is not None}
    for k in ("input_tokens", "output_tokens"):
        if sc.get(k) is not None:
            out[k] = float(sc[k])
    out["batch_size"] = int(sc["batch_size"]) if sc.get("batch_size") else 0
    if sc.get("request_rate_per_s"):
        out["requests_per_day"] = units.requests_per_day(float(sc["request_rate_per_s"]))
    out = {k: v for k, v in out.items() if k in knob_names}
    if isinstance(knob_names, Mapping):
        _check_fits_knobs(out, knob_names)
    return out


def _check_fits_knobs(values: Mapping[str, Any], knobs: Mapping[str, Any]) -> None:
    """Refuse, naming the key, a loaded value a knob cannot show (never clamp a user's scenario silently)."""
    from ..errors import ValidationError

    for k, v in values.items():
        knob = knobs[k]
        if hasattr(knob, "_frame"):  # the hardware picker
            valid = knob._frame["id"].to_list()
        elif hasattr(knob, "options") and not hasattr(knob, "min"):
            valid = [o[1] if isinstance(o, tuple) else o for o in knob.options]
        else:
            valid = None
        if valid is not None:
            if v not in valid:
                shown = ", ".join(map(str, valid[:12])) + (" …" if len(valid) > 12 else "")
                raise ValidationError(f"scenario key {k!r}: {v!r} is not among this app's choices ({shown})")
        elif hasattr(knob, "min") and hasattr(knob, "max"):
            lo, hi = (knob.base ** knob.min, knob.base ** knob.max) if hasattr(knob, "base") else (knob.min, knob.max)
            if not lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                raise ValidationError(f"scenario key {k!r}: {v!r} is outside this app's range [{lo:g}, {hi:g}]")


def planner(model: str = "llama-3.1-70b", hardware_id: str = "h100-sxm", precision: str = "bf16") -> App:
    """Workbook 10: one full scenario: monthly P&L with uncertainty bands, savings waterfall, save/load, report.

    Knobs: requests per day (log), utilization, model, hardware, precision,
    engine, devices, batch, request shape, price model, grid region, PUE.
    Charts: monthly cost by volume with its p10–p90 band (your volume dashed);
    the savings waterfall per request (:func:`infer_econ.value.savings_waterfall`).
    Table: the monthly P&L (p10 / p50 / p90). Buttons: save and load the
    scenario file (:mod:`infer_econ.scenario`), the one-page HTML report
    (:func:`infer_econ.io.report_html`) and the numbers as Parquet.

    Examples
    --------
    >>> app = planner()
    >>> app.state.headline["usd_per_month"] > 0
    True
    """
    import ipywidgets as w

    from . import units
    from .core import download_link

    grids = catalog.load("grid_carbon")["id"].to_list()
    ks = {
        "requests_per_day": _primary(K.volume(200_000, min=100, max=1e9, unit="requests/day")),
        "utilization": K.slider("Utilization", 0.5, 0.05, 1.0, 0.05, unit="fraction", continuous_update=False),
        "model": K.model(model),
        "hardware": K.hardware(hardware_id),
        "precision": K.precision(precision),
        "engine": K.engine("vllm"),
        "n_devices": K.int_slider("Devices per replica", 4, 1, 8, unit="count", continuous_update=False),
        "batch_size": K.int_slider("Batch (0 = max)", 0, 0, 512, unit="sequences",
                                   continuous_update=False),
        "input_tokens": K.tokens("Prompt", 1000, min=16, max=32768, continuous_update=False),
        "output_tokens": K.tokens("Output", 250, min=16, max=16384, continuous_update=False),
        "price_model": K.price_model("on_demand"),
        "grid_region": K.region("aws:us-east-1" if "aws:us-east-1" in grids else None),
        "pue": K.slider("PUE", 1.15, 1.0, 2.0, 0.05, unit="ratio", continuous_update=False),
    }
    link = w.HTML()
    save_btn = w.Button(description="Save scenario", icon="save", layout=w.Layout(width="160px"))
    report_btn = w.Button(description="Report (HTML)", icon="file", layout=w.Layout(width="160px"))
    parquet_btn = w.Button(description="Numbers (Parquet)", icon="table", layout=w.Layout(width="160px"))
    upload = w.FileUpload(accept=".json", multiple=False, description="Load scenario")
    extras = [w.HTML("<b style='font-size:13px'>Scenario file and report</b>"),
              w.HBox([save_btn, upload]), w.HBox([report_btn, parquet_btn]), link]

    def compute(v: dict) -> Result:
        key = tuple((k, v[k]) for k in _PLAN_KEYS)
        row, wf = _plan_eval(key)
        if not row["fits"]:
            return Result(message=f"{v['model']} does not run on {v['n_devices']} × {v['hardware']} at "
                                  f"{v['precision']}: {row['limit']}. Add devices or lower the precision.")
        rpd = float(v["requests_per_day"])
        pnl = pl.DataFrame({
            "metric": ["cost per month (USD)", "cost per 1M output tokens (USD)", "CO2 per month (kg CO2e)",
                       "energy per 1M output tokens (kWh)"],
            "p10": [units.per_month(row["usd_per_request_p10"], rpd), row["usd_per_million_output_tokens_p10"],
                    units.per_month(row["g_co2e_per_request_p10"], rpd), row["kwh_per_million_output_tokens_p10"]],
            "p50": [units.per_month(row["usd_per_request"], rpd), row["usd_per_million_output_tokens"],
                    units.per_month(row["g_co2e_per_request"], rpd), row["kwh_per_million_output_tokens"]],
            "p90": [units.per_month(row["usd_per_request_p90"], rpd), row["usd_per_million_output_tokens_p90"],
                    units.per_month(row["g_co2e_per_request_p90"], rpd), row["kwh_per_million_output_tokens_p90"]],
        }).with_columns(pl.when(pl.col("metric").str.starts_with("CO2")).then(pl.col(c) / 1000.0).otherwise(pl.col(c))
                        .alias(c) for c in ("p10", "p50", "p90"))  # g → kg on the CO2 row
        grid = pl.DataFrame({"requests_per_day": units.log_grid(100, 1e9, 41)}).with_columns(
            units.per_month(row["usd_per_request_p10"], pl.col("requests_per_day")).alias("usd_per_month_p10"),
            units.per_month(row["usd_per_request"], pl.col("requests_per_day")).alias("usd_per_month"),
            units.per_month(row["usd_per_request_p90"], pl.col("requests_per_day")).alias("usd_per_month_p90"))
        headline = {"usd_per_month": units.per_month(row["usd_per_request"], rpd),
                    "usd_per_million_output_tokens": row["usd_per_million_output_tokens"],
                    "ttft_s": row["ttft_s"], "tpot_s": row["tpot_s"],
                    "kg_co2e_per_month": pnl.filter(pl.col("metric").str.starts_with("CO2"))["p50"].item(),
                    "cheapest_usd_per_request": wf["usd_per_request"].min() if wf.height else None}
        frames = {"monthly_cost": grid, "pnl": pnl}
        if wf.height:
            frames["waterfall"] = wf.select("lever", "change", "usd_per_request", "quality", "quality_change",
                                            "ttft_s", "tpot_s", "g_co2e_per_request")
        return Result(frames=frames, headline=headline,
                      notes={"usd_per_month": f"p10–p90: {units.per_month(row['usd_per_request_p10'], rpd):,.0f}–"
                                              f"{units.per_month(row['usd_per_request_p90'], rpd):,.0f} USD",
                             "cheapest_usd_per_request": "after every lever"})

    views = [
        ChartView("monthly_cost", lambda f: plot.band(f, x="requests_per_day", lo="usd_per_month_p10",
                                                      mid="usd_per_month", hi="usd_per_month_p90", marker=1.0,
                                                      y_title="USD per month (p10–p90 band)",
                                                      title="Monthly cost by volume, at this utilization"),
                  params=lambda v: {"volume": v["requests_per_day"]}),
        TableView("pnl", ["metric", "p10", "p50", "p90"], {"p10": "si", "p50": "si", "p90": "si"}),
        ChartView("waterfall", lambda f: plot.waterfall(f, value="usd_per_request",
                                                        extra_tooltip=["change", "quality", "quality_change", "ttft_s",
                                                                       "tpot_s", "g_co2e_per_request"],
                                                        title="Savings waterfall: each lever in turn (USD per request)")),
    ]
    cards = Cards([
        Card("usd_per_month", "Cost per month", "usd"),
        Card("usd_per_million_output_tokens", "Per 1M output tokens", "usd"),
        Card("ttft_s", "Time to first token", "ms"),
        Card("tpot_s", "Time per output token", "ms"),
        Card("kg_co2e_per_month", "Operational CO2 per month", "float", "kg CO2e"),
        Card("cheapest_usd_per_request", "Per request after all levers", "usd"),
    ])
    groups = [("Volume", ["requests_per_day", "utilization"]),
              ("Deployment", ["model", "hardware", "precision", "engine", "n_devices", "batch_size",
                              "input_tokens", "output_tokens", "price_model"]),
              ("Energy", ["grid_region", "pue"])]
    app = _app("Planner: one scenario, every knob", ks, compute, views, cards=cards, groups=groups, extras=extras)

    def on_save(_b=None):
        from .. import scenario as sc

        text = sc.dumps(sc.validate(_scenario_of(app.values())))
        link.value = download_link(text.encode("utf-8"), "scenario.json", "application/json")

    def on_report(_b=None):
        from ..io import report_html

        charts = {v.name: v.spec for v in app.views if isinstance(v, ChartView) and v.spec}
        page = report_html(_scenario_of(app.values()), {k: f for k, f in app.state.frames.items()}, charts,
                           title="infer-econ planner report")
        link.value = download_link(page.encode("utf-8"), "report.html", "text/html")

    def on_parquet(_b=None):
        import html
        import io as _io

        if "pnl" not in app.state.frames:  # the scenario does not run: nothing to export
            link.value = "nothing to export: " + html.escape(app.state.message or app.state.error or "no result yet")
            return
        buf = _io.BytesIO()
        app.state.frames["pnl"].write_parquet(buf)
        link.value = download_link(buf.getvalue(), "pnl.parquet", "application/vnd.apache.parquet")

    def on_upload(change):
        from .. import scenario as sc
        from ..errors import InferEconError

        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        content = item["content"] if isinstance(item, dict) else item.content
        try:
            loaded = sc.loads(bytes(content).decode("utf-8"), where=item.get("name", "upload") if isinstance(item, dict)
                              else getattr(item, "name", "upload"))
            app.set(**_values_of(loaded, app.knobs))
            link.value = "scenario loaded"
        except (InferEconError, UnicodeDecodeError, ValueError) as exc:
            import html

            link.value = f"<span class='ie-warning'>could not load: {html.escape(str(exc).splitlines()[0])}</span>"

    save_btn.on_click(on_save)
    report_btn.on_click(on_report)
    parquet_btn.on_click(on_parquet)
    upload.observe(on_upload, "value")
    app.save_scenario, app.make_report, app.export_parquet = on_save, on_report, on_parquet
    app.load_scenario = lambda text: app.set(**_values_of(__import__("infer_econ.scenario").scenario.loads(text),
                                                           app.knobs))
    return app


# --------------------------------------------------------------------------- 11 calibrate
def calibrate(engine: str = "llama.cpp") -> App:
    """Workbook 11: your own benchmark results: fit efficiencies, predicted vs measured before and after.

    Knobs: the error band to count (±%, log), which measurements (a shipped
    set by engine, or your uploaded file: vLLM, SGLang, AIPerf/GenAI-Perf,
    llama-bench, MLPerf or the calibration CSV, read by
    :func:`infer_econ.io.read_any`), and the ids a file does not name
    (hardware, precision, engine, devices). Buttons: upload, fit
    (:func:`infer_econ.calibrate.fit`). Charts: predicted vs measured before and
    after the fit, with the band; median error by hardware family. Table: the
    fitted efficiency parameters (export it and pass it as
    ``estimate(..., efficiency=...)``).

    Examples
    --------
    >>> app = calibrate()
    >>> app.state.headline["n_measurements"] > 0
    True
    """
    import ipywidgets as w

    from .. import calibrate as cal

    shipped = cal.measurements()
    engines = shipped.group_by("engine").len().sort("len", descending=True)["engine"].to_list()
    store: dict[str, Any] = {"uploaded": None, "uploaded_name": None, "fitted": {}}
    none = [("(from the file)", "")]
    hw_opts = none + [(n, i) for n, i in K._catalog_options("hardware")]
    ks = {
        "band_pct": _primary(K.log_slider("Error band", 25.0, 2.0, 200.0, unit="%")),
        "dataset": K.dropdown("Measurements", [(f"shipped: {e}", f"shipped:{e}") for e in engines]
                              + [("your uploaded file", "uploaded")], f"shipped:{engine}" if engine in engines
                              else f"shipped:{engines[0]}"),
        "id_hardware": K.dropdown("Hardware of your run", hw_opts, ""),
        "id_precision": K.dropdown("Precision of your run", none + K._catalog_options("precisions"), ""),
        "id_engine": K.dropdown("Engine of your run", none + K._catalog_options("engines"), ""),
        "id_n_devices": K.int_slider("Devices of your run", 1, 1, 64, unit="count"),
        "fit_version": w.IntText(value=0, layout=w.Layout(display="none")),
    }
    upload = w.FileUpload(multiple=False, description="Upload results")
    fit_btn = w.Button(description="Fit efficiencies", icon="cogs", layout=w.Layout(width="170px"))
    keep_btn = w.Button(description="Use in every workbook", icon="share", layout=w.Layout(width="200px"),
                        tooltip="keep this fit: workbooks opened from now on estimate with it")
    note = w.HTML()
    extras = [w.HTML("<b style='font-size:13px'>Your results</b>"), w.HBox([upload, fit_btn, keep_btn]), note]

    def dataset(v: dict) -> pl.DataFrame:
        if v["dataset"] == "uploaded":
            if store["uploaded"] is None:
                from ..errors import ValidationError

                raise ValidationError("no file uploaded yet: use 'Upload results', or pick a shipped set")
            return store["uploaded"]
        return shipped.filter(pl.col("engine") == v["dataset"].split(":", 1)[1])

    def predictions(v: dict) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
        """Before/after predictions of the chosen set, kept until the set or the fit changes."""
        key = (v["dataset"], store["uploaded_name"], int(v["fit_version"]))
        if store.get("pred_key") != key:
            meas = dataset(v)
            before = cal.predict(meas).with_columns(pl.lit("before").alias("calibration"))
            fitted = store["fitted"].get((v["dataset"], store["uploaded_name"]))
            parts = [before]
            if fitted is not None:
                parts.append(cal.predict(meas, efficiency=fitted).with_columns(pl.lit("after").alias("calibration")))
            store["pred"] = (before, pl.concat(parts).filter(pl.col("predicted").is_not_null()), fitted)
            store["pred_key"] = key
        return store["pred"]

    def compute(v: dict) -> Result:
        before, pred, fitted = predictions(v)
        band = float(v["band_pct"])
        summary = cal.error_summary(pred, ["calibration"])
        by_family = cal.error_summary(pred, ["family", "calibration"]).filter(pl.col("family").is_not_null())
        med = dict(zip(summary["calibration"].to_list(), summary["median_ape_pct"].to_list(), strict=True))
        within = {c: pred.filter((pl.col("calibration") == c) & (pl.col("abs_error_pct") <= band)).height
                  for c in ("before", "after")}
        headline = {"n_measurements": before.filter(pl.col("predicted").is_not_null()).height,
                    "median_ape_before": med.get("before"), "median_ape_after": med.get("after"),
                    "within_band_before": within["before"],
                    "within_band_after": within["after"] if fitted is not None else None}
        frames = {"predicted_vs_measured": pred.select("calibration", "measured", "predicted", "kind", "model",
                                                       "hardware", "engine", "precision", "batch_size",
                                                       "abs_error_pct"),
                  "error_by_family": by_family}
        if fitted is not None:
            frames["efficiency"] = fitted
        return Result(frames=frames, headline=headline,
                      message=None if fitted is not None else "Press 'Fit efficiencies' to fit these measurements.")

    views = [
        ChartView("predicted_vs_measured", lambda f: plot.predicted_vs_measured(
            f, color="calibration", band_pct=25.0,
            extra_tooltip=("kind", "model", "hardware", "engine", "precision", "batch_size", "abs_error_pct"),
            title="Predicted vs measured (dotted: the error band)"),
            params=lambda v: {"band_pct": v["band_pct"]}),
        ChartView("error_by_family", lambda f: plot.bars(f, "median_ape_pct", "family", color="calibration",
                                                         grouped=True, extra_tooltip=["n", "p90_ape_pct",
                                                                                      "within_25_pct"],
                                                         title="Median absolute error by hardware family (%)")),
        TableView("efficiency", None, max_rows=20),
    ]
    cards = Cards([
        Card("n_measurements", "Measurements compared", "int"),
        Card("median_ape_before", "Median error before", "float", "%"),
        Card("median_ape_after", "Median error after", "float", "%"),
        Card("within_band_before", "Within the band before", "int", "rows"),
        Card("within_band_after", "Within the band after", "int", "rows"),
    ])
    groups = [("Compare", ["band_pct", "dataset"]),
              ("Ids your file does not name", ["id_hardware", "id_precision", "id_engine", "id_n_devices"])]
    app = _app("Calibrate: your measurements, fitted efficiencies", ks, compute, views, cards=cards, groups=groups,
              extras=extras + [ks["fit_version"]])

    def on_upload(change):
        import tempfile
        from pathlib import Path

        from ..errors import InferEconError
        from ..io import read_any

        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        name = item["name"] if isinstance(item, dict) else item.name
        content = bytes(item["content"] if isinstance(item, dict) else item.content)
        v = app.values()
        ids = {"hardware": v["id_hardware"] or None, "precision": v["id_precision"] or None,
               "engine": v["id_engine"] or None}
        with tempfile.TemporaryDirectory() as d:
            import html
            import re

            # the browser's file name, reduced to a plain file name ("..", "" or "a/b" cannot point elsewhere)
            path = Path(d) / (re.sub(r"[^\w.\-]+", "_", Path(str(name)).name).strip(".") or "upload")
            path.write_bytes(content)
            try:
                try:
                    frame = read_any(path)
                except InferEconError:
                    frame = read_any(path, n_devices=int(v["id_n_devices"]), **ids)
            except (InferEconError, ValueError) as exc:
                why = str(exc).splitlines()[0].replace(str(path), str(name))  # the user's name, not the temp path
                note.value = f"<span class='ie-warning'>could not read {html.escape(str(name))}: {html.escape(why)}</span>"
                return
        store["uploaded"], store["uploaded_name"] = frame, name
        note.value = f"read {frame.height} measurements from {name}"
        app.set(dataset="uploaded", fit_version=int(v["fit_version"]) + 1)

    def on_fit(_b=None):
        from ..errors import InferEconError

        v = app.values()
        note.value = "fitting…"
        try:
            store["fitted"][(v["dataset"], store["uploaded_name"])] = cal.fit(dataset(v), max_nfev=20,
                                                                               label=v["dataset"])
        except InferEconError as exc:
            note.value = f"<span class='ie-warning'>could not fit: {str(exc).splitlines()[0]}</span>"
            return
        note.value = "fitted: the table below holds the parameters (CSV button to export)"
        app.knobs["fit_version"].value = int(v["fit_version"]) + 1

    def on_keep(_b=None):
        import html

        from ..errors import InferEconError

        v = app.values()
        fitted = store["fitted"].get((v["dataset"], store["uploaded_name"]))
        if fitted is None:
            note.value = "<span class='ie-warning'>fit first ('Fit efficiencies'), then keep the fit</span>"
            return
        try:
            path = cal.save_user_efficiency(fitted)
        except (InferEconError, OSError) as exc:
            note.value = f"<span class='ie-warning'>could not keep the fit: {html.escape(str(exc).splitlines()[0])}</span>"
            return
        note.value = (f"kept in {html.escape(str(path))}: every workbook opened from now on uses it "
                      "(delete the file to go back to the shipped efficiencies)")

    upload.observe(on_upload, "value")
    fit_btn.on_click(on_fit)
    keep_btn.on_click(on_keep)
    app.fit, app.keep, app.store = on_fit, on_keep, store
    app.upload_frame = lambda frame, name="upload": (store.update(uploaded=frame, uploaded_name=name),
                                                     app.set(dataset="uploaded",
                                                             fit_version=int(app.values()["fit_version"]) + 1))
    return app
