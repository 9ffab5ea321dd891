"""Rewrite the `## Serving under load` section of docs/validation.md from the current model and data.

Run: ``.venv/bin/python scripts/build_serving_validation_doc.py`` (about 15 s: it also runs the step-level
simulation). Every figure in the section comes from :func:`infer_econ.serving.validation_report`,
:func:`infer_econ.serving.validation_summary` and :func:`infer_econ.serving.simulate_replica`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _report import write_section  # noqa: E402

from infer_econ import serving  # noqa: E402

def table(summ):
    lines = ["| metric | statistic | rows | median abs error | p90 abs error | within 30 % | target met |", "|---|---|---|---|---|---|---|"]
    for r in summ.iter_rows(named=True):
        lines.append(f"| {r['metric'].upper()} | {r['statistic']} | {r['rows']} | {r['median_abs_error_pct']:.1f} % | {r['p90_abs_error_pct']:.1f} % | {100*r['within_30_pct_share']:.0f} % | {'yes' if r['meets_target'] else 'no'} |")
    return "\n".join(lines)

def by_source(rep):
    g = rep.filter(pl.col("included")).group_by("source_group", "metric").agg(
        pl.len().alias("n"), pl.col("error_pct").abs().median().alias("med"), pl.col("error_pct").median().alias("sig")).sort("source_group", "metric")
    lines = ["| source | metric | rows | median abs error | median signed error |", "|---|---|---|---|---|"]
    for r in g.iter_rows(named=True):
        lines.append(f"| {r['source_group']} | {r['metric'].upper()} | {r['n']} | {r['med']:.1f} % | {r['sig']:+.1f} % |")
    return "\n".join(lines)

rows = ["| prefill | utilization | TTFT mean | TTFT p50 | TTFT p99 | TPOT mean | TPOT p50 | TPOT p99 |", "|---|---|---|---|---|---|---|---|"]
cap = serving.replica_capacity_requests_per_s(1000, 201, 0.01, 1e-4, 1e-4, 256)[()]
for ch in (False, True):
    for u in (0.2, 0.5, 0.8, 0.9):
        simr = serving.simulate_replica(u * cap, 1000, 201, 0.01, 1e-4, 1e-4, 256, chunked_prefill=ch)
        an = serving.replica_latency(u * cap, 1000, 201, 0.01, 1e-4, 1e-4, 256, chunked_prefill=ch)
        cells = [f"{100 * (an[k][0] / simr[k] - 1):+.0f} %" for k in ("ttft_mean_s", "ttft_p50_s", "ttft_p99_s", "tpot_mean_s", "tpot_p50_s", "tpot_p99_s")]
        rows.append(f"| {'chunked' if ch else 'prefill first'} | {u:.0%} | " + " | ".join(cells) + " |")
simtab = "\n".join(rows)
e2e = serving.validation_report()
anc = serving.validation_report(anchored=True)
sim = serving.validation_report(method="simulation")
ex = e2e.filter(~pl.col("included")).group_by("excluded_reason").len().sort("len", descending=True)
exl = "\n".join(f"- {r['excluded_reason']}: {r['len']} rows" for r in ex.iter_rows(named=True))
sim_s = serving.validation_summary(sim).filter(pl.col("statistic").is_in(["mean", "p99"]))
sim_l = "; ".join(f"{r['metric'].upper()} {r['statistic']} {r['median_abs_error_pct']:.1f} %" for r in sim_s.iter_rows(named=True))
scored = e2e.filter(pl.col("included"))
body = f"""
What is checked: `infer_econ.serving.latency_under_load` (the load model on top of the estimator's step
times) against every published load point that has a steady state: `data/serving_measurements.csv`
(191 load points carried from the reference compilation: MLPerf v4.1/v5.1 server and interactive runs, dstack
closed-loop and Poisson sweeps, the vLLM team's spot checks, LMDeploy tables, hosted-API runs) and the
`serving_ttft_ms` / `serving_itl_ms` / `serving_tpot_ms` rows of `data/measured_performance.csv` (TensorRT-LLM
v0.14 rate sweeps; ITL is taken as TPOT). Reproduce with `serving.validation_summary(serving.validation_report())`
(and `anchored=True`), `infer-econ validate`, or regenerate this section with
`scripts/build_serving_validation_doc.py`. {scored.height} statistics are scored, {e2e.height - scored.height}
are excluded, each with its reason:

{exl}

TTFT is scored on steady-state runs only. The overloaded dstack Llama-3.1-405B Poisson sweeps (offered 16-1000
req/s far above what was achieved), the 50-500-prompt vLLM spot checks (a ramp, not a steady state), bursts and
offline runs have no steady-state TTFT to predict; the `steady_state` column of the data file carries these notes.
MLPerf server runs are steady state, but their logs do not publish the mean prompt length, so they cannot be
scored without inventing one. Error = (predicted − measured) / measured.

### End to end (estimator + load model)

{table(serving.validation_summary(e2e))}

{by_source(e2e)}

The target (median ≤ 30 %) is met for mean TPOT and mean TTFT, not for the pooled statistics. The misses are one
series: DeepSeek-R1 on 8×H200 / 8×MI300X (dstack, vLLM 0.7 / SGLang / TensorRT-LLM, early 2025), where the
estimator's unloaded step times are 3-5× faster than measured (about −80 % on every statistic, already at
concurrency 4); that series contributes mean, median and p99 rows, so it dominates the pooled figure. It is an estimator
(performance core) calibration gap for MLA/MoE on those engine versions, not a queueing one, as the next table shows.

### Load model alone (anchored at each series' lightest load)

Step times rescaled per series so that the lightest-load point's mean TPOT and TTFT match; the other points of
the series are predicted (anchor points and single-point series excluded).

{table(serving.validation_summary(anc))}

{by_source(anc)}

Remaining load-model errors are again DeepSeek-R1: its TPOT rises less with concurrency than modelled (the
chunked-prefill stall term, scaled up by the anchor, over-predicts by about +50 % at 64-128 clients), and TTFT is
over-predicted (about +80 %) because anchoring at 4 clients attributes that point's whole TTFT (1.0-1.6 s, much of
it a fixed per-wave cost) to per-token prefill, which then scales with the wave size. LMDeploy's anchored TTFT
over-predicts its 128-token prompts for the same reason and under-predicts its 2048-token ones (the two roughly
cancel in the signed median).

### Closed forms vs a step-level engine simulation

`serving.simulate_replica` runs an iteration-level scheduler (Poisson arrivals, FIFO slots, chunked or
prefill-first steps, 3,000 requests) as ground truth for the closed forms of `replica_latency`
(t0 = 10 ms, t1 = 0.1 ms, p = 0.1 ms/token, cap 256, 1,000 in / 201 out; analytical / simulated − 1):

{simtab}

The closed forms are within 11 % up to half load and within 20 % at 80-90 % (TTFT mean and median low by
10-20 % under chunked prefill at high load; TPOT p99 low by 19 % at 90 %); the test suite holds them to 25 %
up to 80 % utilization.

### The simulation option

`validation_report(method="simulation")` replaces the open-loop closed forms by the step-level simulation (one per
scenario, 4,000 requests, seed 0): end-to-end {sim_l} (analytical:
{"; ".join(f"{r['metric'].upper()} {r['statistic']} {r['median_abs_error_pct']:.1f} %" for r in serving.validation_summary(e2e).filter(pl.col("statistic").is_in(["mean", "p99"])).iter_rows(named=True))}).
The p99 rows are all closed loops (which the simulation does not replace): no open-loop run with published
percentiles and a published prompt length is steady state in the shipped data (MLPerf logs lack the prompt
length; the dstack Poisson sweeps are overloaded), so open-loop percentiles are checked against the step-level
simulation and the textbook queueing values, not against measurements; MLPerf rows with a published prompt
length would close that gap.

### Modelling choices the data drove

- Closed loops with fixed lengths (all of the shipped closed-loop series) run in lockstep waves: TTFT grows
  about linearly with the number of clients (LMDeploy: 74 ms at 1 client, 1.29 s at 64 with 128-token prompts).
  The wave model (`closed_loop_latency(synchronized=True)`) took the LMDeploy TTFT error from −80 % (clients
  spread out, a Little's-law fixed point) to the LMDeploy row of the end-to-end table above.
- Zero-load latency equals the estimator's: `step_times` carries the estimator's unloaded TTFT
  (`ttft_unloaded_s`) and the load model adds the fixed part that makes its zero-load TTFT equal to it.
"""
doc = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
if not doc.exists():
    doc.write_text("# Validation\n")
write_section("Serving under load", body, doc=doc)
print(f"wrote the Serving under load section of {doc}")
