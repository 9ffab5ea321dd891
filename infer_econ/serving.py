"""Serving under load: queueing, latency percentiles, SLO capacity, serving optimizations.

Offline tokens per second is not what users pay for. Requests arrive at random,
a continuously batching engine mixes the prefills of new requests with the decode
steps of running ones, and latency promises (time to first token, time per output
token) cap how hard a replica can be driven. This module turns the performance
core's step times into latency under load, finds the cheapest fleet that meets an
SLO, and prices serving optimizations (prefix caching, speculative decoding,
disaggregated prefill/decode pools). Demand over time and autoscaling live in
:mod:`infer_econ.demand`.

The replica model (used throughout)
-----------------------------------
A replica runs decode steps whose time grows linearly with the running batch
``B`` (memory-bound decode: the weights are read once per step, the KV cache once
per sequence)::

    t(B) = decode_step_fixed_s + decode_step_per_sequence_s * B

and prefills compute-bound at ``prefill_s_per_token`` seconds per input token.
These three *building blocks* come from :func:`step_times` (which calls
``infer_econ.perf.estimate`` at batch 1 and at the batch cap) or can be given as
columns directly. Under an arrival rate ``λ`` per replica with ``I`` input and
``O`` output tokens per request:

- prefill share of the GPU ``ρ_p = λ I p``; the time per output token is
  stretched by interleaved prefills: ``TPOT = t(B) / (1 − ρ_p)``;
- Little's law gives the running batch ``B = λ (O − 1) TPOT``; solving both,
  ``TPOT = t0 / (1 − ρ_p − λ (O − 1) t1)`` until ``B`` reaches the batch cap;
- capacity (the largest sustainable rate) is the back-to-back throughput at the
  cap: ``λ_max = cap / ((O − 1) t(cap) + cap I p)``;
- TTFT = wait for a batch slot (M/M/c, Erlang C, ``c = cap``) + wait in the
  prefill queue (M/G/1, Pollaczek–Khinchine, with the residual of the decode step
  in progress) + the prefill itself (chunked: spread over steps of a token budget).

References
----------
- L. Kleinrock, *Queueing Systems, Vol. 1: Theory*, Wiley 1975 (M/M/1, M/M/c,
  Erlang C, Pollaczek–Khinchine, non-preemptive priority).
- M. Reiser and S. Lavenberg, "Mean-value analysis of closed multichain queuing
  networks", J. ACM 27(2), 1980 (closed-loop clients).
- W. Kwon et al., "Efficient Memory Management for Large Language Model Serving
  with PagedAttention", SOSP 2023 (continuous batching, vLLM).
- A. Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with
  Sarathi-Serve", OSDI 2024 (chunked prefill).
- Y. Leviathan, M. Kalman, Y. Matias, "Fast Inference from Transformers via
  Speculative Decoding", ICML 2023 (expected tokens per step).
- Y. Zhong et al., "DistServe: Disaggregating Prefill and Decoding", OSDI 2024.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from . import cost
from .errors import UnknownIdError, ValidationError

__all__ = [
    "mm1_waiting_time_s",
    "mm1_sojourn_time_s",
    "erlang_b",
    "erlang_c",
    "mmc_waiting_time_s",
    "mmc_waiting_time_quantile_s",
    "mg1_waiting_time_s",
    "exponential_tail_quantile_s",
    "replica_capacity_requests_per_s",
    "replica_latency",
    "closed_loop_latency",
    "simulate_replica",
    "step_times",
    "latency_under_load",
    "capacity",
    "slo_rate_per_replica",
    "speculative_tokens_per_step",
    "speculative_decoding",
    "prefix_cache",
    "disaggregated_latency",
    "compare_optimizations",
    "validation_report",
    "validation_summary",
    "validation_overview",
    "VALIDATION_TARGETS_PCT",
    "BLOCK_COLUMNS",
    "DEFAULT_PREFILL_CHUNK_TOKENS",
    "MAX_SIMULATION_ROWS",
]

#: The replica building blocks, in the order [t0 s, t1 s/sequence, p s/token, cap sequences].
BLOCK_COLUMNS = ["decode_step_fixed_s", "decode_step_per_sequence_s", "prefill_s_per_token", "batch_cap"]

#: Most open-loop rows ``latency_under_load(method="simulation")`` accepts (one engine simulation each).
MAX_SIMULATION_ROWS = 200

#: Default token budget per engine step with chunked prefill [tokens]
#: (vLLM ``max_num_batched_tokens`` for chunked prefill, SGLang ``chunked_prefill_size`` 2048-8192).
DEFAULT_PREFILL_CHUNK_TOKENS = 2048

_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
_DISTS = {"fixed": 0, "exponential": 1, "lognormal": 2}


# --------------------------------------------------------------------------- primitives


def _arr(x: Any) -> np.ndarray:
    if isinstance(x, pl.Series):
        x = x.to_numpy()
    return np.asarray(x, dtype=np.float64)


def mm1_waiting_time_s(arrival_rate_per_s: Any, service_rate_per_s: Any) -> np.ndarray:
    """Mean time waiting in queue of an M/M/1 queue (analytical, exact).

    Parameters
    ----------
    arrival_rate_per_s : array-like
        Poisson arrival rate λ [1/s].
    service_rate_per_s : array-like
        Exponential service rate μ [1/s].

    Returns
    -------
    numpy.ndarray
        Wq [s]; ``inf`` where ρ = λ/μ ≥ 1 (no steady state).

    Notes
    -----
    ``Wq = ρ / (μ − λ)`` with ``ρ = λ / μ``.

    References
    ----------
    Kleinrock (1975), Vol. 1, ch. 3.

    Examples
    --------
    >>> float(mm1_waiting_time_s(0.5, 1.0)[()])  # ρ = 0.5: Wq = 0.5 / 0.5 = 1 s
    1.0
    """
    lam, mu = _arr(arrival_rate_per_s), _arr(service_rate_per_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (lam / mu) / (mu - lam)
    return np.where(lam < mu, w, np.inf)


def mm1_sojourn_time_s(arrival_rate_per_s: Any, service_rate_per_s: Any) -> np.ndarray:
    """Mean time in system (wait + service) of an M/M/1 queue (analytical, exact).

    Parameters
    ----------
    arrival_rate_per_s : array-like
        λ [1/s].
    service_rate_per_s : array-like
        μ [1/s].

    Returns
    -------
    numpy.ndarray
        W [s]; ``inf`` where λ ≥ μ.

    Notes
    -----
    ``W = 1 / (μ − λ)``.

    References
    ----------
    Kleinrock (1975), Vol. 1, ch. 3.

    Examples
    --------
    >>> float(mm1_sojourn_time_s(0.5, 1.0)[()])
    2.0
    """
    lam, mu = _arr(arrival_rate_per_s), _arr(service_rate_per_s)
    with np.errstate(divide="ignore"):
        return np.where(lam < mu, 1.0 / (mu - lam), np.inf)


def erlang_b(servers: Any, offered_load_erlangs: Any) -> np.ndarray:
    """Erlang B blocking probability, by the numerically stable recursion (analytical).

    Parameters
    ----------
    servers : array-like of int
        c ≥ 1 [servers].
    offered_load_erlangs : array-like
        a = λ / μ [Erlang].

    Returns
    -------
    numpy.ndarray
        B(c, a) [probability].

    Notes
    -----
    ``B(0, a) = 1``, ``B(k, a) = a B(k−1, a) / (k + a B(k−1, a))``. The recursion never
    forms ``a^c / c!``, so it is stable for thousands of servers. Vectorized over rows
    with different ``c`` (one pass to the largest ``c``, rows frozen at their own).

    References
    ----------
    Kleinrock (1975), Vol. 1, §3.7.

    Examples
    --------
    >>> float(erlang_b(2, 1.0)[()])  # (1/2) / (1 + 1 + 1/2) = 0.2
    0.2
    """
    c = np.asarray(servers)
    a = _arr(offered_load_erlangs)
    c, a = np.broadcast_arrays(c, a)
    if np.any(~np.isfinite(c.astype(float))) or np.any(c < 1) or np.any(c != np.round(c)):
        raise ValidationError(f"servers: expected whole numbers >= 1, got {np.unique(c)[:5].tolist()}")
    c = c.astype(np.int64)
    shape = a.shape
    c, a = c.ravel(), a.ravel()
    # Speed-up, exact to ~1e-12: far below saturation (c − a > 9√a + 9) blocking is < 1e-15, so 0; and the
    # recursion forgets its start, so it begins at k0 = min(a, c) − 12√a from the overload value B ≈ 1 − k0/a.
    tiny = (c - a) > 9.0 * np.sqrt(a) + 9.0
    k0 = np.clip(np.floor(np.minimum(a, c) - 12.0 * np.sqrt(a)), 0, None).astype(np.int64)
    k0 = np.where(tiny, c, np.minimum(k0, c))
    b = np.where(k0 > 0, np.clip(1.0 - k0 / np.maximum(a, 1e-300), 1e-300, 1.0), 1.0)
    steps = c - k0
    live = np.flatnonzero(steps > 0)
    if live.size:
        order = live[np.argsort(-steps[live], kind="stable")]  # longest first: active rows are a prefix
        st = steps[order]
        bb, aa, kk = b[order], a[order], k0[order].astype(np.float64)
        for j in range(1, int(st[0]) + 1):
            m = int(np.searchsorted(-st, -j, side="right"))  # rows with at least j steps
            x = aa[:m] * bb[:m]
            bb[:m] = x / (kk[:m] + j + x)
        b[order] = bb
    b = np.where(tiny, 0.0, b)
    return b.reshape(shape)


def erlang_c(servers: Any, offered_load_erlangs: Any) -> np.ndarray:
    """Erlang C: probability that an arrival waits in an M/M/c queue (analytical, exact).

    Parameters
    ----------
    servers : array-like of int
        c ≥ 1 [servers].
    offered_load_erlangs : array-like
        a = λ / μ [Erlang]; ρ = a / c.

    Returns
    -------
    numpy.ndarray
        C(c, a) [probability]; 1 where ρ ≥ 1.

    Notes
    -----
    From Erlang B: ``C = B / (1 − ρ (1 − B))``.

    References
    ----------
    Kleinrock (1975), Vol. 1, §3.5.

    Examples
    --------
    >>> round(float(erlang_c(2, 1.0)[()]), 6)  # 0.2 / (1 − 0.5 × 0.8) = 1/3
    0.333333
    """
    c = np.asarray(servers)
    a = _arr(offered_load_erlangs)
    b = erlang_b(c, a)
    rho = a / c
    with np.errstate(divide="ignore", invalid="ignore"):
        cc = b / (1.0 - rho * (1.0 - b))
    return np.where(rho < 1.0, np.clip(cc, 0.0, 1.0), 1.0)


def mmc_waiting_time_s(arrival_rate_per_s: Any, service_rate_per_s: Any, servers: Any) -> np.ndarray:
    """Mean wait in queue of an M/M/c queue (analytical, exact).

    Parameters
    ----------
    arrival_rate_per_s : array-like
        λ [1/s].
    service_rate_per_s : array-like
        μ per server [1/s].
    servers : array-like of int
        c [servers].

    Returns
    -------
    numpy.ndarray
        Wq [s]; ``inf`` where λ ≥ c μ.

    Notes
    -----
    ``Wq = C(c, λ/μ) / (c μ − λ)``.

    References
    ----------
    Kleinrock (1975), Vol. 1, §3.5.

    Examples
    --------
    >>> round(float(mmc_waiting_time_s(1.0, 1.0, 2)[()]), 6)  # (1/3) / (2 − 1)
    0.333333
    """
    lam, mu, c = _arr(arrival_rate_per_s), _arr(service_rate_per_s), np.asarray(servers)
    cc = erlang_c(c, lam / mu)
    with np.errstate(divide="ignore"):
        return np.where(lam < c * mu, cc / (c * mu - lam), np.inf)


def mmc_waiting_time_quantile_s(arrival_rate_per_s: Any, service_rate_per_s: Any, servers: Any, q: float) -> np.ndarray:
    """Quantile ``q`` of the wait in an M/M/c queue (analytical, exact).

    Parameters
    ----------
    arrival_rate_per_s, service_rate_per_s : array-like
        λ, μ [1/s].
    servers : array-like of int
        c.
    q : float
        Probability in (0, 1), e.g. 0.99.

    Returns
    -------
    numpy.ndarray
        t_q [s] with P(W ≤ t_q) = q; 0 where C ≤ 1 − q; ``inf`` where unstable.

    Notes
    -----
    ``P(W > t) = C e^{−(cμ − λ) t}`` so ``t_q = max(0, ln(C / (1 − q)) / (cμ − λ))``.

    References
    ----------
    Kleinrock (1975), Vol. 1, §3.5.

    Examples
    --------
    >>> # M/M/1 as c = 1: C = ρ = 0.5; t_0.99 = ln(0.5/0.01) / 0.5 = 7.824 s
    >>> round(float(mmc_waiting_time_quantile_s(0.5, 1.0, 1, 0.99)[()]), 3)
    7.824
    """
    lam, mu, c = _arr(arrival_rate_per_s), _arr(service_rate_per_s), np.asarray(servers)
    cc = erlang_c(c, lam / mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log(cc / (1.0 - q)) / (c * mu - lam)
    return np.where(lam < c * mu, np.maximum(t, 0.0), np.inf)


def mg1_waiting_time_s(arrival_rate_per_s: Any, mean_service_s: Any, service_cv2: Any = 1.0) -> np.ndarray:
    """Mean wait in queue of an M/G/1 queue, Pollaczek–Khinchine (analytical, exact).

    Parameters
    ----------
    arrival_rate_per_s : array-like
        λ [1/s].
    mean_service_s : array-like
        E[S] [s].
    service_cv2 : array-like
        Squared coefficient of variation of S (0 deterministic, 1 exponential).

    Returns
    -------
    numpy.ndarray
        Wq [s]; ``inf`` where ρ = λ E[S] ≥ 1.

    Notes
    -----
    ``Wq = λ E[S²] / (2 (1 − ρ))`` with ``E[S²] = E[S]² (1 + cv²)``.

    References
    ----------
    Kleinrock (1975), Vol. 1, §5.5.

    Examples
    --------
    >>> float(mg1_waiting_time_s(0.5, 1.0, 1.0)[()])  # M/M/1 again: 1 s
    1.0
    >>> float(mg1_waiting_time_s(0.5, 1.0, 0.0)[()])  # M/D/1: half of it
    0.5
    """
    lam, s, cv2 = _arr(arrival_rate_per_s), _arr(mean_service_s), _arr(service_cv2)
    rho = lam * s
    with np.errstate(divide="ignore", invalid="ignore"):
        w = lam * s * s * (1.0 + cv2) / (2.0 * (1.0 - rho))
    return np.where(rho < 1.0, w, np.inf)


def exponential_tail_quantile_s(prob_wait: Any, mean_wait_s: Any, q: float) -> np.ndarray:
    """Quantile of a wait whose tail is exponential: ``P(W > t) = P0 e^{−P0 t / E[W]}`` (analytical).

    Exact for M/M/c (with ``P0 = C``); the usual heavy-traffic approximation for
    M/G/1 and for sums of queueing delays.

    Parameters
    ----------
    prob_wait : array-like
        P0 = P(W > 0) [probability].
    mean_wait_s : array-like
        E[W] [s] (over all arrivals, including those that do not wait).
    q : float
        Probability in (0, 1).

    Returns
    -------
    numpy.ndarray
        t_q [s]: ``(E[W] / P0) ln(P0 / (1 − q))``, 0 where P0 ≤ 1 − q.

    Notes
    -----
    The conditional wait given W > 0 is exponential with mean E[W] / P0.

    References
    ----------
    Kleinrock (1975), Vol. 2, §2.1 (heavy-traffic exponential approximation).

    Examples
    --------
    >>> round(float(exponential_tail_quantile_s(0.5, 1.0, 0.99)[()]), 3)  # same as M/M/1 above
    7.824
    """
    p0, m = _arr(prob_wait), _arr(mean_wait_s)
    p0 = np.clip(p0, 1e-12, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (m / p0) * np.log(p0 / (1.0 - q))
    return np.where(p0 > 1.0 - q, np.maximum(t, 0.0), 0.0)


# --------------------------------------------------------------------------- replica model


def _cornish_fisher(z: float, skew: np.ndarray) -> np.ndarray:
    return z + (z * z - 1.0) * skew / 6.0


def _z(q: float) -> float:
    # inverse normal CDF (Acklam's rational approximation, |error| < 1.2e-9), scalar
    a = [-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00]
    b = [-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01]
    c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    if q < 0.02425:
        t = math.sqrt(-2 * math.log(q))
        return (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / (
            (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
    if q > 1 - 0.02425:
        return -_z(1 - q)
    r = q - 0.5
    s = r * r
    return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (
        ((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1)


def _length_moments(mean: np.ndarray, dist: np.ndarray, cv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[L²]/E[L]² and E[L³]/E[L]³ of a length distribution (fixed, exponential, lognormal)."""
    cv2 = np.where(dist == 0, 0.0, np.where(dist == 1, 1.0, cv * cv))
    m2 = 1.0 + cv2
    m3 = np.where(dist == 0, 1.0, np.where(dist == 1, 6.0, (1.0 + cv2) ** 3))
    return m2, m3


def replica_capacity_requests_per_s(
    input_tokens: Any,
    output_tokens: Any,
    decode_step_fixed_s: Any,
    decode_step_per_sequence_s: Any,
    prefill_s_per_token: Any,
    batch_cap: Any,
) -> np.ndarray:
    """Largest sustainable request rate of one continuously batching replica (analytical, exact on the model).

    Parameters
    ----------
    input_tokens, output_tokens : array-like
        Mean request shape I, O [tokens].
    decode_step_fixed_s, decode_step_per_sequence_s : array-like
        t0 [s], t1 [s/sequence].
    prefill_s_per_token : array-like
        p [s/token].
    batch_cap : array-like
        Largest running batch [sequences].

    Returns
    -------
    numpy.ndarray
        λ_max [requests/s].

    Notes
    -----
    Back to back at the cap, ``cap`` requests need ``(O − 1)`` steps of ``t(cap)`` plus
    ``cap`` prefills of ``I p``: ``λ_max = cap / ((O − 1) t(cap) + cap I p)``. It is also
    where Little's law puts the running batch at the cap.

    References
    ----------
    Little (1961); Kwon et al. (2023).

    Examples
    --------
    >>> round(float(replica_capacity_requests_per_s(1000, 201, 0.01, 1e-4, 1e-4, 256)[()]), 3)  # 256 / 32.72
    7.824
    """
    I, O, t0, t1, p, cap = (_arr(x) for x in (input_tokens, output_tokens, decode_step_fixed_s,
                                              decode_step_per_sequence_s, prefill_s_per_token, batch_cap))
    Od = np.maximum(O - 1.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return cap / (Od * (t0 + t1 * cap) + cap * I * p)


def replica_latency(
    request_rate_per_s: Any,
    input_tokens: Any,
    output_tokens: Any,
    decode_step_fixed_s: Any,
    decode_step_per_sequence_s: Any,
    prefill_s_per_token: Any,
    batch_cap: Any,
    *,
    chunked_prefill: Any = True,
    prefill_chunk_tokens: Any = DEFAULT_PREFILL_CHUNK_TOKENS,
    input_length_dist: Any = "fixed",
    output_length_dist: Any = "fixed",
    length_cv: Any = 1.0,
) -> dict[str, np.ndarray]:
    """Latency of one continuously batching replica under Poisson arrivals (analytical).

    Analytical because every piece has a closed form (Little's law, Erlang C,
    Pollaczek–Khinchine, busy-period cumulants); the percentiles use exponential tails
    for waits and a Cornish–Fisher expansion for TPOT. Against the step-level engine
    simulation :func:`simulate_replica` they are within about 11 % up to half load and
    20 % at 80-90 % (docs/validation.md); ``latency_under_load(method="simulation")``
    uses that simulation instead where the gap matters.

    Parameters
    ----------
    request_rate_per_s : array-like
        Arrivals at this replica λ [1/s].
    input_tokens, output_tokens : array-like
        Mean request shape I, O [tokens].
    decode_step_fixed_s, decode_step_per_sequence_s : array-like
        t0 [s], t1 [s/sequence] of the decode step ``t(B) = t0 + t1 B``.
    prefill_s_per_token : array-like
        p [s/token].
    batch_cap : array-like
        Largest running batch the engine admits (its max sequences, or what fits
        in KV memory) [sequences].
    chunked_prefill : array-like of bool
        Prefills split into a per-step token budget (vLLM V1, SGLang) rather than
        run as separate iterations.
    prefill_chunk_tokens : array-like
        Token budget per step with chunked prefill [tokens].
    input_length_dist, output_length_dist : str or array-like of str
        ``fixed``, ``exponential`` or ``lognormal`` around the mean.
    length_cv : array-like
        Coefficient of variation of lognormal lengths.

    Returns
    -------
    dict of numpy.ndarray
        ``utilization`` (λ / capacity), ``capacity_requests_per_s``, ``stable``,
        ``batch_mean``, ``tpot_mean_s``, ``tpot_p50_s``/``p90``/``p99``,
        ``ttft_mean_s``, ``ttft_p50_s``/``p90``/``p99``, ``queue_wait_s``, ``e2e_mean_s``.
        Latencies are NaN where unstable (λ ≥ capacity).

    Notes
    -----
    With ``Od = O − 1`` decode steps per request, ``ρ_p = λ I p`` and
    ``t(B) = t0 + t1 B``:

    - ``TPOT = t0 / (1 − ρ_p − λ Od t1)``, ``B = λ Od TPOT``; when ``B`` would exceed the
      cap: ``B = cap``, ``TPOT = t(cap) / (1 − ρ_p)``.
    - capacity :func:`replica_capacity_requests_per_s`; utilization ``λ / λ_max``.
    - admission: M/M/c, ``c = cap``, slot holding time ``D = Od t(cap) / (1 − ρ_p)``,
      wait ``C(c, λD) / (c/D − λ)``.
    - prefill service: unchunked ``s = I p``; chunked, queued prompts share steps,
      ``s_a = I p + I t(B) / (chunk − B)``, and a prompt's own last step is whole:
      ``s_own = I p + max(I / (chunk − B), 1) t(B)``. Prefill queue M/G/1 with
      the decode step in progress as residual: ``W = (λ E[s²] / 2 + ρ_d t(B) / 2) / (1 − λ E[s])``,
      ``ρ_d = (1 − λ E[s]) (1 − e^{−B})`` the share of time spent in decode steps
      (non-preemptive priority of prefills over decode steps; Kleinrock Vol. 2 §3.6).
    - TTFT = admission wait + prefill wait + s_own (s unchunked). Percentiles:
      exponential tail of the queueing waits with ``P0 = 1 − (1 − C)(1 − λ E[s])``, plus
      the quantile of the step residual (uniform on [0, t(B)] while busy).
    - TPOT of one request: ``t(B) + X / Od`` where X, the prefill work landing in its
      lifetime, extends that lifetime and so draws more arrivals: X is the extra length
      of an M/G/1 busy period started by ``T0 = Od t(B)``, with cumulants
      ``κ1 = T0 ρ_p / (1 − ρ_p)`` (so the mean TPOT is ``t(B) / (1 − ρ_p)`` as above),
      ``κ2 = T0 λ E[s_p²] / (1 − ρ_p)³``, ``κ3 = T0 (λ E[s_p³] / (1 − ρ_p)⁴ + 3 λ² E[s_p²]² / (1 − ρ_p)⁵)``;
      quantiles by Cornish–Fisher. Batch-size fluctuations around ``B`` are averaged
      over the request's lifetime and neglected.

    References
    ----------
    Kleinrock (1975); Agrawal et al. (2024) Sarathi-Serve; Kwon et al. (2023) vLLM.

    Examples
    --------
    >>> r = replica_latency(1.0, 1000, 201, 0.010, 0.0001, 0.0001, 256, chunked_prefill=False)
    >>> # ρ_p = 1 × 1000 × 1e-4 = 0.1; TPOT = 0.010 / (1 − 0.1 − 1 × 200 × 1e-4) = 0.010 / 0.88
    >>> round(float(r["tpot_mean_s"][0]), 6)
    0.011364
    >>> round(float(r["batch_mean"][0]), 4)  # B = 1 × 200 × 0.011364
    2.2727
    """
    lam = _arr(request_rate_per_s)
    arrays = np.broadcast_arrays(
        lam, _arr(input_tokens), _arr(output_tokens), _arr(decode_step_fixed_s),
        _arr(decode_step_per_sequence_s), _arr(prefill_s_per_token), _arr(batch_cap),
        np.asarray(chunked_prefill, dtype=bool), _arr(prefill_chunk_tokens), _arr(length_cv),
    )
    lam, I, O, t0, t1, p, cap, chunked, chunk, cv = (np.atleast_1d(a).astype(float) for a in arrays)
    chunked = chunked.astype(bool)
    n = lam.shape[0]
    din = _dist_codes(input_length_dist, n)
    _dist_codes(output_length_dist, n)  # validated here; used by the simulation
    Od = np.maximum(O - 1.0, 0.0)
    sp = I * p  # prefill work per request [s]
    rho_p = lam * sp
    t_cap = t0 + t1 * cap
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_max = replica_capacity_requests_per_s(I, O, t0, t1, p, cap)
        util = lam / lam_max
        stable = util < 1.0
        denom = 1.0 - rho_p - lam * Od * t1
        tpot_free = t0 / denom
        b_free = lam * Od * tpot_free
        sat = (b_free > cap) | (denom <= 0)
        tpot = np.where(sat, t_cap / (1.0 - rho_p), tpot_free)
        B = np.where(sat, cap, b_free)
        tB = t0 + t1 * B
        # admission to a batch slot: M/M/c
        D = Od * t_cap / (1.0 - rho_p)
        a_adm = lam * D
        c_int = np.maximum(np.round(np.where(np.isfinite(cap), cap, 1.0)), 1.0)
        ok = stable & (D > 0)
        cc = np.zeros(n)
        if ok.any():
            cc[ok] = erlang_c(c_int[ok], a_adm[ok])
        w_adm = np.where(ok, cc / (c_int / np.where(D > 0, D, 1.0) - lam), 0.0)
        # prefill service time and queue
        m2_in, m3_in = _length_moments(I, din, cv)
        room = np.maximum(chunk - B, 1.0)
        # chunked: queued prompts share steps (amortized s_a); a prompt's own last step is a whole step
        s_pf = np.where(chunked, sp + I * tB / room, sp)
        s_own = np.where(chunked, sp + np.maximum(I / room, 1.0) * tB, sp)
        rho_s = lam * s_pf
        # the decode step in progress when a request arrives (time share (1 − ρ_s)(1 − e^{−B})); a step
        # carrying prefill is part of the prefill work already queued ahead (the M/G/1 residual)
        rho_d = np.clip(1.0 - rho_s, 0.0, 1.0) * (1.0 - np.exp(-B))
        resid = rho_d * tB / 2.0
        w_q = lam * s_pf * s_pf * m2_in / 2.0 / (1.0 - rho_s)  # behind other prefills
        w_r = resid / (1.0 - rho_s)  # behind the step in progress
        w_pf = np.where(rho_s < 1.0, w_q + w_r, np.inf)
        stable = stable & (rho_s < 1.0)
        ttft_mean = w_adm + w_pf + s_own
        p0 = 1.0 - (1.0 - cc) * (1.0 - np.minimum(rho_s, 1.0))
        wait_mean = w_adm + w_pf
        out: dict[str, np.ndarray] = {}
        # input length spread moves the prefill service itself: s scales with I
        s_sd = s_own * np.sqrt(m2_in - 1.0)
        for k, q in _QUANTILES.items():
            # queueing waits: exponential tail; the step residual is bounded by the step: uniform part
            # (busy probability 1 − (1 − ρ_s) e^{−B}: prefill or decode in progress; keeps quantiles monotone in λ)
            rho_b = 1.0 - (1.0 - np.minimum(rho_s, 1.0)) * np.exp(-B)
            r_q = tB * np.clip((q - (1.0 - rho_b)) / np.maximum(rho_b, 1e-12), 0.0, 1.0) / (1.0 - rho_s)
            wq = exponential_tail_quantile_s(np.maximum(p0, 1e-9), w_adm + w_q, q) + r_q
            sq = np.maximum(s_own + _z(q) * s_sd, s_own * 0.05)
            out[f"ttft_{k}_s"] = wq + np.where(din == 0, s_own, sq)
        # TPOT of one request: its pure decode time T0 = Od t(B) plus the prefill work X landing while it
        # decodes; X's own arrivals extend the lifetime, so X is the extra length of an M/G/1 busy period
        # started by T0 (cumulants κ1 = T0 ρ/(1−ρ), κ2 = T0 λE[s²]/(1−ρ)³,
        # κ3 = T0 (λE[s³]/(1−ρ)⁴ + 3λ²E[s²]²/(1−ρ)⁵)), quantiles by Cornish–Fisher
        rho = np.minimum(lam * sp, 0.999999)
        T0 = Od * tB
        e2, e3 = sp * sp * m2_in, sp**3 * m3_in
        mean_x = T0 * rho / (1.0 - rho)
        var_x = T0 * lam * e2 / (1.0 - rho) ** 3
        k3 = T0 * (lam * e3 / (1.0 - rho) ** 4 + 3.0 * lam * lam * e2 * e2 / (1.0 - rho) ** 5)
        skew_x = np.where(var_x > 0, k3 / np.power(np.maximum(var_x, 1e-300), 1.5), 0.0)
        safe_od = np.maximum(Od, 1.0)
        for k, q in _QUANTILES.items():
            x_q = np.maximum(mean_x + np.sqrt(var_x) * _cornish_fisher(_z(q), np.minimum(skew_x, 4.0)), 0.0)
            out[f"tpot_{k}_s"] = tB + x_q / safe_od
        out["tpot_mean_s"] = tpot
        out["ttft_mean_s"] = ttft_mean
        out["queue_wait_s"] = wait_mean
        out["e2e_mean_s"] = ttft_mean + Od * tpot
    for k in list(out):
        out[k] = np.where(stable, out[k], np.nan)
    out["utilization"] = util
    out["capacity_requests_per_s"] = lam_max
    out["batch_mean"] = np.where(stable, B, np.nan)
    out["stable"] = stable
    out["requests_per_s"] = np.where(stable, lam, np.minimum(lam, lam_max))
    return out


def _dist_codes(value: Any, n: int) -> np.ndarray:
    """Length-distribution names → integer codes (vectorized; a scalar name applies to all rows)."""
    if isinstance(value, str) or value is None:
        name = "fixed" if value is None else value
        if name not in _DISTS:
            raise ValidationError(f"length distribution: unknown [{name!r}]; expected one of {sorted(_DISTS)}")
        return np.full(n, _DISTS[name], dtype=np.int64)
    s = pl.Series(value, dtype=pl.String).fill_null("fixed")
    bad = s.filter(~s.is_in(list(_DISTS))).unique().sort().to_list()
    if bad:
        raise ValidationError(f"length distribution: unknown {bad}; expected one of {sorted(_DISTS)}")
    codes = s.replace_strict(_DISTS, return_dtype=pl.Int64).to_numpy()
    return np.broadcast_to(codes, (n,)).copy() if codes.size in (1, n) else codes


def closed_loop_latency(
    concurrency: Any,
    input_tokens: Any,
    output_tokens: Any,
    decode_step_fixed_s: Any,
    decode_step_per_sequence_s: Any,
    prefill_s_per_token: Any,
    batch_cap: Any,
    *,
    chunked_prefill: Any = True,
    prefill_chunk_tokens: Any = DEFAULT_PREFILL_CHUNK_TOKENS,
    synchronized: Any = False,
) -> dict[str, np.ndarray]:
    """Latency of one replica driven by N closed-loop clients (analytical, Little's-law fixed point).

    Each client sends its next request as soon as the last one completes (zero think
    time), the way vLLM's, SGLang's and AIPerf's benchmarks run with ``--max-concurrency``.
    The throughput X solves ``N = X R(X)`` (Little's law over the whole cycle), where
    the cycle ``R(X)`` = prefill wait + prefill + decode uses the same replica physics
    as :func:`replica_latency`; ``X R(X)`` grows with X, so a vectorized bisection finds
    the root. When N clients are more than the batch slots can hold at capacity, X is
    the capacity and the surplus waits for a slot (Little again). Analytical: no
    simulation needed.

    Parameters
    ----------
    concurrency : array-like
        Clients N ≥ 1 at this replica [requests].
    input_tokens, output_tokens, decode_step_fixed_s, decode_step_per_sequence_s, prefill_s_per_token, batch_cap
        As in :func:`replica_latency`.
    chunked_prefill, prefill_chunk_tokens
        As in :func:`replica_latency`.
    synchronized : array-like of bool
        Clients move in lockstep waves. True for benchmark runs with fixed request
        lengths that start all clients together (vLLM/SGLang ``--random-range-ratio 1``,
        LMDeploy ``profile_generation``): equal lengths keep the clients in step, each
        wave's prompts are prefilled together and the first tokens wait for the whole
        wave's prefill. :func:`latency_under_load` sets it when both length
        distributions are ``fixed`` (override with a ``closed_loop_synchronized`` column).

    Returns
    -------
    dict of numpy.ndarray
        ``requests_per_s`` (X), ``utilization``, ``capacity_requests_per_s``, ``batch_mean``,
        ``ttft_mean_s``, ``tpot_mean_s``, ``queue_wait_s``, ``e2e_mean_s``, percentiles as
        in :func:`replica_latency`, ``stable`` (always true: a closed loop cannot overflow).

    Notes
    -----
    Lockstep waves (``synchronized``): a wave holds ``n = min(N, cap)`` requests; its
    prefill takes ``n s``; unchunked, every first token comes at ``n s`` and the decode
    runs undisturbed at ``TPOT = t(n)``; chunked (FIFO token stream, ``s = s_a``), request
    k of the wave gets its first token at ``k s_a + (s_own − s_a)`` and its decode carries
    the later prompts' prefill: ``TPOT_k = t(n) + (n − k) I p / Od``. Wave cycle
    ``C = n s + (s_own − s_a) + Od t(n)``,
    ``X = n / C``; with N > cap the other clients wait ``N / X − C`` for a slot.

    Otherwise (clients spread out), for a trial X < λ_max: ``TPOT = t0 / (1 − ρ_p − X Od t1)`` with ``ρ_p = X I p (N − 1)/N``
    (the other clients' prefills), ``B = X Od TPOT``, prefill wait
    ``W = min(M/G/1 wait, (N − 1) s)``, ``R = W + s + Od TPOT``. If ``λ_max R(λ_max) < N``
    then ``X = λ_max`` and the slot wait is ``N / λ_max − R(λ_max)``.
    TTFT = slot wait + W + s.

    References
    ----------
    J. D. C. Little, "A proof for the queuing formula L = λW", Oper. Res. 9(3), 1961;
    Reiser & Lavenberg (1980) for the closed-network view.

    Examples
    --------
    >>> r = closed_loop_latency(1, 100, 101, 0.01, 0.0, 0.0001, 64, chunked_prefill=False)
    >>> # one client, nobody else's prefills: X = 1 / (100 × 1e-4 + 100 × 0.01) = 1 / 1.01
    >>> round(float(r["requests_per_s"][0]), 4)
    0.9901
    """
    arrays = np.broadcast_arrays(
        _arr(concurrency), _arr(input_tokens), _arr(output_tokens), _arr(decode_step_fixed_s),
        _arr(decode_step_per_sequence_s), _arr(prefill_s_per_token), _arr(batch_cap),
        np.asarray(chunked_prefill, dtype=bool), _arr(prefill_chunk_tokens),
    )
    N, I, O, t0, t1, p, cap, chunked, chunk = (np.atleast_1d(a).astype(float) for a in arrays)
    chunked = chunked.astype(bool)
    if np.any(~np.isfinite(N)) or np.any(N < 1):
        raise ValidationError("concurrency: expected whole numbers >= 1")
    Od = np.maximum(O - 1.0, 0.0)
    sp = I * p
    cap = np.maximum(cap, 1.0)
    others = (N - 1.0) / N
    t_cap = t0 + t1 * cap

    def cycle(X: np.ndarray) -> tuple[np.ndarray, ...]:
        rho_p = X * sp * others
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.maximum(1.0 - rho_p - X * Od * t1, 1e-12)
            tpot = np.minimum(t0 / denom, t_cap / np.maximum(1.0 - rho_p, 1e-12))
            B = np.minimum(X * Od * tpot, cap)
            tB = t0 + t1 * B
            room = np.maximum(chunk - B, 1.0)
            s = np.where(chunked, sp + I * tB / room, sp)
            own = np.where(chunked, (np.maximum(I / room, 1.0) - I / room) * tB, 0.0)
            rho_s = np.minimum(X * s * others, 0.999999)
            rho_d = others * (1.0 - np.exp(-B))
            resid = rho_d * tB / 2.0
            wq = np.minimum(X * others * s * s / 2.0 / (1.0 - rho_s), (N - 1.0) * s)
            w = wq + resid / (1.0 - rho_s)
        return w + s + own + Od * tpot, w, s + own, tpot, B, tB, wq, rho_d

    lam_max = replica_capacity_requests_per_s(I, O, t0, t1, p, cap)
    r_max = cycle(lam_max)[0]
    full = lam_max * r_max < N  # more clients than the slots turn over: X = capacity
    lo, hi = np.zeros_like(N), lam_max.copy()
    for _ in range(60):
        mid = (lo + hi) / 2.0
        big = mid * cycle(mid)[0] > N
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
    X = np.where(full, lam_max, (lo + hi) / 2.0)
    R, w, s, tpot, B, tB, wq, rho_d = cycle(X)
    adm = np.where(full, np.maximum(N / X - R, 0.0), 0.0)
    ttft = adm + w + s
    wait = adm + w
    # the chance that a prompt finds the prefill queue busy is the same whether or not clients also wait for a slot
    # (forcing it to 1 at the slot limit made the TTFT tail fall as clients were added: 62 -> 63 clients of 64 slots)
    p0 = np.clip(X * s * others, 1e-9, 1.0)
    out = {
        "requests_per_s": X,
        "utilization": X / lam_max,
        "capacity_requests_per_s": lam_max,
        "batch_mean": B,
        "ttft_mean_s": ttft,
        "tpot_mean_s": tpot,
        "queue_wait_s": wait,
        "e2e_mean_s": ttft + Od * tpot,
        "stable": np.ones(N.shape, dtype=bool),
    }
    n_pf = X * others * Od * tpot
    for k, q in _QUANTILES.items():
        # with a slot queue the wait is nearly deterministic (clients cycle in order): spread it by the
        # prefill-queue tail only; otherwise exponential tail of the prefill wait
        r_q = tB * np.clip((q - (1.0 - rho_d)) / np.maximum(rho_d, 1e-12), 0.0, 1.0)
        out[f"ttft_{k}_s"] = adm + s + exponential_tail_quantile_s(p0, wq, q) + r_q
        mean_x, var_x = n_pf * sp, n_pf * sp * sp
        skew = np.where(n_pf > 0, 1.0 / np.sqrt(np.maximum(n_pf, 1e-300)), 0.0)
        x_q = np.maximum(mean_x + np.sqrt(var_x) * _cornish_fisher(_z(q), skew), 0.0)
        out[f"tpot_{k}_s"] = tB + x_q / np.maximum(Od, 1.0)
    sync = np.broadcast_to(np.asarray(synchronized, dtype=bool), N.shape)
    if sync.any():
        _lockstep(out, sync, N, I, Od, t0, t1, sp, cap, chunked, chunk, lam_max)
    return out


def _lockstep(out: dict[str, np.ndarray], sync: np.ndarray, N: np.ndarray, I: np.ndarray, Od: np.ndarray,
              t0: np.ndarray, t1: np.ndarray, sp: np.ndarray, cap: np.ndarray, chunked: np.ndarray,
              chunk: np.ndarray, lam_max: np.ndarray) -> None:
    """Overwrite ``out`` rows where clients move in lockstep waves (see closed_loop_latency Notes)."""
    n = np.minimum(N, cap)
    tn = t0 + t1 * n
    room = np.maximum(chunk - n, 1.0)
    s = np.where(chunked, sp + I * tn / room, sp)
    own = np.where(chunked, (np.maximum(I / room, 1.0) - I / room) * tn, 0.0)  # a prompt's last step is whole
    cyc = n * s + own + Od * tn
    X = n / cyc
    adm = np.maximum(N / X - cyc, 0.0)
    extra = np.where(chunked, (n - 1.0) / 2.0 * sp / np.maximum(Od, 1.0), 0.0)
    vals = {
        "requests_per_s": X, "utilization": X / lam_max, "batch_mean": n,
        "ttft_mean_s": adm + own + np.where(chunked, (n + 1.0) / 2.0 * s, n * s),
        "tpot_mean_s": tn + extra, "queue_wait_s": adm + np.where(chunked, (n - 1.0) / 2.0 * s, (n - 1.0) * s),
    }
    vals["e2e_mean_s"] = vals["ttft_mean_s"] + Od * vals["tpot_mean_s"]
    for k, q in _QUANTILES.items():
        rank = np.maximum(np.ceil(q * n), 1.0)  # the wave member at quantile q
        vals[f"ttft_{k}_s"] = adm + own + np.where(chunked, rank * s, n * s)
        vals[f"tpot_{k}_s"] = tn + np.where(chunked, (rank - 1.0) * sp / np.maximum(Od, 1.0), 0.0)
    for key, v in vals.items():
        out[key] = np.where(sync, v, out[key])


# --------------------------------------------------------------------------- simulation


def _sample_lengths(rng: np.random.Generator, mean: np.ndarray, dist: np.ndarray, cv: np.ndarray, size: int) -> np.ndarray:
    """Samples [rows × size] of lengths around ``mean`` (fixed, exponential, lognormal), ≥ 1 token."""
    out = np.repeat(mean[:, None], size, axis=1)
    e = dist == 1
    if e.any():
        out[e] = rng.exponential(1.0, (int(e.sum()), size)) * mean[e, None]
    ln = dist == 2
    if ln.any():
        s2 = np.log1p(cv[ln] ** 2)
        z = rng.standard_normal((int(ln.sum()), size))
        out[ln] = mean[ln, None] * np.exp(np.sqrt(s2)[:, None] * z - s2[:, None] / 2.0)
    return np.maximum(out, 1.0)


def simulate_replica(
    request_rate_per_s: float,
    input_tokens: int,
    output_tokens: int,
    decode_step_fixed_s: float,
    decode_step_per_sequence_s: float,
    prefill_s_per_token: float,
    batch_cap: int,
    *,
    chunked_prefill: bool = True,
    prefill_chunk_tokens: int = DEFAULT_PREFILL_CHUNK_TOKENS,
    input_length_dist: str = "fixed",
    output_length_dist: str = "fixed",
    length_cv: float = 1.0,
    n_requests: int = 3000,
    seed: int = 0,
) -> dict[str, float]:
    """Step-by-step discrete-event simulation of one continuously batching engine (simulation; reference).

    The ground truth the closed forms of :func:`replica_latency` are tested against: an
    iteration-level scheduler, one scenario per call (a Python loop over engine steps,
    0.1-2 s for 3,000-4,000 requests, more with long outputs), so not for sweeps. Poisson arrivals wait FIFO
    for a batch slot (at most ``batch_cap`` admitted); chunked: every step runs all
    decodes plus up to ``prefill_chunk_tokens − B`` prompt tokens in FIFO order and lasts
    ``t0 + t1 B + p × prefill tokens``; unchunked: waiting prompts run first, whole, as a
    prefill step of ``p × tokens``, then decode steps of ``t0 + t1 B``. A prompt's first
    token comes at the end of the step that finishes it; each later step adds one token.

    Parameters
    ----------
    request_rate_per_s, input_tokens, output_tokens, decode_step_fixed_s, decode_step_per_sequence_s, prefill_s_per_token, batch_cap
        As in :func:`replica_latency` (scalars).
    chunked_prefill, prefill_chunk_tokens
        Scheduler mode and token budget per step.
    input_length_dist, output_length_dist : {"fixed", "exponential", "lognormal"}
        Lengths around ``input_tokens`` / ``output_tokens`` (whole tokens, at least 1).
    length_cv : float
        Coefficient of variation of lognormal lengths.
    n_requests : int
        Requests simulated (the first 10 % are warm-up and dropped).
    seed : int
        Random seed.

    Returns
    -------
    dict of float
        ``ttft_mean_s``, ``ttft_p50_s``, ``ttft_p90_s``, ``ttft_p99_s``, ``tpot_mean_s``,
        ``tpot_p50_s``, ``tpot_p90_s``, ``tpot_p99_s`` [s], ``requests_per_s`` (completed / time).

    Notes
    -----
    TPOT of a request = (finish − first token) / (output − 1), as benchmark clients compute it.

    References
    ----------
    Kwon et al. (2023) vLLM scheduler; Agrawal et al. (2024) Sarathi-Serve (chunked prefill).

    Examples
    --------
    >>> r = simulate_replica(1.0, 1000, 201, 0.01, 1e-4, 1e-4, 256, n_requests=500)
    >>> 0.1 < r["ttft_p50_s"] < 0.2 and 0.0101 < r["tpot_p50_s"] < 0.02
    True
    """
    from collections import deque

    if not (request_rate_per_s > 0 and n_requests >= 10 and batch_cap >= 1):
        raise ValidationError("simulate_replica: request_rate_per_s > 0, batch_cap >= 1 and n_requests >= 10 required")
    din, dout = _dist_codes(input_length_dist, 1), _dist_codes(output_length_dist, 1)
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(1.0 / request_rate_per_s, n_requests))
    cv = np.array([float(length_cv)])
    ins = np.round(_sample_lengths(rng, np.array([float(input_tokens)]), din, cv, n_requests)[0])
    outs = np.round(_sample_lengths(rng, np.array([float(output_tokens)]), dout, cv, n_requests)[0]).astype(int)
    first = np.full(n_requests, np.nan)
    done = np.full(n_requests, np.nan)
    left_pf = ins.astype(float)
    left_dec = outs - 1
    t0, t1, p = decode_step_fixed_s, decode_step_per_sequence_s, prefill_s_per_token
    t, nxt = 0.0, 0
    queue: deque[int] = deque()
    prefilling: list[int] = []
    running: list[int] = []

    def finish_prefill(r: int, now: float) -> None:
        first[r] = now
        if left_dec[r] <= 0:
            done[r] = now
        else:
            running.append(r)

    def decode_step(now: float) -> list[int]:
        still = []
        for r in running:
            left_dec[r] -= 1
            if left_dec[r] <= 0:
                done[r] = now
            else:
                still.append(r)
        return still

    while True:
        while nxt < n_requests and arrive[nxt] <= t:
            queue.append(nxt)
            nxt += 1
        while queue and len(prefilling) + len(running) < batch_cap:
            prefilling.append(queue.popleft())
        if not prefilling and not running:
            if nxt >= n_requests:
                break
            t = arrive[nxt]
            continue
        B = len(running)
        if chunked_prefill:
            room, tokens, finished = max(prefill_chunk_tokens - B, 0), 0.0, []
            for r in prefilling:
                if room <= 0:
                    break
                take = min(room, left_pf[r])
                left_pf[r] -= take
                room -= take
                tokens += take
                if left_pf[r] <= 0:
                    finished.append(r)
            t += t0 + t1 * B + p * tokens
            running = decode_step(t)
            for r in finished:
                prefilling.remove(r)
                finish_prefill(r, t)
        elif prefilling:
            tokens, batch = 0.0, []
            for r in prefilling:
                if batch and tokens + left_pf[r] > prefill_chunk_tokens:
                    break
                tokens += left_pf[r]
                batch.append(r)
            t += p * tokens
            for r in batch:
                prefilling.remove(r)
                left_pf[r] = 0.0
                finish_prefill(r, t)
        else:
            t += t0 + t1 * B
            running = decode_step(t)
    keep = slice(n_requests // 10, n_requests)
    ttft = (first - arrive)[keep]
    tpot = ((done - first) / np.maximum(outs - 1, 1))[keep]
    out = {"ttft_mean_s": float(np.nanmean(ttft)), "tpot_mean_s": float(np.nanmean(tpot))}
    for k, q in _QUANTILES.items():
        out[f"ttft_{k}_s"] = float(np.nanquantile(ttft, q))
        out[f"tpot_{k}_s"] = float(np.nanquantile(tpot, q))
    out["requests_per_s"] = float(n_requests / np.nanmax(done))
    return out


# --------------------------------------------------------------------------- frames


def step_times(frame: pl.DataFrame, *, efficiency: pl.DataFrame | None = None) -> pl.DataFrame:
    """Replica building blocks from the performance core (analytical, via ``perf.estimate``).

    Calls :func:`infer_econ.perf.estimate` once on a frame of twice the rows: at the
    engine's largest batch that fits (``batch_size`` null) and at batch 1, and fits the
    linear decode step through the two points. A ``batch_cap`` (or ``batch_size``)
    column lowers the cap (e.g. an SLO-driven ``max_num_seqs``); the estimator's
    ``replicas`` (data-parallel copies within ``n_devices``) split the load.

    Parameters
    ----------
    frame : polars.DataFrame
        Scenarios with the estimator's required columns (``model``, ``hardware``,
        ``precision``, ``engine``, ``n_devices``, ``input_tokens``, ``output_tokens``)
        and optionally ``batch_cap`` [sequences] (a limit below the engine's, e.g. an
        SLO-driven ``max_num_seqs``).
    efficiency : polars.DataFrame, optional
        Calibration passed through to ``estimate``.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``decode_step_fixed_s`` [s], ``decode_step_per_sequence_s``
        [s/sequence], ``prefill_s_per_token`` [s/token], ``batch_cap`` [sequences]
        and, unless present, ``ttft_unloaded_s`` [s] (the estimator's ``ttft_s`` at batch 1,
        which :func:`latency_under_load` matches at zero load), ``fits`` and ``replicas``; null
        blocks where the model does not fit.

    Notes
    -----
    ``t1 = (tpot(cap) − tpot(1)) / (cap − 1)``, ``t0 = tpot(1) − t1``,
    ``p = prefill_s(batch 1) / input_tokens``; with ``ttft_unloaded_s = ttft_s(1)`` the
    load model's TTFT and TPOT equal the estimator's at zero load. ``tpot`` already averages the KV read
    over the growing context, so ``t1`` carries the request's mean context.

    References
    ----------
    The performance core (issue 3): ``infer_econ.perf``.

    Examples
    --------
    >>> import polars as pl
    >>> from infer_econ import serving
    >>> f = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
    ...     "engine": ["vllm"], "n_devices": [1], "input_tokens": [1000], "output_tokens": [200]})
    >>> b = serving.step_times(f)  # doctest: +SKIP
    >>> b["decode_step_fixed_s"].item() > 0  # doctest: +SKIP
    True
    """
    from . import perf

    n = frame.height
    user_cap = None
    for c in ("batch_cap", "batch_size"):
        if c in frame.columns and frame[c].null_count() < n:
            user_cap = frame[c].cast(pl.Float64).to_numpy()
            break
    keep_out = [c for c in perf.OUTPUT_COLUMNS if c in frame.columns]
    base = frame.drop(keep_out + [c for c in BLOCK_COLUMNS + ["batch_size"] if c in frame.columns])
    both = pl.concat([
        base.with_columns(pl.lit(None, pl.Int64).alias("batch_size")),
        base.with_columns(pl.lit(1, pl.Int64).alias("batch_size")),
    ], how="vertical_relaxed")
    kw = {} if efficiency is None else {"efficiency": efficiency}
    est = perf.estimate(both, **kw)
    top, one = est.slice(0, n), est.slice(n, n)
    cap_max = top["batch_size_used"].cast(pl.Float64).to_numpy()
    t_one = one["tpot_s"].cast(pl.Float64).to_numpy()
    t_max = top["tpot_s"].cast(pl.Float64).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(cap_max > 1, (t_max - t_one) / (cap_max - 1.0), 0.0)
        t1 = np.maximum(np.nan_to_num(t1, nan=0.0), 0.0)
        t0 = t_one - t1
        p = one["prefill_s"].cast(pl.Float64).to_numpy() / base["input_tokens"].cast(pl.Float64).to_numpy()
    cap = cap_max if user_cap is None else np.where(np.isfinite(user_cap), np.minimum(user_cap, cap_max), cap_max)
    fits = (top["fits"].fill_null(False) & one["fits"].fill_null(False)).to_numpy()
    ttft1 = one["ttft_s"].cast(pl.Float64).to_numpy()
    add = [
        pl.Series("decode_step_fixed_s", np.where(fits, t0, np.nan)),
        pl.Series("decode_step_per_sequence_s", np.where(fits, t1, np.nan)),
        pl.Series("prefill_s_per_token", np.where(fits, p, np.nan)),
        pl.Series("batch_cap", np.where(fits, cap, np.nan)),
    ]
    if "ttft_unloaded_s" not in frame.columns:
        add.append(pl.Series("ttft_unloaded_s", np.where(fits, ttft1, np.nan)).fill_nan(None))
    if "replicas" not in frame.columns:
        add.append(top["replicas"].alias("replicas"))
    if "fits" not in frame.columns:
        add.append(pl.Series("fits", fits))
    out = frame.drop([c for c in BLOCK_COLUMNS if c in frame.columns]).with_columns(add)
    return out.with_columns([pl.col(c).fill_nan(None) for c in BLOCK_COLUMNS])


def _col(frame: pl.DataFrame, name: str, default: Any, dtype: Any = pl.Float64) -> np.ndarray:
    if name in frame.columns:
        s = frame[name]
        if dtype == pl.Boolean:
            return s.cast(pl.Boolean).fill_null(default).to_numpy()
        if dtype == pl.String:
            return s
        return s.cast(pl.Float64).fill_null(default).to_numpy()
    if dtype == pl.String:
        return pl.Series([default] * frame.height, dtype=pl.String)
    return np.full(frame.height, default, dtype=bool if dtype == pl.Boolean else float)


def _check_positive(frame: pl.DataFrame, cols: list[str], allow_zero: tuple[str, ...] = ()) -> None:
    for c in cols:
        if c not in frame.columns:
            continue
        if not (frame[c].dtype.is_numeric() or frame[c].dtype == pl.Null):
            raise ValidationError(f"column {c!r} must be numeric, got dtype {frame[c].dtype}")
        s = frame[c].cast(pl.Float64, strict=False)
        nonnull = s.drop_nulls()
        bad = nonnull.is_nan() | nonnull.is_infinite() | ((nonnull < 0) if c in allow_zero else (nonnull <= 0))
        if bad.any():
            row = int(np.flatnonzero((s.is_nan() | s.is_infinite() | ((s < 0) if c in allow_zero else (s <= 0))).fill_null(False).to_numpy())[0])
            what = ">= 0" if c in allow_zero else "> 0"
            raise ValidationError(f"column {c!r}: row {row} has {frame[c][row]!r}; expected a finite number {what}")


def _ttft_fixed_s(work: pl.DataFrame, I: np.ndarray, O: np.ndarray, t0: np.ndarray, t1: np.ndarray,
                  p: np.ndarray, cap: np.ndarray, chunked: np.ndarray, chunk: np.ndarray) -> np.ndarray:
    """Fixed part of every TTFT [s]: ``ttft_overhead_s`` as given, plus whatever makes the zero-load TTFT
    equal ``ttft_unloaded_s`` (the estimator's unloaded TTFT) when that column is present."""
    ovh = _col(work, "ttft_overhead_s", 0.0)
    if "ttft_unloaded_s" in work.columns:
        target = _col(work, "ttft_unloaded_s", np.nan)
        ok = np.isfinite(target) & np.isfinite(t0) & np.isfinite(p)
        safe = lambda x: np.where(ok, x, 1.0)  # noqa: E731
        base = replica_latency(1e-12, safe(I), safe(O), safe(t0), safe(t1), safe(p), safe(cap),
                               chunked_prefill=chunked, prefill_chunk_tokens=chunk)["ttft_mean_s"]
        ovh = ovh + np.where(ok, np.maximum(target - base, 0.0), 0.0)
    return ovh


def latency_under_load(
    frame: pl.DataFrame,
    *,
    method: str = "analytical",
    n_requests: int = 4000,
    seed: int = 0,
    efficiency: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Latency and throughput of a deployment under open-loop or closed-loop load.

    The function ``evaluate`` calls when ``request_rate_per_s`` or ``concurrency`` is
    present. Analytical by default (:func:`replica_latency`, :func:`closed_loop_latency`:
    closed forms, a million rows in one to two seconds); ``method="simulation"``
    replaces the open-loop latencies by the step-level engine simulation
    :func:`simulate_replica` (seeded, one simulation per row, 0.1-2 s each, at most
    :data:`MAX_SIMULATION_ROWS` rows): the reference where the closed forms approximate
    (high load, spread-out lengths; their measured gap is in docs/validation.md).

    Parameters
    ----------
    frame : polars.DataFrame
        One row per scenario. Load: ``request_rate_per_s`` [1/s] (Poisson, whole
        deployment) or ``concurrency`` [clients] (closed loop); a row uses the rate when
        both are given and not null. Shape: ``input_tokens``, ``output_tokens`` [tokens].
        Replica building blocks ``decode_step_fixed_s``, ``decode_step_per_sequence_s``,
        ``prefill_s_per_token``, ``batch_cap`` (computed by :func:`step_times` from the
        estimator when absent). Optional: ``replicas`` (default 1; load split evenly),
        ``chunked_prefill`` (default true), ``prefill_chunk_tokens`` (default 2048),
        ``input_length_dist``/``output_length_dist`` (fixed, exponential, lognormal;
        default fixed), ``length_cv`` (lognormal; default 1), ``closed_loop_synchronized``
        (default: true when both lengths are fixed; see :func:`closed_loop_latency`),
        ``ttft_overhead_s`` (fixed part of every TTFT, default 0), ``ttft_unloaded_s`` (set by
        :func:`step_times`: the estimator's unloaded TTFT, matched at zero load by a fixed part).
    method : {"analytical", "simulation"}
        How open-loop percentiles are computed.
    n_requests : int
        Simulated requests per row (simulation only; default 4000).
    seed : int
        Random seed (simulation only).
    efficiency : polars.DataFrame, optional
        Calibration passed to the estimator.

    Returns
    -------
    polars.DataFrame
        ``frame`` plus ``utilization`` (offered load / capacity), ``capacity_requests_per_s``
        (whole deployment), ``requests_per_s`` (achieved, whole deployment), ``stable``,
        ``batch_mean``, ``ttft_mean_s``, ``ttft_p50_s``, ``ttft_p90_s``, ``ttft_p99_s``,
        ``tpot_mean_s``, ``tpot_p50_s``, ``tpot_p90_s``, ``tpot_p99_s``, ``queue_wait_s``,
        ``e2e_mean_s``. Latencies are null where unstable or where the model does not fit.

    Raises
    ------
    ValidationError
        Neither load column present; non-positive or non-finite rates, tokens or blocks.

    Notes
    -----
    See :func:`replica_latency` and :func:`closed_loop_latency` for the formulas.

    References
    ----------
    Kleinrock (1975); Reiser & Lavenberg (1980); Agrawal et al. (2024).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"request_rate_per_s": [1.0, 5.0], "input_tokens": [1000, 1000],
    ...     "output_tokens": [201, 201], "decode_step_fixed_s": [0.01, 0.01],
    ...     "decode_step_per_sequence_s": [1e-4, 1e-4], "prefill_s_per_token": [1e-4, 1e-4],
    ...     "batch_cap": [256, 256]})
    >>> out = latency_under_load(f)
    >>> out.select("stable", "utilization").rows()  # capacity = 256 / (200 × 0.0356 + 25.6) = 7.82/s
    [(True, 0.127...), (True, 0.639...)]
    >>> bool(out["ttft_p99_s"][1] > out["ttft_p99_s"][0])
    True
    """
    if method not in ("analytical", "simulation"):
        raise ValidationError(f"method: expected 'analytical' or 'simulation', got {method!r}")
    if isinstance(n_requests, bool) or not isinstance(n_requests, (int, np.integer)) or n_requests < 1:
        raise ValidationError(f"n_requests: expected a whole number ≥ 1 of simulated requests, got {n_requests!r}")
    has_rate, has_conc = "request_rate_per_s" in frame.columns, "concurrency" in frame.columns
    if not (has_rate or has_conc):
        raise ValidationError("latency_under_load needs a 'request_rate_per_s' or a 'concurrency' column")
    for c in ("input_tokens", "output_tokens"):
        if c not in frame.columns:
            raise ValidationError(f"latency_under_load: missing column {c!r} [tokens]")
    _check_positive(frame, ["input_tokens", "output_tokens", "request_rate_per_s", "concurrency", "replicas",
                            "prefill_chunk_tokens", "batch_cap", "length_cv"])
    _check_positive(frame, ["decode_step_fixed_s", "decode_step_per_sequence_s", "prefill_s_per_token"],
                    allow_zero=("decode_step_per_sequence_s", "prefill_s_per_token"))
    work = frame if all(c in frame.columns for c in BLOCK_COLUMNS) else step_times(frame, efficiency=efficiency)
    n = work.height
    reps = np.maximum(_col(work, "replicas", 1.0), 1.0)
    rate = _col(work, "request_rate_per_s", np.nan) if has_rate else np.full(n, np.nan)
    conc = _col(work, "concurrency", np.nan) if has_conc else np.full(n, np.nan)
    use_rate = np.isfinite(rate)
    use_conc = ~use_rate & np.isfinite(conc)
    I = _col(work, "input_tokens", np.nan)
    O = _col(work, "output_tokens", np.nan)
    blocks = [_col(work, c, np.nan) for c in BLOCK_COLUMNS]
    t0, t1, p, cap = blocks
    have = np.isfinite(t0) & np.isfinite(t1) & np.isfinite(p) & np.isfinite(cap)
    chunked = _col(work, "chunked_prefill", True, pl.Boolean).astype(bool)
    chunk = _col(work, "prefill_chunk_tokens", float(DEFAULT_PREFILL_CHUNK_TOKENS))
    cv = _col(work, "length_cv", 1.0)
    din_s = _col(work, "input_length_dist", "fixed", pl.String)
    dout_s = _col(work, "output_length_dist", "fixed", pl.String)
    din, dout = _dist_codes(din_s, n), _dist_codes(dout_s, n)
    names = ["utilization", "capacity_requests_per_s", "requests_per_s", "stable", "batch_mean",
             "ttft_mean_s", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s",
             "tpot_mean_s", "tpot_p50_s", "tpot_p90_s", "tpot_p99_s", "queue_wait_s", "e2e_mean_s"]
    res = {k: np.full(n, np.nan) for k in names}
    res["stable"] = np.zeros(n, dtype=bool)
    fill = lambda x: np.where(have, x, 1.0)  # noqa: E731 - placeholder inputs for rows without blocks, masked below
    o_idx = np.flatnonzero(use_rate & have)
    if o_idx.size:
        sel = lambda x: fill(x)[o_idx]  # noqa: E731
        r = replica_latency(
            sel(rate / reps), sel(I), sel(O), sel(t0), sel(t1), sel(p), sel(cap),
            chunked_prefill=chunked[o_idx], prefill_chunk_tokens=sel(chunk),
            input_length_dist=din_s.gather(o_idx), output_length_dist=dout_s.gather(o_idx), length_cv=sel(cv),
        )
        if method == "simulation":
            if o_idx.size > MAX_SIMULATION_ROWS:
                raise ValidationError(
                    f"method='simulation' runs an engine simulation per row: at most {MAX_SIMULATION_ROWS} open-loop "
                    f"rows, got {o_idx.size}; use method='analytical' for sweeps")
            for j in np.flatnonzero(r["stable"]):
                i = o_idx[j]
                sim = simulate_replica(
                    float(rate[i] / reps[i]), int(round(I[i])), int(round(O[i])), float(t0[i]), float(t1[i]),
                    float(p[i]), int(round(cap[i])), chunked_prefill=bool(chunked[i]),
                    prefill_chunk_tokens=int(round(chunk[i])), input_length_dist=str(din_s[int(i)]),
                    output_length_dist=str(dout_s[int(i)]), length_cv=float(cv[i]), n_requests=n_requests, seed=seed)
                for k in ("ttft_mean_s", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "tpot_mean_s", "tpot_p50_s",
                          "tpot_p90_s", "tpot_p99_s"):
                    r[k][j] = sim[k]
        for k in names:
            res[k][o_idx] = r[k]
    c_idx = np.flatnonzero(use_conc & have)
    if c_idx.size:
        sel = lambda x: fill(x)[c_idx]  # noqa: E731
        sync = _col(work, "closed_loop_synchronized", np.nan)
        sync = np.where(np.isfinite(sync), sync > 0, (din == 0) & (dout == 0))
        r = closed_loop_latency(
            np.maximum(np.ceil(sel(conc / reps)), 1.0), sel(I), sel(O), sel(t0), sel(t1), sel(p), sel(cap),
            chunked_prefill=chunked[c_idx], prefill_chunk_tokens=sel(chunk), synchronized=sync[c_idx],
        )
        for k in names:
            res[k][c_idx] = r[k]
    ovh = _ttft_fixed_s(work, fill(I), fill(O), fill(t0), fill(t1), fill(p), fill(cap), chunked, chunk)
    for k in ("ttft_mean_s", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "e2e_mean_s"):
        res[k] = res[k] + ovh
    per_replica = ["capacity_requests_per_s", "requests_per_s"]
    cols = []
    for k in names:
        v = res[k]
        if k in per_replica:
            v = v * reps
        if k == "stable":
            cols.append(pl.Series(k, np.where(have & (use_rate | use_conc), v, False)).cast(pl.Boolean))
            continue
        s = pl.Series(k, v, dtype=pl.Float64).fill_nan(None)
        cols.append(s)
    out = work.with_columns(cols)
    unknown = ~(have & (use_rate | use_conc))
    if unknown.any():
        out = out.with_columns(
            pl.when(pl.Series(unknown)).then(None).otherwise(pl.col("stable")).alias("stable")
        )
    return out


# --------------------------------------------------------------------------- capacity for an SLO


def _prices(frame: pl.DataFrame, provider: str | None, price_model: str, region: str | None,
            prices: pl.DataFrame | None) -> np.ndarray:
    if "usd_per_device_hour" in frame.columns and frame["usd_per_device_hour"].null_count() == 0:
        _check_positive(frame, ["usd_per_device_hour"], allow_zero=("usd_per_device_hour",))
        return frame["usd_per_device_hour"].cast(pl.Float64).to_numpy()
    if provider is None and "provider" not in frame.columns:
        raise ValidationError(
            "capacity: give a 'usd_per_device_hour' column or a provider (and price_model) to look prices up in cloud_prices"
        )
    prov = pl.col("provider") if "provider" in frame.columns else pl.lit(provider, pl.String)
    keys = frame.select(
        "hardware", prov.alias("provider"), pl.lit(price_model).alias("price_model"),
        pl.lit(region, pl.String).alias("region"),
    )
    return cost.rented_usd_per_device_hour(keys, prices)["rented_usd_per_device_hour"].to_numpy()


def capacity(
    candidates: pl.DataFrame,
    *,
    slo_ttft_p99_s: float,
    slo_tpot_p99_s: float,
    request_rate_per_s: float | None = None,
    input_tokens: float | None = None,
    output_tokens: float | None = None,
    demand: pl.DataFrame | None = None,
    provider: str | None = None,
    price_model: str = "on_demand",
    region: str | None = None,
    prices: pl.DataFrame | None = None,
    batch_caps: list[int] | None = None,
    max_replicas: int = 100_000,
    chunked_prefill: bool = True,
    efficiency: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Cheapest fleet meeting a latency SLO, per model / hardware / precision (analytical search).

    For every candidate replica layout (``n_devices`` per replica) and every batch cap
    (powers of two up to the engine's, plus the engine's own), a vectorized bisection
    over the replica count finds the fewest replicas at which TTFT p99 and TPOT p99
    (from :func:`replica_latency`) meet the SLO; the cheapest configuration per
    model / hardware / precision is returned. Analytical: latency falls monotonically
    with the replica count, so bisection is exact on the model.

    Parameters
    ----------
    candidates : polars.DataFrame
        ``model``, ``hardware``, ``precision``, ``engine``, ``n_devices`` (devices per
        replica) and optionally the replica building blocks (:data:`BLOCK_COLUMNS`) and
        ``usd_per_device_hour`` [USD/h]; without blocks :func:`step_times` calls the
        estimator.
    slo_ttft_p99_s, slo_tpot_p99_s : float
        Latency targets [s].
    request_rate_per_s : float
        Demand, whole fleet [requests/s].
    input_tokens, output_tokens : float
        Mean request shape [tokens].
    demand : polars.DataFrame, optional
        An hourly profile (:mod:`infer_econ.demand`): sizes for its peak
        ``request_rate_per_s`` and takes the shape from its ``input_tokens`` /
        ``output_tokens`` columns when those arguments are not given.
    provider, price_model, region : str, optional
        Cloud price lookup in ``cloud_prices`` (via :func:`infer_econ.cost.rented_usd_per_device_hour`)
        when no ``usd_per_device_hour`` column is given.
    prices : polars.DataFrame, optional
        A ``cloud_prices`` catalog to use instead of the shipped one.
    batch_caps : list of int, optional
        Batch caps to try (default: 1, 2, 4, … up to each engine cap, and the cap).
    max_replicas : int
        Largest fleet considered.
    chunked_prefill : bool
        Engine setting used for the latency model.
    efficiency : polars.DataFrame, optional
        Calibration passed to the estimator.

    Returns
    -------
    polars.DataFrame
        One row per model / hardware / precision that can meet the SLO: ``engine``,
        ``n_devices`` (per replica), ``replicas``, ``devices_total``, ``batch_cap``,
        ``utilization``, ``ttft_p99_s``, ``tpot_p99_s``, ``usd_per_device_hour``,
        ``usd_per_hour``, ``usd_per_million_tokens``, ``usd_per_million_output_tokens``,
        sorted by ``usd_per_hour``.

    Raises
    ------
    ValidationError
        No candidate can meet the SLO at any fleet size: the message names the
        constraint that cannot be met and the best value any candidate achieves.

    Notes
    -----
    ``usd_per_hour = replicas × n_devices × usd_per_device_hour``;
    ``usd_per_million_tokens = usd_per_hour / (λ (I + O) × 3600) × 10⁶``
    (:func:`infer_econ.cost.usd_per_million_tokens` with ``output_tokens_per_s = λ O`` and utilization 1).
    The lowest TPOT any fleet can reach is ``t(1)`` at batch 1; the lowest TTFT the
    unloaded prefill: adding replicas cannot go below these floors.

    References
    ----------
    Kleinrock (1975) (queueing); Y. Zhong et al. (2024) on SLO-attained goodput.

    Examples
    --------
    >>> import polars as pl
    >>> c = pl.DataFrame({"model": ["m"], "hardware": ["h"], "precision": ["bf16"], "engine": ["vllm"],
    ...     "n_devices": [1], "decode_step_fixed_s": [0.01], "decode_step_per_sequence_s": [1e-4],
    ...     "prefill_s_per_token": [1e-4], "batch_cap": [256], "usd_per_device_hour": [2.0]})
    >>> r = capacity(c, request_rate_per_s=20, input_tokens=1000, output_tokens=201,
    ...     slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    >>> r.select("replicas", "usd_per_hour").row(0)
    (4, 8.0)
    """
    if demand is not None:
        if "request_rate_per_s" not in demand.columns:
            raise ValidationError("capacity: the demand frame needs a 'request_rate_per_s' column [1/s]")
        request_rate_per_s = float(demand["request_rate_per_s"].max()) if request_rate_per_s is None else request_rate_per_s
        if input_tokens is None and "input_tokens" in demand.columns:
            input_tokens = float(demand["input_tokens"].mean())
        if output_tokens is None and "output_tokens" in demand.columns:
            output_tokens = float(demand["output_tokens"].mean())
    for name, v in {"request_rate_per_s": request_rate_per_s, "input_tokens": input_tokens,
                    "output_tokens": output_tokens, "slo_ttft_p99_s": slo_ttft_p99_s,
                    "slo_tpot_p99_s": slo_tpot_p99_s}.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValidationError(f"capacity: {name} must be a finite number > 0, got {v!r}")
    if isinstance(max_replicas, bool) or not isinstance(max_replicas, (int, np.integer)) or max_replicas < 1:
        raise ValidationError(f"capacity: max_replicas must be a whole number ≥ 1, got {max_replicas!r}")
    if batch_caps is not None and not all(
            isinstance(b, (int, np.integer)) and not isinstance(b, bool) and b >= 1 for b in batch_caps):
        raise ValidationError(f"capacity: batch_caps must be whole numbers ≥ 1 [sequences], got {batch_caps!r}")
    need = ["model", "hardware", "precision", "engine", "n_devices"]
    missing = [c for c in need if c not in candidates.columns]
    if missing:
        raise ValidationError(f"capacity: candidates frame is missing column(s) {missing}")
    cand = candidates.with_columns(pl.lit(float(input_tokens)).alias("input_tokens"),
                                   pl.lit(float(output_tokens)).alias("output_tokens"))
    if not all(c in cand.columns for c in BLOCK_COLUMNS):
        cand = step_times(cand.with_columns(pl.col("input_tokens").round(0).cast(pl.Int64),
                                            pl.col("output_tokens").round(0).cast(pl.Int64)),
                          efficiency=efficiency)
    cand = cand.with_columns(pl.lit(float(input_tokens)).alias("input_tokens"),
                             pl.lit(float(output_tokens)).alias("output_tokens"))
    price = _prices(cand, provider, price_model, region, prices)
    cand = cand.with_columns(pl.Series("usd_per_device_hour", price, dtype=pl.Float64))
    cand = cand.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in BLOCK_COLUMNS]))
    if cand.height == 0:
        raise ValidationError("capacity: no candidate fits in memory (the estimator returned fits=false for all)")
    # expand batch caps
    # every candidate × every batch cap to try (a cross join, no per-row Python)
    if batch_caps:
        opts = pl.DataFrame({"_cap": sorted({float(b) for b in batch_caps if b >= 1})})
    else:
        top = int(math.log2(max(float(cand["batch_cap"].max()), 1.0)))
        opts = pl.DataFrame({"_cap": [float(2**k) for k in range(top + 1)]})
    grid = cand.with_row_index("_cand").join(opts, how="cross").filter(pl.col("_cap") <= pl.col("batch_cap"))
    if not batch_caps:  # the engine's own cap as well
        grid = pl.concat([grid, cand.with_row_index("_cand").with_columns(pl.col("batch_cap").alias("_cap"))],
                         how="vertical_relaxed").unique(["_cand", "_cap"], maintain_order=True)
    grid = grid.sort("_cand", "_cap").with_columns(pl.col("_cap").alias("batch_cap")).drop("_cap", "_cand")
    if grid.height == 0:
        raise ValidationError(f"capacity: no batch cap in {batch_caps} is within the candidates' engine caps")
    t0, t1, p, cap = (grid[c].to_numpy().astype(float) for c in BLOCK_COLUMNS)
    n = grid.height
    lam, I, O = float(request_rate_per_s), float(input_tokens), float(output_tokens)

    ovh = _ttft_fixed_s(grid, np.full(n, I), np.full(n, O), t0, t1, p, cap, np.full(n, chunked_prefill),
                        np.full(n, float(DEFAULT_PREFILL_CHUNK_TOKENS)))

    def evaluate(r: np.ndarray) -> dict[str, np.ndarray]:
        res = replica_latency(lam / r, np.full(n, I), np.full(n, O), t0, t1, p, cap,
                              chunked_prefill=chunked_prefill)
        res["ttft_p99_s"] = res["ttft_p99_s"] + ovh
        return res

    def feasible(res: dict[str, np.ndarray]) -> np.ndarray:
        return res["stable"] & (res["ttft_p99_s"] <= slo_ttft_p99_s) & (res["tpot_p99_s"] <= slo_tpot_p99_s)

    hi = np.full(n, float(max_replicas))
    best = evaluate(hi)
    ok = feasible(best)
    if not ok.any():
        floor_ttft = np.nanmin(best["ttft_p99_s"]) if np.isfinite(best["ttft_p99_s"]).any() else float("inf")
        floor_tpot = np.nanmin(best["tpot_p99_s"]) if np.isfinite(best["tpot_p99_s"]).any() else float("inf")
        parts = []
        if floor_ttft > slo_ttft_p99_s:
            parts.append(f"TTFT p99 <= {slo_ttft_p99_s:g} s cannot be met: the best achievable is {floor_ttft:.4g} s")
        if floor_tpot > slo_tpot_p99_s:
            parts.append(f"TPOT p99 <= {slo_tpot_p99_s:g} s cannot be met: the best achievable is {floor_tpot:.4g} s")
        if not parts:
            parts.append("TTFT and TPOT targets cannot both be met by one configuration "
                         f"(best TTFT p99 {floor_ttft:.4g} s, best TPOT p99 {floor_tpot:.4g} s)")
        raise ValidationError("capacity: " + "; ".join(parts) +
                              f" (any candidate, any batch cap, up to {max_replicas} replicas)")
    lo = np.maximum(np.floor(lam / np.maximum(evaluate(np.ones(n))["capacity_requests_per_s"], 1e-300)), 0.0)
    lo = np.minimum(lo, hi - 1)  # lo infeasible (or 0), hi feasible
    for _ in range(64):
        if np.all(hi - lo <= 1):
            break
        mid = np.floor((lo + hi) / 2.0)
        f = feasible(evaluate(np.maximum(mid, 1.0))) & (mid >= 1)
        hi = np.where(ok & f, mid, hi)
        lo = np.where(ok & ~f, mid, lo)
    reps = np.where(ok, hi, np.nan)
    final = evaluate(np.where(ok, hi, 1.0))
    dev = grid["n_devices"].cast(pl.Float64).to_numpy()
    usd_h = reps * dev * grid["usd_per_device_hour"].to_numpy()
    out = grid.select("model", "hardware", "precision", "engine", "n_devices").with_columns(
        pl.Series("replicas", reps).cast(pl.Int64, strict=False),
        pl.Series("devices_total", reps * dev).cast(pl.Int64, strict=False),
        pl.Series("batch_cap", cap).cast(pl.Int64),
        pl.Series("utilization", final["utilization"]),
        pl.Series("ttft_p99_s", final["ttft_p99_s"]),
        pl.Series("tpot_p99_s", final["tpot_p99_s"]),
        grid["usd_per_device_hour"],
        pl.Series("usd_per_hour", usd_h),
    ).with_columns(  # the fleet serves λ × O output tokens/s, all of its paid time (utilization 1)
        cost.usd_per_million_tokens(pl.col("usd_per_hour"), lam * O, 1.0, I, O),
        cost.usd_per_million_output_tokens(pl.col("usd_per_hour"), lam * O, 1.0),
    ).filter(pl.Series(ok))
    return (
        out.sort(["usd_per_hour", "devices_total", "ttft_p99_s", "tpot_p99_s"])
        .group_by(["model", "hardware", "precision"], maintain_order=True)
        .first()
        .sort("usd_per_hour")
    )


def slo_rate_per_replica(
    frame: pl.DataFrame,
    *,
    slo_ttft_p99_s: float,
    slo_tpot_p99_s: float,
    efficiency: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Largest Poisson rate one replica serves within a p99 SLO (analytical, vectorized bisection).

    The number :func:`infer_econ.demand.autoscale` and
    :func:`infer_econ.demand.compare_strategies` need as ``capacity_per_replica_rps``.

    Parameters
    ----------
    frame : polars.DataFrame
        Replica building blocks (or the estimator's inputs), ``input_tokens``,
        ``output_tokens`` and the optional columns of :func:`latency_under_load`.
    slo_ttft_p99_s, slo_tpot_p99_s : float
        Latency targets [s].
    efficiency : polars.DataFrame, optional
        Calibration passed to the estimator.

    Returns
    -------
    polars.DataFrame
        ``frame`` plus ``slo_requests_per_s_per_replica`` [1/s] (null where even a vanishing
        rate misses the SLO) and ``capacity_requests_per_s`` (per replica, the unconstrained
        maximum).

    Notes
    -----
    p99 TTFT and TPOT rise monotonically with λ (:func:`replica_latency`), so 50 bisection
    steps on (0, λ_max) pin the largest feasible λ to 1e-15 relative.

    References
    ----------
    The latency model of :func:`replica_latency` (module references: Kleinrock; Kwon et al.;
    Agrawal et al.).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"input_tokens": [1000], "output_tokens": [201], "decode_step_fixed_s": [0.01],
    ...     "decode_step_per_sequence_s": [1e-4], "prefill_s_per_token": [1e-4], "batch_cap": [256.0]})
    >>> r = slo_rate_per_replica(f, slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    >>> 5.0 < r["slo_requests_per_s_per_replica"].item() < 20 / 3  # capacity() needed 4 replicas for 20/s
    True
    """
    for name, v in (("slo_ttft_p99_s", slo_ttft_p99_s), ("slo_tpot_p99_s", slo_tpot_p99_s)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValidationError(f"slo_rate_per_replica: {name} must be a finite number > 0, got {v!r}")
    work = frame if all(c in frame.columns for c in BLOCK_COLUMNS) else step_times(frame, efficiency=efficiency)
    n = work.height
    I, O = _col(work, "input_tokens", np.nan), _col(work, "output_tokens", np.nan)
    t0, t1, p, cap = (_col(work, c, np.nan) for c in BLOCK_COLUMNS)
    have = np.isfinite(t0) & np.isfinite(t1) & np.isfinite(p) & np.isfinite(cap)
    f = lambda x: np.where(have, x, 1.0)  # noqa: E731
    chunked = _col(work, "chunked_prefill", True, pl.Boolean).astype(bool)
    chunk = _col(work, "prefill_chunk_tokens", float(DEFAULT_PREFILL_CHUNK_TOKENS))
    ovh = _ttft_fixed_s(work, f(I), f(O), f(t0), f(t1), f(p), f(cap), chunked, chunk)

    def ok(lam: np.ndarray) -> np.ndarray:
        r = replica_latency(lam, f(I), f(O), f(t0), f(t1), f(p), f(cap), chunked_prefill=chunked,
                            prefill_chunk_tokens=chunk)
        return r["stable"] & (r["ttft_p99_s"] + ovh <= slo_ttft_p99_s) & (r["tpot_p99_s"] <= slo_tpot_p99_s)

    lam_max = replica_capacity_requests_per_s(f(I), f(O), f(t0), f(t1), f(p), f(cap))
    lo, hi = np.zeros(n), lam_max.copy()
    possible = ok(lam_max * 1e-9) & have
    for _ in range(50):
        mid = (lo + hi) / 2.0
        good = ok(mid)
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid)
    return work.with_columns(
        pl.Series("slo_requests_per_s_per_replica", np.where(possible, lo, np.nan)).fill_nan(None),
        pl.Series("capacity_requests_per_s", np.where(have, lam_max, np.nan)).fill_nan(None),
    )


# --------------------------------------------------------------------------- serving optimizations


def speculative_tokens_per_step(acceptance_rate: Any, draft_tokens: Any) -> np.ndarray:
    """Expected tokens emitted per target-model step with speculative decoding (analytical, exact).

    Parameters
    ----------
    acceptance_rate : array-like
        α in [0, 1]: probability that each drafted token is accepted (i.i.d.).
    draft_tokens : array-like
        γ ≥ 1 tokens drafted per step.

    Returns
    -------
    numpy.ndarray
        E[tokens per step] = ``(1 − α^{γ+1}) / (1 − α)`` (``γ + 1`` at α = 1).

    Notes
    -----
    The accepted prefix length is truncated geometric; the target step always adds one
    token of its own (Leviathan et al. 2023, eq. 1).

    References
    ----------
    Y. Leviathan, M. Kalman, Y. Matias, ICML 2023.

    Examples
    --------
    >>> round(float(speculative_tokens_per_step(0.8, 4)[()]), 4)  # (1 − 0.8⁵) / 0.2
    3.3616
    """
    a, g = _arr(acceptance_rate), _arr(draft_tokens)
    if np.any((a < 0) | (a > 1)) or np.any(~np.isfinite(a)):
        raise ValidationError("spec_acceptance_rate: expected values in [0, 1]")
    if np.any(g < 1) or np.any(~np.isfinite(g)):
        raise ValidationError("spec_draft_tokens: expected whole numbers >= 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (1.0 - a ** (g + 1.0)) / (1.0 - a)
    return np.where(a < 1.0, e, g + 1.0)


def speculative_decoding(frame: pl.DataFrame) -> pl.DataFrame:
    """Replica building blocks with speculative decoding (analytical).

    Parameters
    ----------
    frame : polars.DataFrame
        Building blocks (:data:`BLOCK_COLUMNS`) plus ``spec_acceptance_rate`` (α),
        ``spec_draft_tokens`` (γ) and ``spec_draft_cost_ratio`` (r: one draft-model step
        as a fraction of one target step, e.g. 0.05 for a 1B draft of a 70B target).

    Returns
    -------
    polars.DataFrame
        ``frame`` with the blocks replaced by per-token equivalents and
        ``spec_tokens_per_step`` added; feed it to :func:`latency_under_load` or
        :func:`capacity`.

    Notes
    -----
    One iteration = γ draft steps + one verify step over γ + 1 positions, emitting
    E = (1 − α^{γ+1}) / (1 − α) tokens. The verify step reads the weights once (t0)
    and does γ + 1 times the per-sequence work (conservative: the KV read does not
    grow, the compute does). Per emitted token::

        t0' = t0 (1 + γ r) / E,   t1' = t1 (γ + 1 + γ r) / E,   p' = p (1 + r)

    so speculative decoding pays at small batch (t0 dominates) and loses at large
    batch (t1 B dominates), as measured in practice. The draft's own KV cache and
    weights are not subtracted from the batch cap.

    References
    ----------
    Leviathan et al. (2023); Chen et al., "Accelerating LLM decoding with speculative
    sampling", arXiv:2302.01318.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"decode_step_fixed_s": [0.02], "decode_step_per_sequence_s": [1e-4],
    ...     "prefill_s_per_token": [1e-4], "batch_cap": [64.0], "spec_acceptance_rate": [0.8],
    ...     "spec_draft_tokens": [4], "spec_draft_cost_ratio": [0.05]})
    >>> round(speculative_decoding(f)["decode_step_fixed_s"].item(), 6)  # 0.02 × 1.2 / 3.3616
    0.00714
    """
    need = BLOCK_COLUMNS + ["spec_acceptance_rate", "spec_draft_tokens", "spec_draft_cost_ratio"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValidationError(f"speculative_decoding: missing column(s) {missing}")
    _check_positive(frame, ["spec_draft_cost_ratio"], allow_zero=("spec_draft_cost_ratio",))
    e = speculative_tokens_per_step(frame["spec_acceptance_rate"], frame["spec_draft_tokens"])
    g = frame["spec_draft_tokens"].cast(pl.Float64).to_numpy()
    r = frame["spec_draft_cost_ratio"].cast(pl.Float64).to_numpy()
    t0, t1, p = (frame[c].cast(pl.Float64).to_numpy() for c in BLOCK_COLUMNS[:3])
    return frame.with_columns(
        pl.Series("decode_step_fixed_s", t0 * (1.0 + g * r) / e),
        pl.Series("decode_step_per_sequence_s", t1 * (g + 1.0 + g * r) / e),
        pl.Series("prefill_s_per_token", p * (1.0 + r)),
        pl.Series("spec_tokens_per_step", e),
    )


def prefix_cache(frame: pl.DataFrame) -> pl.DataFrame:
    """Replica building blocks with a prefix-cache hit rate (analytical).

    Parameters
    ----------
    frame : polars.DataFrame
        Building blocks plus ``prefix_cache_hit_rate`` (share of input tokens found in
        the cache, 0..1, e.g. a shared system prompt).

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``prefill_s_per_token`` scaled by ``1 − hit rate``.

    Notes
    -----
    Cached tokens skip prefill compute; their KV is still read in decode, so t0 and
    t1 do not change. ``p' = p (1 − h)``.

    References
    ----------
    vLLM automatic prefix caching; L. Zheng et al., "SGLang: Efficient Execution of
    Structured Language Model Programs" (RadixAttention), NeurIPS 2024.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"decode_step_fixed_s": [0.02], "decode_step_per_sequence_s": [1e-4],
    ...     "prefill_s_per_token": [1e-4], "batch_cap": [64.0], "prefix_cache_hit_rate": [0.75]})
    >>> prefix_cache(f)["prefill_s_per_token"].item()
    2.5e-05
    """
    if "prefix_cache_hit_rate" not in frame.columns:
        raise ValidationError("prefix_cache: missing column 'prefix_cache_hit_rate' (fraction 0..1)")
    h = frame["prefix_cache_hit_rate"].cast(pl.Float64)
    if ((h < 0) | (h > 1) | h.is_nan()).fill_null(True).any():
        raise ValidationError("column 'prefix_cache_hit_rate': expected values in [0, 1]")
    return frame.with_columns((pl.col("prefill_s_per_token") * (1.0 - pl.col("prefix_cache_hit_rate"))).alias(
        "prefill_s_per_token"))


def disaggregated_latency(frame: pl.DataFrame) -> pl.DataFrame:
    """Latency of disaggregated prefill and decode pools (analytical).

    Prefill replicas run prefills only (no decode steps to wait behind); decode
    replicas run decode steps only (no prefill stalls: TPOT is the bare ``t(B)``); the
    KV cache moves from one to the other in ``kv_transfer_s``.

    Parameters
    ----------
    frame : polars.DataFrame
        Building blocks, ``request_rate_per_s`` (whole deployment), ``input_tokens``,
        ``output_tokens``, ``prefill_replicas`` and ``decode_replicas`` (≥ 1 each),
        optionally ``kv_transfer_s`` [s per request, default 0].

    Returns
    -------
    polars.DataFrame
        ``frame`` plus ``utilization`` (the busier pool), ``capacity_requests_per_s``,
        ``requests_per_s``, ``stable``, ``ttft_mean_s``, ``ttft_p50_s``, ``ttft_p99_s``,
        ``tpot_mean_s``, ``tpot_p50_s``, ``tpot_p99_s``, ``replicas`` (sum of pools).

    Notes
    -----
    Prefill pool: each replica an M/D/1 queue with service ``s = I p`` at rate
    ``λ / R_p``: ``W = λ_p s² / (2 (1 − λ_p s))``; TTFT = W + s + kv_transfer_s, tail
    exponential. Decode pool: :func:`replica_latency` with ``p = 0`` at ``λ / R_d``.
    Capacity = ``min(R_p / s, R_d λ_max,decode)``.

    References
    ----------
    Zhong et al. (2024) DistServe; P. Patel et al., "Splitwise", ISCA 2024.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"request_rate_per_s": [4.0], "input_tokens": [1000], "output_tokens": [201],
    ...     "decode_step_fixed_s": [0.01], "decode_step_per_sequence_s": [1e-4],
    ...     "prefill_s_per_token": [1e-4], "batch_cap": [256.0], "prefill_replicas": [1],
    ...     "decode_replicas": [1]})
    >>> r = disaggregated_latency(f)
    >>> round(r["ttft_mean_s"].item(), 4)  # s = 0.1; W = 4 × 0.01 / (2 × 0.6) = 0.0333
    0.1333
    """
    need = BLOCK_COLUMNS + ["request_rate_per_s", "input_tokens", "output_tokens", "prefill_replicas", "decode_replicas"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValidationError(f"disaggregated_latency: missing column(s) {missing}")
    _check_positive(frame, ["request_rate_per_s", "input_tokens", "output_tokens", "prefill_replicas", "decode_replicas"])
    lam = _col(frame, "request_rate_per_s", np.nan)
    I, O = _col(frame, "input_tokens", np.nan), _col(frame, "output_tokens", np.nan)
    t0, t1, p, cap = (_col(frame, c, np.nan) for c in BLOCK_COLUMNS)
    rp, rd = _col(frame, "prefill_replicas", 1.0), _col(frame, "decode_replicas", 1.0)
    kv = _col(frame, "kv_transfer_s", 0.0)
    s = I * p
    lp = lam / rp
    rho = lp * s
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(rho < 1, lp * s * s / (2.0 * (1.0 - rho)), np.inf)
    dec = replica_latency(lam / rd, I, O, t0, t1, np.zeros_like(p), cap, chunked_prefill=False)
    stable = (rho < 1) & dec["stable"]
    cap_total = np.minimum(rp / s, rd * dec["capacity_requests_per_s"])
    res = {
        "utilization": np.maximum(rho, dec["utilization"]),
        "capacity_requests_per_s": cap_total,
        "requests_per_s": np.minimum(lam, cap_total),
        "ttft_mean_s": w + s + kv,
        "tpot_mean_s": dec["tpot_mean_s"],
        "tpot_p50_s": dec["tpot_p50_s"],
        "tpot_p99_s": dec["tpot_p99_s"],
    }
    for k, q in (("p50", 0.5), ("p99", 0.99)):
        res[f"ttft_{k}_s"] = s + kv + exponential_tail_quantile_s(np.minimum(rho, 1.0), w, q)
    cols = [pl.Series("stable", stable)]
    for k, v in res.items():
        if k.endswith("_s"):
            v = np.where(stable, v, np.nan)
        cols.append(pl.Series(k, v, dtype=pl.Float64).fill_nan(None))
    cols.append(pl.Series("replicas", rp + rd))
    return frame.with_columns(cols)


def compare_optimizations(frame: pl.DataFrame) -> pl.DataFrame:
    """Latency, capacity and $/million tokens with and without each serving optimization (analytical).

    Parameters
    ----------
    frame : polars.DataFrame
        Scenarios with the replica building blocks (or the estimator's inputs),
        ``request_rate_per_s``, ``input_tokens``, ``output_tokens``, ``n_devices`` (per
        replica), ``usd_per_device_hour`` and optionally ``replicas`` (default 1). Each
        optimization is evaluated when its columns are present: ``prefix_cache_hit_rate``
        (:func:`prefix_cache`); ``spec_acceptance_rate``, ``spec_draft_tokens``,
        ``spec_draft_cost_ratio`` (:func:`speculative_decoding`); ``prefill_replicas`` and
        ``decode_replicas`` (:func:`disaggregated_latency`, replacing the colocated replicas).

    Returns
    -------
    polars.DataFrame
        One row per scenario and ``optimization`` (baseline, prefix_cache,
        speculative_decoding, disaggregated) with ``scenario`` (row number), ``stable``,
        ``utilization``, ``capacity_requests_per_s``, ``ttft_p99_s``, ``tpot_p99_s``,
        ``replicas``, ``usd_per_hour``, ``usd_per_million_tokens`` (at the offered rate) and
        ``usd_per_million_tokens_at_capacity`` (the floor if the fleet ran full).

    Notes
    -----
    ``usd_per_hour = replicas × n_devices × usd_per_device_hour``;
    ``usd_per_million_tokens = usd_per_hour / (λ (I + O) × 3600) × 10⁶`` (null when unstable;
    :func:`infer_econ.cost.usd_per_million_tokens` with ``output_tokens_per_s = λ O`` and utilization 1).

    References
    ----------
    Prefix caching: Kwon et al. (SOSP 2023); speculative decoding: Leviathan, Kalman, Matias (ICML 2023);
    disaggregation: Zhong et al. (OSDI 2024) (module references).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"request_rate_per_s": [2.0], "input_tokens": [2000], "output_tokens": [201],
    ...     "decode_step_fixed_s": [0.02], "decode_step_per_sequence_s": [1e-4], "prefill_s_per_token": [1e-4],
    ...     "batch_cap": [128.0], "n_devices": [2], "usd_per_device_hour": [2.0], "prefix_cache_hit_rate": [0.5]})
    >>> r = compare_optimizations(f)
    >>> r["optimization"].to_list()
    ['baseline', 'prefix_cache']
    >>> bool(r["ttft_p99_s"][1] < r["ttft_p99_s"][0])
    True
    """
    need = ["request_rate_per_s", "input_tokens", "output_tokens", "n_devices", "usd_per_device_hour"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValidationError(f"compare_optimizations: missing column(s) {missing}")
    _check_positive(frame, ["usd_per_device_hour"], allow_zero=("usd_per_device_hour",))
    base = frame.with_row_index("scenario")
    if not all(c in base.columns for c in BLOCK_COLUMNS):
        base = step_times(base)
    if "replicas" not in base.columns:
        base = base.with_columns(pl.lit(1).alias("replicas"))
    variants = [("baseline", base)]
    if "prefix_cache_hit_rate" in base.columns:
        variants.append(("prefix_cache", prefix_cache(base)))
    if all(c in base.columns for c in ("spec_acceptance_rate", "spec_draft_tokens", "spec_draft_cost_ratio")):
        variants.append(("speculative_decoding", speculative_decoding(base)))
    out = []
    cols = ["scenario", "stable", "utilization", "capacity_requests_per_s", "ttft_p99_s", "tpot_p99_s", "replicas"]
    for name, f in variants:
        r = latency_under_load(f)
        out.append(r.select(pl.lit(name).alias("optimization"), *cols, "n_devices", "usd_per_device_hour",
                            "request_rate_per_s", "input_tokens", "output_tokens"))
    if "prefill_replicas" in base.columns and "decode_replicas" in base.columns:
        r = disaggregated_latency(base.drop("replicas"))
        out.append(r.select(pl.lit("disaggregated").alias("optimization"), *cols, "n_devices", "usd_per_device_hour",
                            "request_rate_per_s", "input_tokens", "output_tokens"))
    res = pl.concat(out, how="vertical_relaxed")
    usd = pl.col("replicas").cast(pl.Float64) * pl.col("n_devices").cast(pl.Float64) * pl.col("usd_per_device_hour")
    I, O = pl.col("input_tokens").cast(pl.Float64), pl.col("output_tokens").cast(pl.Float64)
    # output tokens/s of the fleet: λ × O at the offered rate, capacity × O when it runs full (utilization 1)
    return res.with_columns(usd.alias("usd_per_hour")).with_columns(
        pl.when(pl.col("stable")).then(
            cost.usd_per_million_tokens(pl.col("usd_per_hour"), pl.col("request_rate_per_s") * O, 1.0, I, O)
        ).otherwise(None).alias("usd_per_million_tokens"),
        cost.usd_per_million_tokens(pl.col("usd_per_hour"), pl.col("capacity_requests_per_s") * O, 1.0, I, O).alias(
            "usd_per_million_tokens_at_capacity"),
    ).drop("n_devices", "usd_per_device_hour", "request_rate_per_s", "input_tokens", "output_tokens").sort(
        "scenario", maintain_order=True)


# --------------------------------------------------------------------------- validation

#: Median absolute error targets of the serving model (issue contract) [%].
VALIDATION_TARGETS_PCT = {"tpot": 30.0, "ttft": 30.0}


def _validation_scenarios(meas: pl.DataFrame) -> pl.DataFrame:
    """Rows of serving_measurements as (scenario, measured value) pairs, with exclusions named."""
    from . import catalog

    models, hardware, engines = set(catalog.ids("models")), set(catalog.ids("hardware")), set(catalog.ids("engines"))
    f = meas.with_columns(
        pl.when(pl.col("replicas").is_not_null()).then(pl.col("replicas"))
        .otherwise(pl.lit(1)).alias("_replicas"),
    ).with_columns(
        (pl.col("n_devices") // pl.col("_replicas")).alias("_dev"),
    )
    reason = (
        pl.when(pl.col("hosted_api")).then(pl.lit("hosted API: hardware unknown"))
        .when(~pl.col("steady_state")).then(pl.lit("not steady state: ") + pl.col("steady_state_note"))
        .when(pl.col("input_tokens_mean").is_null() | pl.col("output_tokens_mean").is_null())
        .then(pl.lit("request length not published"))
        .when(~pl.col("model").is_in(list(models))).then(pl.lit("model not in catalog"))
        .when(~pl.col("hardware").is_in(list(hardware))).then(pl.lit("hardware not in catalog"))
        .when(~pl.col("engine").is_in(list(engines))).then(pl.lit("engine not in catalog"))
        .when(pl.col("n_devices").is_null()).then(pl.lit("device count unknown"))
        .otherwise(None)
    )
    f = f.with_columns(reason.alias("excluded_reason"))
    long = []
    for metric, cols in (("ttft", ("ttft_mean_ms", "ttft_median_ms", "ttft_p99_ms")),
                         ("tpot", ("tpot_mean_ms", "tpot_median_ms", "tpot_p99_ms"))):
        for c, stat in zip(cols, ("mean", "p50", "p99")):
            long.append(f.filter(pl.col(c).is_not_null()).select(
                pl.col("id"), pl.col("source_group"), pl.col("model"), pl.col("hardware"), pl.col("precision"),
                pl.col("engine"), pl.col("_dev").alias("n_devices"), pl.col("_replicas").alias("replicas"),
                pl.col("input_tokens_mean").alias("input_tokens"), pl.col("output_tokens_mean").alias("output_tokens"),
                pl.col("load_type"), pl.col("request_rate_per_s"), pl.col("concurrency"),
                pl.col("chunked_prefill"), pl.lit(metric).alias("metric"), pl.lit(stat).alias("statistic"),
                (pl.col(c) / 1000.0).alias("measured_s"), pl.col("excluded_reason"),
            ))
    return pl.concat(long, how="vertical_relaxed")


def _calibration_scenarios(cal: pl.DataFrame) -> pl.DataFrame:
    kinds = {"serving_ttft_ms": "ttft", "serving_itl_ms": "tpot", "serving_tpot_ms": "tpot"}
    s = cal.filter(pl.col("kind").is_in(list(kinds)))
    if s.height == 0:
        return s
    rate = pl.col("request_rate_per_s").cast(pl.Float64)
    reason = (
        pl.when(rate.is_null() | rate.is_infinite()).then(pl.lit("offered rate unbounded: saturation run and not steady state"))
        .when(pl.col("input_tokens").is_null()).then(pl.lit("request length not published"))
        .otherwise(None)
    )
    tp = pl.col("tensor_parallel").cast(pl.Int64) if "tensor_parallel" in s.columns else pl.lit(None, pl.Int64)
    return s.select(
        pl.col("id"), (pl.lit("calibration: ") + pl.col("source").cast(pl.String)).alias("source_group"),
        pl.col("model"), pl.col("hardware"), pl.col("precision"), pl.col("engine"),
        pl.coalesce(tp, pl.col("n_devices")).alias("n_devices"),
        (pl.col("n_devices") // pl.coalesce(tp, pl.col("n_devices"))).alias("replicas"),
        pl.col("input_tokens").cast(pl.Float64), pl.col("output_tokens").cast(pl.Float64),
        pl.lit("poisson").alias("load_type"), pl.when(rate.is_infinite()).then(None).otherwise(rate).alias("request_rate_per_s"),
        pl.lit(None, pl.Int64).alias("concurrency"), pl.lit(None, pl.Boolean).alias("chunked_prefill"),
        pl.col("kind").replace_strict(kinds).alias("metric"), pl.lit("mean").alias("statistic"),
        (pl.col("measured") / 1000.0).alias("measured_s"), reason.alias("excluded_reason"),
    )


_KEYS = ["model", "hardware", "precision", "engine", "n_devices", "replicas", "input_tokens", "output_tokens",
         "request_rate_per_s", "concurrency", "chunked_prefill"]
_STAT_COLS = {("ttft", "mean"): "ttft_mean_s", ("ttft", "p50"): "ttft_p50_s", ("ttft", "p99"): "ttft_p99_s",
              ("tpot", "mean"): "tpot_mean_s", ("tpot", "p50"): "tpot_p50_s", ("tpot", "p99"): "tpot_p99_s"}


def _predict_long(scen: pl.DataFrame, method: str) -> pl.DataFrame:
    pred = latency_under_load(scen, method=method)
    return pl.concat([
        pred.select(_KEYS + [pl.lit(m).alias("metric"), pl.lit(st_).alias("statistic"),
                             pl.col(c).alias("predicted_s"), pl.col("stable").alias("_stable")])
        for (m, st_), c in _STAT_COLS.items()
    ])


def validation_report(
    measurements: pl.DataFrame | None = None,
    calibration: pl.DataFrame | None = None,
    *,
    method: str = "analytical",
    anchored: bool = False,
    efficiency: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Predicted vs measured serving latency on the shipped published measurements.

    Parameters
    ----------
    measurements : polars.DataFrame, optional
        Load points in the schema of ``data/serving_measurements.csv`` (default: shipped).
    calibration : polars.DataFrame, optional
        Rows in the schema of ``data/measured_performance.csv``; its ``serving_ttft_ms``,
        ``serving_itl_ms`` (taken as TPOT) and ``serving_tpot_ms`` rows are used
        (default: shipped, if present).
    method : {"analytical", "simulation"}
        Passed to :func:`latency_under_load`.
    anchored : bool
        Score the *load model* alone: in every series (same configuration and request
        shape, load varied) the step times are rescaled so that the lightest-load point's
        mean TPOT and mean TTFT are matched, and the other points are predicted. The
        anchor rows are then excluded. False (default) scores estimator + load model end
        to end.
    efficiency : polars.DataFrame, optional
        Efficiency parameters for the estimator (the schema of ``data/efficiency.csv``, e.g. a
        :func:`infer_econ.calibrate.fit` result; default: shipped), as :func:`step_times` takes them.

    Returns
    -------
    polars.DataFrame
        One row per measured statistic: ``id``, ``source_group``, configuration,
        ``metric`` (ttft, tpot), ``statistic`` (mean, p50, p99), ``measured_s``,
        ``predicted_s``, ``error_pct`` ((predicted − measured) / measured × 100),
        ``included`` and ``excluded_reason`` (why a row is not scored: not steady state,
        hosted API, unknown request length, id not in a catalog, model does not fit,
        predicted unstable, anchor point).

    Notes
    -----
    TTFT is scored on steady-state runs only: an overloaded open-loop run's TTFT grows
    with the number of requests sent, so it has no steady-state value to predict. The
    headline figures are the median absolute ``error_pct`` per metric over included
    rows (:func:`validation_summary`); targets in :data:`VALIDATION_TARGETS_PCT`.
    Anchoring: ``t0, t1 ×= TPOT_meas / TPOT_pred`` and ``p``, ``ttft_unloaded_s ×=
    TTFT_meas / TTFT_pred`` at the series' lightest load (a series without a measured TPOT or TTFT there keeps 1).

    References
    ----------
    ``data/serving_measurements.csv`` and ``data/measured_performance.csv``, each row with its ``source``
    in ``data/sources.csv`` (published vLLM, SGLang and MLPerf serving runs).

    Examples
    --------
    >>> r = validation_report()  # doctest: +SKIP
    >>> validation_summary(r)  # doctest: +SKIP
    """
    from . import catalog

    if method not in ("analytical", "simulation"):
        raise ValidationError(f"method: expected 'analytical' or 'simulation', got {method!r}")
    meas = catalog.load("serving_measurements") if measurements is None else measurements
    rows = [_validation_scenarios(meas)]
    if calibration is None:
        try:
            calibration = catalog.load("measured_performance")
        except UnknownIdError:  # catalog not shipped: score the serving file alone (a broken file still raises)
            calibration = None
    if calibration is not None:
        c = _calibration_scenarios(calibration)
        if c.height:
            rows.append(c)
    allr = pl.concat(rows, how="vertical_relaxed").with_row_index("_k")
    ok = allr.filter(pl.col("excluded_reason").is_null()).with_columns(
        pl.col("n_devices").cast(pl.Int64), pl.col("replicas").cast(pl.Int64),
        pl.col("input_tokens").round(0).cast(pl.Int64), pl.col("output_tokens").round(0).cast(pl.Int64),
        pl.col("concurrency").cast(pl.Float64), pl.col("chunked_prefill").fill_null(True),
    )
    scen = ok.select(_KEYS).unique(keep="first", maintain_order=True)
    scen = step_times(scen, efficiency=efficiency)
    long = _predict_long(scen, method)
    why_anchor = pl.lit(None, pl.String)
    if anchored:
        series = ["source_group", "model", "hardware", "precision", "engine", "n_devices", "replicas", "input_tokens",
                  "output_tokens", "load_type", "chunked_prefill"]
        ok = ok.with_columns(pl.coalesce(pl.col("concurrency"), pl.col("request_rate_per_s")).alias("_load"))
        ok = ok.with_columns((pl.col("_load") == pl.col("_load").min().over(series)).alias("_anchor"),
                             (pl.col("_load").n_unique().over(series) < 2).alias("_single"))
        first = ok.filter(pl.col("_anchor") & (pl.col("statistic") == "mean")).join(
            long, on=_KEYS + ["metric", "statistic"], how="left", nulls_equal=True)
        ratio = first.with_columns((pl.col("measured_s") / pl.col("predicted_s")).alias("_r")).group_by(
            series).agg(
            pl.col("_r").filter(pl.col("metric") == "tpot").first().alias("_k_tpot"),
            pl.col("_r").filter(pl.col("metric") == "ttft").first().alias("_k_ttft"))
        both = list(dict.fromkeys(series + _KEYS))
        link = ok.select(both).unique().join(ratio, on=series, how="left", nulls_equal=True)
        link = link.group_by(_KEYS).agg(pl.col("_k_tpot").first(), pl.col("_k_ttft").first())
        scen = scen.join(link, on=_KEYS, how="left", nulls_equal=True).with_columns(
            pl.col("_k_tpot").fill_null(1.0).fill_nan(1.0), pl.col("_k_ttft").fill_null(1.0).fill_nan(1.0))
        scen = scen.with_columns(
            (pl.col("decode_step_fixed_s") * pl.col("_k_tpot")).alias("decode_step_fixed_s"),
            (pl.col("decode_step_per_sequence_s") * pl.col("_k_tpot")).alias("decode_step_per_sequence_s"),
            (pl.col("prefill_s_per_token") * pl.col("_k_ttft")).alias("prefill_s_per_token"),
            (pl.col("ttft_unloaded_s") * pl.col("_k_ttft")).alias("ttft_unloaded_s"),
        ).drop("_k_tpot", "_k_ttft")
        long = _predict_long(scen, method)
        why_anchor = (pl.when(pl.col("_single")).then(pl.lit("single load point: nothing left after anchoring"))
                      .when(pl.col("_anchor")).then(pl.lit("anchor point of its series")).otherwise(None))
    ok = ok.join(long, on=_KEYS + ["metric", "statistic"], how="left", nulls_equal=True)
    ok = ok.with_columns(
        pl.when(pl.col("_stable").is_null()).then(pl.lit("model does not fit (estimator fits=false)"))
        .when(~pl.col("_stable")).then(pl.lit("predicted unstable: offered rate above predicted capacity"))
        .otherwise(why_anchor).alias("_why")
    )
    res = allr.join(ok.select("_k", "predicted_s", "_why"), on="_k", how="left").with_columns(
        pl.coalesce(pl.col("excluded_reason"), pl.col("_why")).alias("excluded_reason")
    ).drop("_why", "_k")
    return res.with_columns(
        ((pl.col("predicted_s") - pl.col("measured_s")) / pl.col("measured_s") * 100.0).alias("error_pct"),
        pl.col("excluded_reason").is_null().alias("included"),
    )


def validation_overview() -> pl.DataFrame:
    """Both validation views of the serving model in one frame, for ``infer-econ validate``.

    Parameters
    ----------
    None

    Returns
    -------
    polars.DataFrame
        :func:`validation_summary` of the end-to-end report (``mode`` = ``end_to_end``) and of
        the anchored report (``mode`` = ``load_model_anchored``).

    Notes
    -----
    Runs :func:`validation_report` twice (``anchored=False`` and ``True``) on the shipped measurements.

    References
    ----------
    As :func:`validation_report`.

    Examples
    --------
    >>> validation_overview().columns[:3]  # doctest: +SKIP
    ['mode', 'metric', 'statistic']
    """
    parts = []
    for mode, anchored in (("end_to_end", False), ("load_model_anchored", True)):
        summ = validation_summary(validation_report(anchored=anchored))
        parts.append(summ.select(pl.lit(mode).alias("mode"), pl.all()))
    return pl.concat(parts)


def validation_summary(report: pl.DataFrame) -> pl.DataFrame:
    """Median and p90 absolute error per metric, statistic and source of a :func:`validation_report`.

    Parameters
    ----------
    report : polars.DataFrame
        Output of :func:`validation_report`.

    Returns
    -------
    polars.DataFrame
        ``metric``, ``statistic`` (``all`` = pooled), ``rows``, ``median_abs_error_pct``,
        ``p90_abs_error_pct``, ``within_30_pct_share``, ``target_pct``, ``meets_target``.

    Notes
    -----
    Over included rows, |e| = |error_pct|: median and linear-interpolated p90 of |e|, share with
    |e| ≤ 30; ``meets_target`` = median ≤ :data:`VALIDATION_TARGETS_PCT` of the metric.

    References
    ----------
    As :func:`validation_report`.

    Examples
    --------
    >>> r = pl.DataFrame({"metric": ["tpot", "tpot"], "statistic": ["mean", "p99"], "included": [True, True],
    ...     "error_pct": [10.0, -40.0]})
    >>> validation_summary(r).filter(pl.col("statistic") == "all")["median_abs_error_pct"].item()
    25.0
    """
    inc = report.filter(pl.col("included")).with_columns(pl.col("error_pct").abs().alias("_a"))
    agg = [pl.len().alias("rows"), pl.col("_a").median().alias("median_abs_error_pct"),
           pl.col("_a").quantile(0.9, "linear").alias("p90_abs_error_pct"),
           (pl.col("_a") <= 30.0).mean().alias("within_30_pct_share")]
    pooled = inc.group_by("metric").agg(agg).with_columns(pl.lit("all").alias("statistic"))
    per = inc.group_by("metric", "statistic").agg(agg)
    out = pl.concat([pooled.select(per.columns), per]).sort("metric", "statistic")
    return out.with_columns(
        pl.col("metric").replace_strict(VALIDATION_TARGETS_PCT, default=None).alias("target_pct"),
    ).with_columns((pl.col("median_abs_error_pct") <= pl.col("target_pct")).alias("meets_target"))
