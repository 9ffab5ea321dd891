"""Value: accuracy in dollars, Pareto frontiers, cascades, build vs buy, lock-in, edge vs cloud, payback.

Expression functions (one output) take polars expressions or numbers with
glossary-name defaults; frame functions (several outputs: :func:`pareto_frontier`,
:func:`cascade`, :func:`lock_in`, :func:`edge_vs_cloud`, :func:`savings_waterfall`)
take a frame and return it with columns added. One month = 730 hours.
"""

from __future__ import annotations

import math

import polars as pl

from .catalog import check_numeric
from .cost import HOURS_PER_MONTH
from .demand import replicas_for_load
from .energy import J_PER_KWH
from .errors import ValidationError

__all__ = [
    "net_value_usd",
    "usd_per_correct_answer",
    "marginal_value_of_accuracy",
    "accuracy_upgrade_net_usd",
    "pareto_frontier",
    "cascade",
    "api_monthly_cost_usd",
    "self_hosted_replicas",
    "self_hosted_monthly_cost_usd",
    "break_even_tokens_per_month",
    "lock_in",
    "edge_vs_cloud",
    "training_cost_usd",
    "payback_months",
    "model_quality",
    "savings_waterfall",
]

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
Num = pl.Expr | float | int


def _e(x: Num) -> pl.Expr:
    return x if isinstance(x, pl.Expr) else pl.lit(x, pl.Float64)


def net_value_usd(
    requests: Num = pl.col("requests_per_month"),
    value_per_correct_usd: Num = pl.col("value_per_correct_usd"),
    cost_per_error_usd: Num = pl.col("cost_per_error_usd"),
    accuracy: Num = pl.col("accuracy"),
    usd_per_request: Num = pl.col("usd_per_request"),
) -> pl.Expr:
    """Net value of serving ``requests`` answers [USD].

    Parameters
    ----------
    requests : expr or float
        Requests in the period [count].
    value_per_correct_usd : expr or float
        What a correct answer is worth [USD].
    cost_per_error_usd : expr or float
        What a wrong answer costs (rework, refunds, escalation) [USD].
    accuracy : expr or float
        Share of correct answers [fraction].
    usd_per_request : expr or float
        Inference cost per request [USD].

    Returns
    -------
    polars.Expr
        ``net_value_usd`` [USD].

    Notes
    -----
    net = requests × (value × accuracy − cost_per_error × (1 − accuracy) − usd_per_request).

    References
    ----------
    Issue 8, capability 5.

    Examples
    --------
    1e6 requests × (0.05 × 0.9 − 0.2 × 0.1 − 0.001) = 1e6 × 0.024 = 24,000 USD:

    >>> round(pl.select(net_value_usd(1e6, 0.05, 0.2, 0.9, 0.001)).item(), 6)
    24000.0
    """
    a = _e(accuracy)
    return (
        _e(requests) * (_e(value_per_correct_usd) * a - _e(cost_per_error_usd) * (1.0 - a) - _e(usd_per_request))
    ).alias("net_value_usd")


def usd_per_correct_answer(usd_per_request: Num = pl.col("usd_per_request"), accuracy: Num = pl.col("accuracy")) -> pl.Expr:
    """Inference cost per correct answer [USD].

    Parameters
    ----------
    usd_per_request : expr or float
        Inference cost per request [USD].
    accuracy : expr or float
        Share of correct answers [fraction].

    Returns
    -------
    polars.Expr
        ``usd_per_correct_answer`` [USD].

    Notes
    -----
    usd_per_correct_answer = usd_per_request / accuracy.

    References
    ----------
    Issue 8, capability 5.

    Examples
    --------
    >>> pl.select(usd_per_correct_answer(0.002, 0.8)).item()
    0.0025
    """
    return (_e(usd_per_request) / _e(accuracy)).alias("usd_per_correct_answer")


def marginal_value_of_accuracy(
    requests: Num = pl.col("requests_per_month"),
    value_per_correct_usd: Num = pl.col("value_per_correct_usd"),
    cost_per_error_usd: Num = pl.col("cost_per_error_usd"),
) -> pl.Expr:
    """What one more point (0.01) of accuracy is worth at a volume [USD per period].

    Parameters
    ----------
    requests : expr or float
        Requests in the period [count].
    value_per_correct_usd, cost_per_error_usd : expr or float
        Worth of a right answer and cost of a wrong one [USD].

    Returns
    -------
    polars.Expr
        ``marginal_value_of_accuracy_usd`` [USD per accuracy point].

    Notes
    -----
    d(net)/d(accuracy) × 0.01 = requests × (value_per_correct + cost_per_error) × 0.01: a point of
    accuracy turns 1 % of the answers from wrong into right.

    References
    ----------
    Issue 8, capability 5.

    Examples
    --------
    >>> round(pl.select(marginal_value_of_accuracy(1e6, 0.05, 0.2)).item(), 6)
    2500.0
    """
    return (_e(requests) * (_e(value_per_correct_usd) + _e(cost_per_error_usd)) * 0.01).alias(
        "marginal_value_of_accuracy_usd"
    )


def accuracy_upgrade_net_usd(
    accuracy_gain: Num = pl.col("accuracy_gain"),
    usd_per_request_increase: Num = pl.col("usd_per_request_increase"),
    requests: Num = pl.col("requests_per_month"),
    value_per_correct_usd: Num = pl.col("value_per_correct_usd"),
    cost_per_error_usd: Num = pl.col("cost_per_error_usd"),
) -> pl.Expr:
    """Net gain of switching to a more accurate but dearer option (bigger model, higher precision) [USD].

    Parameters
    ----------
    accuracy_gain : expr or float
        Accuracy added by the dearer option [fraction, 0.01 = one point].
    usd_per_request_increase : expr or float
        Its extra cost per request [USD].
    requests, value_per_correct_usd, cost_per_error_usd
        As in :func:`marginal_value_of_accuracy`.

    Returns
    -------
    polars.Expr
        ``accuracy_upgrade_net_usd`` [USD per period].

    Notes
    -----
    gain = requests × ((value + cost_per_error) × Δaccuracy − Δusd_per_request); positive means it pays.

    References
    ----------
    Issue 8, capability 5.

    Examples
    --------
    +2 points at +0.0005 USD per request on 1e6 requests: 1e6 × (0.25 × 0.02 − 0.0005) = 4,500 USD.

    >>> round(pl.select(accuracy_upgrade_net_usd(0.02, 0.0005, 1e6, 0.05, 0.2)).item(), 6)
    4500.0
    """
    return (
        _e(requests) * ((_e(value_per_correct_usd) + _e(cost_per_error_usd)) * _e(accuracy_gain) - _e(usd_per_request_increase))
    ).alias("accuracy_upgrade_net_usd")


def pareto_frontier(frame: pl.DataFrame, cost_col: str = "usd_per_million_output_tokens", quality_col: str = "accuracy") -> pl.DataFrame:
    """Rows no other row beats on both cost (lower) and quality (higher), sorted by cost.

    Rows with a null cost or quality are dropped. Ties: of equal-cost rows only the best quality stays.

    Parameters
    ----------
    frame : polars.DataFrame
        Candidates (e.g. models × precisions with :func:`model_quality`).
    cost_col : str
        Column to minimize [USD …].
    quality_col : str
        Column to maximize.

    Returns
    -------
    polars.DataFrame
        The frontier rows, cheapest first.

    Notes
    -----
    Sort by cost ascending (quality descending within a cost); a row is on the frontier when its
    quality exceeds the running maximum of the rows before it.

    References
    ----------
    Issue 8, capability 5. Pareto optimality: a row is kept if no other is at least as good on both and better on one.

    Examples
    --------
    >>> f = pl.DataFrame({"m": ["a", "b", "c", "d"], "usd": [1.0, 2.0, 3.0, 4.0], "acc": [0.6, 0.5, 0.8, 0.8]})
    >>> pareto_frontier(f, "usd", "acc")["m"].to_list()
    ['a', 'c']
    """
    check_numeric(frame, "pareto_frontier", [cost_col, quality_col])
    f = frame.filter(pl.col(cost_col).is_not_null() & pl.col(quality_col).is_not_null()).sort(
        [cost_col, quality_col], descending=[False, True]
    )
    prev_best = pl.col(quality_col).cum_max().shift(1)
    return f.filter(prev_best.is_null() | (pl.col(quality_col) > prev_best))


def cascade(
    frame: pl.DataFrame,
    small_usd_per_request: str = "small_usd_per_request",
    small_accuracy: str = "small_accuracy",
    large_usd_per_request: str = "large_usd_per_request",
    large_accuracy: str = "large_accuracy",
    escalation_share: str = "escalation_share",
    kept_accuracy: str | None = None,
) -> pl.DataFrame:
    """Small model first, a share escalated to a large one: blended cost and accuracy.

    Parameters
    ----------
    frame : polars.DataFrame
        One row per cascade with the named columns [USD per request; fraction].
    escalation_share : str
        Column: share of requests the router sends on to the large model [fraction].
    kept_accuracy : str, optional
        Column: accuracy of the small model on the requests it keeps. Default: its overall accuracy (a
        router with no skill); a good router keeps the easy ones, so this is higher.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``cascade_usd_per_request`` and ``cascade_accuracy``.

    Notes
    -----
    cost = small_cost + share × large_cost (every request runs on the small model first);
    accuracy = (1 − share) × kept_accuracy + share × large_accuracy.

    References
    ----------
    Issue 8, capability 5. Chen, Zaharia and Zou 2023, FrugalGPT (arXiv:2305.05176), for LLM cascades.

    Examples
    --------
    >>> f = pl.DataFrame({"small_usd_per_request": [0.001], "small_accuracy": [0.7],
    ...     "large_usd_per_request": [0.01], "large_accuracy": [0.9], "escalation_share": [0.2], "kept": [0.8]})
    >>> r = cascade(f, kept_accuracy="kept")
    >>> round(r["cascade_usd_per_request"].item(), 6), round(r["cascade_accuracy"].item(), 6)
    (0.003, 0.82)
    """
    accs = [small_accuracy, large_accuracy] + ([kept_accuracy] if kept_accuracy else [])
    check_numeric(frame, "cascade", [small_usd_per_request, large_usd_per_request, escalation_share, *accs],
                 nonnegative=(small_usd_per_request, large_usd_per_request), fraction=(escalation_share, *accs))
    s = pl.col(escalation_share)
    kept = pl.col(kept_accuracy) if kept_accuracy else pl.col(small_accuracy)
    bad = frame.filter((s < 0) | (s > 1))
    if bad.height:
        raise ValidationError(f"column {escalation_share!r}: {bad[escalation_share][0]} is outside [0, 1]")
    return frame.with_columns(
        (pl.col(small_usd_per_request) + s * pl.col(large_usd_per_request)).alias("cascade_usd_per_request"),
        ((1.0 - s) * kept + s * pl.col(large_accuracy)).alias("cascade_accuracy"),
    )


def api_monthly_cost_usd(
    input_tokens_per_month: Num = pl.col("input_tokens_per_month"),
    output_tokens_per_month: Num = pl.col("output_tokens_per_month"),
    usd_per_million_input_tokens: Num = pl.col("usd_per_million_input_tokens"),
    usd_per_million_output_tokens: Num = pl.col("usd_per_million_output_tokens"),
    usd_per_million_cached_input_tokens: Num = pl.col("usd_per_million_cached_input_tokens"),
    cached_input_share: Num = 0.0,
    batch_share: Num = 0.0,
    batch_discount_fraction: Num = pl.col("batch_discount_fraction"),
) -> pl.Expr:
    """Monthly bill of a hosted API [USD/month].

    Parameters
    ----------
    input_tokens_per_month, output_tokens_per_month : expr or float
        Volume [tokens/month].
    usd_per_million_input_tokens, usd_per_million_output_tokens, usd_per_million_cached_input_tokens
        Prices [USD/1M tokens] (``api_prices``); a null cached price bills cached tokens as uncached.
    cached_input_share : expr or float
        Share of input tokens read from the provider's prompt cache [fraction].
    batch_share : expr or float
        Share of traffic sent through the asynchronous batch API [fraction].
    batch_discount_fraction : expr or float
        Discount of the batch API on both prices [fraction]; null = no batch API (no discount).

    Returns
    -------
    polars.Expr
        ``api_monthly_cost_usd`` [USD/month].

    Notes
    -----
    input = in × ((1 − c) × p_in + c × p_cached); output = out × p_out;
    bill = (input + output) / 1e6 × (1 − batch_share × discount).

    References
    ----------
    ``data/api_prices.csv`` (provider price pages via LiteLLM's and pydantic's price files).

    Examples
    --------
    1e9 input (half cached) and 2e8 output tokens at 3 / 15 / 0.3 USD, 40 % batched at 50 % off:
    (1e9 × (0.5 × 3 + 0.5 × 0.3) + 2e8 × 15) / 1e6 = 1650 + 3000 = 4650; × (1 − 0.2) = 3720.

    >>> round(pl.select(api_monthly_cost_usd(1e9, 2e8, 3.0, 15.0, 0.3, 0.5, 0.4, 0.5)).item(), 6)
    3720.0
    """
    c = _e(cached_input_share)
    p_cached = pl.coalesce(_e(usd_per_million_cached_input_tokens), _e(usd_per_million_input_tokens))
    inp = _e(input_tokens_per_month) * ((1.0 - c) * _e(usd_per_million_input_tokens) + c * p_cached)
    out = _e(output_tokens_per_month) * _e(usd_per_million_output_tokens)
    disc = _e(batch_share) * _e(batch_discount_fraction).fill_null(0.0)
    return ((inp + out) / 1e6 * (1.0 - disc)).alias("api_monthly_cost_usd")


def self_hosted_replicas(
    output_tokens_per_month: Num = pl.col("output_tokens_per_month"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    peak_to_mean: Num = 1.0,
    target_utilization: Num = 1.0,
) -> pl.Expr:
    """Replicas a self-hosted fleet needs for a monthly volume, at least one [count].

    Parameters
    ----------
    output_tokens_per_month : expr or float
        Demand [tokens/month].
    output_tokens_per_s : expr or float
        One replica's throughput [tokens/s].
    peak_to_mean : expr or float
        Peak over mean demand [ratio].
    target_utilization : expr or float
        Highest utilization a replica may run at [fraction].

    Returns
    -------
    polars.Expr
        ``replicas`` [count].

    Notes
    -----
    replicas = max(1, ceil(demand_tokens_per_s × peak_to_mean / (output_tokens_per_s × target_utilization)))
    with demand_tokens_per_s = output_tokens_per_month / (730 × 3600); the ceiling is
    :func:`infer_econ.demand.replicas_for_load` (a ratio within 1e-9 above a whole number is rounding).

    References
    ----------
    Issue 8, capability 3.

    Examples
    --------
    >>> pl.select(self_hosted_replicas(2.628e10, 4000.0, 2.0, 0.8)).item()
    7
    """
    demand = _e(output_tokens_per_month) / SECONDS_PER_MONTH * _e(peak_to_mean)
    need = replicas_for_load(demand, _e(output_tokens_per_s), _e(target_utilization))
    return need.clip(lower_bound=1.0).cast(pl.Int64).alias("replicas")


def self_hosted_monthly_cost_usd(
    output_tokens_per_month: Num = pl.col("output_tokens_per_month"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    usd_per_hour: Num = pl.col("usd_per_hour"),
    peak_to_mean: Num = 1.0,
    target_utilization: Num = 1.0,
) -> pl.Expr:
    """Monthly cost of a self-hosted fleet sized for a volume, idle time included [USD/month].

    Every replica is paid all month (a fleet sized for the peak idles off-peak).

    Parameters
    ----------
    output_tokens_per_month, output_tokens_per_s, peak_to_mean, target_utilization
        As in :func:`self_hosted_replicas`.
    usd_per_hour : expr or float
        One replica's price [USD/h].

    Returns
    -------
    polars.Expr
        ``self_hosted_monthly_cost_usd`` [USD/month].

    Notes
    -----
    cost = :func:`self_hosted_replicas` × usd_per_hour × 730.

    References
    ----------
    Issue 8, capability 3.

    Examples
    --------
    >>> round(pl.select(self_hosted_monthly_cost_usd(2.628e10, 4000.0, 8.0, 2.0, 0.8)).item(), 6)
    40880.0
    """
    return (self_hosted_replicas(output_tokens_per_month, output_tokens_per_s, peak_to_mean, target_utilization) * _e(usd_per_hour) * HOURS_PER_MONTH).alias(
        "self_hosted_monthly_cost_usd"
    )


def break_even_tokens_per_month(
    usd_per_hour: Num = pl.col("usd_per_hour"),
    output_tokens_per_s: Num = pl.col("output_tokens_per_s"),
    api_usd_per_million_output_tokens: Num = pl.col("api_usd_per_million_output_tokens"),
    peak_to_mean: Num = 1.0,
    target_utilization: Num = 1.0,
) -> pl.Expr:
    """Smallest monthly output volume at which one self-hosted replica costs no more than the API [tokens/month].

    Parameters
    ----------
    usd_per_hour : expr or float
        One replica's price [USD/h].
    output_tokens_per_s : expr or float
        One replica's throughput [tokens/s].
    api_usd_per_million_output_tokens : expr or float
        The API's blended price per million output tokens (input tokens folded in, e.g.
        :func:`api_monthly_cost_usd` of a month divided by its output tokens) [USD/1M tokens].
    peak_to_mean, target_utilization
        As in :func:`self_hosted_replicas`.

    Returns
    -------
    polars.Expr
        ``break_even_tokens_per_month``; null when even a full replica costs more per token than the
        API (self-hosting never wins at this price).

    Notes
    -----
    API cost a·V with a = price / 1e6; one replica costs C = usd_per_hour × 730. They meet at
    V* = C / a, valid while V* fits in one replica: V* ≤ capacity = output_tokens_per_s × target_utilization /
    peak_to_mean × 730 × 3600. (Each added replica is a step up in the self-hosted curve, so just above
    a multiple of the capacity the API can briefly be cheaper again.)

    References
    ----------
    Issue 8, capability 3.

    Examples
    --------
    $8/h, 4,000 tokens/s, API $2 per million: C = 5,840; V* = 5,840 / 2e-6 = 2.92e9 tokens/month
    (capacity 1.05e10, so valid):

    >>> pl.select(break_even_tokens_per_month(8.0, 4000.0, 2.0)).item()
    2920000000.0
    """
    c = _e(usd_per_hour) * HOURS_PER_MONTH
    a = _e(api_usd_per_million_output_tokens) / 1e6
    v = c / a
    capacity = _e(output_tokens_per_s) * _e(target_utilization) / _e(peak_to_mean) * SECONDS_PER_MONTH
    return pl.when(v <= capacity).then(v).otherwise(None).alias("break_even_tokens_per_month")


def lock_in(
    frame: pl.DataFrame,
    api_monthly_cost_usd: str = "api_monthly_cost_usd",
    self_hosted_monthly_cost_usd: str = "self_hosted_monthly_cost_usd",
    api_price_change: float | str = 0.0,
    gpu_price_change: float | str = 0.0,
    switching_cost_usd: float | str = 0.0,
    horizon_months: float | str = 24.0,
) -> pl.DataFrame:
    """Put a number on vendor lock-in: price shocks and a one-off switching cost.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with the two monthly costs [USD/month].
    api_price_change, gpu_price_change : float or column name
        Relative price change after the shock (0.3 = +30 %, −0.2 = −20 %) [fraction].
    switching_cost_usd : float or column name
        One-off cost of moving (migration, re-evaluation, prompt rework) [USD].
    horizon_months : float or column name
        Period compared [months].

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``api_cost_after_shock_usd_per_month``, ``self_hosted_cost_after_shock_usd_per_month``,
        ``stay_cost_usd`` and ``switch_cost_usd`` over the horizon, ``lock_in_cost_usd``
        (= stay − switch: what staying costs over switching; negative means staying is cheaper) and
        ``switch_payback_months`` (null when switching never pays).

    Notes
    -----
    api' = api × (1 + Δapi); self' = self × (1 + Δgpu); stay = api' × H; switch = S + self' × H;
    payback = S / (api' − self').

    References
    ----------
    Issue 8, capability 3.

    Examples
    --------
    >>> f = pl.DataFrame({"api_monthly_cost_usd": [10000.0], "self_hosted_monthly_cost_usd": [7000.0]})
    >>> r = lock_in(f, api_price_change=0.2, gpu_price_change=-0.1, switching_cost_usd=30000.0, horizon_months=24)
    >>> r["lock_in_cost_usd"].item(), r["switch_payback_months"].item()
    (106800.0, 5.2631578947368425)
    """

    args = {"api_price_change": api_price_change, "gpu_price_change": gpu_price_change,
            "switching_cost_usd": switching_cost_usd, "horizon_months": horizon_months}
    for name, x in args.items():
        if not isinstance(x, str) and (isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x)):
            raise ValidationError(f"lock_in: {name} must be a finite number or a column name, got {x!r}")
    if not isinstance(horizon_months, str) and horizon_months <= 0:
        raise ValidationError(f"lock_in: horizon_months must be > 0 months, got {horizon_months!r}")
    if not isinstance(switching_cost_usd, str) and switching_cost_usd < 0:
        raise ValidationError(f"lock_in: switching_cost_usd must be ≥ 0 USD, got {switching_cost_usd!r}")
    for name in ("api_price_change", "gpu_price_change"):
        if not isinstance(args[name], str) and args[name] < -1:
            raise ValidationError(f"lock_in: {name} {args[name]!r} is below -1 (a price cannot fall by more than 100 %)")
    check_numeric(frame, "lock_in", [api_monthly_cost_usd, self_hosted_monthly_cost_usd]
                 + [x for x in args.values() if isinstance(x, str)],
                 nonnegative=(api_monthly_cost_usd, self_hosted_monthly_cost_usd))

    def v(x):
        return pl.col(x) if isinstance(x, str) else pl.lit(float(x))

    api_after = pl.col(api_monthly_cost_usd) * (1.0 + v(api_price_change))
    self_after = pl.col(self_hosted_monthly_cost_usd) * (1.0 + v(gpu_price_change))
    gap = api_after - self_after
    return frame.with_columns(
        api_after.alias("api_cost_after_shock_usd_per_month"),
        self_after.alias("self_hosted_cost_after_shock_usd_per_month"),
        (api_after * v(horizon_months)).alias("stay_cost_usd"),
        (v(switching_cost_usd) + self_after * v(horizon_months)).alias("switch_cost_usd"),
        (api_after * v(horizon_months) - v(switching_cost_usd) - self_after * v(horizon_months)).alias("lock_in_cost_usd"),
        pl.when(gap > 0).then(v(switching_cost_usd) / gap).otherwise(None).alias("switch_payback_months"),
    )


def edge_vs_cloud(
    frame: pl.DataFrame,
    *,
    edge_capex_usd: str = "edge_capex_usd",
    edge_lifetime_years: str = "edge_lifetime_years",
    edge_power_w: str = "edge_power_w",
    edge_idle_power_w: str = "edge_idle_power_w",
    edge_requests_per_s: str = "edge_requests_per_s",
    edge_latency_s: str = "edge_latency_s",
    electricity_usd_per_kwh: str = "electricity_usd_per_kwh",
    cloud_usd_per_request: str = "cloud_usd_per_request",
    cloud_latency_s: str = "cloud_latency_s",
    egress_gb_per_request: str = "egress_gb_per_request",
    egress_usd_per_gb: str | None = None,
    cloud_rtt_s: str | None = None,
) -> pl.DataFrame:
    """Edge device vs cloud API or fleet: break-even requests per day per device, and latency.

    Parameters
    ----------
    frame : polars.DataFrame
        One row per comparison. Edge: device price [USD], life [years], power busy and idle [W],
        throughput [requests/s] (from ``estimate`` on the edge hardware), latency of one request [s];
        electricity [USD/kWh]. Cloud: cost per request [USD] (``evaluate``'s ``usd_per_request`` or an
        API price), latency without the network [s], egress per request [GB].
    egress_usd_per_gb, cloud_rtt_s : str, optional
        Columns; default the ``egress_usd_per_gb`` and ``cloud_rtt_s`` defaults (``data/defaults.csv``).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``edge_fixed_usd_per_day`` (capex straight-line plus idle energy),
        ``edge_marginal_usd_per_request`` (the extra energy of a request), ``cloud_total_usd_per_request``,
        ``edge_capacity_requests_per_day``, ``break_even_requests_per_day`` (null when the edge never
        wins: cloud is cheaper per request at the margin, or the break-even exceeds the device's
        capacity), ``cloud_total_latency_s`` (+ RTT) and ``edge_latency_advantage_s``.

    Notes
    -----
    fixed/day = capex / (365 × life) + idle_w × 24 / 1000 × price;
    marginal = (busy_w − idle_w) / requests_per_s / 3.6e6 × price;
    cloud = cloud_usd_per_request + egress_gb × usd_per_gb;
    R* = fixed / (cloud − marginal), valid when cloud > marginal and R* ≤ requests_per_s × 86,400.

    References
    ----------
    Issue 8, capability 4. Egress and RTT defaults: AWS EC2 data-transfer prices; Azure network latency statistics.

    Examples
    --------
    >>> f = pl.DataFrame({"edge_capex_usd": [2000.0], "edge_lifetime_years": [4.0], "edge_power_w": [60.0],
    ...     "edge_idle_power_w": [10.0], "edge_requests_per_s": [0.5], "edge_latency_s": [2.0],
    ...     "electricity_usd_per_kwh": [0.2], "cloud_usd_per_request": [0.001], "cloud_latency_s": [1.0],
    ...     "egress_gb_per_request": [0.001], "egress_usd_per_gb": [0.09], "cloud_rtt_s": [0.05]})
    >>> r = edge_vs_cloud(f, egress_usd_per_gb="egress_usd_per_gb", cloud_rtt_s="cloud_rtt_s")
    >>> round(r["break_even_requests_per_day"].item(), 1)
    1307.5
    """
    from . import defaults

    nonneg = [edge_capex_usd, edge_power_w, edge_idle_power_w, electricity_usd_per_kwh, cloud_usd_per_request,
              egress_gb_per_request, edge_latency_s, cloud_latency_s] + [c for c in (egress_usd_per_gb, cloud_rtt_s) if c]
    check_numeric(frame, "edge_vs_cloud", [edge_lifetime_years, edge_requests_per_s, *nonneg],
                 positive=(edge_lifetime_years, edge_requests_per_s), nonnegative=tuple(nonneg))
    egress = pl.col(egress_usd_per_gb) if egress_usd_per_gb else pl.lit(defaults.value("egress_usd_per_gb"))
    rtt = pl.col(cloud_rtt_s) if cloud_rtt_s else pl.lit(defaults.value("cloud_rtt_s"))
    price = pl.col(electricity_usd_per_kwh)
    fixed = pl.col(edge_capex_usd) / (365.0 * pl.col(edge_lifetime_years)) + pl.col(edge_idle_power_w) * 24.0 / 1000.0 * price
    marginal = (pl.col(edge_power_w) - pl.col(edge_idle_power_w)) / pl.col(edge_requests_per_s) / J_PER_KWH * price
    cloud = pl.col(cloud_usd_per_request) + pl.col(egress_gb_per_request) * egress
    capacity = pl.col(edge_requests_per_s) * 86400.0
    r_star = fixed / (cloud - marginal)
    return frame.with_columns(
        fixed.alias("edge_fixed_usd_per_day"),
        marginal.alias("edge_marginal_usd_per_request"),
        cloud.alias("cloud_total_usd_per_request"),
        capacity.alias("edge_capacity_requests_per_day"),
        pl.when((cloud > marginal) & (r_star <= capacity)).then(r_star).otherwise(None).alias("break_even_requests_per_day"),
        (pl.col(cloud_latency_s) + rtt).alias("cloud_total_latency_s"),
        (pl.col(cloud_latency_s) + rtt - pl.col(edge_latency_s)).alias("edge_latency_advantage_s"),
    )


def training_cost_usd(
    params_b: Num = pl.col("params_b"),
    training_tokens: Num = pl.col("training_tokens"),
    peak_tflops: Num = pl.col("peak_tflops"),
    usd_per_device_hour: Num = pl.col("usd_per_device_hour"),
    mfu: Num | None = None,
) -> pl.Expr:
    """Compute cost of a one-off training run (distillation, QAT, fine-tuning) [USD].

    Parameters
    ----------
    params_b : expr or float
        Parameters trained [1e9] (for parameter-efficient fine-tuning, still the full forward and
        backward pass: use the model's parameters).
    training_tokens : expr or float
        Tokens processed [tokens].
    peak_tflops : expr or float
        Dense peak of one device at the training precision [TFLOP/s].
    usd_per_device_hour : expr or float
        Price of a device-hour [USD/h].
    mfu : expr or float, optional
        Model FLOPs utilization [fraction]; default the ``training_mfu`` default (``data/defaults.csv``).

    Returns
    -------
    polars.Expr
        ``training_cost_usd`` [USD].

    Notes
    -----
    FLOPs = 6 × params × tokens; device-hours = FLOPs / (peak × mfu) / 3600; cost = device-hours × price.

    References
    ----------
    Kaplan et al. 2020 (arXiv:2001.08361): training FLOPs ≈ 6 × parameters × tokens; MFU default from
    the Llama 3 paper (arXiv:2407.21783).

    Examples
    --------
    8B params on 1e9 tokens at 989 TFLOP/s, MFU 0.4, $2.5/h: 4.8e19 / 3.956e14 = 121,335 s = 33.70 h; 84.26 USD.

    >>> round(pl.select(training_cost_usd(8.0, 1e9, 989.0, 2.5, 0.4)).item(), 2)
    84.26
    """
    if mfu is None:
        from . import defaults

        mfu = defaults.value("training_mfu")
    flops = 6.0 * _e(params_b) * 1e9 * _e(training_tokens)
    hours = flops / (_e(peak_tflops) * 1e12 * _e(mfu)) / 3600.0
    return (hours * _e(usd_per_device_hour)).alias("training_cost_usd")


def payback_months(
    one_off_cost_usd: Num = pl.col("one_off_cost_usd"),
    monthly_saving_usd: Num = pl.col("monthly_saving_usd"),
) -> pl.Expr:
    """Months until a one-off optimization has paid for itself [months]; null if it saves nothing.

    Parameters
    ----------
    one_off_cost_usd : expr or float
        Cost of the optimization (training compute, engineering) [USD].
    monthly_saving_usd : expr or float
        Saving per month it brings [USD/month].

    Returns
    -------
    polars.Expr
        ``payback_months`` [months].

    Notes
    -----
    payback = one_off_cost / monthly_saving, for monthly_saving > 0. The saving should be net of any
    value lost to an accuracy change (:func:`marginal_value_of_accuracy`).

    References
    ----------
    Issue 8, capability 6.

    Examples
    --------
    >>> pl.select(payback_months(12000.0, 3000.0)).item()
    4.0
    """
    s = _e(monthly_saving_usd)
    return pl.when(s > 0).then(_e(one_off_cost_usd) / s).otherwise(None).alias("payback_months")


# ---------------------------------------------------------------- savings waterfall


def model_quality(
    frame: pl.DataFrame, benchmark: str = "MMLU", quality: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Add ``quality`` [score of ``benchmark``] for each row's ``model`` and ``precision`` from ``model_quality``.

    Scores from different settings are not comparable, so one setting is used: the one that scores the
    most of the frame's models (ties: the benchmark's most frequent setting in the catalog). The score at the row's precision is preferred; a model scored
    only unquantized (bf16 / fp16 / null precision) gets that score with ``quality_is_unquantized``
    true (the quantization's effect is then unknown, not zero); null where the model has no score.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with ``model`` and ``precision``.
    benchmark : str
        ``model_quality`` benchmark name (MMLU, MMLU-Pro, GSM8K …).
    quality : polars.DataFrame, optional
        The catalog (default: shipped).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``quality`` [the benchmark's score unit] and ``quality_is_unquantized``.

    Notes
    -----
    Median score per (model, precision) in the chosen setting.

    References
    ----------
    ``data/model_quality.csv`` and its sources (model cards; Open LLM Leaderboard; quantized-model cards).

    Examples
    --------
    >>> q = pl.DataFrame({"model": ["m", "m", "n"], "precision": ["bf16", "fp8", "bf16"], "benchmark": ["B"] * 3,
    ...     "setting": ["s"] * 3, "score": [70.0, 69.0, 50.0]})
    >>> f = model_quality(pl.DataFrame({"model": ["m", "n"], "precision": ["fp8", "fp8"]}), "B", q)
    >>> f["quality"].to_list(), f["quality_is_unquantized"].to_list()
    ([69.0, 50.0], [False, True])
    """
    from . import catalog

    frame = catalog.id_columns(frame, ["model", "precision"], "model_quality")
    if quality is None:
        quality = catalog.load("model_quality")
    q = quality.filter((pl.col("benchmark") == benchmark) & pl.col("model").is_not_null())
    if q.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias("quality"), pl.lit(None, pl.Boolean).alias("quality_is_unquantized"))
    wanted = frame["model"].unique().implode()
    cover = q.group_by("setting").agg(
        pl.col("model").filter(pl.col("model").is_in(wanted)).n_unique().alias("_cover"), pl.len().alias("_n")
    )
    setting = cover.sort(["_cover", "_n", "setting"], descending=[True, True, False])["setting"][0]
    q = q.filter(pl.col("setting") == setting)
    exact = q.group_by("model", "precision").agg(pl.col("score").median().alias("_q_exact"))
    base = (
        q.filter(pl.col("precision").is_null() | pl.col("precision").is_in(["bf16", "fp16", "fp32"]))
        .group_by("model")
        .agg(pl.col("score").median().alias("_q_base"))
    )
    out = frame.join(exact, on=["model", "precision"], how="left").join(base, on="model", how="left")
    return out.with_columns(
        pl.coalesce("_q_exact", "_q_base").alias("quality"),
        pl.when(pl.col("_q_exact").is_not_null()).then(False).when(pl.col("_q_base").is_not_null()).then(True).alias(
            "quality_is_unquantized"
        ),
    ).drop("_q_exact", "_q_base")


_WATERFALL_KEEP = ["model", "hardware", "precision", "engine", "n_devices", "input_tokens", "output_tokens",
                   "context_depth", "batch_size", "provider", "region", "price_model", "utilization",
                   "usd_per_device_hour", "capex_usd_per_device", "grid_region", "grid_g_co2e_per_kwh", "pue",
                   "hosting_usd_per_kw_month", "electricity_usd_per_kwh", "electricity_region"]


def _scenario_cols(frame: pl.DataFrame) -> list[str]:
    return [c for c in _WATERFALL_KEEP if c in frame.columns]


def savings_waterfall(
    scenario: pl.DataFrame,
    *,
    requests_per_month: float | None = None,
    target_utilization: float | None = None,
    prefix_cache_hit_share: float | None = None,
    quality_benchmark: str = "MMLU",
    catalogs: dict[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Apply each cost lever in turn to one scenario; return what each saves per month and what it changes.

    Levers, in order, each applied on top of the ones before (a lever is kept only if it lowers the
    cost per request; otherwise its row shows no change):

    1. ``precision``: the cheapest precision the engine runs (fp8, int8, int4, fp4 where it fits).
    2. ``batching``: the engine's largest batch (``batch_size`` null) and utilization raised to
       ``target_utilization`` (default from ``data/defaults.csv``) where it is lower.
    3. ``smaller_model``: the largest model of the same family and task that is smaller.
    4. ``hardware``: every hardware with a price in the same price model (the same provider when one is
       given) at 1, 2, 4 or 8 devices.
    5. ``price_model``: on-demand, spot, 1- or 3-year reservation of the same provider and hardware, or owning.
    6. ``prefix_caching``: ``prefix_cache_hit_share`` of the prompt moved to ``context_depth`` (cached).
    7. ``edge``: one owned edge, consumer, workstation or Apple device (PUE 1, no colocation fee), with the
       scenario's engine and precision or llama.cpp at q4_k_m.
    8. ``api``: the cheapest hosted API serving the same open-weights model (``api_prices``).

    Parameters
    ----------
    scenario : polars.DataFrame
        One row of :func:`infer_econ.evaluate` inputs with a price (provider, usd_per_device_hour or owned).
    requests_per_month : float, optional
        Monthly volume [requests]; default what the baseline deployment serves in a month at its
        utilization.
    quality_benchmark : str
        Benchmark of ``model_quality`` shown as the accuracy effect (:func:`model_quality`).
    catalogs : dict, optional
        Catalog frames replacing shipped ones (as in :func:`infer_econ.pipeline.add_economics`).

    Returns
    -------
    polars.DataFrame
        One row per step (``step`` 0 is the baseline): ``lever``, ``change``, the scenario's ids after the
        step, ``usd_per_request``, ``usd_per_month``, ``saving_usd_per_month`` (vs the step before),
        ``quality``, ``quality_change``, ``ttft_s``, ``tpot_s``, ``g_co2e_per_request`` and
        ``g_co2e_per_month`` (null for an API: its energy is not published).

    Notes
    -----
    usd_per_month = usd_per_request × requests_per_month; each candidate set is evaluated in one
    vectorized :func:`infer_econ.evaluate` call. The monthly figures scale the cost per request, as for a
    fleet that grows with the volume; a volume below one device's capacity still pays for a whole device
    (:func:`self_hosted_monthly_cost_usd` gives that floor).

    References
    ----------
    Issue 8, capability 7.

    Examples
    --------
    >>> s = pl.DataFrame({"model": ["llama-3.1-70b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
    ...     "engine": ["vllm"], "n_devices": [8], "input_tokens": [2000], "output_tokens": [500],
    ...     "provider": ["aws"], "price_model": ["on_demand"], "utilization": [0.4]})
    >>> w = savings_waterfall(s, requests_per_month=1e6)
    >>> w["lever"].to_list()[:3]
    ['baseline', 'precision', 'batching']
    >>> bool(w["usd_per_month"][-1] <= w["usd_per_month"][0])
    True
    """
    from . import defaults
    from .pipeline import _cat, evaluate

    if scenario.height != 1:
        raise ValidationError(f"savings_waterfall takes one scenario row, got {scenario.height}")
    target_u = defaults.value("target_utilization") if target_utilization is None else float(target_utilization)
    hit = defaults.value("prefix_cache_hit_share") if prefix_cache_hit_share is None else float(prefix_cache_hit_share)
    cur = scenario.select(_scenario_cols(scenario))
    base = evaluate(cur, catalogs=catalogs)
    if base["usd_per_request"][0] is None:
        raise ValidationError("savings_waterfall: the baseline has no cost (give provider, usd_per_device_hour or price_model 'owned', and a scenario that fits)")
    if requests_per_month is None:
        r = base.row(0, named=True)
        requests_per_month = r["output_tokens_per_s"] * r["utilization"] * SECONDS_PER_MONTH / r["output_tokens"]
    hw_cat = _cat("hardware", catalogs)
    models = _cat("models", catalogs)
    engines = _cat("engines", catalogs)
    steps = [("baseline", "as given", base)]

    def pick(cands: pl.DataFrame, label: str, describe) -> None:
        nonlocal cur
        best_prev = steps[-1][2]
        if cands.height:
            ev = evaluate(cands, catalogs=catalogs)
            if ev.height:
                ok = ev.with_row_index("_i").filter(pl.col("usd_per_request").is_not_null() & pl.col("fits").fill_null(False))
                if ok.height:
                    best = ok.sort("usd_per_request").head(1)
                    if best["usd_per_request"][0] < best_prev["usd_per_request"][0] * (1 - 1e-9):
                        cur = cands.slice(int(best["_i"][0]), 1)
                        steps.append((label, describe(cur.row(0, named=True)), best.drop("_i")))
                        return
        steps.append((label, "no cheaper option", best_prev))

    def variant(**changes) -> pl.DataFrame:
        return cur.with_columns(pl.lit(v).alias(k) for k, v in changes.items())

    row = cur.row(0, named=True)
    # 1 precision
    eng = engines.filter(pl.col("id") == row["engine"])["precisions"]
    allowed = set(eng[0].split(";")) if eng.len() else set()
    precs = [p for p in ("fp8", "int8", "int4", "fp4") if p in allowed and p != row["precision"]]
    pick(pl.concat([variant(precision=p) for p in precs]) if precs else cur.clear(), "precision", lambda r: f"precision {r['precision']}")
    # 2 batching and utilization
    u_now = cur["utilization"][0] if "utilization" in cur.columns and cur["utilization"][0] is not None else defaults.value("utilization")
    cand = cur.with_columns(pl.lit(None, pl.Int64).alias("batch_size"), pl.lit(max(u_now, target_u)).alias("utilization"))
    pick(cand, "batching", lambda r: f"engine max batch; utilization {r['utilization']:.2f}")
    # 3 smaller model (same family and task)
    m = models.filter(pl.col("id") == cur["model"][0]).row(0, named=True)
    smaller = models.filter((pl.col("family") == m["family"]) & (pl.col("task") == m["task"]) & (pl.col("total_params_b") < m["total_params_b"]))
    smaller = smaller.sort(["total_params_b", "id"], descending=[True, True]).head(1)["id"].to_list()
    pick(pl.concat([variant(model=x) for x in smaller]) if smaller else cur.clear(), "smaller_model", lambda r: f"model {r['model']}")
    # 4 other hardware
    row = cur.row(0, named=True)
    pm = row.get("price_model") or "on_demand"
    if pm == "owned":
        hp = _cat("hardware_prices", catalogs)
        hws = sorted(set(hp["hardware"].drop_nulls().to_list()) & set(hw_cat["id"].to_list()))
    elif row.get("provider"):
        cp = _cat("cloud_prices", catalogs).filter((pl.col("provider") == row["provider"]) & (pl.col("price_model") == pm))
        hws = sorted(set(cp["hardware"].to_list()))
    else:
        hws = []
    cands = [variant(hardware=h, n_devices=n, region=None) if "region" in cur.columns else variant(hardware=h, n_devices=n)
             for h in hws for n in (1, 2, 4, 8)]
    if cands and "usd_per_device_hour" in cur.columns and cur["usd_per_device_hour"][0] is not None:
        cands = []  # an explicit price is for the scenario's own hardware only
    pick(pl.concat(cands, how="diagonal_relaxed") if cands else cur.clear(), "hardware", lambda r: f"{r['n_devices']} × {r['hardware']}")
    # 5 price model
    row = cur.row(0, named=True)
    cands = []
    if row.get("provider") and not (row.get("usd_per_device_hour")):
        cp = _cat("cloud_prices", catalogs).filter((pl.col("provider") == row["provider"]) & (pl.col("hardware") == row["hardware"]))
        cands += [variant(price_model=p) for p in sorted(set(cp["price_model"].to_list())) if p != pm]
    hp = _cat("hardware_prices", catalogs)
    if pm != "owned" and row["hardware"] in set(hp["hardware"].drop_nulls().to_list()) and not row.get("usd_per_device_hour"):
        cands.append(variant(price_model="owned"))
    pick(pl.concat(cands, how="diagonal_relaxed") if cands else cur.clear(), "price_model", lambda r: f"price model {r['price_model']}")
    # 6 prefix caching
    row = cur.row(0, named=True)
    cached = int(round(row["input_tokens"] * hit))
    if 0 < cached < row["input_tokens"]:
        depth = (row.get("context_depth") or 0) + cached
        cand = variant(input_tokens=row["input_tokens"] - cached, context_depth=depth)
    else:
        cand = cur.clear()
    pick(cand, "prefix_caching", lambda r: f"{cached} of the prompt tokens served from the prefix cache")
    # 7 edge: one owned device outside a data center (PUE 1, no colocation fee)
    hp = _cat("hardware_prices", catalogs)
    edge_hw = hw_cat.filter(
        pl.col("category").is_in(["edge", "consumer", "apple", "workstation"]) & pl.col("id").is_in(hp["hardware"].drop_nulls().implode())
    )["id"].to_list()
    row = cur.row(0, named=True)
    combos = [(row["engine"], row["precision"]), ("llama.cpp", "q4_k_m")]
    cands = [
        cur.drop([c for c in ("usd_per_device_hour", "provider", "region", "capex_usd_per_device") if c in cur.columns]).with_columns(
            pl.lit(h).alias("hardware"), pl.lit(1).alias("n_devices"), pl.lit(e).alias("engine"), pl.lit(pr).alias("precision"),
            pl.lit("owned").alias("price_model"), pl.lit(1.0).alias("pue"), pl.lit(0.0).alias("hosting_usd_per_kw_month"),
        )
        for h in edge_hw for e, pr in dict.fromkeys(combos)
    ]
    pick(pl.concat(cands, how="diagonal_relaxed") if cands else cur.clear(), "edge", lambda r: f"owned {r['hardware']} at the edge ({r['engine']}, {r['precision']})")
    # 8 hosted API for the same open-weights model
    api = _cat("api_prices", catalogs).filter(pl.col("model") == cur["model"][0])
    prev = steps[-1][2]
    if api.height:
        r0 = scenario.row(0, named=True)
        # the API bill of one request's tokens, no prompt cache, no batch discount
        api = api.with_columns(
            api_monthly_cost_usd(float(r0["input_tokens"]), float(r0["output_tokens"]),
                                 usd_per_million_cached_input_tokens=pl.col("usd_per_million_input_tokens"),
                                 batch_discount_fraction=0.0).alias("usd_per_request")
        ).sort("usd_per_request")
        best = api.row(0, named=True)
        if best["usd_per_request"] < prev["usd_per_request"][0]:
            api_row = prev.with_columns(
                pl.lit(best["usd_per_request"]).alias("usd_per_request"), pl.lit(f"api:{best['id']}").alias("hardware"),
                pl.lit(None, pl.Float64).alias("ttft_s"), pl.lit(None, pl.Float64).alias("tpot_s"),
                pl.lit(None, pl.Float64).alias("g_co2e_per_request"), pl.lit("api").alias("price_model"),
                pl.lit(None, pl.Int64).alias("n_devices"),
            )
            steps.append(("api", f"hosted API {best['id']}", api_row))
        else:
            steps.append(("api", "no cheaper option", prev))
    else:
        steps.append(("api", "no API serves this model", prev))

    cols = ["model", "hardware", "precision", "n_devices", "price_model", "usd_per_request", "ttft_s", "tpot_s", "g_co2e_per_request"]
    rows = pl.concat(
        [f.select([pl.col(c) if c in f.columns else pl.lit(None).alias(c) for c in cols]).with_columns(
            pl.lit(i).alias("step"), pl.lit(lever).alias("lever"), pl.lit(change).alias("change"))
         for i, (lever, change, f) in enumerate(steps)],
        how="diagonal_relaxed",
    )
    rows = model_quality(rows, quality_benchmark, _cat("model_quality", catalogs))
    v = float(requests_per_month)
    return rows.select(
        "step", "lever", "change", *cols[:5], "usd_per_request",
        (pl.col("usd_per_request") * v).alias("usd_per_month"),
        (pl.col("usd_per_request").shift(1) * v - pl.col("usd_per_request") * v).fill_null(0.0).alias("saving_usd_per_month"),
        "quality", "quality_is_unquantized", (pl.col("quality") - pl.col("quality").shift(1)).alias("quality_change"),
        "ttft_s", "tpot_s", "g_co2e_per_request", (pl.col("g_co2e_per_request") * v).alias("g_co2e_per_month"),
        pl.lit(v).alias("requests_per_month"),
    )
