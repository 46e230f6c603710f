"""Every benchmark of the pipeline engine, in one table (what `make bench` prints).

Runs benchmarks/pipeline_overhead.py (cold run, no-op re-run, plain script, papermill CLI loop, 8-way concurrency)
and benchmarks/sweep_bench.py (8-point sweep, --jobs 1 against --jobs 2) and sets each number next to its goal.
Timings are wall seconds on this machine, in one run of this script; only ratios measured side by side mean much.
Usage: python benchmarks/bench.py [--repeat N]
"""
import argparse
import os
import platform
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipeline_overhead  # noqa: E402
import sweep_bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the single-run timings (medians are shown)")
    args = parser.parse_args()
    p, s = pipeline_overhead.measure(args.repeat), sweep_bench.measure()
    cold, noop, loop = p["trainpipe (cold)"], p["trainpipe (no-op)"], p["papermill CLI loop"]
    rows = [  # (what, value, goal, met)
        ("trainpipe run, cold (--force), s", f"{cold:.2f}", "", None),
        ("papermill CLI loop, same notebooks, s", f"{loop:.2f}", "", None),
        ("plain script, same steps, no notebooks, s", f"{p['plain script']:.2f}", "", None),
        ("cold / plain script", f"{cold / p['plain script']:.2f}x", "<= 1.8x", cold / p["plain script"] <= 1.8),
        ("cold / papermill CLI loop", f"{cold / loop:.2f}", "<= 0.35", cold / loop <= 0.35),
        ("no-op re-run, s", f"{noop:.2f}", "<= 0.3", noop <= 0.3),
        ("cold / no-op", f"{cold / noop:.1f}x", ">= 15x", cold / noop >= 15),
        ("sweep of 8, --jobs 1, s", f"{s['jobs 1']:.2f}", "", None),
        ("sweep of 8, --jobs 2, s", f"{s['jobs 2']:.2f}", "", None),
        ("sweep --jobs 2 speed-up", f"{s['jobs 1'] / s['jobs 2']:.2f}x", ">= 1.7x", s["jobs 1"] / s["jobs 2"] >= 1.7),
        ("  points' pipelines parallel (jobs=2, warm=2): --jobs 1, s", f"{s['jobs 1, parallel pipelines']:.2f}", "", None),
        ("  points' pipelines parallel: --jobs 2, s", f"{s['jobs 2, parallel pipelines']:.2f}", "", None),
        ("  points' pipelines parallel: speed-up", f"{s['jobs 1, parallel pipelines'] / s['jobs 2, parallel pipelines']:.2f}x", "", None),
        ("8 runs at once, new sqlite store: runs lost", f"{p['lost (trainpipe)']}/8", "0", p["lost (trainpipe)"] == 0),
        ("  same with plain MLflow calls: runs lost", f"{p['lost (plain MLflow)']}/8", "", None),
    ]
    print(f"trainpipe benchmarks, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"single-run timings are medians of {args.repeat}")
    print(f"{'':<56} {'measured':>9} {'goal':>9}  met")
    for what, value, goal, met in rows:
        print(f"{what:<56} {value:>9} {goal:>9}  {'' if met is None else 'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
