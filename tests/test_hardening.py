"""Promotion holds under concurrent runs, a resumed register stage registers nothing twice, and the stage cache heals."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from trainpipe.core import TrainpipeError
from trainpipe.pipeline import stop_orphan_kernels
from trainpipe.tracking import LOCK_SUFFIX, registry_lock

from conftest import OWN_FORK_SERVER, PROJECT, TRAINPIPE, last_json, mlflow_server, trainpipe

NAME = "penguins-species"
STAGES = "pipeline.stages=[data, features, train, register]"  # what promotion needs; no evaluate stage crowding the cores


def test_the_promotion_lock_has_one_holder_and_a_dead_holders_lock_is_broken(store):
    client = MlflowClient(store)
    with registry_lock(client, NAME):
        assert [m.name for m in client.search_registered_models()] == [NAME + LOCK_SUFFIX]
        with pytest.raises(TrainpipeError, match=f"the promotion lock of registered model '{NAME}'.*could not be taken"):
            with registry_lock(client, NAME, timeout=0.5): pass
    assert client.search_registered_models() == []  # released
    client.create_registered_model(NAME + LOCK_SUFFIX)  # left behind by a run killed while it promoted
    with registry_lock(client, NAME, stale_after=0): pass  # broken once stale, then taken
    assert client.search_registered_models() == []


def eight_runs_at_once(tmp_path, uri: str) -> list[dict]:
    "Eight runs of eight models of different strength, registering and promoting at once; their results."
    runs = ["--runs-dir", str(tmp_path/"runs")]
    warm = trainpipe("run", "configs/default.yaml", "-p", STAGES, "--to", "features", *runs, "--tracking-uri", f"sqlite:///{tmp_path/'warm.db'}")
    assert warm.returncode == 0, warm.stderr  # the data and features stages, cached for all eight
    procs = [subprocess.Popen([str(TRAINPIPE), "run", "configs/default.yaml", "-p", STAGES, "-p", "register.smoke_test=false",
                               "-p", f"model.params={{n_estimators: {k}, max_depth: {1 + k % 3}, random_state: {k}}}",
                               "--json", "--tracking-uri", uri, *runs], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(1, 9)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err[-800:] for _, err in outs]
    return [json.loads((Path(last_json(out)["run_dir"])/"register"/"promotion.json").read_text()) for out, _ in outs]


def check_promotions(client: MlflowClient, promotions: list[dict]):
    "Exactly one champion, the best; each promotion compared with the champion of its moment, one after another."
    assert len({p["version"] for p in promotions}) == 8  # eight versions, one per run
    # serialised promotions form one chain: the first found no champion, each later champion replaced the one before it
    chain = [p for p in promotions if p["champion_version"] is None]
    assert len(chain) == 1 and chain[0]["alias"] == "champion", promotions
    crowned = {p["champion_version"]: p for p in promotions if p["alias"] == "champion" and p["champion_version"]}
    assert len(crowned) == sum(p["alias"] == "champion" for p in promotions) - 1, promotions  # no two took over from the same one
    while chain[-1]["version"] in crowned: chain.append(crowned[chain[-1]["version"]])
    assert len(chain) == len(crowned) + 1, promotions
    reigning = {p["version"] for p in chain}
    for p in promotions:
        if p["alias"] == "challenger":
            assert p["champion_version"] in reigning and p["score"] <= p["champion_score"], p
    best = max(p["score"] for p in promotions)
    model = client.get_registered_model(NAME)
    assert set(model.aliases) == {"champion", "challenger"} and str(model.aliases["champion"]) == chain[-1]["version"]
    assert float(client.get_model_version(NAME, model.aliases["champion"]).tags["trainpipe.score"]) == best
    assert [m.name for m in client.search_registered_models()] == [NAME]  # no lock left behind


def test_eight_runs_promoting_at_once_on_the_sqlite_store_leave_one_best_champion(tmp_path, store):
    check_promotions(MlflowClient(store), eight_runs_at_once(tmp_path, store))


def test_eight_runs_promoting_at_once_through_a_tracking_server_leave_one_best_champion(tmp_path):
    with mlflow_server("server", "--backend-store-uri", f"sqlite:///{tmp_path/'server.db'}",
                       "--artifacts-destination", tmp_path/"artifacts", cwd=tmp_path) as uri:
        check_promotions(MlflowClient(uri), eight_runs_at_once(tmp_path, uri))


def test_sigkill_in_the_register_stage_then_resume_registers_the_run_once(tmp_path, store):
    runs, client = tmp_path/"runs", MlflowClient(store)
    runner = subprocess.Popen([str(TRAINPIPE), "run", "configs/default.yaml", "-p", STAGES, "--tracking-uri", store, "--runs-dir", str(runs)],
                              cwd=PROJECT, env={**os.environ, **OWN_FORK_SERVER}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 600
    while not client.search_model_versions(f"name='{NAME}'"):  # registered; the smoke test and promotion are still to come
        assert runner.poll() is None and time.monotonic() < deadline, "the run ended before it registered a model"
        time.sleep(0.05)
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait()
    stop_orphan_kernels(runner.pid)
    assert not (next(runs.glob("*/register")).parent/"register"/"promotion.json").exists()  # killed before promoting

    resumed = trainpipe("run", "--resume", "--json", "--tracking-uri", store, "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    result = last_json(resumed.stdout)
    versions = client.search_model_versions(f"name='{NAME}'")
    assert len(versions) == 1 and versions[0].run_id == result["mlflow_run_id"]  # the version it made before, finished
    assert result["model_uri"] == f"models:/{NAME}/{versions[0].version}"
    assert {k: str(v) for k, v in client.get_registered_model(NAME).aliases.items()} == {"champion": str(versions[0].version)}
    assert (Path(result["run_dir"])/"register"/"smoke_test.json").exists()
    assert [m.name for m in client.search_registered_models()] == [NAME]


def how(result: dict) -> dict:
    "How each stage of a `trainpipe run --json` result came about: run, cached or failed."
    stages = json.loads((Path(result["run_dir"])/"run.json").read_text())["stages"]
    return {stage: t["how"] for stage, t in stages.items()}


def keys(runs: Path) -> dict:
    return {stage.name: sorted(p.name for p in stage.iterdir()) for stage in sorted((runs/".cache").iterdir())}


def test_two_cold_runs_give_the_same_keys_and_a_damaged_entry_heals_without_a_new_version(tmp_path, store):
    run = lambda runs: trainpipe("run", "configs/default.yaml", "-p", "register.smoke_test=false", "--json",
                                 "--tracking-uri", store, "--runs-dir", runs)
    first, second = run(tmp_path/"a"), run(tmp_path/"b")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert keys(tmp_path/"a") == keys(tmp_path/"b")  # skops archives and timings no longer make a recomputed stage look new
    assert all(len(entries) == 1 for entries in keys(tmp_path/"a").values())
    client, runs = MlflowClient(store), tmp_path/"b"
    registered = len(client.search_model_versions(f"name='{NAME}'"))

    damage = {"data": lambda e: (e/"notebook.ipynb").unlink(),  # a missing file: was a FileNotFoundError traceback
              "features": lambda e: (e/"outputs"/"preprocessor.skops").write_bytes(b"tampered")}
    for stage, harm in damage.items():
        entry = next((runs/".cache"/stage).iterdir())
        harm(entry)
        again = run(runs)
        assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
        stages = how(last_json(again.stdout))
        assert stages[stage] == "run" and all(h == "cached" for s, h in stages.items() if s != stage), stages
        assert keys(runs) == keys(tmp_path/"a")  # the entry replaced in place, under the same key, nothing set aside left
        assert json.loads((entry/"manifest.json").read_text())["kept"]["notebook.ipynb"]
    assert len(client.search_model_versions(f"name='{NAME}'")) == registered  # the same model: nothing registered again
    healed = run(runs)
    assert set(how(last_json(healed.stdout)).values()) == {"cached"}
