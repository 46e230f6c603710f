"""`trainpipe serve` against `mlflow models serve` on the same registered model, under the same load.

The default pipeline runs once in a temporary folder and registers `penguins-species` (alias champion) in a sqlite
store there. Each server then serves `models:/penguins-species@champion` with the same number of workers, one server
at a time on this machine, and one client process loads it:

  client        one asyncio process: `concurrency` keep-alive HTTP/1.1 connections (httptools parses the answers),
                each sending single-row requests back to back until the point's total is reached
  requests      POST /invocations, one row of data/penguins.csv (no species) as MLflow's {"dataframe_split": ...}
                JSON, cycling through the 333 complete rows (--with-missing: all 344, a missing value sent as null)
  throughput    requests / wall seconds of the point; p50 and p99 are per-request latencies (time.perf_counter)
  warm-up       every row once, sequentially (these are the reference answers), then 100 requests at the point's
                concurrency, none of them counted

Every response must be 200 and equal, for its row, to that server's reference answer; trainpipe's reference answers
must be the same JSON as MLflow's for every row. Otherwise the script says what differed and exits 1.
Rows with a missing value are left out by default because MLflow's own answer to them depends on the other rows of
the request: a null alone in a string column is parsed as None, which the model's imputer does not treat as missing,
while next to a string it becomes NaN and is imputed. A server that joins requests into batches answers such a row
differently from one request to the next; --with-missing keeps them, to see that.
The client shares the machine's cores with the server, so neither number is a server's ceiling; only the ratios,
measured side by side in one run, mean much. The client is lean for that reason: at concurrency 64 a batching server
answers a whole batch, then waits for the next requests, so the client's own time per request is on the server's
critical path. aiohttp took 74 us of CPU per request, and trainpipe's throughput measured with it was 17% lower
(3,158 against 3,801 req/s on one server, same session); the client here takes about 20 us.
The model's own speed is the limit of one worker: `pyfunc.predict` in a process of its own, on DataFrames of 64 rows typed
as the server types them (no client, no HTTP, no validation), timed for a few seconds before any server starts and
again after the last one stops; the faster of the two is the limit (on a shared machine the two differ).
A shared machine also slows down for seconds at a time (the model's own thread CPU time per call grows by a third and
its wall time doubles), so one load compared with a model timing taken minutes apart measures the machine as much as
the server. The share of the model's speed is therefore measured in rounds (--rounds, default 5) once trainpipe's
points are done, its server still up: a load at concurrency 64 between two timings of the model (3 s each, the
server idle meanwhile), over the faster of the two; the goal rows take the median round, and every round is printed.
Each round also reads the server's CPU time from /proc (Linux): per request, uvicorn's event loop thread apart from the
model's thread, and the part of the round's wall time the server was busy at all (the rest it waited on the client,
or on a core), and from /proc/stat the part of the machine's CPU time its hypervisor took for others meanwhile (steal):
on the 2-core machine this was written on, a busy loop alone got 77% of a core, the hypervisor taking the rest.
Goal: at concurrency >= 16, trainpipe >= 4x MLflow's throughput and p99 <= 0.25x MLflow's; at concurrency 1,
p99 no worse than MLflow's (<= 1.0x); at concurrency 64, trainpipe's requests per second (one row each) >= 60% of
the model's own rows per second with one worker, and its p99 <= 150 ms (both the median round).
Usage: python benchmarks/serve_bench.py [--requests 3000] [--concurrency 1,16,64] [--workers 1] [--rounds 5]
                                        [--only mlflow|trainpipe]
"""
import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import httptools
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = "models:/penguins-species@champion"
WARMUP = 100


def fail(message: str):
    print(f"serve bench: {message}", file=sys.stderr)
    sys.exit(1)


def make_model(work: Path) -> str:
    "Run the default pipeline into `work`; the tracking URI of the store that holds the registered model."
    uri = f"sqlite:///{work/'mlflow.db'}"
    out = subprocess.run([str(BIN/"trainpipe"), "run", "configs/default.yaml", "--json", "--tracking-uri", uri,
                          "--runs-dir", str(work/"runs")], cwd=PROJECT, capture_output=True, text=True)
    if out.returncode != 0: fail(f"the default pipeline failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return uri


def bodies(path: Path = PROJECT/"data/penguins.csv", target: str = "species", missing: bool = False) -> list:
    "One request body per row (complete rows only, unless `missing`: then nulls): MLflow's dataframe_split JSON, encoded."
    df = pd.read_csv(path).drop(columns=target)
    if not missing: df = df.dropna()
    rows = json.loads(df.to_json(orient="split", index=False))
    return [json.dumps({"dataframe_split": {"columns": rows["columns"], "data": [row]}}).encode() for row in rows["data"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    "One model server in its own process group, started ready and killed whole on exit."
    def __init__(self, name: str, cmd: list, ready: str, env: dict, log: Path, timeout: float):
        self.name, self.cmd, self.ready, self.env, self.log, self.timeout = name, cmd, ready, env, log, timeout

    def __enter__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [str(c).format(port=self.port) for c in self.cmd]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.log.parent, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        start = time.perf_counter()
        while time.perf_counter() - start < self.timeout:
            if self.proc.poll() is not None: self._fail(f"exited with {self.proc.returncode} before it was ready")
            try:
                with urllib.request.urlopen(self.url + self.ready, timeout=2) as r:
                    if r.status == 200:
                        self.start_seconds = time.perf_counter() - start
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError): pass
            time.sleep(0.2)
        self._fail(f"was not ready ({self.ready} answering 200) after {self.timeout:.0f} s")

    def _fail(self, why: str):
        self.__exit__()
        tail = self.log.read_text(errors="replace")[-3000:]
        fail(f"{self.name} server {why}: {' '.join(self.argv)}\n--- its output, last lines ---\n{tail}")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try: os.killpg(self.proc.pid, sig)
                except ProcessLookupError: break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired: pass
        try: os.killpg(self.proc.pid, signal.SIGKILL)  # workers that outlived their parent
        except ProcessLookupError: pass


class _Exchange(asyncio.Protocol):
    """One HTTP/1.1 connection of the load client: a request written whole, its answer parsed by httptools (the parser
    uvicorn uses too). A quarter of aiohttp's CPU per request (20 against 74 us, measured on one trainpipe server at
    concurrency 64): aiohttp's own time delayed each batch's next requests, so the bench measured its client too."""
    def __init__(self, timeout: float):
        self.parser, self.timeout = httptools.HttpResponseParser(self), timeout
        self.answer, self.chunks = None, []

    def connection_made(self, transport): self.transport = transport

    def connection_lost(self, exc):
        self._end(exc or ConnectionResetError("the server closed the connection"))

    def data_received(self, data: bytes):
        try: self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self.transport.close()
            self._end(e)

    def on_message_begin(self): self.chunks = []
    def on_body(self, body: bytes): self.chunks.append(body)

    def on_message_complete(self):
        if not self.parser.should_keep_alive(): self.transport.close()  # the next request opens another connection
        self._end((self.parser.get_status_code(), b"".join(self.chunks)))

    def _end(self, outcome):
        "Hand the waiting request its (status, body), or the error."
        answer, self.answer = self.answer, None
        if answer is None or answer.done(): return
        self.timer.cancel()
        if isinstance(outcome, BaseException): answer.set_exception(outcome)
        else: answer.set_result(outcome)

    def send(self, request: bytes) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        self.answer = loop.create_future()
        self.timer = loop.call_later(self.timeout, self._end, asyncio.TimeoutError(f"no answer within {self.timeout:g} s"))
        self.transport.write(request)
        return self.answer


class Client:
    "POSTs to `url`, one request at a time on a keep-alive connection, opened again whenever the server closed it."
    def __init__(self, url: str, timeout: float = 120):
        self.host, _, port = url.removeprefix("http://").partition(":")
        self.port, self.timeout, self.exchange = int(port), timeout, None

    def request(self, path: str, body: bytes) -> bytes:
        "The bytes of a JSON POST of `body` to `path`, to build once and send many times."
        return (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def post(self, request: bytes) -> tuple[int, bytes]:
        "Send `request` (from `Client.request`): the answer's status and body."
        if self.exchange is None or self.exchange.transport.is_closing():
            _, self.exchange = await asyncio.get_running_loop().create_connection(
                lambda: _Exchange(self.timeout), self.host, self.port)
        try: return await self.exchange.send(request)
        except BaseException:
            self.exchange.transport.close()  # whatever it was sending is lost: the next request starts afresh
            raise

    def close(self):
        if self.exchange is not None: self.exchange.transport.close()


PROBLEMS = (OSError, asyncio.TimeoutError, httptools.HttpParserError)  # what one request can meet on the way: a problem, not a crash


async def references(url: str, data: list) -> list:
    "Each row's answer, asked one at a time: the server's reference answers, and the first warm-up."
    client = Client(url, timeout=60)
    try:
        answers = []
        for i, body in enumerate(data):
            try: status, answer = await client.post(client.request("/invocations", body))
            except PROBLEMS as e: fail(f"row {i} got no answer: {type(e).__name__}: {e}\nbody: {body.decode()}")
            if status != 200: fail(f"row {i} answered {status}: {answer[:500].decode(errors='replace')}\nbody: {body.decode()}")
            answers.append(answer)
        return answers
    finally: client.close()


async def load(url: str, data: list, expected: list, total: int, concurrency: int) -> dict:
    "`total` requests from `concurrency` clients (after a warm-up): throughput, p50, p99, and what went wrong."
    clients = [Client(url) for _ in range(concurrency)]
    requests = [clients[0].request("/invocations", body) for body in data]
    latencies, problems = [], []
    sent = 0

    async def worker(client: Client, n: int, record: bool):
        nonlocal sent
        while sent < n:
            i = sent % len(data)
            sent += 1
            start = time.perf_counter()
            try: status, answer = await client.post(requests[i])
            except PROBLEMS as e:
                problems.append(f"row {i}: {type(e).__name__}: {e}")
                continue
            if record: latencies.append(time.perf_counter() - start)
            if status != 200: problems.append(f"row {i}: HTTP {status}: {answer[:300].decode(errors='replace')}")
            elif answer != expected[i] and json.loads(answer) != json.loads(expected[i]):
                problems.append(f"row {i}: answered {answer[:300].decode(errors='replace')}, "
                                f"earlier {expected[i][:300].decode(errors='replace')}")

    try:
        await asyncio.gather(*(worker(c, WARMUP, False) for c in clients))
        sent = 0
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(c, total, True) for c in clients))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        for c in clients: c.close()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [float("nan")] * 99
    return {"rps": len(latencies) / wall, "p50": statistics.median(latencies) * 1e3 if latencies else float("nan"),
            "p99": cuts[98] * 1e3, "client_cpu": cpu / wall, "problems": problems}


def _time_model(conn, uri: str, data: list, batch: int):
    "ModelSpeed's process: load the model, then answer each number of seconds with the rows per second timed for that long."
    import mlflow
    from mlflow.utils.proto_json_utils import dataframe_from_parsed_json
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(MODEL)
    rows = [json.loads(body)["dataframe_split"] for body in data]
    columns, schema = rows[0]["columns"], model.metadata.get_input_schema()
    frames = [dataframe_from_parsed_json({"columns": columns, "data": [r["data"][0] for r in rows[i:i + batch]]}, "split", schema)
              for i in range(0, len(rows) - batch + 1, batch)]
    model.predict(frames[0])  # the first call pays for lazy imports
    conn.send("ready")
    while (seconds := conn.recv()) is not None:
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.predict(frames[calls % len(frames)])
            calls += 1
        conn.send(calls * batch / (time.perf_counter() - start))


class ModelSpeed:
    """Rows per second of the registered model's own pyfunc.predict on batches of `batch` rows, timed in a process of its
    own (started once, the model loaded once): the load client then stays a small process, where a loaded model would
    add half a million objects to every full garbage collection of the client while it measures the servers."""
    def __init__(self, uri: str, data: list, batch: int = 64):
        import multiprocessing
        ctx = multiprocessing.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_time_model, args=(theirs, uri, data, batch), daemon=True)
        self.proc.start()
        theirs.close()
        try: self.conn.recv()  # "ready"
        except EOFError:
            self.proc.join()
            fail(f"the model could not be loaded for timing (its process exited with {self.proc.exitcode}; its error is above)")

    def __call__(self, seconds: float = 5.0) -> float:
        self.conn.send(seconds)
        return self.conn.recv()

    def close(self):
        self.conn.send(None)
        self.proc.join()


def checked_load(name: str, url: str, data: list, expected: list, total: int, concurrency: int) -> dict:
    "`load`, failing the bench on the first requests that went wrong."
    p = asyncio.run(load(url, data, expected, total, concurrency))
    if p["problems"]:
        fail(f"{name} at concurrency {concurrency}: {len(p['problems'])} of {total + WARMUP} requests went wrong; the first:\n  "
             + "\n  ".join(p["problems"][:5]))
    return p


def thread_cpu(pid: int) -> tuple[float, float]:
    "CPU seconds so far of process `pid`'s main thread (uvicorn's event loop) and of its other threads (the model's), from /proc."
    main = other = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try: fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError: continue  # a thread that ended meanwhile
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        if tid == str(pid): main += seconds
        else: other += seconds
    return main, other


def machine_ticks() -> tuple[int, int]:
    "The machine's CPU ticks so far, stolen by the hypervisor and in all, from /proc/stat (Linux)."
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields[:8])  # steal; user nice system idle iowait irq softirq steal


def share_rounds(url: str, data: list, expected: list, total: int, speed: ModelSpeed, rounds: int, pid: int | None = None) -> list:
    """`rounds` loads at concurrency 64, each between two timings of the model's own speed (the server idle meanwhile):
    per round, requests per second over the faster of the two timings beside it, and the round's p99; with the server's
    `pid` (Linux), also its CPU per request, event loop and model thread apart, and the part of the load's wall time it
    was busy."""
    speeds, out = [speed(3.0)], []
    for _ in range(rounds):
        cpu, ticks, began = thread_cpu(pid) if pid else None, machine_ticks() if pid else None, time.perf_counter()
        p = checked_load("trainpipe", url, data, expected, total, 64)
        wall, requests = time.perf_counter() - began, total + WARMUP
        speeds.append(speed(3.0))
        ceiling = max(speeds[-2:])
        out.append({"share": p["rps"] / ceiling, "rps": p["rps"], "ceiling": ceiling, "p99": p["p99"]})
        if cpu:
            loop, model = (after - before for after, before in zip(thread_cpu(pid), cpu))
            stolen, every = (after - before for after, before in zip(machine_ticks(), ticks))
            out[-1] |= {"loop_ms": loop / requests * 1e3, "model_ms": model / requests * 1e3, "busy": (loop + model) / wall,
                        "stolen": stolen / max(every, 1)}
        print(f"trainpipe, concurrency  64, round {len(out)}: {p['rps']:8.1f} req/s, model {ceiling:.0f} rows/s: {out[-1]['share']:.0%}; "
              f"p99 {p['p99']:.1f} ms" + (f"; server CPU per request {out[-1]['loop_ms']:.3f} ms in the event loop, "
                                          f"{out[-1]['model_ms']:.3f} ms in the model thread, busy {out[-1]['busy']:.0%}; "
                                          f"the hypervisor took {out[-1]['stolen']:.0%} of the machine's CPU" if cpu else ""),
              file=sys.stderr)
    return out


def same_answers(mine: list, theirs: list, data: list):
    "Fail on the first row whose answers are not the same JSON."
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if json.loads(a) != json.loads(b):
            fail(f"trainpipe and MLflow answer row {i} differently:\n  body:      {data[i].decode()}\n"
                 f"  trainpipe: {a.decode(errors='replace')}\n  MLflow:    {b.decode(errors='replace')}")


def measure(name: str, server: Server, data: list, total: int, levels: list, reference: list | None, rounds=None) -> tuple:
    """Start the server, get its reference answers (checked against `reference`), and load it at each concurrency; then
    `rounds(url, answers)`, if given, while it still runs."""
    with server:
        print(f"{name}: ready in {server.start_seconds:.1f} s", file=sys.stderr)
        answers = asyncio.run(references(server.url, data))
        if reference is not None: same_answers(answers, reference, data)
        points = {}
        for c in levels:
            p = points[c] = checked_load(name, server.url, data, answers, total, c)
            print(f"{name}, concurrency {c:>3}: {p['rps']:8.1f} req/s, p50 {p['p50']:7.2f} ms, p99 {p['p99']:7.2f} ms; "
              f"client {p['client_cpu']:.0%} of a core",
                  file=sys.stderr)
        if rounds: points["rounds"] = rounds(server.url, answers, server.proc.pid)
    return answers, points


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per point (default 3000)")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated client concurrencies (default 1,16,64)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes, the same for both (default 1)")
    parser.add_argument("--only", choices=["mlflow", "trainpipe"], help="run one server only (no ratios, no cross-check)")
    parser.add_argument("--tracking-uri", help="use this store's registered model instead of running the pipeline")
    parser.add_argument("--trainpipe-arg", action="append", default=[], metavar="ARG",
                        help="extra argument to `trainpipe serve`, e.g. --trainpipe-arg=--max-batch=32 (repeatable)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="loads at concurrency 64, each between two timings of the model, for the share of its speed (default 5)")
    parser.add_argument("--with-missing", action="store_true", help="also send the 11 rows with a missing value (as null)")
    parser.add_argument("--start-timeout", type=float, default=180, help="seconds a server may take to be ready")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="trainpipe-serve-bench-") as tmp:
        work = Path(tmp)
        uri = args.tracking_uri or make_model(work)
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("TRAINPIPE_API_KEY", None)  # measured without the API key check
        data = bodies(missing=args.with_missing)
        speed = ModelSpeed(uri, data)
        speeds = [speed()]
        print(f"the model's own speed: {speeds[0]:.1f} rows/s (pyfunc.predict called directly, no HTTP, batches of 64 rows)", file=sys.stderr)
        servers = {  # name: (key for --only, server)
            "MLflow": ("mlflow", Server("MLflow", [BIN/"mlflow", "models", "serve", "-m", MODEL, "--env-manager", "local",
                                                   "--host", "127.0.0.1", "--port", "{port}", "--workers", args.workers],
                                        "/ping", env, work/"mlflow.log", args.start_timeout)),
            "trainpipe": ("trainpipe", Server("trainpipe", [BIN/"trainpipe", "serve", "--model", MODEL, "--host", "127.0.0.1",
                                                            "--port", "{port}", "--workers", args.workers, *args.trainpipe_arg],
                                              "/ready", env, work/"trainpipe.log", args.start_timeout))}
        results, reference = {}, None
        for name, (key, server) in servers.items():
            if args.only in (None, key):
                rounds = (lambda url, answers, pid: share_rounds(url, data, answers, args.requests, speed, args.rounds,
                                                                pid if sys.platform == "linux" else None)) \
                    if name == "trainpipe" and 64 in levels and args.workers == 1 and args.rounds > 0 else None
                reference, results[name] = measure(name, server, data, args.requests, levels, reference, rounds)
        speeds.append(speed())
        speed.close()
        print(f"the model's own speed, again: {speeds[1]:.1f} rows/s", file=sys.stderr)
        ceiling = max(speeds)
    mine, theirs = results.get("trainpipe"), results.get("MLflow")
    print(f"serve bench, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{MODEL}, {args.workers} worker(s) each; {args.requests} single-row requests per point "
          f"({len(data)} distinct rows) after {WARMUP} warm-up")

    rows = []
    for c in levels:
        rows.append((f"concurrency {c}", "", "", None))
        for name, points in (("MLflow", theirs), ("trainpipe", mine)):
            if points:
                p = points[c]
                rows += [(f"  {name}, req/s", f"{p['rps']:.1f}", "", None),
                         (f"  {name} p50 / p99, ms", f"{p['p50']:.2f} / {p['p99']:.2f}", "", None)]
        if mine and theirs:
            speed, tail = mine[c]["rps"] / theirs[c]["rps"], mine[c]["p99"] / theirs[c]["p99"]
            speed_goal, tail_goal = (4, 0.25) if c >= 16 else (None, 1.0) if c == 1 else (None, None)
            rows += [("  throughput, trainpipe / MLflow", f"{speed:.2f}x", f">= {speed_goal}x" if speed_goal else "",
                      speed >= speed_goal if speed_goal else None),
                     ("  p99, trainpipe / MLflow", f"{tail:.3f}x", f"<= {tail_goal}x" if tail_goal else "",
                      tail <= tail_goal if tail_goal else None)]
    if mine and 64 in levels and args.workers == 1:  # the limit of one worker
        once = mine[64]["rps"] / ceiling
        rows += [("model's own speed (64-row batches)", f"{ceiling:.1f} rows/s", "", None),
                 ("  before / after the servers, rows/s", " / ".join(f"{v:.0f}" for v in speeds), "", None),
                 ("  trainpipe's concurrency-64 point / it", f"{once:.0%}", "", None)]
        if "rounds" in mine:
            each = mine["rounds"]
            share, tail = statistics.median(r["share"] for r in each), statistics.median(r["p99"] for r in each)
            rows += [(f"trainpipe at concurrency 64 / model's own, median of {len(each)} rounds", f"{share:.0%}", ">= 60%", share >= 0.6),
                     ("  each round", " ".join(f"{r['share']:.0%}" for r in each), "", None),
                     ("trainpipe p99 at concurrency 64, median of rounds, ms", f"{tail:.1f}", "<= 150", tail <= 150)]
            if all("busy" in r for r in each):  # where the server's time went in those loads (Linux)
                loop, model, busy, stolen = (statistics.median(r[k] for r in each) for k in ("loop_ms", "model_ms", "busy", "stolen"))
                rows += [("  server CPU per request: event loop / model thread, ms", f"{loop:.3f} / {model:.3f}", "", None),
                         ("  server busy (CPU s per wall s)", f"{busy:.0%}", "", None),
                         ("  the machine's CPU taken by its hypervisor (steal)", f"{stolen:.0%}", "", None)]
    width = max(40, *(len(what) for what, *_ in rows))
    print(f"{'':<{width}} {'measured':>17} {'goal':>9}  met")
    for what, value, goal, met in rows:
        print(f"{what:<{width}} {value:>17} {goal:>9}  {'' if met is None else 'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
