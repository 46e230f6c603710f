"""A sweep of 8 configs with --jobs 2 against the same sweep with --jobs 1, measured in one run.

Each sweep gets a fresh runs folder (so it computes the shared data and features stages once, and the eight points
reuse them) and a sqlite store that already exists. On two cores the ratio cannot exceed 2.

The pair is measured twice: with the config's own pipeline settings (each point's pipeline starts kernels ahead, so a
single point already keeps both cores partly busy), and with each point's pipeline running one stage, one kernel at a
time (`pipeline.jobs=1`, `pipeline.warm=0`), which isolates how the sweep itself scales.
Usage: python benchmarks/sweep_bench.py
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TRAINPIPE = Path(sys.executable).parent/"trainpipe"
GRID = ["--grid", "model.params.n_estimators=10,20,40,80", "--grid", "model.name=random_forest,extra_trees"]
STAGES = "pipeline.stages=[data, features, train, evaluate]"


def sweep(jobs: int, work: Path, uri: str, extra: tuple = ()) -> float:
    start = time.perf_counter()
    runs = work/f"runs-{jobs}-{len(extra)}"
    subprocess.run([str(TRAINPIPE), "sweep", "configs/default.yaml", *GRID, "-p", STAGES, *extra, "--jobs", str(jobs),
                    "--tracking-uri", uri, "--runs-dir", str(runs)], cwd=PROJECT, check=True, capture_output=True)
    return time.perf_counter() - start


SERIAL = ("-p", "pipeline.jobs=1", "-p", "pipeline.warm=0")


def measure() -> dict:
    "Wall seconds of the 8-point sweep with --jobs 1 and 2, with the config's pipelines and with serial ones."
    work = Path(tempfile.mkdtemp(prefix="trainpipe-sweep-bench-"))
    uri = f"sqlite:///{work/'mlflow.db'}"
    subprocess.run([str(TRAINPIPE), "run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "--tracking-uri", uri,
                    "--runs-dir", str(work/"warm")], cwd=PROJECT, check=True, capture_output=True)  # creates the store
    return {"jobs 1": sweep(1, work, uri), "jobs 2": sweep(2, work, uri),
            "jobs 1, serial pipelines": sweep(1, work, uri, SERIAL), "jobs 2, serial pipelines": sweep(2, work, uri, SERIAL)}


def main():
    m = measure()
    print("sweep of 8 configs (default config, stages data..evaluate), wall seconds")
    for how in ("", ", serial pipelines"):
        one, two = m[f"jobs 1{how}"], m[f"jobs 2{how}"]
        print(f"{'--jobs 1' + how:<28} {one:>8.2f}")
        print(f"{'--jobs 2' + how:<28} {two:>8.2f}")
        print(f"{'speed-up' + how:<28} {one / two:>8.2f}x")


if __name__ == "__main__":
    main()
