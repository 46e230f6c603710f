"""`trainpipe monitor` on a 1,000,000-row CSV against a bare `pandas.read_csv` of the same file (goals: ≤ 5x the time,
≤ 2x the peak memory).

  monitor     `trainpipe.monitor.monitor` as the command runs it: load the model and its training reference, read the
              file, PSI of every column over all the rows, two-sample tests and the model's answers on bounded samples,
              drift.json and the HTML report with its plots (not recorded in MLflow: a store adds a constant second)
  bare read   `pandas.read_csv(path)`, nothing else

The model is the default pipeline's, saved with its reference by the register stage into a run folder (no store). The
rows are the penguins resampled with noise. Each timing runs in a fresh Python process that imports what it needs
first, so the seconds and the peak memory (the resident set, sampled every millisecond, above its size after the
imports) measure the work alone.
Usage: python benchmarks/monitor_bench.py [--rows N]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent

MEASURE = """
import json, sys, threading, time
import psutil
import pandas as pd
import scipy.stats, mlflow.pyfunc, mlflow.sklearn  # what monitor uses, imported before the clock starts
from pathlib import Path
from trainpipe.store import skops_io
skops_io()
from trainpipe.config import MonitorConfig
from trainpipe.monitor import monitor
me, peak, done = psutil.Process(), [0], threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], me.memory_info().rss)
        time.sleep(0.001)
what, path, model, out = sys.argv[1:5]
base = me.memory_info().rss
watcher = threading.Thread(target=watch); watcher.start()
start = time.perf_counter()
if what == "bare": pd.read_csv(path)
else: report = monitor(model, Path(path), MonitorConfig(), Path(out), record=False)
seconds = time.perf_counter() - start
done.set(); watcher.join()
print(json.dumps({"seconds": seconds, "peak_mb": (peak[0] - base) / 2**20, "parts": report["seconds"] if what != "bare" else {}}))
"""


def measure(what: str, path: Path, model: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, what, str(path), str(model), str(out)], capture_output=True, text=True, cwd=PROJECT)
    if proc.returncode: raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from trainpipe.config import load_config
    from trainpipe.pipeline import run_pipeline
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = load_config(PROJECT/"configs"/"default.yaml", ["pipeline.stages=[data, features, train, register]", "register.smoke_test=false"], project=PROJECT)
        result = run_pipeline(cfg, runs_dir=tmp/"runs", track=False)
        model = result.run_dir/"register"/"model"
        penguins = pd.read_csv(PROJECT/"data"/"penguins.csv")
        rows = penguins.sample(args.rows, replace=True, random_state=0).reset_index(drop=True)
        numeric = rows.select_dtypes("number").columns.drop("year")
        rows[numeric] += np.random.default_rng(0).normal(0, 0.5, (len(rows), len(numeric)))
        rows.to_csv(tmp/"rows.csv", index=False)
        bare = measure("bare", tmp/"rows.csv", model, tmp/"out")
        ours = measure("monitor", tmp/"rows.csv", model, tmp/"out")
        verdict = json.loads((tmp/"out"/"drift.json").read_text())
    time_ratio, memory_ratio = ours["seconds"] / bare["seconds"], ours["peak_mb"] / bare["peak_mb"]
    print(f"{'':<28}{'seconds':>10}{'peak MB':>10}")
    print(f"{'bare pandas.read_csv':<28}{bare['seconds']:>10.2f}{bare['peak_mb']:>10.0f}")
    print(f"{'trainpipe monitor':<28}{ours['seconds']:>10.2f}{ours['peak_mb']:>10.0f}")
    parts = ours["parts"]
    print(f"{'  read the file':<28}{parts['read']:>10.2f}")
    print(f"{'  load the model':<28}{parts['load_model']:>10.2f}   (MLflow's pyfunc load, and trainpipe's check of its requirements)")
    print(f"{'  compare':<28}{parts['compare']:>10.2f}   (PSI over all rows, tests and answers on samples)")
    print(f"{'  the HTML report':<28}{parts['report']:>10.2f}")
    rows_part = (parts["read"] + parts["compare"]) / bare["seconds"]
    print(f"the work that grows with the rows (read + compare) / read_csv: {rows_part:.2f}x")
    print(f"{args.rows:,} rows; monitor / read_csv: time {time_ratio:.2f}x (goal <= 5: {'yes' if time_ratio <= 5 else 'NO'}), "
          f"peak memory {memory_ratio:.2f}x (goal <= 2: {'yes' if memory_ratio <= 2 else 'NO'}); verdict: "
          f"{'drift' if verdict['drift'] else 'no drift'} ({len(verdict['drifted_columns'])} of {len(verdict['columns'])} columns)")


if __name__ == "__main__":
    main()
