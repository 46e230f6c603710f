"""The core install is enough for the core pipelines: run in a virtual environment made with `pip install -e .` alone.

`make test-core` makes that environment and runs this script with it. The default, regression, simple and tune
pipelines must finish; a config that needs an extra must be refused before any notebook runs, in one sentence naming
the extra, with exit status 2 and no traceback.
"""
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TRAINPIPE = Path(sys.executable).parent/"trainpipe"
RUNS = {"default": [], "regression": [], "simple": [], "tune": ["-p", "tune.trials=4"]}  # fewer trials: this checks the install, not the search
NEEDS_EXTRA = {"mlp": "torch", "text_transformer": "nlp"}  # config -> the extra its refusal must name


def main() -> int:
    passed, failed = 0, []
    def check(name, ok, why=""):
        nonlocal passed
        print(f"{'ok' if ok else 'FAILED'}  {name}{'' if ok else ': ' + why}", flush=True)
        if ok: passed += 1
        else: failed.append(name)
    for module in ("torch", "transformers", "dask", "datasets", "nbdev"):
        check(f"{module} is not installed", importlib.util.find_spec(module) is None, "this is not a core-only environment")
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{tmp}/mlflow.db"
        for config, extra in RUNS.items():
            proc = subprocess.run([str(TRAINPIPE), "run", f"configs/{config}.yaml", *extra, "--json", "--wait-tracking",
                                   "--tracking-uri", store, "--runs-dir", f"{tmp}/runs"], cwd=PROJECT, capture_output=True, text=True)
            result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
            check(f"trainpipe run configs/{config}.yaml", result.get("status") == "FINISHED", proc.stderr[-1500:])
        for config, extra in NEEDS_EXTRA.items():
            proc = subprocess.run([str(TRAINPIPE), "run", f"configs/{config}.yaml", "--tracking-uri", store, "--runs-dir", f"{tmp}/refused"],
                                  cwd=PROJECT, capture_output=True, text=True)
            lines = proc.stderr.strip().splitlines()
            check(f"configs/{config}.yaml is refused, naming the {extra} extra",
                  proc.returncode == 2 and len(lines) == 1 and re.search(rf"pip install -e '\.\[[^]]*\b{extra}\b", lines[0])
                  and "Traceback" not in proc.stderr
                  and not Path(f"{tmp}/refused").exists(), proc.stderr[-1500:])
    print(f"core-only: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
