"""Device memory: weights, KV cache, workspace, and the largest batch that fits.

Every function takes polars expressions (or column names, or numbers) and
returns a polars expression, so one call evaluates a million scenarios. The
defaults are the column names of the glossary and of the catalogs
(``data/columns/models.csv``, ``precisions.csv``, ``engines.csv``,
``hardware.csv``). :func:`infer_econ.perf.estimate` composes them.

Units: GB = 1e9 bytes (never GiB); parameters in 1e9 (``_b``); tokens; bytes.

References
----------
- Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023
  (arXiv:2211.05102): KV-cache size and memory-bound decode.
- Kwon et al., "Efficient Memory Management for Large Language Model Serving
  with PagedAttention", SOSP 2023 (arXiv:2309.06180): KV budget after weights.
- Ainslie et al., "GQA", 2023 (arXiv:2305.13245); DeepSeek-AI, "DeepSeek-V2",
  2024 (arXiv:2405.04434) for multi-head latent attention (MLA).
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "weights_gb",
    "kv_cache_bytes_per_token",
    "kv_heads_per_device",
    "kv_cache_bytes_per_token_per_device",
    "cached_tokens",
    "activation_workspace_gb",
    "kv_budget_gb",
    "max_batch_size",
]

Into = pl.Expr | str | float | int


def _e(x: Into) -> pl.Expr:
    """A column name becomes ``pl.col``, a number a literal, an expression stays."""
    if isinstance(x, pl.Expr):
        return x
    if isinstance(x, str):
        return pl.col(x)
    return pl.lit(x, dtype=pl.Float64)


def _f(x: Into) -> pl.Expr:
    return _e(x).cast(pl.Float64)


def weights_gb(total_params_b: Into = "total_params_b", bits_per_weight: Into = "bits_per_weight") -> pl.Expr:
    """Weight memory of the whole model [GB].

    Parameters
    ----------
    total_params_b : expr [1e9 parameters]
        Every parameter, embeddings and all MoE experts included (an MoE
        engine keeps every expert resident).
    bits_per_weight : expr [bit]
        Stored bits per weight including block scales (e.g. 4.85 for Q4_K_M).

    Returns
    -------
    polars.Expr [GB]

    Notes
    -----
    ``weights_gb = total_params_b × bits_per_weight / 8``
    (1e9 parameters × bytes per parameter = GB).

    References
    ----------
    Pope et al. 2023 (arXiv:2211.05102), section 2.

    Examples
    --------
    >>> df = pl.DataFrame({"total_params_b": [8.03], "bits_per_weight": [16.0]})
    >>> round(df.select(weights_gb()).item(), 2)  # 8.03e9 × 2 bytes
    16.06
    """
    return _f(total_params_b) * _f(bits_per_weight) / 8.0


def kv_cache_bytes_per_token(
    n_layers: Into = "n_layers",
    n_kv_heads: Into = "n_kv_heads",
    head_dim: Into = "head_dim",
    kv_bytes_per_element: Into = "kv_bytes_per_element",
    kv_latent_dim: Into | None = "kv_latent_dim",
) -> pl.Expr:
    """KV-cache bytes one token adds to the whole model (all layers, one copy) [B].

    Parameters
    ----------
    n_layers, n_kv_heads, head_dim : expr
        Model shape; ``n_kv_heads`` < query heads for GQA, 1 for MQA.
    kv_bytes_per_element : expr [byte]
        2 for fp16/bf16 caches, 1 for fp8/int8.
    kv_latent_dim : expr or None
        MLA models: cached elements per token per layer (latent + RoPE key);
        where not null it replaces the per-head K and V.

    Returns
    -------
    polars.Expr [byte per token]

    Notes
    -----
    GQA/MHA/MQA: ``n_layers × n_kv_heads × head_dim × 2 (K and V) × bytes``.
    MLA: ``n_layers × kv_latent_dim × bytes``.
    Sliding-window layers cap the number of cached tokens, not the bytes per
    token: see :func:`cached_tokens`.

    References
    ----------
    Ainslie et al. 2023 (arXiv:2305.13245); DeepSeek-V2 (arXiv:2405.04434) §2.1.

    Examples
    --------
    >>> df = pl.DataFrame({"n_layers": [32], "n_kv_heads": [8], "head_dim": [128],
    ...                    "kv_bytes_per_element": [2.0], "kv_latent_dim": [None]})
    >>> df.select(kv_cache_bytes_per_token()).item()  # 32 × 8 × 128 × 2 × 2
    131072.0
    """
    gqa = _f(n_layers) * _f(n_kv_heads) * _f(head_dim) * 2.0 * _f(kv_bytes_per_element)
    if kv_latent_dim is None:
        return gqa
    mla = _f(n_layers) * _f(kv_latent_dim) * _f(kv_bytes_per_element)
    return pl.when(_e(kv_latent_dim).is_not_null()).then(mla).otherwise(gqa)


def kv_heads_per_device(n_kv_heads: Into = "n_kv_heads", tensor_parallel: Into = "tensor_parallel") -> pl.Expr:
    """KV heads each tensor-parallel rank stores [heads].

    Notes
    -----
    ``ceil(n_kv_heads / tensor_parallel)``, which is at least 1: when
    ``tensor_parallel > n_kv_heads`` the heads are replicated, so the KV cache
    per device stops shrinking.

    References
    ----------
    Shoeybi et al., "Megatron-LM", 2019 (arXiv:1909.08053): attention heads
    split across tensor-parallel ranks.

    Examples
    --------
    >>> df = pl.DataFrame({"n_kv_heads": [8, 8, 1], "tensor_parallel": [2, 16, 4]})
    >>> df.select(kv_heads_per_device())["n_kv_heads"].to_list()
    [4.0, 1.0, 1.0]
    """
    return (_f(n_kv_heads) / _f(tensor_parallel)).ceil()


def kv_cache_bytes_per_token_per_device(
    n_layers: Into = "n_layers",
    n_kv_heads: Into = "n_kv_heads",
    head_dim: Into = "head_dim",
    kv_bytes_per_element: Into = "kv_bytes_per_element",
    kv_latent_dim: Into | None = "kv_latent_dim",
    tensor_parallel: Into = "tensor_parallel",
    pipeline_parallel: Into = "pipeline_parallel",
) -> pl.Expr:
    """KV-cache bytes one token adds on each device of a replica [B].

    Notes
    -----
    Layers split over pipeline stages, KV heads over tensor-parallel ranks
    (at least one head per rank, see :func:`kv_heads_per_device`):
    ``n_layers / pp × ceil(n_kv_heads / tp) × head_dim × 2 × bytes``.
    An MLA latent is not split by heads: each tensor-parallel rank keeps the
    whole latent, ``n_layers / pp × kv_latent_dim × bytes``.

    References
    ----------
    Kwon et al. 2023 (arXiv:2309.06180); DeepSeek-V2 (arXiv:2405.04434).

    Examples
    --------
    >>> df = pl.DataFrame({"n_layers": [80], "n_kv_heads": [8], "head_dim": [128],
    ...     "kv_bytes_per_element": [2.0], "kv_latent_dim": [None],
    ...     "tensor_parallel": [4], "pipeline_parallel": [1]})
    >>> df.select(kv_cache_bytes_per_token_per_device()).item()  # 80 × 2 × 128 × 2 × 2
    81920.0
    """
    layers = _f(n_layers) / _f(pipeline_parallel)
    gqa = layers * kv_heads_per_device(n_kv_heads, tensor_parallel) * _f(head_dim) * 2.0 * _f(kv_bytes_per_element)
    if kv_latent_dim is None:
        return gqa
    mla = layers * _f(kv_latent_dim) * _f(kv_bytes_per_element)
    return pl.when(_e(kv_latent_dim).is_not_null()).then(mla).otherwise(gqa)


def cached_tokens(
    context_tokens: Into,
    sliding_window_tokens: Into | None = "sliding_window_tokens",
    sliding_window_layer_fraction: Into | None = "sliding_window_layer_fraction",
) -> pl.Expr:
    """Tokens held in the KV cache of an average layer at a context length [tokens].

    Parameters
    ----------
    context_tokens : expr [tokens]
        Tokens in the sequence so far.
    sliding_window_tokens : expr [tokens], nullable
        Window of the sliding-window layers; null = full attention everywhere.
    sliding_window_layer_fraction : expr [fraction], nullable
        Share of layers with the window (1 = all, 0.5 = alternating; null = 1
        when a window is given).

    Notes
    -----
    ``(1 − f) × L + f × min(L, W)``: full-attention layers keep every token,
    sliding-window layers at most ``W``.

    References
    ----------
    Beltagy et al., "Longformer", 2020 (arXiv:2004.05150); Gemma 2 report
    (arXiv:2408.00118) for alternating local/global layers.

    Examples
    --------
    >>> df = pl.DataFrame({"L": [1000.0, 10000.0], "sliding_window_tokens": [4096, 4096],
    ...                    "sliding_window_layer_fraction": [0.5, 0.5]})
    >>> df.select(cached_tokens("L"))["L"].to_list()  # 10000: 0.5×10000 + 0.5×4096
    [1000.0, 7048.0]
    """
    length = _f(context_tokens)
    if sliding_window_tokens is None:
        return length
    window = _f(sliding_window_tokens)
    frac = pl.lit(1.0) if sliding_window_layer_fraction is None else _f(sliding_window_layer_fraction).fill_null(1.0)
    return _cached_tokens(length, window, frac, 1.0 - frac, window.is_null())


def _cached_tokens(length: pl.Expr, window: pl.Expr, frac: pl.Expr, one_minus_frac: pl.Expr,
                   no_window: pl.Expr) -> pl.Expr:
    """:func:`cached_tokens` from the per-model pieces (window, filled fraction, ``1 − fraction``, no window)."""
    capped = one_minus_frac * length + frac * pl.min_horizontal(length, window)
    return pl.when(no_window).then(length).otherwise(capped)


def activation_workspace_gb(
    workspace_tokens: Into = "workspace_tokens",
    hidden_size: Into = "hidden_size",
    ffn_inner_size: Into = "intermediate_size",
    tensor_parallel: Into = "tensor_parallel",
    activation_bytes: Into = 2.0,
) -> pl.Expr:
    """Activation workspace the engine reserves for its largest forward pass [GB].

    Parameters
    ----------
    workspace_tokens : expr [tokens]
        Tokens in the largest batch the engine plans for (vLLM
        ``max_num_batched_tokens``, TensorRT-LLM ``max_num_tokens``,
        llama.cpp ``n_batch``); an engine parameter in ``data/efficiency.csv``.
    hidden_size : expr
        Model width.
    ffn_inner_size : expr
        FFN inner width active per token (MoE: ``(experts_per_token +
        n_shared_experts) × intermediate_size``).
    tensor_parallel : expr
        The FFN is split across tensor-parallel ranks.
    activation_bytes : expr [byte]
        Bytes per activation element (2 for fp16/bf16).

    Notes
    -----
    ``tokens × (4 × hidden + 2 × ffn_inner / tp) × bytes / 1e9``: the residual
    stream, the attention input/output and the gate and up projections are the
    largest live tensors of one layer; other layers reuse the buffers.

    References
    ----------
    Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
    Models", 2022 (arXiv:2205.05198), section 4 (activation sizes per layer).

    Examples
    --------
    >>> df = pl.DataFrame({"workspace_tokens": [8192], "hidden_size": [4096],
    ...     "intermediate_size": [14336], "tensor_parallel": [1]})
    >>> round(df.select(activation_workspace_gb()).item(), 3)  # 8192 × (16384 + 28672) × 2 / 1e9
    0.738
    """
    per_token = _workspace_elements_per_token(4.0 * _f(hidden_size), 2.0 * _f(ffn_inner_size), tensor_parallel)
    return _workspace_gb(workspace_tokens, per_token, activation_bytes)


def _workspace_elements_per_token(four_hidden: pl.Expr, two_ffn: pl.Expr, tensor_parallel) -> pl.Expr:
    """Activation elements per token of :func:`activation_workspace_gb`, from ``4 × hidden`` and ``2 × ffn_inner``."""
    return four_hidden + two_ffn / _f(tensor_parallel)


def _workspace_gb(workspace_tokens, elements_per_token: pl.Expr, activation_bytes) -> pl.Expr:
    """:func:`activation_workspace_gb` from its elements per token."""
    return _f(workspace_tokens) * elements_per_token * _f(activation_bytes) / 1e9


def kv_budget_gb(
    memory_gb: Into = "memory_gb",
    memory_utilization: Into = "memory_utilization",
    overhead_gb: Into = "overhead_gb",
    weights_gb_per_device: Into = "weights_gb_per_device",
    workspace_gb: Into = 0.0,
    of_free_memory: Into | bool = False,
) -> pl.Expr:
    """Memory left for the KV cache on one device [GB]; negative = weights do not fit.

    Parameters
    ----------
    of_free_memory : bool expr
        False (vLLM, SGLang: ``gpu_memory_utilization`` is a share of the whole
        device) or True (TensorRT-LLM: ``free_gpu_memory_fraction`` is a share of
        what is free after weights, runtime and activations); the
        ``kv_memory_basis`` column of ``data/efficiency.csv``.

    Notes
    -----
    Share of the device: ``memory_gb × memory_utilization − overhead_gb −
    weights_gb_per_device − workspace_gb``. Share of the free memory:
    ``memory_utilization × (memory_gb − overhead_gb − weights_gb_per_device −
    workspace_gb)``. The runtime (CUDA context, graphs, allocator) takes
    ``overhead_gb``; what remains after weights and activations holds KV blocks.

    References
    ----------
    Kwon et al. 2023 (arXiv:2309.06180), section 4.

    Examples
    --------
    >>> df = pl.DataFrame({"memory_gb": [80.0], "memory_utilization": [0.9],
    ...     "overhead_gb": [2.0], "weights_gb_per_device": [16.06]})
    >>> round(df.select(kv_budget_gb()).item(), 2)  # 72 − 2 − 16.06
    53.94
    """
    rest = _f(overhead_gb) + _f(weights_gb_per_device) + _f(workspace_gb)
    of_total = _f(memory_gb) * _f(memory_utilization) - rest
    of_free = _f(memory_utilization) * (_f(memory_gb) - rest)
    flag = pl.lit(of_free_memory) if isinstance(of_free_memory, bool) else _e(of_free_memory)
    return pl.when(flag).then(of_free).otherwise(of_total)


def _kv_budget_gb(base_gb: pl.Expr, share: pl.Expr, overhead_gb, weights_gb_per_device, workspace_gb) -> pl.Expr:
    """:func:`kv_budget_gb` as ``share × (base − overhead − weights − workspace)``.

    Share of the free memory: ``base = memory_gb``, ``share = memory_utilization``; share of the device:
    ``base = memory_gb × memory_utilization``, ``share = 1`` (a product by 1 is exact, so the same values).
    """
    rest = _f(overhead_gb) + _f(weights_gb_per_device) + _f(workspace_gb)
    return share * (base_gb - rest)


def max_batch_size(
    kv_budget_gb: Into = "kv_budget_gb",
    kv_bytes_per_sequence: Into = "kv_bytes_per_sequence",
    engine_max_batch_size: Into = "max_batch_size",
) -> pl.Expr:
    """Largest number of concurrent sequences the KV budget and the engine allow [sequences].

    Parameters
    ----------
    kv_budget_gb : expr [GB]
        From :func:`kv_budget_gb`, per device.
    kv_bytes_per_sequence : expr [byte]
        KV bytes one sequence holds per device at its final length
        (:func:`kv_cache_bytes_per_token_per_device` × :func:`cached_tokens`).
    engine_max_batch_size : expr [sequences]
        The engine's cap on concurrent sequences.

    Notes
    -----
    ``min(engine_max_batch_size, floor(kv_budget_gb × 1e9 / kv_bytes_per_sequence))``;
    0 means not even one sequence fits. Sizing at the final length is what an
    engine that admits a request only when its whole KV cache fits does; a
    paged engine can overcommit briefly and pre-empt, which this ignores.

    References
    ----------
    Kwon et al. 2023 (arXiv:2309.06180).

    Examples
    --------
    >>> df = pl.DataFrame({"kv_budget_gb": [53.94], "kv_bytes_per_sequence": [131072.0 * 2048],
    ...                    "max_batch_size": [256]})
    >>> df.select(max_batch_size()).item()  # floor(53.94e9 / 268435456) = 200
    200
    """
    fit = (_f(kv_budget_gb) * 1e9 / _f(kv_bytes_per_sequence)).floor().clip(lower_bound=0.0)
    return pl.min_horizontal(fit, _f(engine_max_batch_size)).cast(pl.Int64)
