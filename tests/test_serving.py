"""Tests of infer_econ.serving: queueing formulas, replica latency, capacity, optimizations."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from infer_econ import serving
from infer_econ.errors import ValidationError

BLOCKS = {"decode_step_fixed_s": 0.01, "decode_step_per_sequence_s": 1e-4, "prefill_s_per_token": 1e-4,
          "batch_cap": 256.0}


def frame(**cols):
    base = {"input_tokens": 1000.0, "output_tokens": 201.0, **BLOCKS}
    base.update(cols)
    n = max(len(v) if isinstance(v, list) else 1 for v in base.values())
    return pl.DataFrame({k: v if isinstance(v, list) else [v] * n for k, v in base.items()})


# ------------------------------------------------------------------ textbook queueing values


def test_mm1_textbook():
    # λ = 0.5, μ = 1: ρ = 0.5, Wq = ρ / (μ − λ) = 1 s, W = 1 / (μ − λ) = 2 s
    assert serving.mm1_waiting_time_s(0.5, 1.0)[()] == pytest.approx(1.0)
    assert serving.mm1_sojourn_time_s(0.5, 1.0)[()] == pytest.approx(2.0)
    assert np.isinf(serving.mm1_waiting_time_s(1.0, 1.0)[()])


def test_erlang_c_hand_computed():
    # c = 3, a = 2: B1 = 2/3, B2 = (4/3)/(2 + 4/3) = 0.4, B3 = 0.8/3.8 = 0.210526
    # C = B3 / (1 − (2/3)(1 − B3)) = 0.210526 / 0.473684 = 4/9
    assert serving.erlang_b(3, 2.0)[()] == pytest.approx(0.8 / 3.8)
    assert serving.erlang_c(3, 2.0)[()] == pytest.approx(4.0 / 9.0)
    # c = 2, a = 1: C = 1/3; Wq = C / (cμ − λ) = 1/3 s (M/M/2 textbook value Lq = Wq λ = 1/3)
    assert serving.mmc_waiting_time_s(1.0, 1.0, 2)[()] == pytest.approx(1.0 / 3.0)
    # c = 1 reduces to M/M/1: C = ρ
    assert serving.erlang_c(1, 0.7)[()] == pytest.approx(0.7)


def test_erlang_c_stable_for_many_servers():
    # the direct a^c / c! formula overflows at c = 1000; the recursion must not
    c = serving.erlang_c(1000, 950.0)[()]
    assert 0.0 < c < 1.0 and math.isfinite(c)
    # against a log-space direct evaluation at c = 60, a = 50
    cc, a = 60, 50.0
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(cc)]
    m = max(logs)
    s = sum(math.exp(v - m) for v in logs)
    last = math.exp(cc * math.log(a) - math.lgamma(cc + 1) - m) / (1 - a / cc)
    assert serving.erlang_c(cc, a)[()] == pytest.approx(last / (s + last), rel=1e-9)


def test_erlang_c_vectorized_matches_rows():
    c = np.array([1, 2, 3, 8, 64])
    a = np.array([0.5, 1.0, 2.0, 6.0, 60.0])
    vec = serving.erlang_c(c, a)
    one = [serving.erlang_c(int(ci), float(ai))[()] for ci, ai in zip(c, a)]
    assert vec == pytest.approx(one)


def test_erlang_bad_servers():
    with pytest.raises(ValidationError, match="servers"):
        serving.erlang_b(0, 1.0)


def test_mmc_quantile_hand_computed():
    # c = 2, λ = μ = 1: C = 1/3, cμ − λ = 1: t_0.99 = ln((1/3) / 0.01) = ln(33.33) = 3.5066 s
    assert serving.mmc_waiting_time_quantile_s(1.0, 1.0, 2, 0.99)[()] == pytest.approx(math.log(100 / 3))
    # median: C = 1/3 < 0.5 → half the arrivals do not wait at all
    assert serving.mmc_waiting_time_quantile_s(1.0, 1.0, 2, 0.5)[()] == 0.0


def test_pollaczek_khinchine():
    # M/D/1 at ρ = 0.5 waits half as long as M/M/1: 0.5 s
    assert serving.mg1_waiting_time_s(0.5, 1.0, 0.0)[()] == pytest.approx(0.5)
    assert serving.mg1_waiting_time_s(0.5, 1.0, 1.0)[()] == pytest.approx(serving.mm1_waiting_time_s(0.5, 1.0)[()])


# ------------------------------------------------------------------ replica latency


def test_replica_hand_computed():
    # λ = 1/s, I = 1000, O = 201 (200 decode steps), t0 = 10 ms, t1 = 0.1 ms, p = 0.1 ms/token, unchunked
    # ρ_p = 0.1; TPOT = 0.010 / (1 − 0.1 − 1 × 200 × 1e-4) = 0.010 / 0.88 = 11.364 ms; B = 200 × TPOT = 2.273
    # capacity = 256 / (200 × (0.01 + 0.0256) + 256 × 0.1) = 256 / 32.72 = 7.824 /s
    r = serving.replica_latency(1.0, 1000, 201, 0.01, 1e-4, 1e-4, 256, chunked_prefill=False)
    assert r["tpot_mean_s"][0] == pytest.approx(0.01 / 0.88)
    assert r["batch_mean"][0] == pytest.approx(200 * 0.01 / 0.88)
    assert r["capacity_requests_per_s"][0] == pytest.approx(256 / 32.72)
    assert r["utilization"][0] == pytest.approx(32.72 / 256)
    # TTFT = wait + s with s = I p = 0.1 s; prefill queue wait ≥ M/D/1 wait λ s² / (2 (1 − λ s)) = 0.00556
    assert r["ttft_mean_s"][0] > 0.1 + 0.01 / 1.8
    assert r["ttft_p99_s"][0] >= r["ttft_p50_s"][0] >= 0.1


def test_unstable_gives_null_latency():
    f = frame(request_rate_per_s=[1.0, 100.0])
    out = serving.latency_under_load(f)
    assert out["stable"].to_list() == [True, False]
    for c in ("ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s"):
        assert out[c][1] is None and out[c][0] is not None
    assert out["utilization"][1] > 1


def test_capacity_edge():
    cap = 256 / 32.72
    out = serving.latency_under_load(frame(request_rate_per_s=[cap * 0.999, cap * 1.0001], chunked_prefill=False))
    assert out["stable"].to_list() == [True, False]


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 7.5), st.floats(0.01, 7.5), st.booleans())
def test_latency_non_decreasing_in_rate(r1, r2, chunked):
    lo, hi = sorted((r1, r2))
    out = serving.latency_under_load(frame(request_rate_per_s=[lo, hi], chunked_prefill=chunked))
    for c in ("ttft_mean_s", "ttft_p50_s", "ttft_p99_s", "tpot_mean_s", "tpot_p50_s", "tpot_p99_s"):
        a, b = out[c].to_list()
        if b is None:
            continue
        assert b >= a - 1e-12, c


@settings(max_examples=30, deadline=None)
@given(st.floats(1.0, 60.0), st.integers(1, 12))
def test_more_replicas_never_raise_p99(rate, reps):
    out = serving.latency_under_load(frame(request_rate_per_s=rate, replicas=[reps, reps + 1]))
    a, b = out["ttft_p99_s"].to_list(), out["tpot_p99_s"].to_list()
    for x, y in (a, b):
        if x is None:
            continue
        assert y is not None and y <= x + 1e-12
    # whole-deployment capacity grows with replicas
    c = out["capacity_requests_per_s"].to_list()
    assert c[1] > c[0]


def test_chunked_prefill_raises_tpot_with_rate_times_input():
    # TPOT grows with λ × I: doubling the prompt at the same rate raises TPOT
    out = serving.latency_under_load(frame(request_rate_per_s=2.0, input_tokens=[500.0, 1000.0]))
    assert out["tpot_mean_s"][1] > out["tpot_mean_s"][0]


def test_batch_cap_binds():
    # with cap 4 the batch saturates: TPOT = t(cap) / (1 − ρ_p) and requests queue for slots
    out = serving.latency_under_load(frame(request_rate_per_s=0.5, batch_cap=4.0, chunked_prefill=False))
    # capacity = 4 / (200 × 0.0104 + 4 × 0.1) = 4 / 2.48 = 1.613 /s; ρ_p = 0.05
    assert out["capacity_requests_per_s"][0] == pytest.approx(4 / 2.48)
    b_free = 0.5 * 200 * 0.01 / (1 - 0.05 - 0.5 * 200 * 1e-4)  # 1.0989 < 4: not saturated
    assert out["batch_mean"][0] == pytest.approx(b_free)
    # near capacity the batch approaches the cap: λ = 1.6: B = 1.6 × 200 × 0.01 / (1 − 0.16 − 0.032) = 3.9604
    # (Little's law and the capacity formula agree: B reaches the cap exactly at λ_max)
    hi = serving.latency_under_load(frame(request_rate_per_s=1.6, batch_cap=4.0, chunked_prefill=False))
    assert hi["batch_mean"][0] == pytest.approx(3.2 / 0.808)
    assert hi["tpot_mean_s"][0] == pytest.approx(0.01 / 0.808)
    # the 4 slots are nearly always full: Erlang C near 1, the slot wait is large
    assert hi["queue_wait_s"][0] > 10 * out["queue_wait_s"][0]


def test_closed_loop_one_client_hand_computed():
    # one client: X = 1 / (prefill 0.1 s + 200 steps × t(1) = 200 × 0.0101 s) = 1 / 2.12
    # (the model's mean batch is 0.95, the share of the cycle spent decoding, hence rel 1e-3)
    out = serving.latency_under_load(frame(concurrency=1, chunked_prefill=False))
    assert out["requests_per_s"][0] == pytest.approx(1 / 2.12, rel=1e-3)
    assert out["ttft_mean_s"][0] == pytest.approx(0.1)
    assert out["stable"][0] is True


def test_closed_loop_saturates_at_capacity():
    conc = [1, 8, 64, 256, 1024, 2048]
    out = serving.latency_under_load(frame(concurrency=conc, batch_cap=64.0, chunked_prefill=False))
    x = out["requests_per_s"].to_list()
    assert all(b >= a - 1e-9 for a, b in zip(x, x[1:]))
    cap = out["capacity_requests_per_s"][0]
    assert x[-1] <= cap * 1.001 and x[-1] >= cap * 0.9
    # beyond the cap, TTFT grows ~ linearly with N (Little: N = X × R)
    t = out["ttft_mean_s"].to_list()
    assert t[-1] > t[-2] > t[2]
    r = out["e2e_mean_s"].to_list()
    assert 2048 / x[-1] == pytest.approx(r[-1], rel=0.05)


def test_rate_and_concurrency_rows_mix():
    f = frame(request_rate_per_s=[1.0, None], concurrency=[None, 4])
    out = serving.latency_under_load(f)
    assert out["stable"].to_list() == [True, True]
    assert out["requests_per_s"][0] == pytest.approx(1.0)


def test_simulation_method_runs_the_engine_simulation_and_is_seeded():
    f = frame(request_rate_per_s=[1.0, 4.0, 100.0], chunked_prefill=False)
    s1 = serving.latency_under_load(f, method="simulation", n_requests=1500, seed=3)
    s2 = serving.latency_under_load(f, method="simulation", n_requests=1500, seed=3)
    assert s1["ttft_p99_s"].to_list() == s2["ttft_p99_s"].to_list()
    # each stable row is simulate_replica of that row (rate per replica, its blocks); unstable stays null
    ref = serving.simulate_replica(4.0, 1000, 201, 0.01, 1e-4, 1e-4, 256, chunked_prefill=False, n_requests=1500,
                                   seed=3)
    assert s1["ttft_p99_s"][1] == pytest.approx(ref["ttft_p99_s"])
    assert s1["tpot_p90_s"][1] == pytest.approx(ref["tpot_p90_s"])
    assert s1["ttft_p99_s"][2] is None and s1["stable"][2] is False
    big = frame(request_rate_per_s=[1.0] * (serving.MAX_SIMULATION_ROWS + 1))
    with pytest.raises(ValidationError, match="at most"):
        serving.latency_under_load(big, method="simulation")


def test_simulation_exponential_outputs_widen_tpot_tail():
    f = frame(request_rate_per_s=4.0, chunked_prefill=False, output_length_dist=["fixed", "exponential"])
    s = serving.latency_under_load(f, method="simulation", n_requests=3000)
    assert s["tpot_p99_s"][1] > s["tpot_p99_s"][0]


def test_bad_inputs():
    with pytest.raises(ValidationError, match="request_rate_per_s"):
        serving.latency_under_load(frame())  # neither a rate nor a concurrency column
    with pytest.raises(ValidationError, match="'request_rate_per_s'.*row 1"):
        serving.latency_under_load(frame(request_rate_per_s=[1.0, -2.0]))
    with pytest.raises(ValidationError, match="length distribution"):
        serving.latency_under_load(frame(request_rate_per_s=1.0, output_length_dist="weibull"))
    with pytest.raises(ValidationError, match="method"):
        serving.latency_under_load(frame(request_rate_per_s=1.0), method="exact")
    with pytest.raises(ValidationError, match="concurrency"):
        serving.closed_loop_latency(0, 10, 10, 0.01, 0.0, 1e-4, 8)


# ------------------------------------------------------------------ capacity


def candidates(**kw):
    base = {"model": "m", "hardware": "h", "precision": "bf16", "engine": "vllm", "n_devices": 1,
            "usd_per_device_hour": 2.0, **BLOCKS}
    base.update(kw)
    n = max(len(v) if isinstance(v, list) else 1 for v in base.values())
    return pl.DataFrame({k: v if isinstance(v, list) else [v] * n for k, v in base.items()})


def test_capacity_hand_checked():
    # 20 req/s; TPOT p99 ≤ 50 ms. Per replica at 20/3 req/s: ρ_p = 0.667, TPOT = 0.01 / (1 − 0.667 − 0.133) = 50 ms mean
    # → 3 replicas fail; at 5 req/s: TPOT = 0.01 / 0.4 = 25 ms mean, p99 < 50 ms → 4 replicas × $2 = $8/h
    r = serving.capacity(candidates(), request_rate_per_s=20, input_tokens=1000, output_tokens=201,
                         slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    assert r["replicas"].item() == 4
    assert r["usd_per_hour"].item() == pytest.approx(8.0)
    # $/M tokens = 8 / (20 × 1201 × 3600) × 1e6
    assert r["usd_per_million_tokens"].item() == pytest.approx(8 / (20 * 1201 * 3600) * 1e6)
    assert r["tpot_p99_s"].item() <= 0.05 and r["ttft_p99_s"].item() <= 2.0


def test_capacity_picks_cheapest_per_hardware():
    c = candidates(hardware=["a", "a", "b"], n_devices=[1, 2, 1], usd_per_device_hour=[2.0, 2.0, 10.0],
                   decode_step_fixed_s=[0.01, 0.007, 0.01])
    r = serving.capacity(c, request_rate_per_s=20, input_tokens=1000, output_tokens=201,
                         slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    assert r["hardware"].to_list() == ["a", "b"]
    assert r.height == 2 and r["usd_per_hour"].is_sorted()


def test_capacity_tighter_slo_never_cheaper():
    args = dict(request_rate_per_s=30, input_tokens=1000, output_tokens=201, slo_ttft_p99_s=2.0)
    loose = serving.capacity(candidates(), slo_tpot_p99_s=0.08, **args)["usd_per_hour"].item()
    tight = serving.capacity(candidates(), slo_tpot_p99_s=0.03, **args)["usd_per_hour"].item()
    assert tight >= loose


def test_capacity_impossible_tpot():
    # TPOT can never go below t(1) = 10.1 ms: a 5 ms target is impossible
    with pytest.raises(ValidationError, match=r"TPOT p99 <= 0.005 s cannot be met: the best achievable is 0.010"):
        serving.capacity(candidates(), request_rate_per_s=5, input_tokens=1000, output_tokens=201,
                         slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.005)


def test_capacity_impossible_ttft():
    # the unloaded prefill alone is 1000 × 1e-4 = 0.1 s
    with pytest.raises(ValidationError, match=r"TTFT p99 <= 0.05 s cannot be met: the best achievable is 0.1"):
        serving.capacity(candidates(), request_rate_per_s=5, input_tokens=1000, output_tokens=201,
                         slo_ttft_p99_s=0.05, slo_tpot_p99_s=0.1)


def test_capacity_bad_inputs():
    with pytest.raises(ValidationError, match="slo_ttft_p99_s"):
        serving.capacity(candidates(), request_rate_per_s=5, input_tokens=10, output_tokens=10,
                         slo_ttft_p99_s=-1, slo_tpot_p99_s=0.1)
    with pytest.raises(ValidationError, match="usd_per_device_hour"):
        serving.capacity(candidates().drop("usd_per_device_hour"), request_rate_per_s=5, input_tokens=10,
                         output_tokens=10, slo_ttft_p99_s=1, slo_tpot_p99_s=0.1)


def test_capacity_uses_cloud_prices_catalog():
    from infer_econ import catalog

    prices = catalog.load("cloud_prices")
    hw = prices.filter(pl.col("provider") == "aws", pl.col("price_model") == "on_demand")["hardware"][0]
    best = prices.filter(pl.col("provider") == "aws", pl.col("price_model") == "on_demand",
                         pl.col("hardware") == hw)["usd_per_device_hour"].min()
    r = serving.capacity(candidates(hardware=hw).drop("usd_per_device_hour"), request_rate_per_s=5,
                         input_tokens=1000, output_tokens=201, slo_ttft_p99_s=2, slo_tpot_p99_s=0.1, provider="aws")
    assert r["usd_per_device_hour"].item() == pytest.approx(best)


# ------------------------------------------------------------------ optimizations


def test_speculative_tokens_per_step():
    # (1 − 0.8⁵) / 0.2 = (1 − 0.32768) / 0.2 = 3.3616
    assert serving.speculative_tokens_per_step(0.8, 4)[()] == pytest.approx(3.3616)
    assert serving.speculative_tokens_per_step(0.0, 4)[()] == pytest.approx(1.0)
    assert serving.speculative_tokens_per_step(1.0, 4)[()] == pytest.approx(5.0)
    with pytest.raises(ValidationError, match="acceptance"):
        serving.speculative_tokens_per_step(1.2, 4)


def test_speculative_decoding_helps_small_batch_not_large():
    f = frame(request_rate_per_s=[0.05, 7.0], spec_acceptance_rate=0.7, spec_draft_tokens=4,
              spec_draft_cost_ratio=0.05, decode_step_per_sequence_s=4e-4, batch_cap=512.0, prefill_s_per_token=1e-5)
    base = serving.latency_under_load(f)
    spec = serving.latency_under_load(serving.speculative_decoding(f))
    assert spec["tpot_mean_s"][0] < base["tpot_mean_s"][0]  # latency-bound: faster
    assert spec["capacity_requests_per_s"][1] < base["capacity_requests_per_s"][1]  # throughput-bound: less capacity


def test_prefix_cache_saves_prefill():
    f = frame(request_rate_per_s=4.0, prefix_cache_hit_rate=[0.0, 0.5])
    out = serving.latency_under_load(serving.prefix_cache(f))
    assert out["ttft_mean_s"][1] < out["ttft_mean_s"][0]
    assert out["capacity_requests_per_s"][1] > out["capacity_requests_per_s"][0]
    with pytest.raises(ValidationError, match="prefix_cache_hit_rate"):
        serving.prefix_cache(frame(prefix_cache_hit_rate=1.5))


def test_disaggregated_removes_prefill_stalls_from_tpot():
    f = frame(request_rate_per_s=4.0, prefill_replicas=1, decode_replicas=1)
    dis = serving.disaggregated_latency(f)
    col = serving.latency_under_load(f)
    # decode pool TPOT = t0 / (1 − λ Od t1) = 0.01 / (1 − 4 × 200 × 1e-4) = 0.01 / 0.92
    assert dis["tpot_mean_s"].item() == pytest.approx(0.01 / 0.92)
    assert dis["tpot_mean_s"].item() < col["tpot_mean_s"].item()
    assert dis["replicas"].item() == 2
    # prefill pool: M/D/1 with s = 0.1 s at 4/s: W = 4 × 0.01 / (2 × 0.6) = 0.0333
    assert dis["ttft_mean_s"].item() == pytest.approx(0.1 + 0.04 / 1.2)


def test_closed_loop_lockstep_hand_computed():
    # fixed lengths: 16 clients in lockstep, unchunked: the wave's 16 prompts prefill together,
    # s = 1000 × 1e-4 = 0.1 s → every first token at 16 × 0.1 = 1.6 s; decode at t(16) = 0.0116 s;
    # cycle = 1.6 + 200 × 0.0116 = 3.92 s → X = 16 / 3.92
    out = serving.latency_under_load(frame(concurrency=16, chunked_prefill=False))
    assert out["ttft_mean_s"][0] == pytest.approx(1.6)
    assert out["tpot_mean_s"][0] == pytest.approx(0.0116)
    assert out["requests_per_s"][0] == pytest.approx(16 / 3.92)
    # chunked FIFO: request k's first token at k s_a + (s_own − s_a), s_a = 0.1 + 1000 × 0.0116 / (2048 − 16)
    # = 0.10571, and its last step is a whole step: s_own − s_a = (1 − 1000 / 2032) × 0.0116 = 0.00589
    # → mean (16 + 1) / 2 × s_a + 0.00589; TPOT carries the later prompts: + (16 − 1) / 2 × 0.1 / 200
    ch = serving.latency_under_load(frame(concurrency=16, chunked_prefill=True))
    s = 0.1 + 1000 * 0.0116 / 2032
    assert ch["ttft_mean_s"][0] == pytest.approx(8.5 * s + (1 - 1000 / 2032) * 0.0116)
    assert ch["tpot_mean_s"][0] == pytest.approx(0.0116 + 7.5 * 0.1 / 200)
    # spread-out clients (exponential outputs) do not queue their prefills behind a whole wave
    spread = serving.latency_under_load(frame(concurrency=16, chunked_prefill=False, output_length_dist="exponential"))
    assert spread["ttft_mean_s"][0] < out["ttft_mean_s"][0]
    forced = serving.latency_under_load(frame(concurrency=16, chunked_prefill=False, closed_loop_synchronized=False))
    assert forced["ttft_mean_s"][0] == pytest.approx(spread["ttft_mean_s"][0])


def test_closed_loop_lockstep_beyond_cap():
    # 128 clients, cap 64: waves of 64 (unchunked): cycle = 64 × 0.1 + 200 × (0.01 + 64e-4) = 9.68 s,
    # X = 64 / 9.68; the other 64 wait N / X − cycle = 128 × 9.68 / 64 − 9.68 = 9.68 s for a slot
    out = serving.latency_under_load(frame(concurrency=128, batch_cap=64.0, chunked_prefill=False))
    assert out["requests_per_s"][0] == pytest.approx(64 / 9.68)
    assert out["queue_wait_s"][0] == pytest.approx(9.68 + 63 * 0.1)
    assert out["ttft_mean_s"][0] == pytest.approx(9.68 + 6.4)


def _run_plan(argv):
    import argparse

    from infer_econ.cli import plan

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    plan.add_parser(sub)
    a = p.parse_args(["plan", *argv])
    return a.run(a)


PLAN = ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--precision", "bf16", "--engine", "vllm",
        "--requests-per-s", "20", "--input-tokens", "1000", "--output-tokens", "200", "--slo-ttft-p99-s", "2"]


def test_cli_plan_json(capsys):
    pytest.importorskip("infer_econ.perf")
    import json

    assert _run_plan(PLAN + ["--slo-tpot-p99-s", "0.1", "--usd-per-device-hour", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["replicas"] >= 1
    r = rows[0]
    assert r["usd_per_hour"] == pytest.approx(r["replicas"] * r["n_devices"] * 2.0)
    assert r["tpot_p99_s"] <= 0.1 and r["ttft_p99_s"] <= 2


def test_cli_plan_impossible_and_missing_price():
    pytest.importorskip("infer_econ.perf")
    with pytest.raises(ValidationError, match="TPOT p99 <= 0.0001 s cannot be met"):
        _run_plan(PLAN + ["--slo-tpot-p99-s", "0.0001", "--usd-per-device-hour", "2"])
    with pytest.raises(ValidationError, match="--provider"):
        _run_plan(PLAN + ["--slo-tpot-p99-s", "0.1"])


def test_step_times_from_estimator():
    pytest.importorskip("infer_econ.perf")
    from infer_econ import perf

    f = pl.DataFrame({"model": ["llama-3.1-8b"], "hardware": ["h100-sxm"], "precision": ["bf16"], "engine": ["vllm"],
                      "n_devices": [1], "input_tokens": [1000], "output_tokens": [200]})
    b = serving.step_times(f)
    one = perf.estimate(f.with_columns(pl.lit(1).alias("batch_size")))
    top = perf.estimate(f.with_columns(pl.lit(None, pl.Int64).alias("batch_size")))
    t0, t1, p, cap = (b[c].item() for c in serving.BLOCK_COLUMNS)
    # the linear step reproduces the estimator at both ends: t(1) and t(cap)
    assert t0 + t1 == pytest.approx(one["tpot_s"].item())
    assert t0 + t1 * cap == pytest.approx(top["tpot_s"].item())
    assert p == pytest.approx(one["prefill_s"].item() / 1000)
    assert cap == top["batch_size_used"].item()
    # under load at a vanishing rate, TPOT → t(B ≈ 0) and TTFT → the unloaded prefill
    out = serving.latency_under_load(f.with_columns(pl.lit(1e-4).alias("request_rate_per_s")))
    assert out["tpot_mean_s"].item() == pytest.approx(t0, rel=1e-3)
    assert out["ttft_p50_s"].item() >= p * 1000


def test_serving_measurements_catalog():
    from infer_econ import catalog

    m = catalog.load("serving_measurements")
    assert m.height == 191 and m["id"].n_unique() == 191
    # the reference notes' steady-state flags are carried: overloaded dstack 405B sweeps and the
    # 50-prompt vLLM spot checks are not steady state; MLPerf VALID server runs are
    over = m.filter(pl.col("notes").str.contains("OVERLOADED"))
    assert over.height > 0 and not over["steady_state"].any()
    assert not m.filter(pl.col("load_type").is_in(["burst", "offline_saturation"]))["steady_state"].any()
    assert m.filter(pl.col("source_group").str.starts_with("MLPerf") & (pl.col("load_type") == "poisson"))[
        "steady_state"].all()
    # MLPerf H100 llama2-70b server run: tp=2 × 4 replicas, 75.1 req/s, TTFT p99 461 ms
    r = m.filter(pl.col("id") == "S01326").row(0, named=True)
    assert (r["tensor_parallel"], r["replicas"], r["layout_stated"]) == (2, 4, True)
    assert r["request_rate_per_s"] == pytest.approx(75.1) and r["ttft_p99_ms"] == pytest.approx(461.2781)


def test_validation_report_regression_guard():
    pytest.importorskip("infer_econ.perf")
    rep = serving.validation_report()
    # every row is either scored or says why not
    assert rep.filter(~pl.col("included"))["excluded_reason"].null_count() == 0
    assert not rep.filter(pl.col("included") & (pl.col("metric") == "ttft"))["excluded_reason"].is_not_null().any()
    # TTFT is only scored on steady-state runs
    ids = rep.filter(pl.col("included") & (pl.col("metric") == "ttft"))["id"].to_list()
    from infer_econ import catalog

    m = catalog.load("serving_measurements").filter(pl.col("id").is_in(ids))
    assert m["steady_state"].all()
    summ = serving.validation_summary(rep)
    mean = {r["metric"]: r["median_abs_error_pct"] for r in summ.filter(pl.col("statistic") == "mean").iter_rows(named=True)}
    assert mean["tpot"] <= 30.0 and mean["ttft"] <= 30.0
    anch = serving.validation_summary(serving.validation_report(anchored=True))
    pooled = {r["metric"]: r["median_abs_error_pct"] for r in anch.filter(pl.col("statistic") == "all").iter_rows(named=True)}
    assert pooled["tpot"] <= 30.0 and pooled["ttft"] <= 30.0


def test_validation_report_predicts_with_the_efficiency_it_is_given():
    """A user's calibration reaches the serving check: the shipped frame passed explicitly changes nothing; halving
    every decode bandwidth share slows every memory-bound step, so no scored mean TPOT gets faster and most slower."""
    pytest.importorskip("infer_econ.perf")
    from infer_econ import catalog

    shipped = catalog.load("efficiency")
    base = serving.validation_report()
    same = serving.validation_report(efficiency=shipped)
    assert base["predicted_s"].equals(same["predicted_s"])
    slow = serving.validation_report(efficiency=shipped.with_columns(pl.col("decode_bandwidth_efficiency") / 2))
    key = ["id", "metric", "statistic"]
    both = (base.filter(pl.col("included") & (pl.col("metric") == "tpot") & (pl.col("statistic") == "mean"))
            .select(*key, "predicted_s")
            .join(slow.select(*key, pl.col("predicted_s").alias("slow_s")), on=key, how="inner")
            .drop_nulls())
    assert both.height >= 50
    assert (both["slow_s"] >= both["predicted_s"] * (1 - 1e-9)).all()
    assert (both["slow_s"] > both["predicted_s"] * 1.05).mean() > 0.5


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.floats(0.01, 3.0))
def test_erlang_b_fast_path_matches_full_recursion(c, load):
    # the shortcut (skip far-below-saturation rows, start the recursion near min(a, c)) must agree with the
    # textbook recursion from B(0) = 1
    a = c * load
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    got = serving.erlang_b(c, a)[()]
    assert got == pytest.approx(b, rel=1e-9, abs=1e-15)


def test_compare_optimizations_prices_each_lever():
    f = frame(request_rate_per_s=3.0, n_devices=2, usd_per_device_hour=2.0, replicas=2,
              prefix_cache_hit_rate=0.6, spec_acceptance_rate=0.8, spec_draft_tokens=3, spec_draft_cost_ratio=0.05,
              prefill_replicas=1, decode_replicas=1)
    r = serving.compare_optimizations(f)
    assert r["optimization"].to_list() == ["baseline", "prefix_cache", "speculative_decoding", "disaggregated"]
    row = {x["optimization"]: x for x in r.iter_rows(named=True)}
    # baseline: 2 replicas × 2 devices × $2 = $8/h; at 3 req/s × 1201 tokens: 8 / (3 × 1201 × 3600) × 1e6
    assert row["baseline"]["usd_per_hour"] == pytest.approx(8.0)
    assert row["baseline"]["usd_per_million_tokens"] == pytest.approx(8 / (3 * 1201 * 3600) * 1e6)
    # prefix caching saves prefill: more capacity, cheaper at capacity, lower TTFT
    assert row["prefix_cache"]["capacity_requests_per_s"] > row["baseline"]["capacity_requests_per_s"]
    assert row["prefix_cache"]["usd_per_million_tokens_at_capacity"] < row["baseline"]["usd_per_million_tokens_at_capacity"]
    assert row["prefix_cache"]["ttft_p99_s"] < row["baseline"]["ttft_p99_s"]
    # speculative decoding at light load lowers TPOT
    assert row["speculative_decoding"]["tpot_p99_s"] < row["baseline"]["tpot_p99_s"]
    # disaggregated: decode pool free of prefill stalls
    assert row["disaggregated"]["tpot_p99_s"] < row["baseline"]["tpot_p99_s"]
    with pytest.raises(ValidationError, match="usd_per_device_hour"):
        serving.compare_optimizations(frame(request_rate_per_s=1.0, n_devices=1))


def test_slo_rate_per_replica_consistent_with_capacity():
    f = frame()
    r = serving.slo_rate_per_replica(f, slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    lam = r["slo_requests_per_s_per_replica"].item()
    # at the returned rate the SLO holds, a little above it does not
    at = serving.latency_under_load(frame(request_rate_per_s=[lam * 0.999, lam * 1.01]))
    assert at["tpot_p99_s"][0] <= 0.05 and at["ttft_p99_s"][0] <= 2.0
    assert (at["tpot_p99_s"][1] or 1.0) > 0.05 or (at["ttft_p99_s"][1] or 9.0) > 2.0
    # capacity() sizes 20 req/s with ceil(20 / λ_slo) replicas
    c = serving.capacity(candidates(), request_rate_per_s=20, input_tokens=1000, output_tokens=201,
                         slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    assert c["replicas"].item() == math.ceil(20 / lam)
    # impossible: TPOT below t(1)
    none = serving.slo_rate_per_replica(f, slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.005)
    assert none["slo_requests_per_s_per_replica"].item() is None


def test_capacity_sizes_for_the_peak_of_a_demand_profile():
    from infer_econ import demand

    d = demand.demand_profile(48, peak_requests_per_s=20.0, peak_to_trough_ratio=4.0, input_tokens=1000,
                              output_tokens=201)
    a = serving.capacity(candidates(), demand=d, slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    b = serving.capacity(candidates(), request_rate_per_s=20.0, input_tokens=1000, output_tokens=201,
                         slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)
    assert a["replicas"].item() == b["replicas"].item() == 4
    with pytest.raises(ValidationError, match="input_tokens"):
        serving.capacity(candidates(), demand=d.drop("input_tokens"), slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.05)


def test_cli_plan_demand_csv(capsys):
    pytest.importorskip("infer_econ.perf")
    from infer_econ._paths import data_dir

    argv = ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--precision", "bf16", "--engine", "vllm",
            "--demand-csv", str(data_dir() / "sample_demand.csv"), "--slo-ttft-p99-s", "2", "--slo-tpot-p99-s", "0.1",
            "--usd-per-device-hour", "2"]
    assert _run_plan(argv) == 0
    out = capsys.readouterr().out
    assert "demand 23.6593 req/s (peak hour)" in out
    with pytest.raises(ValidationError, match="exactly one"):
        _run_plan(argv + ["--requests-per-s", "3"])


def test_cli_validate_has_serving_section(tmp_path):
    pytest.importorskip("infer_econ.perf")
    import argparse

    from infer_econ.cli import validate

    assert validate.serving_report in validate.REPORTS
    out = tmp_path / "serving_pred.csv"
    args = argparse.Namespace(serving_measurements=None, serving_predictions=str(out))
    text = validate.serving_report(args)
    assert "Serving under load" in text and "TPOT mean" in text and "excluded:" in text
    assert pl.read_csv(out)["mode"].unique().sort().to_list() == ["anchored", "end_to_end"]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 600), st.integers(1, 600), st.booleans(), st.sampled_from(["fixed", "exponential"]),
       st.sampled_from([16.0, 64.0, 256.0]))
@example(49, 63, False, "exponential", 64.0)  # the TTFT tail fell at the slot limit (p0 forced to 1 there)
def test_closed_loop_latency_non_decreasing_in_clients(n1, n2, chunked, dist, cap):
    lo, hi = sorted((n1, n2))
    out = serving.latency_under_load(frame(concurrency=[lo, hi], chunked_prefill=chunked, output_length_dist=dist,
                                           batch_cap=cap))
    for c in ("ttft_mean_s", "ttft_p99_s", "tpot_mean_s", "tpot_p99_s", "e2e_mean_s"):
        a, b = out[c].to_list()
        assert b >= a * (1 - 1e-9) - 1e-12, c
    # throughput is bounded by capacity; without chunking it never falls as clients are added. With chunked
    # prefill it can: a bigger running batch leaves fewer prompt tokens in each step's token budget
    # (s = I p + I t(B) / (budget − B)), the reason engines raise max_num_batched_tokens for big batches
    x = out["requests_per_s"].to_list()
    if not chunked:
        assert x[1] >= x[0] * (1 - 1e-9)
    assert x[1] <= out["capacity_requests_per_s"][1] * (1 + 1e-9)


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("util", [0.2, 0.5, 0.8])
def test_closed_forms_against_step_simulation(chunked, util):
    # the analytical percentiles against an iteration-level engine simulation (3,000 Poisson requests):
    # means, medians and p99 within 25 % up to 80 % utilization (measured gaps: TTFT mean −19 % at 0.8 chunked,
    # TPOT p99 −7 %; see docs/validation.md)
    cap = serving.replica_capacity_requests_per_s(1000, 201, 0.01, 1e-4, 1e-4, 256)[()]
    lam = util * cap
    sim = serving.simulate_replica(lam, 1000, 201, 0.01, 1e-4, 1e-4, 256, chunked_prefill=chunked)
    an = serving.replica_latency(lam, 1000, 201, 0.01, 1e-4, 1e-4, 256, chunked_prefill=chunked)
    for k in ("ttft_mean_s", "ttft_p50_s", "ttft_p99_s", "tpot_mean_s", "tpot_p50_s", "tpot_p99_s"):
        assert an[k][0] == pytest.approx(sim[k], rel=0.25), k
    assert sim["requests_per_s"] == pytest.approx(lam, rel=0.1)


def test_validation_report_does_not_hide_a_broken_calibration_catalog(monkeypatch):
    from infer_econ import catalog
    from infer_econ.errors import CatalogError, UnknownIdError

    real = catalog.load
    meas = real("serving_measurements")

    def broken(name, extra=None):
        if name == "measured_performance":
            raise CatalogError("data/measured_performance.csv: row 3, column 'measured': 'x' is not a number")
        return real(name, extra)

    monkeypatch.setattr(catalog, "load", broken)
    with pytest.raises(CatalogError, match="measured_performance"):
        serving.validation_report(meas)

    def absent(name, extra=None):
        if name == "measured_performance":
            raise UnknownIdError("catalog", [name], ["serving_measurements"])
        return real(name, extra)

    monkeypatch.setattr(catalog, "load", absent)
    rep = serving.validation_report(meas)  # not shipped: the serving file alone is scored
    assert rep.height > 0
