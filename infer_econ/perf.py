"""Prefill and decode speed: roofline terms, parallelism, engines, and :func:`estimate`.

The building blocks take polars expressions (or column names, or numbers) and
return expressions; :func:`estimate` joins the catalogs onto a scenario frame
and evaluates them for every row in one vectorized pass.

The model, per replica of ``tensor_parallel × pipeline_parallel`` devices:

- **Prefill** is compute-bound: ``2 × matmul params × tokens`` plus causal
  attention ``4 × layers × q_dim × tokens × mean context``, at the precision's
  tensor peak (the fallback dtype's peak where the chip has no native unit) ×
  ``prefill_compute_efficiency``, floored by the time to read the weights once
  per chunk of ``prefill_chunk_tokens``. Attention FLOPs run on the 16-bit
  path at their own share ``attention_efficiency`` of its peak
  (FlashAttention-style kernels, not the dequantizing matmuls), so they count
  ``peak / min(peak, 16-bit peak) × prefill_compute_efficiency /
  attention_efficiency`` times (decode: ``decode_compute_efficiency``).
- **Decode** (one token for each of ``B`` sequences) is one roofline per
  kernel group, ``max(weight bytes / R, matmul FLOPs / P) + max(KV bytes / R,
  attention FLOPs / P) + step_overhead_s + B × step_overhead_per_sequence_s +
  tensor-parallel all-reduce`` with ``R = bandwidth ×
  decode_bandwidth_efficiency`` and ``P = peak × decode_compute_efficiency``:
  the matmuls read the weights the batch touches (MoE: only the experts some
  token routes to), the attention every sequence's KV cache, and each is
  bound by its own roof (:func:`decode_step_s`).
- **Pipeline parallelism** splits layers into stages; ``min(B, pp)``
  micro-batches keep stages busy, and a round (every sequence one token) takes
  ``pp`` stage times (a single sequence walks through every stage in turn, as
  llama.cpp's layer split does).

Efficiencies and overheads come from ``data/efficiency.csv`` (fitted by
:mod:`infer_econ.calibrate`), keyed by engine and the hardware's ``family``,
never from a chip's name.

References
----------
- Williams, Waterman, Patterson, "Roofline", CACM 2009.
- Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023
  (arXiv:2211.05102).
- Agrawal et al., "Sarathi-Serve" (chunked prefill piggybacked on decode),
  OSDI 2024 (arXiv:2403.02310).
- Yu et al., "Orca" (iteration-level scheduling), OSDI 2022.
"""

from __future__ import annotations

import functools

import polars as pl

from . import memory as mem
from .errors import UnknownIdError, ValidationError
from ._memo import by_frames
from .memory import _e, _f

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTPUT_COLUMNS",
    "EFFICIENCY_PARAMETERS",
    "COMPUTE_PARAMETERS",
    "resolve_efficiency",
    "efficiency_basis",
    "moe_experts_touched",
    "weight_params_touched_b",
    "mean_cached_tokens",
    "prefill_flops",
    "unfused_score_bytes",
    "NON_FLASH_SCORE_BYTES",
    "kv_reads_per_step",
    "decode_flops",
    "allreduce_s",
    "prefill_time_s",
    "decode_step_s",
    "roofline",
    "peak_tflops",
    "estimate",
]

#: scenario columns :func:`estimate` needs
REQUIRED_COLUMNS = ["model", "hardware", "precision", "engine", "n_devices", "input_tokens", "output_tokens"]
#: optional scenario columns and what a null means
OPTIONAL_COLUMNS = {
    "batch_size": "largest batch that fits and the engine runs (offline max throughput)",
    "context_depth": "0 tokens already cached",
    "kv_precision": "the engine's kv_precision_defaults for the weights' precision, else the precision's default_kv_precision",
    "tensor_parallel": "n_devices / pipeline_parallel when the engine has tensor parallelism, else 1",
    "pipeline_parallel": "1 when the engine has tensor parallelism, else n_devices (layer split)",
    "continuous_batching": "the engine's continuous_batching (engines.csv)",
    "flash_attention": "true: fused attention (FlashAttention-style kernels, every engine's default today)",
    "grouped_kv_attention": "true: the decode attention kernel reads each KV head once for its query-head group "
                            "(XQA, FlashAttention, paged attention; every engine's default today)",
}
#: columns :func:`estimate` adds
OUTPUT_COLUMNS = [
    "tensor_parallel_used",
    "pipeline_parallel_used",
    "replicas",
    "batch_size_max",
    "batch_size_used",
    "fits",
    "limit",
    "weights_gb_per_device",
    "kv_cache_gb_per_device",
    "kv_budget_gb_per_device",
    "prefill_s",
    "ttft_s",
    "tpot_s",
    "prefill_tokens_per_s",
    "decode_tokens_per_s",
    "output_tokens_per_s",
    "items_per_s",
    "decode_bound",
]
#: efficiency columns (``data/efficiency.csv``) the estimator uses
EFFICIENCY_PARAMETERS = [
    "prefill_compute_efficiency",
    "decode_bandwidth_efficiency",
    "decode_compute_efficiency",
    "attention_efficiency",
    "step_overhead_s",
    "step_overhead_per_sequence_s",
    "allreduce_latency_s",
    "allreduce_bandwidth_efficiency",
    "workspace_tokens",
    "prefill_chunk_tokens",
]
#: efficiencies that are shares of a compute peak (the others: bandwidth shares and times)
COMPUTE_PARAMETERS = ["prefill_compute_efficiency", "decode_compute_efficiency", "attention_efficiency"]
#: non-numeric engine settings carried in ``data/efficiency.csv``
EFFICIENCY_SETTINGS = ["kv_memory_basis", "peak_column"]
LIMITS = ["unsupported", "context", "weights", "kv_cache", "engine_cap"]
_LIMIT = pl.Enum(LIMITS)
_BOUND = pl.Enum(["memory", "compute"])
#: bytes per element of the tensor-parallel all-reduce (engines reduce in 16 bit)
_ALLREDUCE_BYTES = 2.0
#: memory traffic per attention score of unfused attention [byte]: the query-key product writes the score matrix
#: in fp32 (4 B), the softmax reads and writes it (8 B), the product with the values reads it (4 B). Fused
#: (FlashAttention-style) kernels keep the scores on chip and move none of these bytes.
NON_FLASH_SCORE_BYTES = 16.0
_PEAK_COLUMNS = ["fp32_tflops", "fp16_tflops", "bf16_tflops", "fp8_tflops", "int8_tops", "fp4_tflops"]


# --------------------------------------------------------------------------------------------
# building blocks


def moe_experts_touched(
    n_experts: pl.Expr | str = "n_experts",
    experts_per_token: pl.Expr | str = "experts_per_token",
    tokens: pl.Expr | str | float = "batch_size",
    log_miss: pl.Expr | str | None = None,
) -> pl.Expr:
    """Expected distinct routed experts a step of ``tokens`` tokens reads, per MoE layer.

    Parameters
    ----------
    n_experts : expr
        Routed experts per MoE layer ``E``.
    experts_per_token : expr
        Experts each token routes to ``k``.
    tokens : expr [tokens]
        Tokens in the forward pass (decode: the batch).
    log_miss : expr, optional
        ``ln(1 − k/E)`` if already computed (a per-model constant; :func:`estimate` passes it).

    Returns
    -------
    polars.Expr [experts]; null for dense models (``n_experts`` null).

    Notes
    -----
    With each token choosing ``k`` of ``E`` experts uniformly and
    independently, an expert is missed by one token with probability
    ``1 − k/E``, so ``E × (1 − (1 − k/E)^tokens)``: ``k`` at one token, ``E``
    as tokens → ∞. Real routers are skewed, which touches slightly fewer.

    References
    ----------
    Fedus, Zoph, Shazeer, "Switch Transformers", JMLR 2022 (arXiv:2101.03961);
    the balls-into-bins expectation.

    Examples
    --------
    >>> df = pl.DataFrame({"n_experts": [8, 8, 128], "experts_per_token": [2, 2, 8],
    ...                    "batch_size": [1, 64, 1]})
    >>> [round(v, 3) for v in df.select(moe_experts_touched())["n_experts"]]
    [2.0, 8.0, 8.0]
    """
    e = _f(n_experts)
    miss = (1.0 - _f(experts_per_token) / e).log() if log_miss is None else _f(log_miss)
    return e * (1.0 - (miss * _f(tokens)).exp())  # (1 − k/E)^t as exp(t ln(1 − k/E)): one exp per row


def weight_params_touched_b(
    total_params_b: pl.Expr | str = "total_params_b",
    active_params_b: pl.Expr | str = "active_params_b",
    n_experts: pl.Expr | str = "n_experts",
    experts_per_token: pl.Expr | str = "experts_per_token",
    tokens: pl.Expr | str | float = "batch_size",
    log_miss: pl.Expr | str | None = None,
) -> pl.Expr:
    """Parameters a forward pass over ``tokens`` tokens reads from memory [1e9].

    Notes
    -----
    Dense: ``total_params_b``. MoE: an expert (summed over MoE layers) has
    ``s = (total − active) / (E − k)`` parameters, the always-on part is
    ``active − k × s``, and a pass reads ``active − k × s + touched × s`` with
    ``touched`` from :func:`moe_experts_touched`. Only the catalog's
    parameter counts are needed, whatever the layer layout (shared experts,
    dense first layers, interleaved MoE layers).

    Examples
    --------
    >>> df = pl.DataFrame({"total_params_b": [46.7, 46.7, 8.0], "active_params_b": [12.9, 12.9, 8.0],
    ...     "n_experts": [8, 8, None], "experts_per_token": [2, 2, None], "batch_size": [1, 1000, 5]})
    >>> [round(v, 2) for v in df.select(weight_params_touched_b())["total_params_b"]]
    [12.9, 46.7, 8.0]
    """
    total = _f(total_params_b)
    active = _f(active_params_b)
    e = _f(n_experts)
    k = _f(experts_per_token)
    per_expert = (total - active) / (e - k)
    return _params_touched_b(total, active - k * per_expert, per_expert, e.is_null() | (e <= k),
                             moe_experts_touched(e, k, tokens, log_miss))


def _params_touched_b(total: pl.Expr, always_on: pl.Expr, per_expert: pl.Expr, dense: pl.Expr,
                      experts_touched: pl.Expr) -> pl.Expr:
    """:func:`weight_params_touched_b` from its per-model pieces (``active − k × s``, ``s``, dense flag)."""
    return pl.when(dense).then(total).otherwise(always_on + experts_touched * per_expert)


def mean_cached_tokens(
    start_tokens: pl.Expr | str,
    new_tokens: pl.Expr | str,
    sliding_window_tokens: pl.Expr | str | None = "sliding_window_tokens",
    sliding_window_layer_fraction: pl.Expr | str | None = "sliding_window_layer_fraction",
) -> pl.Expr:
    """Mean tokens an average layer attends to over positions ``start … start + new`` [tokens].

    Used for the attention FLOPs of a prefill (causal) and for the mean KV
    read of a decode that grows the context by ``new`` tokens.

    Notes
    -----
    Full-attention layers: ``start + new / 2``. Sliding-window layers attend
    to ``min(x, W)``; its mean over ``[a, b]`` is ``(a + b)/2`` if ``b ≤ W``,
    ``W`` if ``a ≥ W``, else ``((W² − a²)/2 + W (b − W)) / (b − a)``. Layers
    mix by ``sliding_window_layer_fraction`` (null = 1 when a window is set).

    References
    ----------
    Beltagy et al. 2020 (arXiv:2004.05150).

    Examples
    --------
    >>> df = pl.DataFrame({"a": [0.0, 0.0], "n": [2048.0, 8192.0],
    ...     "sliding_window_tokens": [None, 4096], "sliding_window_layer_fraction": [None, 1.0]})
    >>> df.select(mean_cached_tokens("a", "n"))["a"].to_list()  # 1024; (4096²/2 + 4096×4096)/8192
    [1024.0, 3072.0]
    """
    a = _f(start_tokens)
    n = _f(new_tokens)
    if sliding_window_tokens is None:
        return a + n / 2.0
    w = _f(sliding_window_tokens)
    frac = pl.lit(1.0) if sliding_window_layer_fraction is None else _f(sliding_window_layer_fraction).fill_null(1.0)
    return _mean_cached_tokens(a, n, w, frac, 1.0 - frac, w.is_null())


def _mean_cached_tokens(a: pl.Expr, n: pl.Expr, w: pl.Expr, frac: pl.Expr, one_minus_frac: pl.Expr,
                        no_window: pl.Expr) -> pl.Expr:
    """:func:`mean_cached_tokens` from the per-model pieces (window, filled fraction, ``1 − fraction``, no window)."""
    full = a + n / 2.0
    b = a + n
    straddle = ((w * w - a * a) / 2.0 + w * (b - w)) / n
    capped = pl.when(b <= w).then(full).when(a >= w).then(w).otherwise(straddle)
    return pl.when(no_window).then(full).otherwise(one_minus_frac * full + frac * capped)


def prefill_flops(
    tokens: pl.Expr | str = "input_tokens",
    mean_context_tokens: pl.Expr | str = "mean_context_tokens",
    matmul_params_b: pl.Expr | str = "matmul_params_b",
    n_layers: pl.Expr | str = "n_layers",
    q_dim: pl.Expr | str = "q_dim",
) -> pl.Expr:
    """FLOPs to prefill one prompt [FLOP].

    Parameters
    ----------
    tokens : expr [tokens]
        Prompt tokens.
    mean_context_tokens : expr [tokens]
        Mean attended context per prompt token (:func:`mean_cached_tokens` of
        ``context_depth`` and ``tokens``; ``depth + tokens/2`` for full causal
        attention).
    matmul_params_b : expr [1e9]
        Parameters multiplied per token: active parameters minus the input
        embedding (a lookup).
    n_layers, q_dim : expr
        Layers and query width (``n_heads × head_dim``).

    Notes
    -----
    ``2 × matmul_params × tokens + 2 × 2 × n_layers × q_dim × tokens ×
    mean_context`` (QKᵀ and AV, two FLOPs per multiply-add).

    References
    ----------
    Kaplan et al., "Scaling Laws for Neural Language Models", 2020
    (arXiv:2001.08361), Table 1.

    Examples
    --------
    >>> df = pl.DataFrame({"input_tokens": [1000.0], "mean_context_tokens": [500.0],
    ...     "matmul_params_b": [7.5], "n_layers": [32], "q_dim": [4096]})
    >>> df.select(prefill_flops()).item()  # 2×7.5e9×1000 + 4×32×4096×1000×500
    1.52621440e13
    """
    return _prefill_flops(_f(tokens), _f(mean_context_tokens), 2.0 * _f(matmul_params_b) * 1e9,
                          4.0 * _f(n_layers) * _f(q_dim))


def _prefill_flops(t: pl.Expr, ctx: pl.Expr, matmul_flops: pl.Expr, attention_flops: pl.Expr) -> pl.Expr:
    """:func:`prefill_flops` from ``2 × matmul params × 1e9`` and ``4 × layers × q_dim``."""
    return matmul_flops * t + attention_flops * t * ctx


def unfused_score_bytes(
    n_layers: pl.Expr | str = "n_layers",
    n_heads: pl.Expr | str = "n_heads",
    flash_attention: pl.Expr | str = "flash_attention",
) -> pl.Expr:
    """Memory traffic of unfused attention per (query token × cached token) of the whole model [byte].

    Without fused attention kernels the query-key product writes an fp32 score for every query
    head, query token and cached token, the softmax reads and rewrites it, and the product with
    the values reads it again (llama.cpp without ``-fa``, eager PyTorch attention). Fused
    (FlashAttention-style) kernels keep the scores in on-chip memory and move none of them.

    Parameters
    ----------
    n_layers, n_heads : expr [count]
        The model's layers and query heads.
    flash_attention : expr [bool]
        Fused attention; null counts as true (every engine's default today).

    Notes
    -----
    ``NON_FLASH_SCORE_BYTES × n_layers × n_heads`` (16 B: 4 write + 8 softmax + 4 read) where
    ``flash_attention`` is false, else 0. A prefill of ``I`` tokens in chunks of ``u``
    (``prefill_chunk_tokens``) scores each chunk against every cached token and the whole
    chunk, the masked half included: ``I × (C + min(u, I) / 2)`` pairs, ``C`` the mean
    cached tokens of the causal FLOPs (:func:`mean_cached_tokens`); a decode step
    ``batch × C`` pairs. The estimator adds that traffic at the decode bandwidth share
    (prefill: as time beside the compute-bound pass; decode: with the KV-cache reads of
    the attention kernels).

    References
    ----------
    Dao et al., "FlashAttention: Fast and memory-efficient exact attention with IO-awareness",
    NeurIPS 2022 (the score matrix as the memory traffic of standard attention).

    Examples
    --------
    >>> df = pl.DataFrame({"n_layers": [32, 32], "n_heads": [32, 32], "flash_attention": [False, True]})
    >>> df.select(unfused_score_bytes()).to_series().to_list()  # 16 × 32 × 32
    [16384.0, 0.0]
    """
    fused = _e(flash_attention).cast(pl.Boolean).fill_null(True)
    return pl.when(fused).then(0.0).otherwise(NON_FLASH_SCORE_BYTES * _f(n_layers) * _f(n_heads))


def kv_reads_per_step(
    n_heads: pl.Expr | str = "n_heads",
    n_kv_heads: pl.Expr | str = "n_kv_heads",
    kv_latent_dim: pl.Expr | str = "kv_latent_dim",
    grouped_kv_attention: pl.Expr | str = "grouped_kv_attention",
    tensor_parallel: pl.Expr | str = "tensor_parallel",
) -> pl.Expr:
    """Times a decode step reads each cached key/value from memory [count].

    A decode attention kernel for grouped-query attention (GQA, MQA) loads the cache of each
    KV head once and serves all the query heads that share it (TensorRT-LLM's XQA, FlashAttention
    and FlashInfer decode, vLLM's paged attention). A kernel that runs one thread block per
    query head, as TensorRT-LLM's masked multi-head attention did before XQA, streams the cache
    of the KV head once for every query head of its group.

    Parameters
    ----------
    n_heads, n_kv_heads : expr [count]
        Query heads and key/value heads of the model.
    kv_latent_dim : expr [count]
        MLA latent size (null or 0: none); an MLA cache is shared by every head and read once.
    grouped_kv_attention : expr [bool]
        The decode kernel is GQA-aware; null counts as true (every engine's default today).
    tensor_parallel : expr [count]
        Tensor-parallel degree: each device runs ``n_heads / tp`` query heads over the
        ``ceil(n_kv_heads / tp)`` KV heads it holds (:func:`infer_econ.memory.kv_heads_per_device`).

    Notes
    -----
    ``(n_heads / tp) / ceil(n_kv_heads / tp)`` (at least 1; ``n_heads / n_kv_heads`` where ``tp``
    divides the KV heads) where ``grouped_kv_attention`` is false and the model has no latent
    cache, else 1. It multiplies the KV-cache bytes each device reads in a decode step; no share
    of the repeated reads is credited to the on-chip cache (L2), which the measurements of
    TensorRT-LLM v0.5 Llama-2-70B runs support (``docs/validation.md``).

    References
    ----------
    TensorRT-LLM ``docs/source/advanced/gpt-attention.md`` (masked MHA: "a single CUDA
    thread-block per head"; XQA: "another optimization for MQA/GQA in generation phase") and
    ``docs/source/blogs/XQA-kernel.md`` (Llama-70B on one H200, 128 → 2,048 tokens: 1,227 tok/s
    per GPU without XQA, 2,941 with it).

    Examples
    --------
    >>> df = pl.DataFrame({"n_heads": [64, 64, 32, 64], "n_kv_heads": [8, 8, 32, 4],
    ...                    "kv_latent_dim": [None, None, None, None],
    ...                    "grouped_kv_attention": [False, None, False, False], "tensor_parallel": [1, 1, 1, 8]})
    >>> df.select(kv_reads_per_step()).to_series().to_list()  # Llama-2-70B: 64 / 8; 64 / 4 heads at TP 8: 8 / 1
    [8.0, 1.0, 1.0, 8.0]
    """
    grouped = _e(grouped_kv_attention).cast(pl.Boolean).fill_null(True)
    latent = _f(kv_latent_dim).fill_null(0.0) > 0
    per_query_head = (
        _f(n_heads) / _f(tensor_parallel) / mem.kv_heads_per_device(n_kv_heads, tensor_parallel)
    ).clip(lower_bound=1.0)
    return pl.when(grouped | latent).then(1.0).otherwise(per_query_head)


def decode_flops(
    batch_size: pl.Expr | str = "batch_size",
    mean_context_tokens: pl.Expr | str = "mean_context_tokens",
    matmul_params_b: pl.Expr | str = "matmul_params_b",
    n_layers: pl.Expr | str = "n_layers",
    q_dim: pl.Expr | str = "q_dim",
) -> pl.Expr:
    """FLOPs of one decode step: one new token for each of ``batch_size`` sequences [FLOP].

    Notes
    -----
    ``batch × (2 × matmul_params + 4 × n_layers × q_dim × mean_context)``.

    Examples
    --------
    >>> df = pl.DataFrame({"batch_size": [8], "mean_context_tokens": [1000.0],
    ...     "matmul_params_b": [7.5], "n_layers": [32], "q_dim": [4096]})
    >>> df.select(decode_flops()).item()  # 8 × (1.5e10 + 5.24288e8)
    1.24194304e11
    """
    return _decode_flops(_f(batch_size), _f(mean_context_tokens), 2.0 * _f(matmul_params_b) * 1e9,
                         4.0 * _f(n_layers) * _f(q_dim))


def _decode_flops(b: pl.Expr, ctx: pl.Expr, matmul_flops: pl.Expr, attention_flops: pl.Expr) -> pl.Expr:
    """:func:`decode_flops` from ``2 × matmul params × 1e9`` and ``4 × layers × q_dim``."""
    return b * (matmul_flops + attention_flops * ctx)


def allreduce_s(
    tokens: pl.Expr | str | float,
    hidden_size: pl.Expr | str = "hidden_size",
    tensor_parallel: pl.Expr | str = "tensor_parallel",
    interconnect_gb_per_s: pl.Expr | str = "interconnect_gb_per_s",
    allreduce_latency_s: pl.Expr | str = "allreduce_latency_s",
    allreduce_bandwidth_efficiency: pl.Expr | str = "allreduce_bandwidth_efficiency",
    n_allreduce: pl.Expr | str | float = 1.0,
    bytes_per_element: pl.Expr | str | float = _ALLREDUCE_BYTES,
) -> pl.Expr:
    """Time of ``n_allreduce`` ring all-reduces of ``tokens × hidden`` activations [s].

    Notes
    -----
    A ring all-reduce of ``S`` bytes sends and receives ``2 (tp − 1)/tp × S``
    per device; the link carries half its quoted bidirectional bandwidth each
    way: ``n × (2 (tp − 1)/tp × S / (interconnect_gb_per_s / 2 × 1e9 ×
    efficiency) + latency)``; zero when ``tp = 1``. A transformer layer under
    Megatron tensor parallelism does two (after attention and after the MLP).

    References
    ----------
    Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms", JPDC 2009;
    Shoeybi et al. 2019 (arXiv:1909.08053).

    Examples
    --------
    >>> df = pl.DataFrame({"t": [256.0], "hidden_size": [8192], "tensor_parallel": [4],
    ...     "interconnect_gb_per_s": [900.0], "allreduce_latency_s": [1e-5],
    ...     "allreduce_bandwidth_efficiency": [0.8]})
    >>> round(df.select(allreduce_s("t")).item() * 1e6, 2)  # 1.5 × 4.19 MB / 360 GB/s + 10 µs
    27.48
    """
    bw = _f(interconnect_gb_per_s) / 2.0 * 1e9 * _f(allreduce_bandwidth_efficiency)
    return _allreduce_s(tokens, hidden_size, tensor_parallel, bw, allreduce_latency_s, n_allreduce, bytes_per_element)


def _allreduce_s(tokens, hidden_size, tensor_parallel, link_bytes_per_s, allreduce_latency_s, n_allreduce,
                 bytes_per_element) -> pl.Expr:
    """:func:`allreduce_s` from the link's bytes per second each way (``interconnect / 2 × 1e9 × efficiency``)."""
    per_token, fixed = _allreduce_terms(hidden_size, tensor_parallel, link_bytes_per_s, allreduce_latency_s,
                                        n_allreduce, bytes_per_element)
    return _f(tokens) * per_token + fixed


def _allreduce_terms(hidden_size, tensor_parallel, link_bytes_per_s, allreduce_latency_s, n_allreduce,
                     bytes_per_element) -> tuple[pl.Expr, pl.Expr]:
    """:func:`allreduce_s` as ``tokens × per_token + fixed``: the two terms that do not depend on the tokens [s].

    ``per_token = n × 2 (tp − 1)/tp × hidden × bytes / link``, ``fixed = n × latency``; both zero when ``tp = 1``.
    The estimator computes them once per row and reuses them for the decode step, the mixed step and the prefill
    chunks, which keeps its expressions shallow.
    """
    tp = _f(tensor_parallel)
    multi = tp > 1.0
    per_token = _f(n_allreduce) * (2.0 * (tp - 1.0) / tp * _f(hidden_size) * _f(bytes_per_element) / _f(link_bytes_per_s))
    return (pl.when(multi).then(per_token).otherwise(0.0),
            pl.when(multi).then(_f(n_allreduce) * _f(allreduce_latency_s)).otherwise(0.0))


def prefill_time_s(
    flops: pl.Expr | str,
    weight_bytes: pl.Expr | str,
    peak_tflops: pl.Expr | str = "peak_tflops",
    memory_bandwidth_gb_per_s: pl.Expr | str = "memory_bandwidth_gb_per_s",
    prefill_compute_efficiency: pl.Expr | str = "prefill_compute_efficiency",
    decode_bandwidth_efficiency: pl.Expr | str = "decode_bandwidth_efficiency",
    step_overhead_s: pl.Expr | str = "step_overhead_s",
) -> pl.Expr:
    """Time of one compute-bound forward pass on one device [s].

    Parameters
    ----------
    flops : expr [FLOP]
        FLOPs this device does (:func:`prefill_flops` / devices).
    weight_bytes : expr [byte]
        Bytes it must read at least once (its share of the weights).
    peak_tflops : expr [TFLOP/s]
        Dense tensor peak for the precision (:func:`peak_tflops`).

    Notes
    -----
    ``max(flops / (peak × 1e12 × prefill_compute_efficiency),
    weight_bytes / (bandwidth × 1e9 × decode_bandwidth_efficiency)) +
    step_overhead_s``.

    References
    ----------
    Williams et al., "Roofline", CACM 2009.

    Examples
    --------
    >>> df = pl.DataFrame({"f": [1.6e13], "w": [16.06e9], "peak_tflops": [989.4],
    ...     "memory_bandwidth_gb_per_s": [3350.0], "prefill_compute_efficiency": [0.6],
    ...     "decode_bandwidth_efficiency": [0.8], "step_overhead_s": [0.0]})
    >>> round(df.select(prefill_time_s("f", "w")).item(), 4)  # 1.6e13 / (989.4e12 × 0.6)
    0.027
    """
    return _prefill_time_s(flops, weight_bytes, _f(peak_tflops) * 1e12 * _f(prefill_compute_efficiency),
                           _f(memory_bandwidth_gb_per_s) * 1e9 * _f(decode_bandwidth_efficiency), step_overhead_s)


def _prefill_time_s(flops, weight_bytes, flops_per_s: pl.Expr, bytes_per_s: pl.Expr, step_overhead_s) -> pl.Expr:
    """:func:`prefill_time_s` from the attained rates ``peak × 1e12 × efficiency`` and ``bandwidth × 1e9 × efficiency``."""
    compute = _f(flops) / flops_per_s
    read = _f(weight_bytes) / bytes_per_s
    return pl.max_horizontal(compute, read) + _f(step_overhead_s)


def decode_step_s(
    bytes_read: pl.Expr | str,
    flops: pl.Expr | str,
    memory_bandwidth_gb_per_s: pl.Expr | str = "memory_bandwidth_gb_per_s",
    peak_tflops: pl.Expr | str = "peak_tflops",
    decode_bandwidth_efficiency: pl.Expr | str = "decode_bandwidth_efficiency",
    decode_compute_efficiency: pl.Expr | str = "decode_compute_efficiency",
    step_overhead_s: pl.Expr | str = "step_overhead_s",
    comm_s: pl.Expr | str | float = 0.0,
    kv_bytes: pl.Expr | str | float = 0.0,
    attention_flops: pl.Expr | str | float = 0.0,
) -> pl.Expr:
    """Time of one decode step on one device [s].

    Parameters
    ----------
    bytes_read : expr [byte]
        What the matmul kernels read: the weights the batch touches, this
        device's share (with ``kv_bytes`` left at 0: everything the step
        reads, weights and KV cache, as one roofline).
    flops : expr [FLOP]
        The matmul kernels' FLOPs, this device's share (``batch × 2 ×
        matmul params``; with ``attention_flops`` at 0: all of
        :func:`decode_flops`).
    comm_s : expr [s]
        Tensor-parallel all-reduce time of the step (:func:`allreduce_s`).
    kv_bytes : expr [byte]
        What the attention kernels read: the KV cache of every sequence.
    attention_flops : expr [FLOP]
        Their FLOPs (``batch × 4 × layers × q_dim × mean context``), restated
        at the matmuls' rate as the module notes say (× ``peak / min(peak,
        16-bit peak) × decode_compute_efficiency / attention_efficiency``).

    Notes
    -----
    ``max(bytes_read / R, flops / P) + max(kv_bytes / R, attention_flops / P)
    + step_overhead_s + comm_s`` with ``R = bandwidth × 1e9 ×
    decode_bandwidth_efficiency`` and ``P = peak × 1e12 ×
    decode_compute_efficiency``. The matmuls and the attention are separate
    kernels, each bound by its own roof: at a large batch the matmuls turn
    compute-bound while the attention still streams the KV cache, and the
    step takes both times, not the larger of the summed bytes and FLOPs. The
    overhead (kernel launches, scheduling, sampling) is what dominates
    batch-1 decode of small models on big GPUs.

    References
    ----------
    Pope et al. 2023 (arXiv:2211.05102), section 3; Williams, Waterman,
    Patterson 2009 (one roofline per kernel).

    Examples
    --------
    >>> df = pl.DataFrame({"b": [16.06e9 + 131072 * 1000], "f": [1.6e10],
    ...     "memory_bandwidth_gb_per_s": [3350.0], "peak_tflops": [989.4],
    ...     "decode_bandwidth_efficiency": [0.8], "decode_compute_efficiency": [0.5],
    ...     "step_overhead_s": [0.0005]})
    >>> round(df.select(decode_step_s("b", "f")).item() * 1000, 3)  # 16.19 GB / 2680 GB/s + 0.5 ms
    6.54

    Batch 256 of the same 8B model at 1,000 tokens of context: its 4.1 TFLOP of matmuls take 8.3 ms at
    494.7 TFLOP/s (compute-bound; the weights alone would take 6.0 ms), its 33.6 GB of KV cache 12.5 ms at
    2,680 GB/s (memory-bound); one roofline over the sums would say max(18.5, 8.3) = 18.5 ms:

    >>> df = pl.DataFrame({"w": [16.06e9], "f": [256 * 1.6e10], "kv": [256 * 131072 * 1000], "a": [0.0],
    ...     "memory_bandwidth_gb_per_s": [3350.0], "peak_tflops": [989.4],
    ...     "decode_bandwidth_efficiency": [0.8], "decode_compute_efficiency": [0.5], "step_overhead_s": [0.0]})
    >>> round(df.select(decode_step_s("w", "f", kv_bytes="kv", attention_flops="a")).item() * 1000, 2)
    20.8
    """
    return _decode_step_s(bytes_read, flops, kv_bytes, attention_flops,
                          _f(memory_bandwidth_gb_per_s) * 1e9 * _f(decode_bandwidth_efficiency),
                          _f(peak_tflops) * 1e12 * _f(decode_compute_efficiency), step_overhead_s, comm_s)


def _decode_step_s(weight_bytes, matmul_flops, kv_bytes, attention_flops, bytes_per_s: pl.Expr, flops_per_s: pl.Expr,
                   step_overhead_s, comm_s) -> pl.Expr:
    """:func:`decode_step_s` from the attained rates ``bandwidth × 1e9 × efficiency`` and ``peak × 1e12 × efficiency``."""
    matmuls = pl.max_horizontal(_f(weight_bytes) / bytes_per_s, _f(matmul_flops) / flops_per_s)
    attention = pl.max_horizontal(_f(kv_bytes) / bytes_per_s, _f(attention_flops) / flops_per_s)
    return matmuls + attention + _f(step_overhead_s) + _f(comm_s)


def roofline(
    arithmetic_intensity: pl.Expr | str = "flops_per_byte",
    peak_tflops: pl.Expr | str = "peak_tflops",
    memory_bandwidth_gb_per_s: pl.Expr | str = "memory_bandwidth_gb_per_s",
) -> pl.Expr:
    """Attainable throughput at an arithmetic intensity [TFLOP/s] (for the roofline chart).

    Notes
    -----
    ``min(peak_tflops, intensity × bandwidth / 1000)``; the ridge point is
    ``peak × 1000 / bandwidth`` FLOP/byte. Decode at batch ``B`` of a 16-bit
    dense model sits near ``B`` FLOP/byte.

    References
    ----------
    Williams, Waterman, Patterson, "Roofline", CACM 2009.

    Examples
    --------
    >>> df = pl.DataFrame({"flops_per_byte": [1.0, 100.0, 1000.0], "peak_tflops": [989.4] * 3,
    ...                    "memory_bandwidth_gb_per_s": [3350.0] * 3})
    >>> df.select(roofline())["attainable_tflops"].to_list()
    [3.35, 335.0, 989.4]
    """
    return pl.min_horizontal(
        _f(peak_tflops), _f(arithmetic_intensity) * _f(memory_bandwidth_gb_per_s) / 1000.0
    ).alias("attainable_tflops")


@by_frames
def peak_tflops(hardware: pl.DataFrame, precisions: pl.DataFrame) -> pl.DataFrame:
    """Dense tensor peak of every (hardware, precision) pair [TFLOP/s].

    The precision's ``native_peak_column`` of the hardware row where it is not
    null, else its ``fallback_peak_column`` (the dtype weights are dequantized
    to, e.g. W4A16 kernels on a chip without FP4), else ``fp32_tflops``.

    Returns
    -------
    polars.DataFrame
        ``hardware``, ``precision``, ``peak_tflops``, ``native`` (bool).

    The table is kept per identity of the two frames (:mod:`infer_econ._memo`): the same frames give the
    same (shared, not to be changed in place) frame back.

    Examples
    --------
    >>> from infer_econ import catalog
    >>> t = peak_tflops(catalog.load("hardware"), catalog.load("precisions"))
    >>> t.filter(hardware="a100-sxm-80gb", precision="fp8").select("peak_tflops", "native").row(0)
    (312.0, False)
    """
    hw = hardware.select("id", *_PEAK_COLUMNS).rename({"id": "hardware"})
    pr = precisions.select(pl.col("id").alias("precision"), "native_peak_column", "fallback_peak_column")
    pairs = hw.join(pr, how="cross")

    def pick(col: str) -> pl.Expr:
        expr = pl.lit(None, pl.Float64)
        for c in _PEAK_COLUMNS:
            expr = pl.when(pl.col(col) == c).then(pl.col(c)).otherwise(expr)
        return expr

    return pairs.select(
        "hardware",
        "precision",
        pl.coalesce(pick("native_peak_column"), pick("fallback_peak_column"), pl.col("fp32_tflops")).alias(
            "peak_tflops"
        ),
        pick("native_peak_column").is_not_null().alias("native"),
    )


# --------------------------------------------------------------------------------------------
# catalog tables (small; derived once per set of catalog frames)

_CACHE: dict[tuple, tuple[tuple, dict]] = {}


def _catalogs(models, hardware, precisions, engines, efficiency) -> tuple[pl.DataFrame, ...]:
    from . import catalog

    return (
        models if models is not None else catalog.load("models"),
        hardware if hardware is not None else catalog.load("hardware"),
        precisions if precisions is not None else catalog.load("precisions"),
        engines if engines is not None else catalog.load("engines"),
        efficiency if efficiency is not None else catalog.load("efficiency"),
    )


def _need(frame: pl.DataFrame, what: str, columns: list[str]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError(f"{what}: expected a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{what} frame lacks column(s) {missing}")


def resolve_efficiency(efficiency: pl.DataFrame, engines: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """Efficiency parameters for every (engine, hardware) pair, with wildcard fallbacks.

    Each parameter comes from the most specific row of ``efficiency`` that
    exists: ``(engine, family)``, then ``(engine, category:<category>)``, then
    ``(engine, *)``, then ``(*, family)``, then ``(*, category:<category>)``,
    then ``(*, *)``, where ``family`` and ``category`` are the hardware row's
    ``family`` and ``category`` columns (``category:cpu`` in the
    ``hardware_family`` column of ``efficiency`` is a row for every chip whose
    category is ``cpu``). A chip a user adds thus gets its family's figures,
    else its category's (a new CPU gets what was measured on other CPUs, not
    what GPUs reach), else the engine's.

    The compute efficiencies (:data:`COMPUTE_PARAMETERS`) of an ``(engine,
    *)`` or ``(engine, category:…)`` row that names a ``peak_column`` are
    shares of that peak (e.g. llama.cpp's int8 MMQ path on NVIDIA): on a chip
    whose spec row has no value in that column the kernels run on the
    precision's own peak, so those three come from the wildcard-engine rows
    instead, which are shares of the native peak.

    Returns
    -------
    polars.DataFrame
        ``engine``, ``hardware``, the :data:`EFFICIENCY_PARAMETERS`,
        ``efficiency_id`` (the row the prefill efficiency came from) and
        ``efficiency_row_id`` (the most specific row there is for the pair; it
        differs from ``efficiency_id`` only where the compute shares skipped an
        engine-wide row for want of its ``peak_column``).

    Examples
    --------
    >>> eff = pl.DataFrame({"id": ["a", "b", "c"], "engine": ["*", "vllm", "*"],
    ...     "hardware_family": ["*", "*", "category:cpu"],
    ...     **{p: [0.5, 0.7, 0.1] for p in EFFICIENCY_PARAMETERS}})
    >>> eng = pl.DataFrame({"id": ["vllm", "sglang"]})
    >>> hw = pl.DataFrame({"id": ["h100-sxm", "xeon-6980p"], "family": ["hopper", "xeon"],
    ...     "category": ["datacenter", "cpu"]})
    >>> r = resolve_efficiency(eff, eng, hw).sort("engine", "hardware")
    >>> r.select("engine", "hardware", "prefill_compute_efficiency", "efficiency_id").rows()
    [('sglang', 'h100-sxm', 0.5, 'a'), ('sglang', 'xeon-6980p', 0.1, 'c'), ('vllm', 'h100-sxm', 0.7, 'b'), ('vllm', 'xeon-6980p', 0.7, 'b')]
    """
    _need(efficiency, "efficiency", ["id", "engine", "hardware_family", *EFFICIENCY_PARAMETERS])
    efficiency = efficiency.with_columns(
        pl.lit(None, pl.String).alias(c) for c in EFFICIENCY_SETTINGS if c not in efficiency.columns
    )
    category_prefix = "category:"  # a row keyed on a hardware category instead of a family
    category = pl.col("category").cast(pl.String) if "category" in hardware.columns else pl.lit(None, pl.String)
    pairs = engines.select(pl.col("id").alias("engine")).join(
        hardware.select(pl.col("id").alias("hardware"), pl.col("family"),
                        (category_prefix + category).alias("_category")),
        how="cross",
    )
    eff = efficiency.select(
        pl.col("engine").alias("_ek"),
        pl.col("hardware_family").alias("_fk"),
        pl.col("id").alias("efficiency_id"),
        *(pl.col(p).cast(pl.Float64) for p in EFFICIENCY_PARAMETERS),
        *(pl.col(c).cast(pl.String) for c in EFFICIENCY_SETTINGS),
    ).unique(subset=["_ek", "_fk"], keep="last", maintain_order=True)
    levels = [
        (pl.col("engine"), pl.col("family")),
        (pl.col("engine"), pl.col("_category")),
        (pl.col("engine"), pl.lit("*")),
        (pl.lit("*"), pl.col("family")),
        (pl.lit("*"), pl.col("_category")),
        (pl.lit("*"), pl.lit("*")),
    ]
    engine_wide = [1, 2]  # levels whose compute shares are of the row's peak_column
    out = pairs
    cols = ["efficiency_id", *EFFICIENCY_PARAMETERS, *EFFICIENCY_SETTINGS]
    for i, (ek, fk) in enumerate(levels):
        lvl = eff.rename({c: f"{c}_{i}" for c in cols})
        out = out.with_columns(ek.alias("_ek"), fk.alias("_fk")).join(
            lvl, on=["_ek", "_fk"], how="left", maintain_order="left"
        )
    # an engine-wide row's compute efficiencies are shares of its peak_column: where the chip has no such
    # peak, skip them (the wildcard-engine rows are shares of the native peak the kernels then run on)
    has_peak = [c for c in _PEAK_COLUMNS if c in hardware.columns]
    if has_peak:
        peaks = hardware.select(pl.col("id").alias("hardware"), *(pl.col(c).alias(f"_pk_{c}") for c in has_peak))
        out = out.join(peaks, on="hardware", how="left", maintain_order="left")
        for i in engine_wide:
            named = pl.lit(None, pl.Float64)
            for c in has_peak:
                named = pl.when(pl.col(f"peak_column_{i}") == c).then(pl.col(f"_pk_{c}")).otherwise(named)
            foreign = pl.col(f"peak_column_{i}").is_not_null() & named.is_null()
            out = out.with_columns(
                pl.when(foreign).then(None).otherwise(pl.col(f"{p}_{i}")).alias(f"{p}_{i}")
                for p in COMPUTE_PARAMETERS
            )

    def pick(c: str) -> pl.Expr:
        if c == "efficiency_id":  # the row the prefill efficiency came from
            c0 = "prefill_compute_efficiency"
            return pl.coalesce(*(pl.when(pl.col(f"{c0}_{i}").is_not_null()).then(pl.col(f"{c}_{i}"))
                                 for i in range(len(levels)))).alias(c)
        return pl.coalesce(*(pl.col(f"{c}_{i}") for i in range(len(levels)))).alias(c)

    # the most specific row there is for the pair (the one its bandwidth share and settings come from)
    row_id = pl.coalesce(*(pl.col(f"efficiency_id_{i}") for i in range(len(levels)))).alias("efficiency_row_id")
    return out.select("engine", "hardware", *(pick(c) for c in cols), row_id)


#: what each fallback level of :func:`resolve_efficiency` means, by (engine key, hardware key) of the row used
_BASIS = {
    ("engine", "family"): "the row fitted on this engine and hardware family",
    ("engine", "category"): "the engine's row for this hardware category (no row for this family)",
    ("engine", "*"): "the engine's row for every hardware family (no row for this family)",
    ("*", "family"): "the row for this hardware family shared by all engines (no row for this engine)",
    ("*", "category"): "the row for this hardware category shared by all engines (no row for this engine or family)",
    ("*", "*"): "the default row (no row for this engine or hardware family)",
}


#: the columns :func:`efficiency_basis` adds
_BASIS_COLUMNS = ("efficiency_id", "efficiency_fitted", "efficiency_basis")


def efficiency_basis(
    scenarios: pl.DataFrame,
    *,
    efficiency: pl.DataFrame | None = None,
    hardware: pl.DataFrame | None = None,
    engines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Which efficiency row each scenario's estimate uses, and whether it was fitted on that engine and chip.

    :func:`estimate` takes its efficiency parameters from the most specific row of
    ``efficiency`` that exists (:func:`resolve_efficiency`); an engine never measured on a
    hardware family gets the figures of other families or other engines, whose errors there
    are those of the leave-one-hardware-family-out check (``docs/validation.md``), not those of
    the fit. This says which case a scenario is in, so a caller can show it beside the numbers.

    Parameters
    ----------
    scenarios : polars.DataFrame
        Needs ``engine`` and ``hardware`` (catalog ids); other columns pass through.
    efficiency, hardware, engines : polars.DataFrame, optional
        Frames replacing the shipped catalogs (as for :func:`estimate`).

    Returns
    -------
    polars.DataFrame
        ``scenarios`` plus ``efficiency_id`` (the most specific row for the pair:
        :func:`resolve_efficiency`'s ``efficiency_row_id``), ``efficiency_fitted`` (bool: that row
        is the engine's own row for the chip's family) and ``efficiency_basis`` (a sentence: what
        the row stands for, and the row the compute shares came from where it is another).
        Columns of these names already in ``scenarios`` are replaced.

    Raises
    ------
    UnknownIdError
        An ``engine`` or ``hardware`` id not in the catalogs (the message lists the valid ids).

    Notes
    -----
    Levels, most specific first: ``(engine, family)``, ``(engine, category:…)``, ``(engine, *)``,
    ``(*, family)``, ``(*, category:…)``, ``(*, *)``. Only the first is ``efficiency_fitted``.

    References
    ----------
    ``data/efficiency.csv`` (``n_measurements`` and ``median_abs_pct_error`` of each row);
    ``docs/validation.md``, leave-one-hardware-family-out cross-validation.

    Examples
    --------
    >>> s = pl.DataFrame({"engine": ["tensorrt-llm", "sglang"], "hardware": ["h100-sxm", "xeon-6980p"]})
    >>> efficiency_basis(s).select("efficiency_id", "efficiency_fitted").rows()
    [('tensorrt-llm/hopper', True), ('*/category:cpu', False)]
    """
    from . import catalog

    _need(scenarios, "scenarios", ["engine", "hardware"])
    eff = efficiency if efficiency is not None else catalog.load("efficiency")
    _need(eff, "efficiency", ["id", "engine", "hardware_family", *EFFICIENCY_PARAMETERS])
    hw = hardware if hardware is not None else catalog.load("hardware")
    eng = engines if engines is not None else catalog.load("engines")
    _unknown(scenarios["engine"].cast(pl.String), "engine", eng["id"].to_list(), "engine")
    _unknown(scenarios["hardware"].cast(pl.String), "hardware", hw["id"].to_list(), "hardware")
    used = _basis_table(eff, eng, hw)
    # looked up by "engine<US>hardware" (unit separator): no join, so no key column can clash with the caller's
    pair = lambda e, h: pl.concat_str([e.cast(pl.String), h.cast(pl.String)], separator="\x1f")  # noqa: E731
    keys = used.select(pair(pl.col("engine"), pl.col("hardware"))).to_series()
    looked_up = pair(pl.col("engine"), pl.col("hardware"))
    return scenarios.drop([c for c in _BASIS_COLUMNS if c in scenarios.columns]).with_columns(
        looked_up.replace_strict(keys, used[c], default=None, return_dtype=used.schema[c]).alias(c)
        for c in _BASIS_COLUMNS
    )


@by_frames
def _basis_table(eff: pl.DataFrame, eng: pl.DataFrame, hw: pl.DataFrame) -> pl.DataFrame:
    """:func:`efficiency_basis` of every (engine, hardware) pair of the catalogs."""
    keys = eff.select(
        pl.col("id").cast(pl.String).alias("efficiency_id"),
        pl.col("engine").cast(pl.String).alias("_ek"),
        pl.col("hardware_family").cast(pl.String).alias("_fk"),
    ).unique(subset=["efficiency_id"], keep="last", maintain_order=True)
    used = (
        resolve_efficiency(eff, eng, hw)
        .select(pl.col("engine").cast(pl.String), pl.col("hardware").cast(pl.String),
                pl.col("efficiency_id").alias("_compute_id"), pl.col("efficiency_row_id").alias("efficiency_id"))
        .join(keys, on="efficiency_id", how="left")
    )
    engine_key = pl.when(pl.col("_ek") == "*").then(pl.lit("*")).otherwise(pl.lit("engine"))
    hw_key = (
        pl.when(pl.col("_fk") == "*").then(pl.lit("*"))
        .when(pl.col("_fk").str.starts_with("category:")).then(pl.lit("category"))
        .otherwise(pl.lit("family"))
    )
    basis = pl.lit(None, pl.String)
    for (ek, fk), text in _BASIS.items():
        basis = pl.when((engine_key == ek) & (hw_key == fk)).then(pl.lit(text)).otherwise(basis)
    basis = pl.when(pl.col("_compute_id") != pl.col("efficiency_id")).then(pl.concat_str(
        basis, pl.lit("; its compute shares from row "), pl.col("_compute_id"),
        pl.lit(" (the chip has no figure for the peak the engine's shares are of)"))).otherwise(basis)
    used = used.select(
        "engine", "hardware", "efficiency_id",
        ((engine_key == "engine") & (hw_key == "family")).alias("efficiency_fitted"),
        basis.alias("efficiency_basis"),
    )
    return used


def _pick_peak(column_of_names: str) -> pl.Expr:
    """The hardware peak named by a string column (null where the name or the value is null)."""
    expr = pl.lit(None, pl.Float64)
    for c in _PEAK_COLUMNS:
        expr = pl.when(pl.col(column_of_names) == c).then(pl.col(f"_hw_{c}")).otherwise(expr)
    return expr


def _build_tables(models, hardware, precisions, engines, efficiency) -> dict:
    _need(models, "models", ["id", "task", "total_params_b", "active_params_b", "embedding_params_b", "n_layers",
                             "hidden_size", "n_heads", "n_kv_heads", "head_dim", "intermediate_size",
                             "max_context_tokens", "sliding_window_tokens", "sliding_window_layer_fraction",
                             "kv_latent_dim", "n_experts", "experts_per_token", "n_shared_experts",
                             "gflops_per_item"])
    _need(hardware, "hardware", ["id", "vendor", "category", "family", "memory_gb", "memory_bandwidth_gb_per_s",
                                 "interconnect_gb_per_s", *_PEAK_COLUMNS])
    _need(precisions, "precisions", ["id", "bits_per_weight", "native_peak_column", "fallback_peak_column",
                                     "default_kv_precision", "kv_bytes_per_element"])
    _need(engines, "engines", ["id", "precisions", "hardware_vendors", "max_batch_size", "memory_utilization",
                               "overhead_gb", "tensor_parallel", "continuous_batching"])
    f = pl.Float64
    llm = pl.col("task") == "text-generation"
    shape = ["n_layers", "hidden_size", "n_heads", "n_kv_heads", "head_dim", "intermediate_size"]
    mt = models.select(
        pl.col("id").alias("_m_id"),
        llm.alias("_m_llm"),
        (~llm | pl.all_horizontal(pl.col(c).is_not_null() for c in shape)).alias("_m_complete"),
        pl.col("total_params_b").cast(f).alias("_m_total"),
        pl.col("active_params_b").cast(f).alias("_m_active"),
        (pl.col("active_params_b") - pl.col("embedding_params_b").fill_null(0.0)).cast(f).alias("_m_matmul"),
        pl.col("n_experts").cast(f).alias("_m_e"),
        pl.col("experts_per_token").cast(f).alias("_m_k"),
        (1.0 - pl.col("experts_per_token").cast(f) / pl.col("n_experts").cast(f)).log().alias("_m_lnq"),
        pl.col("n_layers").cast(f).alias("_m_layers"),
        pl.col("hidden_size").cast(f).alias("_m_hidden"),
        (pl.col("n_heads") * pl.col("head_dim")).cast(f).alias("_m_qdim"),
        pl.col("n_kv_heads").cast(f).alias("_m_kvh"),
        pl.col("head_dim").cast(f).alias("_m_hd"),
        pl.col("kv_latent_dim").cast(f).alias("_m_latent"),
        pl.col("sliding_window_tokens").cast(f).alias("_m_win"),
        pl.col("sliding_window_layer_fraction").cast(f).alias("_m_frac"),
        pl.col("max_context_tokens").cast(f).alias("_m_maxctx"),
        (
            pl.col("intermediate_size")
            * pl.when(pl.col("n_experts").is_not_null())
            .then(pl.col("experts_per_token").fill_null(1) + pl.col("n_shared_experts").fill_null(0))
            .otherwise(1)
        ).cast(f).alias("_m_ffn"),
        pl.col("gflops_per_item").cast(f).alias("_m_gflops"),
    )
    peaks = peak_tflops(hardware, precisions)
    kv_default = precisions.select(
        pl.col("id").alias("precision"), pl.col("default_kv_precision").alias("_kvd")
    ).join(
        precisions.select(pl.col("id").alias("_kvd"), pl.col("kv_bytes_per_element").cast(f).alias("_c_kvb_default")),
        on="_kvd",
        how="left",
    )
    # an engine's own default KV precision for some weight precisions (engines.kv_precision_defaults, "fp8=fp8":
    # TensorRT-LLM's FP8 checkpoints carry an FP8 KV cache) before the precision's default_kv_precision
    from .catalog import _id_pairs

    kv_engine = pl.DataFrame(schema={"engine": pl.String, "precision": pl.String, "_kvd_e": pl.String})
    if "kv_precision_defaults" in engines.columns:
        pairs, bad = _id_pairs(engines.select(pl.col("id").alias("engine"), "kv_precision_defaults"), "engine",
                              "kv_precision_defaults")
        if bad.height:
            raise ValidationError(f"engines: kv_precision_defaults of {bad['engine'][0]!r}: {bad['item'][0]!r} "
                                  "is not a weights=kv pair of precision ids (e.g. fp8=fp8)")
        kv_engine = pairs.select("engine", pl.col("a").alias("precision"), pl.col("b").alias("_kvd_e"))
    unknown = sorted(set(kv_engine["precision"].to_list() + kv_engine["_kvd_e"].to_list()) - set(precisions["id"].to_list()))
    if unknown:
        raise UnknownIdError("precision (engines.kv_precision_defaults)", unknown, precisions["id"].to_list())
    kv_engine = kv_engine.unique(["engine", "precision"], keep="last", maintain_order=True).join(
        precisions.select(pl.col("id").alias("_kvd_e"), pl.col("kv_bytes_per_element").cast(f).alias("_c_kvb_engine")),
        on="_kvd_e", how="left").select("engine", "precision", "_c_kvb_engine")
    eff = resolve_efficiency(efficiency, engines, hardware)
    eng = engines.select(
        pl.col("id").alias("engine"),
        pl.col("precisions").str.split(";").list.eval(pl.element().str.strip_chars()).alias("_eprec"),
        pl.col("hardware_vendors").str.split(";").list.eval(pl.element().str.strip_chars()).alias("_evend"),
        pl.col("max_batch_size").cast(f).alias("_c_cap"),
        pl.col("memory_utilization").cast(f).alias("_c_util"),
        pl.col("overhead_gb").cast(f).alias("_c_ovh"),
        pl.col("tensor_parallel").alias("_c_tp_ok"),
        pl.col("continuous_batching").alias("_c_cb"),
    )
    hw = hardware.select(
        pl.col("id").alias("hardware"),
        "vendor",
        "category",
        pl.col("memory_gb").cast(f).alias("_c_mem"),
        pl.col("memory_bandwidth_gb_per_s").cast(f).alias("_c_bw"),
        pl.col("interconnect_gb_per_s").cast(f).alias("_c_ic"),
        *(pl.col(c).cast(f).alias(f"_hw_{c}") for c in _PEAK_COLUMNS),
    )
    pr = precisions.select(pl.col("id").alias("precision"), pl.col("bits_per_weight").cast(f).alias("_c_bpw"))
    combo = (
        hw.join(pr, how="cross")
        .join(eng, how="cross")
        .join(peaks, on=["hardware", "precision"], how="left")
        .join(kv_default.select("precision", "_c_kvb_default"), on="precision", how="left")
        .join(kv_engine, on=["engine", "precision"], how="left")
        .with_columns(pl.coalesce("_c_kvb_engine", "_c_kvb_default").alias("_c_kvb_default"))
        .join(eff, on=["engine", "hardware"], how="left")
        .select(
            "hardware",
            "precision",
            "engine",
            (
                pl.col("_eprec").list.contains(pl.col("precision"))
                & (
                    pl.col("_evend").list.contains(pl.col("vendor"))
                    | ((pl.col("category") == "cpu") & pl.col("_evend").list.contains("cpu"))
                )
            ).alias("_c_ok"),
            "_c_mem", "_c_bw", "_c_ic", "_c_bpw", "_c_kvb_default", "_c_cap", "_c_util", "_c_ovh",
            "_c_tp_ok", "_c_cb",
            pl.coalesce(_pick_peak("peak_column"), pl.col("peak_tflops")).alias("_c_peak"),
            pl.coalesce(pl.col("_hw_bf16_tflops"), pl.col("_hw_fp16_tflops"), pl.col("_hw_fp32_tflops")).alias(
                "_c_peak16"
            ),
            pl.col("prefill_compute_efficiency").alias("_c_eff_pf"),
            pl.col("decode_bandwidth_efficiency").alias("_c_eff_bw"),
            pl.col("decode_compute_efficiency").alias("_c_eff_dc"),
            pl.col("step_overhead_s").alias("_c_step"),
            pl.col("attention_efficiency").alias("_c_attn_eff"),
            pl.col("step_overhead_per_sequence_s").alias("_c_step_seq"),
            pl.col("allreduce_latency_s").alias("_c_arlat"),
            pl.col("allreduce_bandwidth_efficiency").alias("_c_areff"),
            pl.col("workspace_tokens").alias("_c_wst"),
            pl.col("prefill_chunk_tokens").alias("_c_chunk"),
            (pl.col("kv_memory_basis").fill_null("total") == "free_after_weights").alias("_c_kvfree"),
        )
    )
    # attention runs on the 16-bit tensor path (FlashAttention) even when the weights' matmuls run in
    # fp8/fp4: weight its FLOPs by peak / min(peak, 16-bit peak), i.e. count them at the matmul peak
    combo = combo.with_columns(
        (pl.col("_c_peak") / pl.min_horizontal(pl.col("_c_peak"), pl.col("_c_peak16"))).fill_null(1.0).alias(
            "_c_attn_w"
        )
    ).drop("_c_peak16")
    missing_eff = combo.filter(pl.col("_c_eff_pf").is_null())
    if missing_eff.height:
        raise ValidationError(
            "efficiency frame has no row for engine/family pairs such as "
            f"{missing_eff.select('engine', 'hardware').row(0)}; add an ('*', '*') row as a fallback"
        )
    kv = precisions.select(pl.col("id").alias("kv_precision"), pl.col("kv_bytes_per_element").cast(f).alias("_k_kvb"))
    enums = {
        "model": pl.Enum(models["id"].unique(maintain_order=True).to_list()),
        "hardware": pl.Enum(hardware["id"].unique(maintain_order=True).to_list()),
        "precision": pl.Enum(precisions["id"].unique(maintain_order=True).to_list()),
        "engine": pl.Enum(engines["id"].unique(maintain_order=True).to_list()),
    }
    # row i of the combo table is (hardware code, precision code, engine code) in mixed radix
    n_p, n_e = len(enums["precision"].categories), len(enums["engine"].categories)
    combo = (
        combo.with_columns(
            (
                pl.col("hardware").cast(enums["hardware"]).to_physical().cast(pl.UInt32) * (n_p * n_e)
                + pl.col("precision").cast(enums["precision"]).to_physical().cast(pl.UInt32) * n_e
                + pl.col("engine").cast(enums["engine"]).to_physical().cast(pl.UInt32)
            ).alias("_idx")
        )
        .sort("_idx")
        .drop("_idx")
    )
    mt = mt.with_columns(pl.col("_m_id").cast(enums["model"]).to_physical().alias("_idx")).sort("_idx").drop("_idx")
    kv = kv.with_columns(pl.col("kv_precision").cast(enums["precision"]).to_physical().alias("_idx")).sort(
        "_idx"
    ).drop("_idx")
    return {
        "enums": enums,
        "incomplete_models": mt.filter(~pl.col("_m_complete"))["_m_id"].cast(pl.String).to_list(),
        "models": mt,
        "combo": combo,
        "kv": kv,
        "ids": {
            "model": models["id"].to_list(),
            "hardware": hardware["id"].to_list(),
            "precision": precisions["id"].to_list(),
            "engine": engines["id"].to_list(),
            "kv_precision": precisions["id"].to_list(),
        },
    }


def _tables(models=None, hardware=None, precisions=None, engines=None, efficiency=None) -> dict:
    frames = _catalogs(models, hardware, precisions, engines, efficiency)
    key = tuple(id(x) for x in frames)
    hit = _CACHE.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], frames)):
        return hit[1]
    from . import catalog

    given = {"models": models, "hardware": hardware, "precisions": precisions, "engines": engines,
             "efficiency": None if efficiency is None else efficiency.select(
                 c for c in ["id", *EFFICIENCY_PARAMETERS] if c in efficiency.columns)}
    for name, frame in given.items():
        if frame is not None:  # a caller's own frame: the column dictionary's ranges hold for it too
            catalog.check_values(name, frame, where=f"{name}= frame")
    tables = _build_tables(*frames)
    if len(_CACHE) >= 16:
        _CACHE.clear()
    _CACHE[key] = (frames, tables)  # holding the frames keeps their ids from being reused
    return tables


# --------------------------------------------------------------------------------------------
# validation

_ID_COLUMNS = ["model", "hardware", "precision", "engine"]
#: numeric scenario columns: (required, allow zero)
_NUMERIC = {
    "n_devices": (True, False),
    "input_tokens": (True, False),
    "output_tokens": (True, False),
    "batch_size": (False, False),
    "context_depth": (False, True),
    "tensor_parallel": (False, False),
    "pipeline_parallel": (False, False),
}


def _numeric_checks(schema: pl.Schema) -> list[tuple[str, pl.Expr]]:
    return [(c, _bad_numbers(pl.col(c), schema[c], *_NUMERIC[c])) for c in _numeric_columns(schema)]


def _numeric_columns(schema: pl.Schema) -> list[str]:
    """The numeric scenario columns present, after checking their dtypes (an all-null required column fails)."""
    out = []
    for c, (required, _) in _NUMERIC.items():
        if c not in schema:
            continue
        dt = schema[c]
        if dt == pl.Null:
            if required:
                raise ValidationError(f"column {c!r} is all null; it needs positive integers")
            continue
        if not dt.is_numeric():
            raise ValidationError(f"column {c!r} must be numeric (integers), got dtype {dt}")
        out.append(c)
    return out


def _any_bad_numbers(x: pl.Series, required: bool, zero_ok: bool) -> bool:
    """Whether :func:`_bad_numbers` flags a value of ``x``, with the Series' own operations (no query)."""
    if x.dtype.is_float():
        return bool(_bad_numbers(x, x.dtype, required, zero_ok).any())
    return bool(((x < 0) if zero_ok else (x <= 0)).any()) or (required and x.null_count() > 0)


def _bad_numbers(x, dt: pl.DataType, required: bool, zero_ok: bool):
    """Which values of a numeric scenario column are invalid; ``x`` is a column expression or a Series."""
    bad = (x < 0) if zero_ok else (x <= 0)
    if dt.is_float():
        bad = bad | x.is_nan() | x.is_infinite() | (x != x.floor()) | (x.abs() >= 2.0**63)  # not an int64
    if required:
        bad = bad | x.is_null()
    return bad.fill_null(False)


def _raise_numeric(frame: pl.DataFrame, column: str, bad: pl.Expr) -> None:
    required, zero_ok = _NUMERIC[column]
    rows = frame.with_row_index("_row").filter(bad)
    i, v = rows["_row"][0], rows[column][0]
    what = "non-negative integers" if zero_ok else "positive integers"
    what += "" if required else " or null"
    raise ValidationError(f"column {column!r}: row {i} has {v!r}; expected {what}")


def _check_columns(schema: pl.Schema) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in schema]
    if missing:
        raise ValidationError(
            f"scenario frame lacks required column(s) {missing}; required: {REQUIRED_COLUMNS}, "
            f"optional: {list(OPTIONAL_COLUMNS)}"
        )
    for c in [*_ID_COLUMNS, "kv_precision"]:
        if c in schema and schema[c] not in (pl.String, pl.Categorical, pl.Null) and not isinstance(
            schema[c], pl.Enum
        ):
            raise ValidationError(f"column {c!r} must hold catalog ids (strings), got dtype {schema[c]}")
    if "continuous_batching" in schema and schema["continuous_batching"] not in (pl.Boolean, pl.Null):
        raise ValidationError("column 'continuous_batching' must be boolean (true: sequences join and leave the "
                              "running batch at every step; false: static batches, prefilled together and decoded "
                              f"to the end; null: the engine's default), got dtype {schema['continuous_batching']}")
    if "flash_attention" in schema and schema["flash_attention"] not in (pl.Boolean, pl.Null):
        raise ValidationError("column 'flash_attention' must be boolean (true: fused attention kernels; false: the "
                              "score matrix is written to and read from memory, as llama.cpp without -fa; null: "
                              f"true), got dtype {schema['flash_attention']}")
    if "grouped_kv_attention" in schema and schema["grouped_kv_attention"] not in (pl.Boolean, pl.Null):
        raise ValidationError("column 'grouped_kv_attention' must be boolean (true: the decode kernel reads each KV "
                              "head once for all the query heads sharing it; false: once per query head, as "
                              f"TensorRT-LLM before XQA; null: true), got dtype {schema['grouped_kv_attention']}")


def _unknown(values: pl.Series, kind: str, valid: list[str], catalog_name: str) -> None:
    bad = set(values.drop_nulls().unique().to_list()) - set(valid)
    if values.null_count():
        bad.add("null")
    if bad:
        raise UnknownIdError(catalog_name if kind != "kv_precision" else "kv_precision", bad, valid)


def _divisible_check() -> pl.Expr:
    return pl.col("n_devices") % (pl.col("tensor_parallel").fill_null(1) * pl.col("pipeline_parallel").fill_null(1))


# --------------------------------------------------------------------------------------------
# the estimator


def _with_defaults(lf: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    add = [e for name, e in _DEFAULT_COLUMNS() if name not in schema]
    return lf.with_columns(add) if add else lf


@functools.lru_cache(maxsize=1)
def _DEFAULT_COLUMNS() -> tuple[tuple[str, pl.Expr], ...]:  # noqa: N802  (built once: a literal costs ~40 µs)
    """The optional scenario columns a frame may lack, with their defaults (null, depth 0, all-TP layout)."""
    return (
        ("batch_size", pl.lit(None, pl.Int64).alias("batch_size")),
        ("context_depth", pl.lit(0, pl.Int64).alias("context_depth")),
        ("kv_precision", pl.lit(None, pl.String).alias("kv_precision")),
        ("tensor_parallel", pl.lit(None, pl.Int64).alias("tensor_parallel")),
        ("pipeline_parallel", pl.lit(None, pl.Int64).alias("pipeline_parallel")),
    )


def _join(lf: pl.LazyFrame, t: dict) -> pl.LazyFrame:
    """Attach the catalog columns: ids → Enum codes → gathers from the small tables (order kept)."""
    if "_join_exprs" not in t:
        t["_join_exprs"] = _join_exprs(t)
    codes, gathers = t["_join_exprs"]
    return lf.with_columns(codes).with_columns(gathers)


def _small_plan(lf: pl.LazyFrame, t: dict, input_columns: tuple[str, ...]) -> pl.LazyFrame:
    """:func:`_core` of :func:`_join` for a small frame, planned cheaply: same expressions, same values.

    Polars' planning, not the arithmetic, is the cost of a few rows, so the plan gathers the catalog terms of
    :func:`_catalog_terms` already computed on the catalog tables, and only the catalog columns the formulas read.
    """
    cache = t.setdefault("_small", {})
    if input_columns not in cache:
        if "_join_exprs_derived" not in t:
            t["_join_exprs_derived"] = _join_exprs(t, derived=True)
        codes, gathers = t["_join_exprs_derived"]
        stages, final = _core_exprs(input_columns, False)
        stages, need = _prune(stages, [o for o in final if not isinstance(o, str)])
        gathers = [g for g in gathers if g.meta.output_name() in need]
        codes = [e for e in codes if e.meta.output_name() in _roots(gathers)]
        cache[input_columns] = (codes, gathers, stages, final)
    codes, gathers, stages, final = cache[input_columns]
    lf = lf.with_columns(codes).with_columns(gathers)
    for stage in stages:
        lf = lf.with_columns(stage)
    return lf.select(final)


def _code(t: dict, col: str, kind: str) -> pl.Expr:
    """The catalog row number of each id of ``col`` (its code in the catalog's Enum) [UInt32].

    Strings, Categoricals and other Enums are looked up by value (an id not in the catalog fails the cast);
    ids already in the catalog's own Enum keep their codes without a lookup.
    """
    return pl.col(col).cast(t["enums"][kind]).to_physical().cast(pl.UInt32)


def _derived_tables(t: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The models and (chip, precision, engine) tables with the :func:`_catalog_terms` columns (built once)."""
    if "_derived" not in t:
        model, combo = _catalog_terms()
        t["_derived"] = (t["models"].with_columns(model), t["combo"].with_columns(combo))
    return t["_derived"]


def _join_exprs(t: dict, derived: bool = False) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Enum-code expressions and gathers of the catalog columns (``derived``: and of :func:`_catalog_terms`)."""
    en = t["enums"]
    code = functools.partial(_code, t)
    n_p, n_e = len(en["precision"].categories), len(en["engine"].categories)
    codes = [
        code("model", "model").alias("_im"),
        (code("hardware", "hardware") * (n_p * n_e) + code("precision", "precision") * n_e + code("engine", "engine"))
        .alias("_ic"),
        code("kv_precision", "precision").alias("_ik"),
    ]
    m, cb, kv = (*_derived_tables(t), t["kv"]) if derived else (t["models"], t["combo"], t["kv"])
    return codes, [
        *(pl.lit(m[x]).gather(pl.col("_im")).alias(x) for x in m.columns if x != "_m_id"),
        *(pl.lit(cb[x]).gather(pl.col("_ic")).alias(x) for x in cb.columns if x not in ("hardware", "precision", "engine")),
        pl.lit(kv["_k_kvb"]).gather(pl.col("_ik")).alias("_k_kvb"),
    ]


#: the scenario columns the estimator reads (the others pass through)
_ESTIMATOR_INPUTS = frozenset([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
#: eager frames with at most this many rows are checked with Series operations rather than a query
_SERIES_CHECK_ROWS = 1000
#: frames with at least this many rows take the two-phase path (:func:`_two_phase`)
_SPLIT_ROWS = 20_000


def _names(exprs) -> set[str]:
    return {e if isinstance(e, str) else e.meta.output_name() for e in exprs}


def _roots(exprs) -> set[str]:
    out: set[str] = set()
    for e in exprs:
        out |= {e} if isinstance(e, str) else set(e.meta.root_names())
    return out


def _prune(stages: list[list[pl.Expr]], outputs: list[pl.Expr]) -> tuple[list[list[pl.Expr]], set[str]]:
    """The stage expressions ``outputs`` depend on, and the columns they read that no stage computes."""
    need = _roots(outputs)
    kept: list[list[pl.Expr]] = []
    for stage in reversed(stages):
        st = [e for e in stage if e.meta.output_name() in need]
        need |= _roots(st)
        if st:
            kept.append(st)
    kept.reverse()
    return kept, need - set().union(*(_names(st) for st in kept))


#: terms of the parallel layout that depend on the model, the precision, the engine's tensor parallelism and n_devices
#: only (KV bytes per token per byte of element: each row multiplies by its own KV bytes, see _layout_table)
_LAYOUT_TERMS = ("_tp", "_pp", "_w_gb", "_dev", "replicas_f", "weights_gb_per_device", "_kv_tok1", "_wpt")
#: the catalog and scenario columns they read
_LAYOUT_INPUTS = {"n_devices", "_c_tp_ok", "_c_bpw", "_m_total", "_m_layers", "_m_kvh",
                  "_m_hd", "_m_latent", "_m_4h", "_m_2f"}
#: largest n_devices, and most rows, of a layout table (else the layout terms are computed row by row)
_LAYOUT_MAX_DEVICES = 64
_LAYOUT_MAX_ROWS = 20_000


@functools.lru_cache(maxsize=64)
def _split_plan(input_columns: tuple[str, ...], gathered: tuple[str, ...], layout: bool = False) -> dict:
    """The expressions of :func:`_core` split into the memory phase (every row) and the speed phase (fitting rows).

    The scenario columns that pass through unchanged (``keep``) stay out of both lazy plans: the engine would
    cut them into batches and copy them back together; the result takes them from the input frame instead.
    The speed phase has two plans: the fitting rows of LLMs (every speed column but ``items_per_s``) and those
    of the other models (``items_per_s`` only); the other outputs are null on those rows either way.
    """
    stages, final = _core_exprs(input_columns, True)
    n_a = next(i for i, st in enumerate(stages) if "fits" in _names(st)) + 1
    stages_a, stages_b = stages[:n_a], stages[n_a:]  # parallel layout, memory, batch, limit, fits; then speeds
    if layout:  # the layout terms come from the layout table (see _layout_table)
        stages_a = [[e for e in st if e.meta.output_name() not in _LAYOUT_TERMS] for st in stages_a]
        stages_a = [st for st in stages_a if st]
        gathered = (*gathered, *_LAYOUT_TERMS)
    names_b = set().union(*(_names(st) for st in stages_b))
    keep = [x for x in input_columns if x not in OUTPUT_COLUMNS]
    outputs_a, outputs_b = [], []
    for o in final:
        if isinstance(o, str) and o in keep:
            continue  # a scenario column, taken from the input frame
        if not isinstance(o, str) and o.meta.output_name() == "_models_complete":
            continue  # computed from the model codes (see _two_phase)
        (outputs_b if not isinstance(o, str) and set(o.meta.root_names()) & names_b else outputs_a).append(o)
    gathered_set = set(gathered)
    roots_a = _roots([e for st in stages_a for e in st])
    # terms of the scenario columns alone (token counts as floats): the speed phase casts them again
    recast = {e.meta.output_name(): e for st in stages_a for e in st if _roots([e]) <= set(input_columns)}
    parts, inputs_b = {}, set()
    for part, outs in (("llm", [o for o in outputs_b if o.meta.output_name() != "items_per_s"]),
                       ("item", [o for o in outputs_b if o.meta.output_name() == "items_per_s"])):
        st, need = _prune(stages_b, outs)
        again = [recast[x] for x in sorted(need & set(recast))]
        if again:
            st, need = [again, *st], (need - _names(again)) | _roots(again)
            inputs_b |= _roots(again)
        gather = tuple(sorted(need & gathered_set))  # gathered again on the fitting rows, not carried
        carry = sorted((need - set(gather)) | {"_im", "_ic", *(["_lay"] if layout else [])})
        parts[part] = {"stages": st, "outputs": outs, "gather": gather, "carry": carry}
    carry_all = sorted(set(parts["llm"]["carry"]) | set(parts["item"]["carry"]) | {"fits", "_m_llm"})
    inputs_b = sorted(inputs_b)  # scenario columns the speed phase takes from the input frame
    carry_all = [x for x in carry_all if x not in inputs_b]
    # what phase A hands on: the carried columns and the outputs of the memory phase (computed in the same pass)
    select_a = [*carry_all, *(o for o in outputs_a if (o if isinstance(o, str) else o.meta.output_name()) not in carry_all)]
    gather_a = tuple(sorted((roots_a | _roots(outputs_a) | set(carry_all)) & gathered_set))
    order = [o if isinstance(o, str) else o.meta.output_name() for o in final]
    return {"stages_a": stages_a, "parts": parts, "outputs_a": sorted(_names(outputs_a)),
            "gather_a": gather_a, "select_a": select_a, "keep": keep, "order": order, "inputs_b": inputs_b}


def _layout_table(t: dict, max_devices: int) -> pl.DataFrame:
    """The :data:`_LAYOUT_TERMS` of every (model, precision, engine has tensor parallelism, n_devices).

    Row ``((model × n_precisions + precision) × 2 + tp_ok) × max_devices + n_devices − 1``. The KV precision is
    not a dimension: the KV bytes per token are linear in the bytes per element, so the table holds them per byte
    (``_kv_tok1``) and each row multiplies by its own (the scenario's ``kv_precision`` or the engine's default).
    The same expressions as the row-by-row plan (:func:`_core_exprs`, without tensor_parallel /
    pipeline_parallel columns), so the same values.
    """
    cache = t.setdefault("_layout", {})
    if max_devices in cache:
        return cache[max_devices]
    en = t["enums"]
    n_m, n_p, n_e = t["models"].height, len(en["precision"].categories), len(en["engine"].categories)
    model, _ = _catalog_terms()
    mt = t["models"].with_columns(model)
    i = pl.int_range(n_m * n_p * 2 * max_devices, dtype=pl.UInt32)
    r = i // max_devices
    idx = pl.select(
        (i % max_devices + 1).cast(pl.Int64).alias("n_devices"),
        (r % 2 == 1).alias("_c_tp_ok"),
        (r // 2 % n_p).alias("_p"),
        (r // (2 * n_p)).alias("_im"),
    )
    cb = t["combo"]
    cols = {
        "n_devices": idx["n_devices"],
        "_c_tp_ok": idx["_c_tp_ok"],
        # bits per weight depend on the precision only: any (hardware, engine) row
        "_c_bpw": cb["_c_bpw"].gather(idx["_p"] * n_e),
        **{x: mt[x].gather(idx["_im"]) for x in ("_m_total", "_m_layers", "_m_kvh", "_m_hd", "_m_latent", "_m_4h",
                                                  "_m_2f")},
    }
    lf = pl.DataFrame(cols).lazy()
    stages, _ = _core_exprs(("n_devices",), False)
    for stage in stages:
        st = [e for e in stage if e.meta.output_name() in _LAYOUT_TERMS]
        assert set(_roots(st)) <= _LAYOUT_INPUTS | set(_LAYOUT_TERMS), _roots(st)
        if st:
            lf = lf.with_columns(st)
    table = lf.select(_LAYOUT_TERMS).collect()
    cache[max_devices] = table
    return table


def _gather_sources(t: dict, layout: pl.DataFrame | None) -> dict[str, tuple[str, pl.DataFrame]]:
    """Each gathered catalog column's (index column, source table): the models' by ``_im``, the (chip,
    precision, engine) rows' by ``_ic``, the KV precisions' by ``_ik`` and, with a layout table, the
    :data:`_LAYOUT_TERMS` by ``_lay`` (the columns :func:`_join_exprs` gathers with ``derived``)."""
    m, cb = _derived_tables(t)
    m, cb = m.drop("_m_id"), cb.drop("hardware", "precision", "engine")
    src = {x: ("_im", m) for x in m.columns}
    src.update((x, ("_ic", cb)) for x in cb.columns)
    src["_k_kvb"] = ("_ik", t["kv"].select("_k_kvb"))
    if layout is not None:
        src.update((x, ("_lay", layout)) for x in _LAYOUT_TERMS)
    return src


def _gather_grouped(lf: pl.LazyFrame, names, sources: dict) -> pl.LazyFrame:
    """``lf`` with the gathered catalog columns ``names``: one struct gather per source table and index.

    The same values as one gather per column, in fewer passes over the index: polars gathers a struct of k
    fields in about 0.6 of the time of k separate gathers.
    """
    groups: dict[str, list[str]] = {}
    for x in names:
        groups.setdefault(sources[x][0], []).append(x)
    single, structs = [], []
    for index, cols in groups.items():
        table = sources[cols[0]][1]
        if len(cols) == 1:
            single.append(pl.lit(table[cols[0]]).gather(pl.col(index)).alias(cols[0]))
        else:
            structs.append(pl.lit(table.select(cols).to_struct(f"_g{index}")).gather(pl.col(index)).alias(f"_g{index}"))
    lf = lf.with_columns(*single, *structs)
    return lf.unnest([s.meta.output_name() for s in structs]) if structs else lf


def _two_phase(frame: pl.DataFrame, lf_d: pl.LazyFrame, t: dict, input_columns: list[str]) -> pl.DataFrame:
    """:func:`_core` for large frames: the speed terms are evaluated on the rows that fit only.

    Rows that do not fit get null speeds anyway; in a broad sweep most rows do not fit, and the speed terms
    are most of the work. Same expressions, same results as the one-pass plan.
    """
    kv = "kv_precision" in input_columns
    en = t["enums"]
    n_m, n_p, n_e = t["models"].height, len(en["precision"].categories), len(en["engine"].categories)
    layout = None
    if "tensor_parallel" not in input_columns and "pipeline_parallel" not in input_columns:
        max_devices = int(frame["n_devices"].max())
        if max_devices <= _LAYOUT_MAX_DEVICES and n_m * n_p * 2 * max_devices <= _LAYOUT_MAX_ROWS:
            layout = _layout_table(t, max_devices)
    sources = _gather_sources(t, layout)
    gathered = tuple(x for x, (index, _) in sources.items() if index != "_lay")
    plan = _split_plan(tuple(input_columns), gathered, layout is not None)
    code = functools.partial(_code, t)
    # without a kv_precision column (or where it is null): the engine's default for the weights, else the
    # precision's (the combo column _c_kvb_default, see _build_tables and _core_exprs)
    lf = lf_d.with_columns(code("model", "model").alias("_im"), code("hardware", "hardware").alias("_ih"),
                           code("precision", "precision").alias("_ip"), code("engine", "engine").alias("_ie"),
                           *([code("kv_precision", "precision").alias("_ik")] if kv else []))
    c = pl.col
    lf = lf.with_columns((c("_ih") * (n_p * n_e) + c("_ip") * n_e + c("_ie")).alias("_ic"))
    if layout is not None:
        tp_ok = t["combo"]["_c_tp_ok"].fill_null(False).cast(pl.UInt32)  # by (hardware, precision, engine) row
        lay = (c("_im") * n_p + c("_ip")) * 2 + pl.lit(tp_ok).gather(c("_ic"))
        lay = lay * max_devices + (c("n_devices").cast(pl.UInt32) - 1)
        lf = lf.with_columns(lay.alias("_lay"))
    lf = _gather_grouped(lf, plan["gather_a"], sources)
    for stage in plan["stages_a"]:
        lf = lf.with_columns(stage)
    a = lf.select(plan["select_a"]).collect()
    src = a.hstack(frame.select(plan["inputs_b"])) if plan["inputs_b"] else a
    src_lf = _with_defaults(src.lazy(), src.schema) if plan["inputs_b"] else src.lazy()
    back = {}
    for part, rows in (("llm", pl.col("fits") & pl.col("_m_llm")), ("item", pl.col("fits") & ~pl.col("_m_llm"))):
        p = plan["parts"][part]
        mask = a.select(rows.fill_null(False)).to_series()
        sub = _gather_grouped(src_lf.filter(mask).select(p["carry"]), p["gather"], sources)
        for stage in p["stages"]:
            sub = sub.with_columns(stage)
        b = sub.select(p["outputs"]).collect()
        # the fitting rows' values go back to their positions; the other rows stay null
        if b.height:
            pos = mask.arg_true()
            back.update((x.name, pl.Series(x.name, [None], x.dtype).extend_constant(None, a.height - 1).scatter(pos, x))
                        for x in b)
        else:
            back.update((x.name, x.clear(a.height)) for x in b)
    complete = t["models"]["_m_complete"]
    if not complete.all():  # only a model the frame uses counts
        complete = complete.gather(a["_im"].unique())
    flag = pl.Series("_models_complete", [complete.all()]).extend_constant(complete.all(), a.height - 1)
    columns = {c.name: c for c in (*frame.select(plan["keep"]), *a.select(plan["outputs_a"]), *back.values(), flag)}
    return pl.DataFrame([columns[c] for c in plan["order"]])


@functools.lru_cache(maxsize=1)
def _catalog_terms() -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Pieces of the formulas that depend on the model only, and on (hardware, precision, engine) only.

    :func:`_core` computes them on every row from the gathered catalog columns (a caller such as
    :mod:`infer_econ.calibrate` may have replaced those); :func:`_two_phase` computes them once on the small
    catalog tables and gathers them. Same expressions either way, so the same values.
    """
    c = pl.col
    e, k = c("_m_e"), c("_m_k")
    per_expert = (c("_m_total") - c("_m_active")) / (e - k)
    frac = c("_m_frac").fill_null(1.0)
    model = [
        per_expert.alias("_m_pe"),
        (c("_m_active") - k * per_expert).alias("_m_aon"),  # the always-on parameters of an MoE
        (e.is_null() | (e <= k)).alias("_m_dense"),
        (2.0 * c("_m_matmul") * 1e9).alias("_m_2mm"),
        (4.0 * c("_m_layers")).alias("_m_4l"),
        (2.0 * c("_m_layers")).alias("_m_2l"),  # all-reduces per forward pass (Megatron: two per layer)
        (4.0 * c("_m_hidden")).alias("_m_4h"),
        (2.0 * c("_m_ffn")).alias("_m_2f"),
        frac.alias("_m_fracf"),
        (1.0 - frac).alias("_m_1mf"),
        c("_m_win").is_null().alias("_m_nowin"),
        (~c("_m_llm") | c("_m_maxctx").is_null()).alias("_m_anyctx"),
    ]
    combo = [
        # the KV budget as share × (base − overhead − weights − workspace) (see memory.kv_budget_gb): of the free
        # memory, utilization × (memory − …); of the whole device, 1 × (memory × utilization − …)
        pl.when(c("_c_kvfree")).then(c("_c_mem")).otherwise(c("_c_mem") * c("_c_util")).alias("_c_kvbase"),
        pl.when(c("_c_kvfree")).then(c("_c_util")).otherwise(1.0).alias("_c_kvshare"),
        # tensor parallelism needs the engine's support and a device-to-device link (interconnect_gb_per_s > 0)
        (c("_c_tp_ok") & (c("_c_ic") > 0.0).fill_null(False)).alias("_c_link"),
        # attention FLOPs restated at the matmuls' peak and efficiency: they run on the 16-bit path at their own
        # share of its peak (attention_efficiency in data/efficiency.csv, FlashAttention-style kernels)
        (c("_c_attn_w") * c("_c_eff_pf") / c("_c_attn_eff")).alias("_c_aw_pf"),
        (c("_c_attn_w") * c("_c_eff_dc") / c("_c_attn_eff")).alias("_c_aw_dc"),
        (c("_c_bw") * 1e9 * c("_c_eff_bw")).alias("_c_rd"),  # attained bytes/s
        (c("_c_peak") * 1e12 * c("_c_eff_pf")).alias("_c_pfr"),  # attained FLOP/s, prefill
        (c("_c_peak") * 1e12 * c("_c_eff_dc")).alias("_c_dcr"),  # attained FLOP/s, decode
        (c("_c_ic") / 2.0 * 1e9 * c("_c_areff")).alias("_c_arbw"),  # all-reduce bytes/s each way
        (c("_c_bpw") / 8.0 * 1e9).alias("_c_wb"),  # weight bytes per 1e9 params
        (c("_c_eff_dc") / c("_c_eff_pf")).alias("_c_dcpf"),
    ]
    return model, combo


def _core(lf: pl.LazyFrame, input_columns: list[str], flag_incomplete: bool = False) -> pl.LazyFrame:
    """All the per-row physics on a frame that already carries the catalog columns."""
    stages, final = _core_exprs(tuple(input_columns), flag_incomplete)
    model, combo = _catalog_terms()
    lf = lf.with_columns(*model, *combo)
    for stage in stages:
        lf = lf.with_columns(stage)
    return lf.select(final)


@functools.lru_cache(maxsize=64)
def _core_exprs(input_columns: tuple[str, ...], flag_incomplete: bool) -> tuple[list[list[pl.Expr]], list]:
    """The expressions of :func:`_core`, built once per input schema (building them costs milliseconds)."""
    c = pl.col
    unfused = "flash_attention" in input_columns  # the score-matrix traffic terms exist only with that column
    ungrouped = "grouped_kv_attention" in input_columns  # the repeated KV reads exist only with that column
    n = c("n_devices").cast(pl.Float64)
    tp_in = c("tensor_parallel").cast(pl.Float64)
    pp_in = c("pipeline_parallel").cast(pl.Float64)
    tp_ok = c("_c_tp_ok")
    if "tensor_parallel" in input_columns or "pipeline_parallel" in input_columns:
        tp = pl.when(tp_in.is_not_null()).then(tp_in).when(tp_ok).then(n / pp_in.fill_null(1.0)).otherwise(1.0)
        pp = pl.when(pp_in.is_not_null()).then(pp_in).when(tp_in.is_not_null() | tp_ok).then(1.0).otherwise(n)
    else:  # the same with both null: the layout follows the engine (n / 1.0 is n)
        tp = pl.when(tp_ok).then(n).otherwise(1.0)
        pp = pl.when(tp_ok).then(1.0).otherwise(n)
    stage1 = [
        tp.alias("_tp"),
        pp.alias("_pp"),
        c("input_tokens").cast(pl.Float64).alias("_I"),
        c("output_tokens").cast(pl.Float64).alias("_O"),
        c("context_depth").cast(pl.Float64).fill_null(0.0).alias("_D"),
        (pl.coalesce(c("_k_kvb"), c("_c_kvb_default")) if "kv_precision" in input_columns else c("_c_kvb_default"))
        .alias("_kvb"),
        mem.weights_gb(c("_m_total"), c("_c_bpw")).alias("_w_gb"),
    ]
    stage2 = [
        (c("_tp") * c("_pp")).alias("_dev"),
        (n / (c("_tp") * c("_pp"))).alias("replicas_f"),
        (c("_w_gb") / (c("_tp") * c("_pp"))).alias("weights_gb_per_device"),
        # per byte of KV element: the bytes per element (which may depend on the engine) multiply it below
        mem.kv_cache_bytes_per_token_per_device(
            c("_m_layers"), c("_m_kvh"), c("_m_hd"), 1.0, c("_m_latent"), c("_tp"), c("_pp")
        ).alias("_kv_tok1"),
        (c("_D") + c("_I") + c("_O") - 1.0).alias("_L"),  # the last output token is never fed back
        mem._workspace_elements_per_token(c("_m_4h"), c("_m_2f"), c("_tp")).alias("_wpt"),
    ]
    stage2b = [mem._workspace_gb(c("_c_wst"), c("_wpt"), 2.0).fill_null(0.0).alias("_ws"),
               (c("_kv_tok1") * c("_kvb")).alias("_kv_tok")]
    stage3 = [
        (c("_kv_tok") * mem._cached_tokens(c("_L"), c("_m_win"), c("_m_fracf"), c("_m_1mf"), c("_m_nowin")))
        .alias("_kv_seq"),
        mem._kv_budget_gb(c("_c_kvbase"), c("_c_kvshare"), c("_c_ovh"), c("weights_gb_per_device"), c("_ws"))
        .alias("kv_budget_gb_per_device"),
    ]
    cap_kv = mem.max_batch_size(c("kv_budget_gb_per_device"), c("_kv_seq"), 1e15).cast(pl.Float64)  # no engine cap here
    stage4 = [
        pl.when(c("_m_llm")).then(cap_kv).otherwise(float("inf")).alias("_cap_kv"),
    ]
    breq = c("batch_size").cast(pl.Float64)
    cap = pl.min_horizontal(c("_cap_kv"), c("_c_cap"))
    # tensor parallelism needs the engine's support and a device-to-device link: across devices whose spec row
    # has no interconnect (interconnect_gb_per_s 0, e.g. CPU sockets) the all-reduce has nothing to run on
    supported = c("_c_ok") & ((c("_tp") == 1.0) | c("_c_link"))
    ctx_ok = c("_m_anyctx") | (c("_L") <= c("_m_maxctx"))
    lim = lambda s: pl.lit(s, _LIMIT)  # noqa: E731
    limit = (
        pl.when(~supported)
        .then(lim("unsupported"))
        .when(~ctx_ok)
        .then(lim("context"))
        .when(c("kv_budget_gb_per_device") <= 0.0)
        .then(lim("weights"))
        .when(breq.is_null() & (c("_cap_kv") < 1.0))
        .then(lim("kv_cache"))
        .when(breq.is_null() & (c("_c_cap") <= c("_cap_kv")))
        .then(lim("engine_cap"))
        .when(breq.is_null())
        .then(lim("kv_cache"))
        .when(breq > c("_cap_kv"))
        .then(lim("kv_cache"))
        .otherwise(pl.lit(None, _LIMIT))
    )
    stage5 = [
        cap.alias("_cap"),
        pl.coalesce(breq, cap).alias("_B"),
        limit.alias("limit"),
    ]
    stage6 = [
        (c("limit").is_null() | (c("limit") == "engine_cap") | (breq.is_null() & (c("limit") == "kv_cache") & (c("_cap") >= 1.0))).alias("fits"),
    ]
    # from here on only the speed of rows that fit is computed (see _two_phase)
    stage6b = [
        pl.min_horizontal(c("_B"), c("_pp")).alias("_m"),
        _mean_cached_tokens(c("_D") + c("_I"), c("_O"), c("_m_win"), c("_m_fracf"), c("_m_1mf"), c("_m_nowin"))
        .alias("_ctx_dec"),
        _mean_cached_tokens(c("_D"), c("_I"), c("_m_win"), c("_m_fracf"), c("_m_1mf"), c("_m_nowin")).alias("_ctx_pf"),
    ]
    # the speed terms, in shallow stages: polars plans a deep expression in time that grows with the square of
    # its depth, so shared pieces become columns first (same arithmetic, nothing evaluated twice)
    b = c("_b")  # sequences per micro-batch
    dev = c("_dev")
    touched = lambda tokens: _params_touched_b(  # noqa: E731
        c("_m_total"), c("_m_aon"), c("_m_pe"), c("_m_dense"), moe_experts_touched(c("_m_e"), c("_m_k"), tokens,
                                                                                   c("_m_lnq"))
    )
    ar = lambda tokens: tokens * c("_ar_tok") + c("_ar_fix")  # noqa: E731  (see _allreduce_terms)
    ar_tok, ar_fix = _allreduce_terms(c("_m_hidden"), c("_tp"), c("_c_arbw"), c("_c_arlat"), c("_m_2l") / c("_pp"),
                                      _ALLREDUCE_BYTES)
    stage7 = [
        (c("_B") / c("_m")).alias("_b"),
        (c("_c_wb") / dev).alias("_wbd"),  # bytes per 1e9 params on one device
        ar_tok.alias("_ar_tok"),
        ar_fix.alias("_ar_fix"),
        _prefill_flops(c("_I"), c("_ctx_pf"), c("_m_2mm"), c("_m_4l") * (c("_m_qdim") * c("_c_aw_pf"))).alias(
            "_pf_prompt"
        ),
        *([unfused_score_bytes(c("_m_layers"), c("_m_qdim") / c("_m_hd"), c("flash_attention")).alias("_score_b"),
           # unfused kernels score each chunk of u prompt tokens against every cached token and the whole chunk,
           # the masked half included: a mean of ctx_pf + min(u, I) / 2 cached tokens per prompt token
           (c("_ctx_pf") + 0.5 * pl.min_horizontal(c("_c_chunk"), c("_I"))).alias("_ctx_sc")]
          if unfused else []),
        # prefill runs in chunks of prefill_chunk_tokens (llama.cpp ubatch; chunked prefill); with pipeline
        # parallelism the chunks fill the stages: (chunks + pp - 1) stage times
        (c("_B") * c("_I") / c("_c_chunk")).ceil().clip(lower_bound=1.0).alias("_chunks"),
        (c("_I") / c("_c_chunk")).ceil().clip(lower_bound=1.0).alias("_chunks1"),
    ]
    kv_reads = (kv_reads_per_step(c("_m_qdim") / c("_m_hd"), c("_m_kvh"), c("_m_latent"), c("grouped_kv_attention"),
                                  c("_tp")) if ungrouped else 1.0)
    stage7b = [
        # the matmul kernels (weights the batch touches) and the attention kernels (every sequence's KV cache),
        # each under its own roofline (decode_step_s)
        (touched(b) * c("_wbd")).alias("_dec_wbytes"),
        (b * c("_ctx_dec") * (c("_kv_tok") * kv_reads + c("_score_b") / dev) if unfused
         else b * c("_kv_tok") * kv_reads * c("_ctx_dec")).alias("_dec_kvbytes"),
        (b * c("_m_2mm") / dev).alias("_dec_mflops"),
        (b * c("_ctx_dec") * (c("_m_4l") * (c("_m_qdim") * c("_c_aw_dc"))) / dev).alias("_dec_aflops"),
        ar(b).alias("_ar_dec"),
        ar(b * (1.0 + c("_I") / c("_O"))).alias("_ar_mix"),
        (c("_c_step") + c("_c_step_seq") * b).alias("_step_s"),  # fixed + per-sequence (scheduling, sampling)
        (c("_B") / c("_chunks")).alias("_pf_p"),
        (1.0 / c("_chunks1")).alias("_pf1_p"),
    ]
    # a prefill stage of `prompts` prompts (a chunk's share of them)
    def pf_parts(p: str, name: str) -> list[pl.Expr]:
        fixed = c("_c_step") + c("_c_step_seq") * c(p) + ar(c(p) * c("_I"))
        if unfused:  # the chunk's scores written to and read from memory
            fixed = fixed + c(p) * c("_I") * c("_ctx_sc") * c("_score_b") / dev / c("_c_rd")
        return [
            (c(p) * c("_pf_prompt") / dev).alias(f"{name}_flops"),
            (touched(c(p) * c("_I")) * c("_wbd")).alias(f"{name}_bytes"),
            fixed.alias(f"{name}_fixed"),
        ]

    stage7c = [
        (c("_dec_wbytes") + c("_dec_kvbytes")).alias("_dec_bytes"),
        # unfused attention: the prompt share of a mixed step writes and reads its scores too
        *([(c("_dec_kvbytes") + (b / c("_O")) * c("_I") * c("_ctx_sc") * c("_score_b") / dev).alias("_mix_kvbytes")]
          if unfused else []),
        (c("_dec_mflops") + c("_dec_aflops")).alias("_dec_flops"),
        # continuous batching, steady state: each step also carries b·I/O prefill tokens (chunked prefill), the
        # prompt share's FLOPs restated at the decode compute efficiency and run with the matmuls
        (c("_dec_mflops") + (b / c("_O")) * c("_pf_prompt") / dev * c("_c_dcpf")).alias("_mix_mflops"),
        *pf_parts("_pf_p", "_pfs"),
        *pf_parts("_pf1_p", "_pf1s"),
    ]
    stage7d = [
        _prefill_time_s(c("_pfs_flops"), c("_pfs_bytes"), c("_c_pfr"), c("_c_rd"), c("_pfs_fixed")).alias("_pf_stage"),
        _prefill_time_s(c("_pf1s_flops"), c("_pf1s_bytes"), c("_c_pfr"), c("_c_rd"), c("_pf1s_fixed"))
        .alias("_pf1_stage"),
        (c("_pp") * _decode_step_s(c("_dec_wbytes"), c("_mix_mflops"), c("_mix_kvbytes" if unfused else "_dec_kvbytes"),
                                   c("_dec_aflops"), c("_c_rd"), c("_c_dcr"), c("_step_s"), c("_ar_mix")))
        .alias("_mix_round"),
        (c("_pp") * _decode_step_s(c("_dec_wbytes"), c("_dec_mflops"), c("_dec_kvbytes"), c("_dec_aflops"),
                                   c("_c_rd"), c("_c_dcr"), c("_step_s"), c("_ar_dec"))).alias("_tpot"),
        (c("_dec_bytes") / c("_c_rd")).alias("_read_s"),
        (c("_dec_flops") / c("_c_dcr")).alias("_dcomp_s"),
    ]
    stage8 = [
        ((c("_chunks") + c("_pp") - 1.0) * c("_pf_stage")).alias("_prefill"),
        ((c("_chunks1") + c("_pp") - 1.0) * c("_pf1_stage")).alias("_prefill1"),
        pl.when(c("_dcomp_s") > c("_read_s")).then(pl.lit("compute", _BOUND)).otherwise(pl.lit("memory", _BOUND))
        .alias("_bound"),
        # non-LLM models: a batch of items is one compute-bound pass, floored by reading the weights
        (
            c("_B")
            / _prefill_time_s(
                c("_B") * c("_m_gflops") * 1e9 / dev, c("_w_gb") * 1e9 / dev, c("_c_pfr"), c("_c_rd"),
                c("_c_step") + c("_c_step_seq") * c("_B"),
            )
        ).alias("_items"),
    ]
    llm_ok = c("fits") & c("_m_llm")
    item_ok = c("fits") & ~c("_m_llm")
    out_static = c("_B") * c("_O") / (c("_prefill") + c("_O") * c("_tpot"))
    # a scenario's own continuous_batching (a static-batch benchmark or batch job on an engine that can batch
    # continuously) before the engine's
    cb = pl.coalesce(c("continuous_batching"), c("_c_cb")) if "continuous_batching" in input_columns else c("_c_cb")
    reps = c("replicas_f")
    outputs = [
        c("_tp").cast(pl.Int64).alias("tensor_parallel_used"),
        c("_pp").cast(pl.Int64).alias("pipeline_parallel_used"),
        reps.cast(pl.Int64).alias("replicas"),
        pl.when(c("_c_ok").is_not_null()).then(c("_cap")).cast(pl.Int64).alias("batch_size_max"),
        pl.when(c("fits")).then(c("_B")).cast(pl.Int64).alias("batch_size_used"),
        "fits",
        "limit",
        "weights_gb_per_device",
        pl.when(c("_m_llm") & c("fits")).then(c("_B") * c("_kv_seq") / 1e9).alias("kv_cache_gb_per_device"),
        "kv_budget_gb_per_device",
        pl.when(llm_ok).then(c("_prefill")).alias("prefill_s"),
        pl.when(llm_ok).then(c("_prefill1") + c("_tpot")).alias("ttft_s"),
        pl.when(llm_ok).then(c("_tpot")).alias("tpot_s"),
        pl.when(llm_ok).then(c("_B") * c("_I") / c("_prefill")).alias("prefill_tokens_per_s"),
        pl.when(llm_ok).then(c("_B") / c("_tpot")).alias("decode_tokens_per_s"),
        pl.when(llm_ok)
        .then(reps * pl.when(cb).then(c("_B") / c("_mix_round")).otherwise(out_static))
        .alias("output_tokens_per_s"),
        pl.when(item_ok).then(reps * c("_items")).alias("items_per_s"),
        pl.when(llm_ok).then(c("_bound")).alias("decode_bound"),
    ]
    keep = [x for x in input_columns if x not in OUTPUT_COLUMNS]
    final = [*keep, *outputs, *([pl.col("_m_complete").all().alias("_models_complete")] if flag_incomplete else [])]
    stages = [stage1, stage2, stage2b, stage3, stage4, stage5, stage6, stage6b, stage7, stage7b, stage7c, stage7d,
              stage8]
    return stages, final


def estimate(
    scenarios: pl.DataFrame | pl.LazyFrame,
    *,
    efficiency: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
    hardware: pl.DataFrame | None = None,
    precisions: pl.DataFrame | None = None,
    engines: pl.DataFrame | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """Memory fit, prefill and decode speed of every scenario row, in one vectorized pass.

    Parameters
    ----------
    scenarios : polars.DataFrame or LazyFrame
        One row per scenario. Required columns: ``model``, ``hardware``,
        ``precision``, ``engine`` (catalog ids), ``n_devices``,
        ``input_tokens``, ``output_tokens`` (positive integers). Optional:
        ``batch_size`` (concurrent sequences per replica; null = the largest
        batch that fits and the engine runs), ``context_depth`` (tokens
        already cached before the prompt, default 0), ``kv_precision``
        (default: the engine's ``kv_precision_defaults`` entry for the
        weights' precision, e.g. TensorRT-LLM ``fp8=fp8``, else the
        precision's ``default_kv_precision``),
        ``tensor_parallel`` / ``pipeline_parallel`` (default: every device
        tensor-parallel, or a layer split for engines without tensor
        parallelism), ``continuous_batching`` (bool; default: the engine's:
        false models static batches, each prefilled together and decoded to
        the end, as a static-batch benchmark or batch job runs them even on
        an engine that can batch continuously), ``flash_attention`` (bool;
        default true, every engine's default today: false adds the traffic of
        an unfused attention's score matrix, :func:`unfused_score_bytes`, as
        llama.cpp without ``-fa`` or eager PyTorch attention move it),
        ``grouped_kv_attention`` (bool; default true: the decode kernel reads
        each KV head once for its query-head group; false reads it once per
        query head, :func:`kv_reads_per_step`, as TensorRT-LLM before XQA).
        ``n_devices`` may be a multiple of ``tp × pp``: the rest are
        data-parallel replicas. Other columns are kept.
    efficiency : polars.DataFrame, optional
        Efficiency parameters in the schema of ``data/efficiency.csv``, e.g.
        the result of :func:`infer_econ.calibrate.fit` on your own
        measurements. Default: the shipped file.
    models, hardware, precisions, engines : polars.DataFrame, optional
        Catalog frames to use instead of the shipped ones (e.g.
        ``catalog.load("hardware", extra=my_chips)``).

    Returns
    -------
    Same kind as ``scenarios``; one row per input row, same order, input
    columns kept, plus :data:`OUTPUT_COLUMNS`:

    - ``tensor_parallel_used``, ``pipeline_parallel_used``, ``replicas``
    - ``batch_size_max`` [sequences]: most the memory and the engine allow
    - ``batch_size_used`` [sequences]: ``batch_size`` or ``batch_size_max``
    - ``fits`` (bool); ``limit``: what binds — ``unsupported`` (the engine
      does not run this precision, this vendor's chips, or tensor
      parallelism, or tensor parallelism over devices without a
      device-to-device link: ``interconnect_gb_per_s`` 0 or null),
      ``context`` (longer than the model's context),
      ``weights`` (weights + runtime + workspace exceed the engine's memory),
      ``kv_cache``, ``engine_cap`` (the engine's ``max_batch_size``), or
      null when a requested batch fits with room to spare
    - ``weights_gb_per_device``, ``kv_cache_gb_per_device`` (at the final
      length, ``batch_size_used`` sequences), ``kv_budget_gb_per_device`` [GB]
    - ``prefill_s`` (the whole batch's prompts), ``ttft_s`` (one prompt's
      prefill plus one decode step of the running batch), ``tpot_s`` (mean
      step time while the context grows from ``context_depth +
      input_tokens``) [s]
    - ``prefill_tokens_per_s`` (``batch × input_tokens / prefill_s``),
      ``decode_tokens_per_s`` (``batch / tpot_s``), both per replica;
      ``output_tokens_per_s``: the whole deployment serving requests of this
      shape back to back at ``batch_size_used`` with prefill included
      (continuous batching: ``batch / mixed step``, prompts piggybacked on
      decode steps; static: ``batch × output_tokens / (prefill_s +
      output_tokens × tpot_s)``) [tokens/s]
    - ``items_per_s``: models whose task is not text generation (images,
      embeddings, audio seconds, denoising steps from ``gflops_per_item``);
      LLM columns stay null for them, and ``items_per_s`` is null for LLMs
    - ``decode_bound``: ``memory`` or ``compute`` at ``batch_size_used``

    Rows that do not fit have ``fits = false`` and null speeds.

    Raises
    ------
    ValidationError
        A required column is missing, or a numeric column holds zero,
        negative, NaN, null (where required) or non-integer values, or
        ``n_devices`` is not a multiple of ``tensor_parallel ×
        pipeline_parallel``: the message names the column and the first bad row.
    UnknownIdError
        An id is not in its catalog: the message names it and lists the valid ids.

    Notes
    -----
    The formulas are those of :mod:`infer_econ.memory` and the building
    blocks of this module. ``tpot_s`` evaluates the step at the mean context
    of the output (exact while one roofline regime holds). Throughput of an
    engine with continuous batching (``engines.continuous_batching``) is the
    steady state of chunked prefill piggybacked on decode: each step carries
    the batch's decode tokens plus ``B × input/output`` prompt tokens, so
    prompt compute shares the step's single weight read:
    ``B / (pp × (max(read, decode compute + prefill share) + overhead +
    all-reduce))``. Without continuous batching, batches run prefill then
    decode: ``B × O / (prefill_s + O × tpot_s)``. A requested ``batch_size``
    above the engine's ``max_batch_size`` is honoured (the cap is a default a
    user can raise); only memory can refuse it. Rows of non-LLM models still
    need positive ``input_tokens`` / ``output_tokens`` (ignored). A LazyFrame
    input is validated eagerly (its id and numeric columns are collected
    once); the result is lazy. Id columns may be strings, Categorical or Enum; ids in the catalog's own Enum
    (``pl.Enum(catalog.load("models")["id"])``, and so on) are used by their codes without a lookup (about
    0.75 of the time of a 1,000,000-row sweep).

    References
    ----------
    See the module docstring.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
    ...     "engine": ["vllm"], "n_devices": [1], "input_tokens": [1000], "output_tokens": [200]})
    >>> out = estimate(frame)
    >>> out.select("fits", "weights_gb_per_device").row(0)
    (True, 16.06)
    >>> bool(out["output_tokens_per_s"][0] > out["decode_tokens_per_s"][0] / 10)
    True
    """
    lazy = isinstance(scenarios, pl.LazyFrame)
    if not lazy and not isinstance(scenarios, pl.DataFrame):
        raise ValidationError(f"scenarios must be a polars DataFrame or LazyFrame, got {type(scenarios).__name__}")
    schema = scenarios.collect_schema() if lazy else scenarios.schema
    _check_columns(schema)
    t = _tables(models, hardware, precisions, engines, efficiency)
    small = not lazy and scenarios.height <= _SERIES_CHECK_ROWS
    checks = [] if small else _numeric_checks(schema)
    lf = scenarios.lazy() if not lazy else scenarios
    input_columns = list(schema.names())
    agg = [bad.any().alias(name) for name, bad in checks]
    div = (_divisible_check() != 0).fill_null(False)
    has_par = "tensor_parallel" in schema or "pipeline_parallel" in schema
    lf_d = _with_defaults(lf, schema)
    if lazy:
        ids = [pl.col(k).cast(pl.String).unique().implode().alias(f"_ids_{k}") for k in _ID_COLUMNS]
        if "kv_precision" in schema:
            ids.append(pl.col("kv_precision").cast(pl.String).drop_nulls().unique().implode().alias("_ids_kv"))
        summary = lf_d.select(*agg, *ids, *([div.any().alias("_div")] if has_par else [])).collect()
        for name, _ in checks:
            if summary[name][0]:
                _raise_numeric(lf.select(name).collect(), name, dict(checks)[name])
        for k in _ID_COLUMNS:
            _unknown(summary[f"_ids_{k}"][0], k, t["ids"][k], {"model": "models", "precision": "precisions",
                                                                  "engine": "engines"}.get(k, k))
        if "kv_precision" in schema:
            _unknown(summary["_ids_kv"][0], "kv_precision", t["ids"]["kv_precision"], "kv_precision")
        if has_par and summary["_div"][0]:
            _raise_divisible(lf_d.collect())
        used = set(summary["_ids_model"][0].to_list())
        incomplete = t["models"].filter(~pl.col("_m_complete") & pl.col("_m_id").is_in(list(used)))
        if incomplete.height:
            _raise_incomplete(incomplete.rename({"_m_id": "_key_model"}))
        return _core(_join(lf_d, t), input_columns)

    frame = scenarios
    if small:  # a slider move: Series operations, no query to plan
        for name in _numeric_columns(schema):
            if _any_bad_numbers(frame[name], *_NUMERIC[name]):
                _raise_numeric(frame, name, _bad_numbers(pl.col(name), schema[name], *_NUMERIC[name]))
    elif agg:
        summary = frame.select(agg)
        for name, bad in checks:
            if summary[name][0]:
                _raise_numeric(frame, name, bad)
    for k, cat in (("model", "models"), ("hardware", "hardware"), ("precision", "precisions"), ("engine", "engines")):
        if frame[k].null_count():
            _unknown(frame[k].cast(pl.String), k, t["ids"][k], cat)
    if has_par and _with_defaults(frame.lazy(), schema).select(div.any()).collect().item():
        _raise_divisible(frame.pipe(lambda f: _with_defaults(f.lazy(), schema).collect()))
    try:
        if frame.height >= _SPLIT_ROWS:
            out = _two_phase(frame, lf_d, t, input_columns)
        elif small:
            # small frames (a slider move): planning dominates, skip the optimizer; the same estimator inputs
            # (a knob that moves only the economics) give the kept answer
            out = _small_estimate(frame, t, input_columns, (models, hardware, precisions, engines, efficiency))
        else:
            out = _core(_join(lf_d, t), input_columns, flag_incomplete=True).collect()
    except pl.exceptions.PolarsError:  # an id not in its catalog fails the Enum cast: say which
        for k, cat in (("model", "models"), ("hardware", "hardware"), ("precision", "precisions"), ("engine", "engines")):
            _unknown(frame[k].cast(pl.String), k, t["ids"][k], cat)
        if "kv_precision" in schema:
            _unknown(frame["kv_precision"].cast(pl.String).drop_nulls(), "kv_precision", t["ids"]["kv_precision"],
                     "kv_precision")
        raise
    if "_models_complete" in out.columns:
        complete = out.drop_in_place("_models_complete")  # a frame of our own: no copy
        complete = not out.height or complete[0]
    else:  # the small plan: only a model the frame uses counts
        complete = not (t["incomplete_models"] and frame["model"].cast(pl.String).is_in(t["incomplete_models"]).any())
    if not complete:
        used = set(frame["model"].cast(pl.String).unique().to_list())
        _raise_incomplete(t["models"].filter(~pl.col("_m_complete") & pl.col("_m_id").is_in(list(used))).rename(
            {"_m_id": "_key_model"}))
    return out


def _small_estimate(frame: pl.DataFrame, t: dict, input_columns: list[str], given: tuple) -> pl.DataFrame:
    """:func:`_small_plan` collected, kept per estimator inputs (:mod:`infer_econ._memo`).

    The answer is keyed on the values and dtypes of the estimator's own input columns and on the catalog
    frames by identity; the scenario's other columns (prices, PUE, …) pass through from ``frame`` itself.
    """
    from ._memo import memo

    own = [c for c in input_columns if c in _ESTIMATOR_INPUTS]
    keys = frame.select(own)
    frames = _catalogs(*given)
    sig = tuple((c, str(frame.schema[c])) for c in own)

    def build() -> pl.DataFrame:
        sub = _with_defaults(keys.lazy(), keys.schema)
        return _small_plan(sub, t, tuple(own)).collect(optimizations=pl.QueryOptFlags.none())

    kept = memo(f"estimate:{sig}", frames, keys, build)
    keep = [c for c in input_columns if c not in OUTPUT_COLUMNS]
    outputs = [c for c in kept.columns if c not in own]
    return pl.DataFrame([*(frame[c] for c in keep), *(kept[c] for c in outputs)])


def _raise_divisible(frame: pl.DataFrame) -> None:
    rows = frame.with_row_index("_row").filter((_divisible_check() != 0).fill_null(False))
    r = rows.row(0, named=True)
    raise ValidationError(
        f"columns 'n_devices', 'tensor_parallel', 'pipeline_parallel': row {r['_row']} has n_devices "
        f"{r['n_devices']} which is not a multiple of tensor_parallel × pipeline_parallel "
        f"({r['tensor_parallel']} × {r['pipeline_parallel']})"
    )


def _raise_incomplete(joined: pl.DataFrame) -> None:
    bad = sorted(set(joined.filter(~pl.col("_m_complete"))["_key_model"].to_list()))
    raise ValidationError(
        f"model(s) {bad} lack the shape columns an LLM estimate needs (n_layers, hidden_size, n_heads, "
        "n_kv_heads, head_dim, intermediate_size): add them to the models catalog"
    )


# --------------------------------------------------------------------------------------------
# the roofline chart: where each phase of an estimated scenario sits


def roofline_curve(
    peak_tflops: float, memory_bandwidth_gb_per_s: float, *, min_intensity: float = 0.1,
    max_intensity: float = 1e5, n: int = 61,
) -> pl.DataFrame:
    """The roof of one device: attainable TFLOP/s over a log grid of intensities.

    Parameters
    ----------
    peak_tflops : float [TFLOP/s]
        Dense tensor peak at the precision that runs (:func:`peak_tflops`).
    memory_bandwidth_gb_per_s : float [GB/s]
        Memory bandwidth.
    min_intensity, max_intensity : float [FLOP/byte]
        Range of the grid.
    n : int
        Grid points (log-spaced).

    Returns
    -------
    polars.DataFrame
        ``arithmetic_intensity_flop_per_byte``, ``attainable_tflops`` (from
        :func:`roofline`), ``kind = "roof"``.

    Notes
    -----
    ``attainable = min(peak, intensity × bandwidth / 1000)``; the ridge is at
    ``1000 × peak / bandwidth`` FLOP/byte.

    References
    ----------
    Williams, Waterman, Patterson, "Roofline", CACM 2009.

    Examples
    --------
    >>> c = roofline_curve(989.4, 3350.0, min_intensity=1.0, max_intensity=1000.0, n=4)
    >>> c["attainable_tflops"].to_list()  # 1, 10, 100, 1000 FLOP/byte at 3.35 TB/s
    [3.35, 33.5, 335.0, 989.4]
    """
    import math

    lo, hi = math.log10(min_intensity), math.log10(max_intensity)
    xs = [10 ** (lo + (hi - lo) * i / (n - 1)) for i in range(n)]
    return pl.DataFrame(
        {"arithmetic_intensity_flop_per_byte": xs, "peak_tflops": peak_tflops,
         "memory_bandwidth_gb_per_s": memory_bandwidth_gb_per_s}
    ).select(
        pl.lit("roof").alias("kind"),
        pl.col("arithmetic_intensity_flop_per_byte").round(6),
        roofline("arithmetic_intensity_flop_per_byte").round(6),
    )


def phase_roofline(
    estimated: pl.DataFrame,
    *,
    models: pl.DataFrame | None = None,
    hardware: pl.DataFrame | None = None,
    precisions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Arithmetic intensity and achieved TFLOP/s of prefill and decode, per device, for fitting rows of :func:`estimate`.

    Parameters
    ----------
    estimated : polars.DataFrame
        Output of :func:`estimate` (needs ``model``, ``hardware``,
        ``precision``, ``input_tokens``, ``output_tokens``, ``fits``,
        ``batch_size_used``, ``tensor_parallel_used``,
        ``weights_gb_per_device``, ``kv_cache_gb_per_device``, ``prefill_s``,
        ``tpot_s``; ``context_depth`` if present).
    models, hardware, precisions : polars.DataFrame, optional
        Catalogs (default: the shipped ones).

    Returns
    -------
    polars.DataFrame
        Two rows (``phase`` = prefill, decode) per fitting input row:
        ``scenario`` (the input row's index), ``model``, ``hardware``,
        ``precision``, ``kind = "point"``, ``arithmetic_intensity_flop_per_byte``,
        ``achieved_tflops``, ``attainable_tflops`` (the roof at that
        intensity), ``peak_tflops``, ``memory_bandwidth_gb_per_s``.

    Notes
    -----
    Per device of a tensor-parallel group of ``TP`` at batch ``B``, with ``d``
    cached tokens, prompt ``I`` and output ``O``:

    - prefill, one prompt per forward pass (engines prefill prompt by prompt
      or chunk by chunk): FLOPs ``prefill_flops(I) / TP``; bytes: the weights
      once, ``weights_gb_per_device × touched(I) / total`` (MoE: the experts
      the prompt touches, :func:`weight_params_touched_b`); achieved = ``B ×``
      FLOPs / ``prefill_s`` (the whole batch's prefill time).
    - decode (one step): FLOPs ``decode_flops(B) / TP``; bytes: weights
      touched by ``B`` tokens plus the KV cache read,
      ``kv_cache_gb_per_device × mean context / (d + I + O)``; achieved =
      FLOPs / ``tpot_s``.

    Achieved sits below the roof by the engine's efficiencies and the per-step
    overheads that :func:`estimate` includes in its times.

    References
    ----------
    Williams, Waterman, Patterson, "Roofline", CACM 2009; Yuan et al., "LLM
    Inference Unveiled: Survey and Roofline Model Insights", 2024
    (arXiv:2402.16363).

    Examples
    --------
    >>> s = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"],
    ...                   "engine": ["vllm"], "n_devices": [1], "input_tokens": [1000], "output_tokens": [200],
    ...                   "batch_size": [1]})
    >>> r = phase_roofline(estimate(s))
    >>> r["phase"].to_list()
    ['prefill', 'decode']
    >>> r.filter(pl.col("phase") == "decode")["arithmetic_intensity_flop_per_byte"].round(1).item()  # ≈ 1 FLOP/byte at batch 1
    1.0
    >>> bool((r["achieved_tflops"] <= r["attainable_tflops"]).all())
    True
    """
    from . import catalog

    models = catalog.load("models") if models is None else models
    hardware = catalog.load("hardware") if hardware is None else hardware
    precisions = catalog.load("precisions") if precisions is None else precisions
    depth = pl.col("context_depth").cast(pl.Float64) if "context_depth" in estimated.columns else pl.lit(0.0)
    # one lazy query (a slider move pays polars' per-query cost once); the catalog tables are kept per frame
    f = (
        estimated.lazy().with_row_index("scenario")
        .filter(pl.col("fits"))
        .select("scenario", "model", "hardware", "precision", "input_tokens", "output_tokens", "batch_size_used",
                "tensor_parallel_used", "weights_gb_per_device", "kv_cache_gb_per_device", "prefill_s", "tpot_s",
                depth.alias("_depth"))
        .join(_roofline_models(models).lazy(), on="model", how="left")
        .join(_roofline_chips(hardware, precisions).lazy(), on=["hardware", "precision"], how="left")
    )
    b = pl.col("batch_size_used").cast(pl.Float64)
    tp = pl.col("tensor_parallel_used").cast(pl.Float64)
    i, o = pl.col("input_tokens").cast(pl.Float64), pl.col("output_tokens").cast(pl.Float64)
    weights_b = pl.col("weights_gb_per_device") * 1e9 / pl.col("total_params_b")
    pre_ctx = mean_cached_tokens("_depth", i)
    dec_ctx = mean_cached_tokens(pl.col("_depth") + i, o)
    pre_flops = prefill_flops(i, pre_ctx) / tp  # one prompt per forward pass
    pre_bytes = weights_b * weight_params_touched_b(tokens=i)
    dec_flops = decode_flops(b, dec_ctx) / tp
    dec_bytes = weights_b * weight_params_touched_b(tokens=b) + pl.col("kv_cache_gb_per_device") * 1e9 * dec_ctx / (
        pl.col("_depth") + i + o
    )
    keep = ["scenario", "model", "hardware", "precision", "peak_tflops", "memory_bandwidth_gb_per_s"]
    f = f.with_columns(pre_flops.alias("_pre_flops"), pre_bytes.alias("_pre_bytes"), dec_flops.alias("_dec_flops"),
                       dec_bytes.alias("_dec_bytes"))
    phases = [
        f.select(*keep, pl.lit("prefill").alias("phase"),
                 (pl.col("_pre_flops") / pl.col("_pre_bytes")).alias("arithmetic_intensity_flop_per_byte"),
                 (b * pl.col("_pre_flops") / pl.col("prefill_s") / 1e12).alias("achieved_tflops")),
        f.select(*keep, pl.lit("decode").alias("phase"),
                 (pl.col("_dec_flops") / pl.col("_dec_bytes")).alias("arithmetic_intensity_flop_per_byte"),
                 (pl.col("_dec_flops") / pl.col("tpot_s") / 1e12).alias("achieved_tflops")),
    ]
    out = pl.concat(phases).sort("scenario", maintain_order=True)
    return out.with_columns(pl.lit("point").alias("kind"), roofline("arithmetic_intensity_flop_per_byte")).collect()


@by_frames
def _roofline_models(models: pl.DataFrame) -> pl.DataFrame:
    """The model columns :func:`phase_roofline` reads."""
    return models.select(
        pl.col("id").alias("model"), "total_params_b", "active_params_b", "n_experts", "experts_per_token",
        "n_layers", (pl.col("n_heads") * pl.col("head_dim")).alias("q_dim"),
        (pl.col("active_params_b") - pl.col("embedding_params_b").fill_null(0.0)).alias("matmul_params_b"),
        "sliding_window_tokens", "sliding_window_layer_fraction",
    )


@by_frames
def _roofline_chips(hardware: pl.DataFrame, precisions: pl.DataFrame) -> pl.DataFrame:
    """Peak and memory bandwidth of every (hardware, precision) pair, as :func:`phase_roofline` reads them."""
    return peak_tflops(hardware, precisions).select("hardware", "precision", "peak_tflops").join(
        hardware.select(pl.col("id").alias("hardware"), "memory_bandwidth_gb_per_s"), on="hardware", how="left")
