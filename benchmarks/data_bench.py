"""The data stage's ingest against a bare `pandas.read_csv`, and the features stage's cache, on a 1,000,000-row CSV.

  ingest      what the data stage does before splitting: read (pyarrow engine, sniffed delimiter), check the target,
              apply the duplicate policy, infer the schema, look for quality findings, fingerprint the table; then
              write the table to Parquet
  bare read   `pandas.read_csv(path)`, nothing else
  chunked     the data stage's streaming ingest (`data.memory_limit_mb`) of a CSV four times larger than the limit
  features    the features stage of a pipeline on that file, run (--force-stage features) and restored from the cache

Each timing runs in a fresh Python process that imports what it needs first, so the seconds and the peak memory (the
process's resident set, sampled every millisecond, above its size after the imports) measure the work alone.
Usage: python benchmarks/data_bench.py [--rows N]
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
import pyarrow.csv, pyarrow.parquet  # what ingest and save_frame use, imported before the clock starts like pandas is
from trainpipe.config import DataConfig
from trainpipe.data import ingest
from trainpipe.store import save_frame
me, peak, done = psutil.Process(), [0], threading.Event()
def watch():  # the resident set, sampled every millisecond: its peak during the work
    while not done.is_set():
        peak[0] = max(peak[0], me.memory_info().rss)
        time.sleep(0.001)
what, path, out = sys.argv[1:4]
base = me.memory_info().rss
watcher = threading.Thread(target=watch); watcher.start()
start = time.perf_counter()
if what == "bare": df = pd.read_csv(path)
elif what.startswith("chunked"):  # chunked:LIMIT_MB
    from pathlib import Path
    from trainpipe.data import ingest_in_chunks
    report = ingest_in_chunks(DataConfig(source=path, target="target", memory_limit_mb=int(what.split(":")[1])), Path(out))
else:
    data = ingest(DataConfig(source=path, target="target"))
    save_frame(data.table, out)
    assert len(data.fingerprint) == 32  # waits for the fingerprint's thread
seconds = time.perf_counter() - start
done.set(); watcher.join()
print(json.dumps({"seconds": seconds, "peak_mib": (peak[0] - base) / 2**20}))
"""


def make_csv(path: Path, rows: int, seed: int = 0):
    "A mixed-type table: integers, floats with gaps, a low-cardinality category, free-ish text, booleans, a class target."
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": np.arange(rows),
        "age": rng.integers(18, 90, rows),
        "income": np.where(rng.random(rows) < 0.05, np.nan, rng.normal(50_000, 15_000, rows).round(2)),
        "score": rng.random(rows).round(6),
        "city": rng.choice(["Lisbon", "Porto", "Braga", "Faro", "Evora", "Coimbra"], rows),
        "code": pd.Series(rng.integers(0, 50_000, rows)).map("c{:05d}".format),
        "member": rng.random(rows) < 0.3,
        "target": rng.choice(["no", "yes"], rows, p=[0.8, 0.2]),
    })
    df.to_csv(path, index=False)


def measure(what: str, path: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, what, str(path), str(out)], capture_output=True, text=True, check=True, cwd=PROJECT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def features_timings(path: Path, work: Path) -> tuple[float, float]:
    "Seconds of the features stage when it runs, and when it is restored from the cache."
    from trainpipe.config import load_config
    from trainpipe.pipeline import run_pipeline
    cfg = load_config(None, [f"data.source={path}", "data.target=target", "pipeline.stages=[data, features]"], project=PROJECT)
    seconds = {}
    def on_stage(stage, event, secs=0.0):
        if stage == "features" and event in ("done", "cached"): seconds[event] = secs
    for force in ({"features"}, set()):
        result = run_pipeline(cfg, project=PROJECT, runs_dir=work/"runs", track=False, force=force, on_stage=on_stage)
        assert result.status == "FINISHED", result.error
    return seconds["done"], seconds["cached"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trainpipe-data-bench-"))
    csv = work/"big.csv"
    make_csv(csv, args.rows)
    bare, ours = [], []
    for _ in range(5):  # interleaved; medians
        bare.append(measure("bare", csv, work/"x.parquet"))
        ours.append(measure("ingest", csv, work/"x.parquet"))
    med = lambda runs, k: float(np.median([r[k] for r in runs]))  # noqa: E731
    limit = 256  # MiB; a file four times that size (the generated CSV's rows, repeated) is ingested in blocks
    large = work/"large.csv"
    with open(csv, "rb") as src, open(large, "wb") as dst:
        header, body = src.readline(), src.read()
        dst.write(header)
        while dst.tell() < 4 * limit * 2**20: dst.write(body)
    chunked = measure(f"chunked:{limit}", large, work/"parts")
    run, cached = features_timings(csv, work)
    print(f"data bench: {args.rows:,} rows x 8 mixed columns, {csv.stat().st_size / 2**20:.0f} MiB of CSV; medians of 5")
    print(f"{'':<44} {'measured':>10} {'goal':>8}  met")
    rows = [
        ("bare pandas.read_csv, s", f"{med(bare, 'seconds'):.2f}", "", None),
        ("ingest + write Parquet, s", f"{med(ours, 'seconds'):.2f}", "", None),
        ("ingest / bare read, time", f"{med(ours, 'seconds') / med(bare, 'seconds'):.2f}x", "<= 3x", med(ours, "seconds") / med(bare, "seconds") <= 3),
        ("bare read, peak memory above imports, MiB", f"{med(bare, 'peak_mib'):.0f}", "", None),
        ("ingest, peak memory above imports, MiB", f"{med(ours, 'peak_mib'):.0f}", "", None),
        ("ingest / bare read, peak memory", f"{med(ours, 'peak_mib') / med(bare, 'peak_mib'):.2f}x", "<= 2x", med(ours, "peak_mib") / med(bare, "peak_mib") <= 2),
        (f"chunked ingest of a {large.stat().st_size / 2**20:.0f} MiB CSV, limit {limit} MiB, s", f"{chunked['seconds']:.2f}", "", None),
        ("chunked ingest, peak memory above imports, MiB", f"{chunked['peak_mib']:.0f}", f"<= {limit}", chunked["peak_mib"] <= limit),
        ("features stage, run, s", f"{run:.2f}", "", None),
        ("features stage, from the cache, s", f"{cached:.3f}", "", None),
        ("features: run / cache hit", f"{run / cached:.0f}x", ">= 20x", run / cached >= 20),
    ]
    for what, value, goal, met in rows:
        print(f"{what:<44} {value:>10} {goal:>8}  {'' if met is None else 'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
