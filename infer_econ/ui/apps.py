"""One app per workbook: knobs, a compute function that calls the library, cards and charts.

A workbook cell is just ``from infer_econ.ui import apps; apps.hardware()``.
Each builder returns an :class:`infer_econ.ui.App`; tests set its knobs and
read ``app.state`` (frames, headline) and the charts' specs.

The compute functions only turn knob values into scenario frames, call the
library (:func:`infer_econ.evaluate` and the concern modules), and pick rows
and columns out of what comes back. Every number is the library's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from .. import catalog, plot
from .cards import Card, Cards
from .core import App, ChartView, Result, TableView
from . import knobs as K

__all__ = ["hardware", "quantization", "PRIMARY_CLASS"]

#: CSS class of the sliders the browser tests and benchmarks turn.
PRIMARY_CLASS = "ie-primary"


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
    hw = catalog.load("hardware").select(pl.col("id").alias("hardware"), "category", "vendor", "memory_gb")
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
               "weights_gb_per_device", "memory_gb"]


def hardware(model: str = "llama-3.1-8b", precision: str = "fp8", engine: str = "vllm",
             pick: str = "h100-sxm") -> App:
    """Workbook 01: every accelerator compared for one model, precision, engine and request shape.

    Knobs: model, precision, engine, prompt and output tokens (log sliders),
    devices per replica, batch (0 = the largest that fits), price model, and
    the hardware to highlight. Charts: $/1M output tokens vs output tokens/s
    (log-log, one point per accelerator), energy per output token per
    accelerator. Headline: the highlighted accelerator's numbers.

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
        "batch_size": K.int_slider("Batch (0 = largest that fits)", 0, 0, 512, unit="sequences",
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
        out = evaluate(scen).join(fleet.select("hardware", "category", "vendor", "memory_gb"), on="hardware",
                                  how="left")
        cols = [c for c in _HW_COLUMNS if c in out.columns]
        fits = out.filter(pl.col("fits")).select(cols).sort("usd_per_million_output_tokens")
        nofit = out.filter(~pl.col("fits")).select("hardware", "memory_gb", "limit", "weights_gb_per_device")
        row = _row(out, hardware=v["pick"])
        headline = _headline_of(row, ["usd_per_million_output_tokens", "output_tokens_per_s", "ttft_s", "tpot_s",
                                      "energy_j_per_output_token", "usd_per_hour"])
        msg = None
        if row is None:
            msg = (f"{v['pick']} has no {K.PRICE_MODEL_LABELS.get(v['price_model'], v['price_model']).lower()} "
                   "price in the catalogs: pick another price model or hardware.")
        elif not row["fits"]:
            msg = f"{v['pick']} cannot run this: {row['limit']} (weights {row['weights_gb_per_device']:.3g} GB per device)."
        best = fits.row(0, named=True) if fits.height else None
        notes = {"usd_per_million_output_tokens": f"cheapest here: {best['hardware']}" if best else ""}
        return Result(frames={"hardware": fits, "energy": fits.select("hardware", "category",
                                                                      "energy_j_per_output_token", "power_w",
                                                                      "output_tokens_per_s"),
                              "does_not_fit": nofit},
                      headline=headline, notes=notes, message=msg)

    views = [
        ChartView("hardware", plot.cost_vs_throughput, params=lambda v: {"highlight": v["pick"]}),
        ChartView("energy", lambda f: plot.bars(f, "energy_j_per_output_token", "hardware", color="category",
                                                sort_descending=False, title="Energy per output token (lower is better)",
                                                extra_tooltip=["power_w", "output_tokens_per_s"])),
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
    return App("Which accelerator? Cost per token vs speed", ks, compute, views, cards=cards, groups=groups)


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

            out = estimate(scen.drop("provider", "region", "price_model", strict=False))
        else:
            out = evaluate(scen)
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

        return (estimate(grid).group_by("precision", maintain_order=True)
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
    return App("Quantization: memory, speed, cost and accuracy per precision", ks, compute, views, cards=cards,
               groups=groups)
