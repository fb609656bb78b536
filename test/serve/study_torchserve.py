#!/usr/bin/env python3
"""Experiments behind test/fixtures/model/FINDINGS.md (real TorchServe 0.12.0).

    python3 test/serve/study_torchserve.py [EXPERIMENT ...]   # default: all
    python3 test/serve/study_torchserve.py --list

Each experiment starts its own TorchServe on free 127.0.0.1 ports (see
torchserve_smoke.TorchServe), prints one JSON object per line, and stops the
server. Work dirs are under $TMPDIR/ts-study-*/ and removed unless --keep.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torchserve_smoke import TorchServe, build_mar, render_properties, venv_path  # noqa: E402

X = [1, 2, 3, 4]

STUDY_HANDLER = '''\
"""Fixture handler plus knobs from study.json: init_sleep, init_fail; request "sleep"."""
import json
import os
import time

from handler import TinyHandler


class StudyHandler(TinyHandler):
    def initialize(self, context):
        path = os.path.join(context.system_properties.get("model_dir"), "study.json")
        cfg = json.load(open(path)) if os.path.exists(path) else {}
        time.sleep(cfg.get("init_sleep", 0))
        if cfg.get("init_fail"):
            raise RuntimeError("study: init_fail")
        super().initialize(context)

    def preprocess(self, data):
        for req in data:
            body = req.get("data") if req.get("data") is not None else req.get("body")
            if isinstance(body, (bytes, bytearray)):
                body = json.loads(body)
            if isinstance(body, dict) and body.get("sleep"):
                time.sleep(body["sleep"])
        return super().preprocess(data)
'''


class Study:
    def __init__(self, root, keep=False):
        self.root = Path(root)
        self.keep = keep
        self.venv = venv_path()
        self.n = 0

    def dir(self, name):
        self.n += 1
        d = self.root / ("%02d-%s" % (self.n, name))
        d.mkdir(parents=True)
        return d

    def store(self, d, versions, name="demo", **kw):
        store = d / "store"
        for i, v in enumerate(versions, 1):
            build_mar(store, name, v, scale=i, venv=self.venv, **kw)
        return store

    def study_mar(self, store, name, version, cfg, scale=1.0, filename=None, config_file=None):
        work = Path(tempfile.mkdtemp(dir=self.root))
        (work / "study_handler.py").write_text(STUDY_HANDLER)
        (work / "study.json").write_text(json.dumps(cfg))
        p = build_mar(store, name, version, scale=scale, venv=self.venv, filename=filename,
                      handler=work / "study_handler.py", extra_files=[work / "study.json"],
                      config_file=config_file)
        shutil.rmtree(work)
        return p

    def server(self, d, store, props, **kw):
        return TorchServe(d / "ts", store, props, venv=self.venv, **kw)


def out(**kw):
    print(json.dumps(kw, sort_keys=True), flush=True)


def who(ts, version=None):
    code, body = ts.predict("demo", X, version=version)
    if code == 200 and isinstance(body, dict):
        return code, body.get("version")
    return code, body


def models_json(versions, default, **over):
    cfg = {}
    for v in versions:
        e = {"marName": "demo.%s.mar" % v, "minWorkers": 1, "maxWorkers": 1, "batchSize": 1,
             "maxBatchDelay": 100, "responseTimeout": 120, "defaultVersion": v == default}
        e.update(over.get(v, {}))
        cfg[v] = e
    return {"demo": cfg}


# ---------------------------------------------------------------- a. versions
def exp_default_version(s):
    d = s.dir("default-version")
    vs = ["v1", "v2", "v3"]
    store = s.store(d, vs)
    cases = [
        ("models_v3_default__list_v1_v2_v3", vs, True),
        ("models_v3_default__list_v3_v1_v2", ["v3", "v1", "v2"], True),
        ("no_models__list_v1_v2_v3", vs, False),
        ("no_models__list_v3_v1_v2", ["v3", "v1", "v2"], False),
    ]
    for case, order, with_models in cases:
        props = {"load_models": ",".join("demo.%s.mar" % v for v in order)}
        if with_models:
            props["models"] = models_json(vs, "v3", v3={"minWorkers": 2, "maxWorkers": 2,
                                                        "batchSize": 4, "maxBatchDelay": 300,
                                                        "responseTimeout": 77})
        cd = d / case
        cd.mkdir()
        with s.server(cd, store, props) as ts:
            ready = ts.wait_ready()
            res = {"case": case, "ready_s": round(ready, 2), "default_answer": who(ts),
                   "v1_answer": who(ts, "v1"), "v3_answer": who(ts, "v3")}
            code, text = ts.request("management", "/models")
            res["GET /models"] = [code, json.loads(text) if code == 200 else text]
            code, text = ts.request("management", "/models/demo/all")
            if code == 200:
                res["GET /models/demo/all"] = [code, [
                    {k: m.get(k) for k in ("modelVersion", "minWorkers", "maxWorkers",
                                           "batchSize", "maxBatchDelay", "responseTimeout",
                                           "startupTimeout")}
                    | {"workers": len(m.get("workers", []))} for m in json.loads(text)]]
            else:
                res["GET /models/demo/all"] = [code, text]
            code, text = ts.request("management", "/models/demo")
            res["GET /models/demo (describe default)"] = [
                code, [m.get("modelVersion") for m in json.loads(text)] if code == 200 else text]
            if with_models:
                # batching: 4 concurrent requests to v3 (batchSize 4, maxBatchDelay 300 ms)
                with concurrent.futures.ThreadPoolExecutor(4) as pool:
                    rs = list(pool.map(lambda _: ts.predict("demo", X, version="v3"), range(4)))
                res["v3 batch sizes seen (4 concurrent)"] = [
                    b.get("batch_size") if isinstance(b, dict) else (c, b) for c, b in rs]
            code, text = ts.request("management", "/models/demo/v3/set-default", "PUT")
            res["PUT set-default (model api off)"] = [code, text.strip()[:200]]
            res["default_after_set_default"] = who(ts)
        out(experiment="a.default_version", **res)


# ------------------------------------------------------------- b. backup dir
def exp_backup_dir(s):
    d = s.dir("backup-dir")
    store = s.store(d, ["v1", "v2", "v3"])
    build_mar(store / "backup", "demo", "v0", scale=9, venv=s.venv)
    for case, load in [("explicit_list", "demo.v3.mar,demo.v1.mar,demo.v2.mar"), ("all", "all")]:
        cd = d / case
        cd.mkdir()
        with s.server(cd, store, {"load_models": load}) as ts:
            try:
                ready = round(ts.wait_ready(timeout=60), 2)
            except Exception as e:  # noqa: BLE001
                ready = "not ready: %s" % str(e).splitlines()[0]
            time.sleep(1)
            code, text = ts.request("management", "/models")
            models = json.loads(text)["models"] if code == 200 else text
            all_versions = {}
            for m in (models if isinstance(models, list) else []):
                c, t = ts.request("management", "/models/%s/all" % m["modelName"])
                all_versions[m["modelName"]] = (
                    [(x.get("modelVersion"), len(x.get("workers", [])),
                      [w.get("status") for w in x.get("workers", [])]) for x in json.loads(t)]
                    if c == 200 else [c, t])
            log = ts.log_text()
            if case == "all":
                time.sleep(10)
                all_versions["backup after 10s"] = json.loads(
                    ts.request("management", "/models/backup")[1])[0]["workers"]
                all_versions["POST /predictions/backup"] = ts.request(
                    "inference", "/predictions/backup", "POST", {"data": X})
                log = ts.log_path.read_text(errors="replace")
                all_versions["backup worker log"] = [
                    ln.strip()[:220] for ln in log.splitlines()
                    if "backup" in ln and ("Error" in ln or "Exception" in ln)][:3]
            out(experiment="b.backup_dir", case=case, load_models=load, ready=ready,
                ping=ts.ping(), models=models, versions=all_versions,
                default_answer=who(ts), store_listing=sorted(os.listdir(store)),
                log_mentions_backup=[ln.strip()[:220] for ln in log.splitlines()
                                     if "backup" in ln and ("WARN" in ln or "ERROR" in ln
                                                            or "Loading" in ln)][:6])


# ------------------------------------------------------------ c. dotted names
def exp_dotted_names(s):
    d = s.dir("dotted-names")
    store = d / "store"
    build_mar(store, "demo", "1.2.0", scale=5, venv=s.venv)   # demo.1.2.0.mar
    build_mar(store, "demo", "v1", scale=1, venv=s.venv)      # demo.v1.mar
    build_mar(store, "demo", "2.0.0", scale=7, venv=s.venv, filename="demo-model.2.0.0.mar")
    props = {"load_models": "demo.1.2.0.mar,demo.v1.mar,demo-model.2.0.0.mar"}
    with s.server(d, store, props) as ts:
        ready = ts.wait_ready()
        code, text = ts.request("management", "/models/demo/all")
        out(experiment="c.dotted_names", ready_s=round(ready, 2), load_models=props["load_models"],
            versions=[m["modelVersion"] for m in json.loads(text)] if code == 200 else [code, text],
            default_answer=who(ts), answer_1_2_0=who(ts, "1.2.0"), answer_v1=who(ts, "v1"),
            answer_2_0_0=who(ts, "2.0.0"))


# ------------------------------------------------------------ d. ping, tokens
def poll_ping(ts, seconds, interval=0.05, until_200=True, model=None):
    """Ping transitions [(t_since_start, code, body)] until 200 (or seconds);
    with model, keep polling until its workers are READY and add that event."""
    seq, last = [], object()
    end = time.monotonic() + seconds
    while time.monotonic() < end and ts.running():
        code, body = ts.ping()
        key = (code, body.strip()[:80] if code else "refused")
        if key != last:
            seq.append((round(time.monotonic() - ts.started_at, 2),) + key)
            last = key
        if model and code == 200 and ts.workers_ready(model):
            seq.append((round(time.monotonic() - ts.started_at, 2), "workers READY", model))
            break
        if until_200 and not model and code == 200:
            break
        time.sleep(interval)
    return seq


def exp_ping_timeline(s):
    d = s.dir("ping-timeline")
    store = d / "store"
    s.study_mar(store, "demo", "v1", {"init_sleep": 6}, filename="demo.v1.mar")
    build_mar(store, "demo", "v2", scale=2, venv=s.venv)
    for case, load in [("fast_model", "demo.v2.mar"), ("init_sleep_6s", "demo.v1.mar")]:
        cd = d / case
        cd.mkdir()
        with s.server(cd, store, {"load_models": load}) as ts:
            seq = poll_ping(ts, 90, model="demo")
            out(experiment="d.ping_timeline", case=case, transitions=seq)
    cd = d / "no_models"
    cd.mkdir()
    with s.server(cd, store, {}) as ts:
        out(experiment="d.ping_timeline", case="no load_models", transitions=poll_ping(ts, 60))


def exp_token_auth(s):
    d = s.dir("token-auth")
    store = s.store(d, ["v1"])
    with s.server(d, store, {"load_models": "demo.v1.mar"}, token_auth=True) as ts:
        t0 = time.monotonic()
        seq = poll_ping(ts, 20)
        # wait for the worker some other way: management describe with the key
        while not ts.key_file.exists() and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        keys = json.loads(ts.key_file.read_text())
        inf = {"Authorization": "Bearer " + keys["inference"]["key"]}
        mgmt = {"Authorization": "Bearer " + keys["management"]["key"]}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            c, _ = ts.predict("demo", X, headers=inf)
            if c == 200:
                break
            time.sleep(0.2)
        res = {
            "key_file": str(ts.key_file), "key_file_exists_in_cwd": ts.key_file.exists(),
            "key_file_fields": {k: sorted(v) if isinstance(v, dict) else v for k, v in keys.items()},
            "key_file_mode": oct(ts.key_file.stat().st_mode & 0o777),
            "ping_transitions_no_token": seq,
            "ping_with_inference_key": ts.ping(headers=inf),
            "ping_with_bearer_garbage": ts.ping(headers={"Authorization": "Bearer nope"}),
            "predict_no_token": ts.predict("demo", X),
            "predict_inference_key": ts.predict("demo", X, headers=inf)[0],
            "predict_management_key": ts.predict("demo", X, headers=mgmt)[0],
            "GET /models no token": ts.request("management", "/models"),
            "GET /models management key": ts.request("management", "/models", headers=mgmt)[0],
            "GET /models inference key": ts.request("management", "/models", headers=inf)[0],
            "GET /metrics no token": ts.request("metrics", "/metrics")[0],
            "files_in_cwd": sorted(os.listdir(ts.workdir)),
        }
        out(experiment="d.token_auth", **res)


# ------------------------------------------------------- e/f. mgmt + metrics
def exp_api_and_metrics(s):
    d = s.dir("api-metrics")
    store = s.store(d, ["v1", "v2"])
    with s.server(d, store, {"load_models": "demo.v2.mar,demo.v1.mar"}) as ts:
        ts.wait_ready()
        for _ in range(3):
            ts.predict("demo", X)
        ts.predict("demo", X, version="v1")
        ts.request("inference", "/predictions/demo", "POST", {"data": [1, 2]})  # handler error
        ts.request("inference", "/predictions/nope", "POST", {"data": X})
        res = {
            "POST /models?url=demo.v1.mar": ts.request("management", "/models?url=demo.v1.mar", "POST"),
            "DELETE /models/demo/v1": ts.request("management", "/models/demo/v1", "DELETE"),
            "PUT /models/demo/v1?min_worker=2": ts.request(
                "management", "/models/demo/v1?min_worker=2&synchronous=true", "PUT"),
            "GET /models": ts.request("management", "/models"),
            "bad input (2 numbers)": ts.request("inference", "/predictions/demo", "POST",
                                               {"data": [1, 2]}),
            "unknown model": ts.request("inference", "/predictions/nope", "POST", {"data": X}),
            "unknown version": ts.request("inference", "/predictions/demo/v9", "POST", {"data": X}),
            "raw list body": ts.request("inference", "/predictions/demo", "POST", X),
            "text/plain JSON body": ts.request("inference", "/predictions/demo", "POST",
                                              json.dumps({"data": X}).encode(),
                                              headers={"Content-Type": "text/plain"}),
        }
        res = {k: [v[0], v[1].strip()[:240]] for k, v in res.items()}
        time.sleep(1)
        code, text = ts.request("metrics", "/metrics")
        names = sorted({ln.split()[2] for ln in text.splitlines() if ln.startswith("# TYPE")})
        samples = [ln for ln in text.splitlines()
                   if ln.startswith("ts_inference_requests_total") or ln.startswith("ts_queue")]
        content_type = None
        try:
            import urllib.request
            with urllib.request.urlopen(ts.url("metrics", "/metrics"), timeout=10) as r:
                content_type = r.headers.get("Content-Type")
        except Exception as e:  # noqa: BLE001
            content_type = repr(e)
        out(experiment="e.management_api", **res)
        out(experiment="f.metrics", code=code, content_type=content_type, metric_names=names,
            samples=samples[:8])
        time.sleep(61)  # system metrics / model metrics appear on the 1-minute collector
        code, text = ts.request("metrics", "/metrics")
        names2 = sorted({ln.split()[2] for ln in text.splitlines() if ln.startswith("# TYPE")})
        out(experiment="f.metrics", after_61s=True, metric_names=names2)


# ----------------------------------------------------------- g. startup time
def exp_startup_time(s, runs=3):
    d = s.dir("startup-time")
    store = s.store(d, ["v1", "v2", "v3"])
    results = {}
    for case, load in [("1 version", "demo.v1.mar"),
                       ("3 versions", "demo.v3.mar,demo.v1.mar,demo.v2.mar")]:
        for dep in ("false", "true"):
            ping, ready = [], []
            for i in range(runs):
                cd = d / ("%s-%s-%d" % (case.replace(" ", ""), dep, i))
                cd.mkdir()
                props = {"load_models": load, "install_py_dep_per_model": dep}
                with s.server(cd, store, props) as ts:
                    ping.append(round(ts.wait_ready(timeout=180, interval=0.05), 2))
                    ready.append(round(ts.wait_ready(timeout=180, interval=0.05,
                                                     models=["demo"]), 2))
            results["%s, install_py_dep_per_model=%s" % (case, dep)] = {
                "ping200_s": ping, "ping200_median_s": statistics.median(ping),
                "all_workers_READY_s": ready, "READY_median_s": statistics.median(ready)}
    out(experiment="g.startup_time", **results)


def exp_offline(s):
    """Start in a fresh network namespace (loopback only) under strace, with
    install_py_dep_per_model=true and a requirements.txt in the archive, pip's
    version check NOT disabled: list every non-loopback connect()."""
    d = s.dir("offline")
    store = s.store(d, ["v1", "v2"])
    trace = d / "connect.strace"
    wrap = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
            "strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace)]
    env = {"PIP_DISABLE_PIP_VERSION_CHECK": None, "PIP_FIND_LINKS": None,
           "PIP_DEFAULT_TIMEOUT": None, "PIP_NO_INDEX": None}
    for case, extra_env in [("pip version check on", {}),
                            ("PIP_DISABLE_PIP_VERSION_CHECK=1", {"PIP_DISABLE_PIP_VERSION_CHECK": "1"})]:
        cd = d / case.replace(" ", "_").replace("=", "_")
        cd.mkdir()
        props = {"load_models": "demo.v2.mar,demo.v1.mar", "install_py_dep_per_model": "true"}
        # The namespace has its own loopback: poll from inside it via the log instead.
        ts = s.server(cd, store, props, env=dict(env, **extra_env, HOME=str(cd)), wrap=wrap)
        ts.props["model_store"] = str(store)
        ts.start()
        deadline = time.monotonic() + 240
        log = ""
        while time.monotonic() < deadline:
            log = ts.log_path.read_text(errors="replace")
            if log.count("-> WORKER_MODEL_LOADED") >= 2:
                break
            if not ts.running():
                break
            time.sleep(0.2)
        elapsed = round(time.monotonic() - ts.started_at, 2)
        ts.stop()
        lines = trace.read_text().splitlines() if trace.exists() else []
        inet = [ln for ln in lines if "connect(" in ln and "AF_UNIX" not in ln]
        external = [ln.split(" ", 1)[1][:160] for ln in inet
                    if "127.0.0.1" not in ln and "::1" not in ln]
        out(experiment="g.offline", case=case, seconds_until_2_workers_loaded=elapsed,
            pip_lines=[ln.strip()[:200] for ln in log.splitlines() if "custom pip" in ln][:4],
            non_loopback_connects=external[:10], n_non_loopback=len(external))
        trace.unlink(missing_ok=True)


# -------------------------------------------------------------- h. config text
def exp_config_format(s):
    d = s.dir("config-format")
    store = s.store(d, ["v1"])
    cases = {
        "trailing space after load_models value": lambda p: p.replace(
            "load_models=demo.v1.mar\n", "load_models=demo.v1.mar \n"),
        "key: value separator for load_models": lambda p: p.replace(
            "load_models=", "load_models: "),
        "CRLF line endings": lambda p: p.replace("\n", "\r\n"),
        "spaces around =": lambda p: p.replace("load_models=", "load_models = "),
        "backslash-escaped quote inside models JSON": lambda p: p.replace(
            '"batchSize":1,', '"batchSize":1,"note":"a\\"b",'),
        "unknown key in models JSON entry": lambda p: p.replace(
            '"batchSize":1,', '"batchSize":1,"fooBar":7,'),
    }
    for i, (case, mutate) in enumerate(cases.items()):
        ts = s.server(d / ("c%d" % i), store, {"load_models": "demo.v1.mar",
                                               "models": models_json(["v1"], "v1",
                                                                     v1={"responseTimeout": 33})})
        ts.config_text = mutate(render_properties(ts.props))
        with ts:
            res = {}
            try:
                res["ready_s"] = round(ts.wait_ready(timeout=45), 2)
            except Exception as e:  # noqa: BLE001
                res["ready_s"] = "not ready: " + str(e).splitlines()[0][:160]
            code, t = ts.request("management", "/models/demo/all")
            res["versions_and_responseTimeout"] = (
                [(x["modelVersion"], x.get("responseTimeout")) for x in json.loads(t)]
                if code == 200 else [code, t[:160]])
            log = ts.log_path.read_text(errors="replace")
            res["log"] = [ln.strip()[:300] for ln in log.splitlines()
                          if ln.startswith(("Initial Models:", "Model config:"))
                          or "Exception" in ln or "Failed to load" in ln][:4]
        out(experiment="h.config_format", case=case, **res)


# ------------------------------------------------------ i. load failure, exit
def exp_load_failure(s):
    d = s.dir("load-failure")
    store = d / "store"
    build_mar(store, "demo", "v1", scale=1, venv=s.venv)
    s.study_mar(store, "broken", "v1", {"init_fail": True}, filename="broken.v1.mar")
    (store / "garbage.v1.mar").write_bytes(b"this is not a zip file")
    cases = [("missing mar listed", "demo.v1.mar,missing.v9.mar", 20),
             ("not-a-zip mar listed", "demo.v1.mar,garbage.v1.mar", 20),
             ("handler initialize raises", "broken.v1.mar", 45),
             ("only a missing mar", "missing.v9.mar", 20)]
    for case, load, watch in cases:
        cd = d / case.replace(" ", "_")
        cd.mkdir()
        with s.server(cd, store, {"load_models": load}) as ts:
            seq = poll_ping(ts, watch, interval=0.2, until_200=False)
            code, text = ts.request("management", "/models")
            broken = ts.request("management", "/models/broken") if "broken" in load else None
            log = ts.log_text()
            out(experiment="i.load_failure", case=case, load_models=load,
                ping_transitions=seq, still_running=ts.running(),
                models=[code, json.loads(text)["models"] if code == 200 else text],
                broken_describe=(None if broken is None else
                                 [broken[0], [(m["modelVersion"], [(w["status"], w.get("pid")) for w in m["workers"]])
                                              for m in json.loads(broken[1])] if broken[0] == 200 else broken[1]]),
                worker_restarts=log.count("Retry worker"),
                warn_lines=[ln.strip()[:200] for ln in log.splitlines()
                            if "Failed to load model" in ln or "FileNotFound" in ln
                            or "not a valid" in ln.lower()][:3])
    # a fatal start error: the inference port is taken
    cd = d / "port_in_use"
    cd.mkdir()
    ts = s.server(cd, store, {"load_models": "demo.v1.mar"})
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", ts.inference_port))
    blocker.listen(1)
    try:
        ts.start()
        try:
            ts.proc.wait(60)
        except subprocess.TimeoutExpired:
            pass
        running = ts.running()
        code = ts.stop()
    finally:
        blocker.close()
    log = ts.log_text()
    java_exit = [ln.strip()[:200] for ln in log.splitlines()
                 if "Address already in use" in ln or "BindException" in ln][:2]
    out(experiment="i.load_failure", case="inference port already in use",
        still_running_after_60s=running, torchserve_exit_code=code, log=java_exit)


def exp_retry_window(s):
    """A crash-looping model: /ping stays 200 for maxRetryTimeoutInSec (archive
    model-config.yaml, default 300 s), then 500. Also: models not in load_models."""
    d = s.dir("retry-window")
    store = d / "store"
    cfg = d / "model-config.yaml"
    cfg.write_text("maxRetryTimeoutInSec: 10\n")
    s.study_mar(store, "broken", "v1", {"init_fail": True}, filename="broken.v1.mar",
                config_file=cfg)
    with s.server(d, store, {"load_models": "broken.v1.mar"}) as ts:
        seq = poll_ping(ts, 40, interval=0.25, until_200=False)
        out(experiment="d.retry_window", case="init fails, maxRetryTimeoutInSec=10",
            ping_transitions=seq, still_running=ts.running())
    d = s.dir("models-not-listed")
    store = s.store(d, ["v1", "v2", "v3"])
    props = {"load_models": "demo.v3.mar", "models": models_json(["v1", "v2", "v3"], "v3")}
    with s.server(d, store, props) as ts:
        ts.wait_ready(models=["demo"])
        code, text = ts.request("management", "/models/demo/all")
        out(experiment="a.models_not_listed", load_models=props["load_models"],
            models_keys=["v1", "v2", "v3"],
            loaded=[m["modelVersion"] for m in json.loads(text)] if code == 200 else [code, text])


def exp_java_exit_code(s):
    d = s.dir("java-exit")
    store = s.store(d, ["v1"])
    with s.server(d, store, {"load_models": "demo.v1.mar"}) as ts:
        ts.wait_ready()
        java = subprocess.run(["pgrep", "-P", str(ts.proc.pid), "java"],
                              stdout=subprocess.PIPE, text=True).stdout.split()
        res = {"launcher_pid": ts.proc.pid, "java_pids": java}
        if java:
            os.kill(int(java[0]), 9)
            try:
                res["launcher_exit_after_java_SIGKILL"] = ts.proc.wait(30)
            except subprocess.TimeoutExpired:
                res["launcher_exit_after_java_SIGKILL"] = "still running"
    out(experiment="i.java_exit_code", **res)
    # SIGTERM to the launcher only (not the group): does java survive?
    d = s.dir("launcher-sigterm")
    with s.server(d, store, {"load_models": "demo.v1.mar"}) as ts:
        ts.wait_ready()
        java = subprocess.run(["pgrep", "-P", str(ts.proc.pid), "java"],
                              stdout=subprocess.PIPE, text=True).stdout.split()
        os.kill(ts.proc.pid, 15)
        code = ts.proc.wait(30)
        time.sleep(2)
        alive = bool(java) and subprocess.run(["kill", "-0", java[0]]).returncode == 0
        ping = ts.ping()
        out(experiment="i.launcher_sigterm", launcher_exit=code, java_alive_after=alive,
            ping_after=ping)
        # the with-block's stop() kills the rest of the group


# ------------------------------------------------------------- k. timeouts
def exp_timeouts(s):
    d = s.dir("timeouts")
    store = d / "store"
    s.study_mar(store, "demo", "v1", {}, filename="demo.v1.mar")
    s.study_mar(store, "slowinit", "v1", {"init_sleep": 8}, filename="slowinit.v1.mar")
    props = {"load_models": "demo.v1.mar", "default_response_timeout": 2}
    with s.server(d / "resp", store, props) as ts:
        ts.wait_ready()
        t0 = time.monotonic()
        code, text = ts.request("inference", "/predictions/demo", "POST", {"data": X, "sleep": 5})
        took = round(time.monotonic() - t0, 2)
        quick = ts.predict("demo", X)
        seq = poll_ping(ts, 30, interval=0.2)
        code2, text2 = ts.request("management", "/models/demo")
        out(experiment="k.timeouts", case="default_response_timeout=2, request sleeps 5s",
            response=[code, text.strip()[:200]], seconds=took,
            next_request=[quick[0], quick[1] if quick[0] != 200 else "ok"],
            ping_after=seq, describe_responseTimeout=(json.loads(text2)[0].get("responseTimeout")
                                                      if code2 == 200 else code2))
    props = {"load_models": "demo.v1.mar", "default_response_timeout": 120,
             "models": models_json(["v1"], "v1", v1={"responseTimeout": 2})}
    with s.server(d / "resp-models", store, props) as ts:
        ts.wait_ready()
        t0 = time.monotonic()
        code, text = ts.request("inference", "/predictions/demo", "POST", {"data": X, "sleep": 5})
        out(experiment="k.timeouts", case="models v1 responseTimeout=2 (default 120), sleep 5s",
            response=[code, text.strip()[:200]], seconds=round(time.monotonic() - t0, 2))
    props = {"load_models": "slowinit.v1.mar", "default_startup_timeout": 3}
    with s.server(d / "startup", store, props) as ts:
        seq = poll_ping(ts, 40, interval=0.2, until_200=False)
        log = ts.log_text()
        code, text = ts.request("management", "/models/slowinit")
        out(experiment="k.timeouts", case="default_startup_timeout=3, init sleeps 8s",
            ping_transitions=seq,
            describe=[code, json.loads(text)[0].get("startupTimeout") if code == 200 else text],
            timeout_lines=[ln.strip()[:200] for ln in log.splitlines()
                           if "startupTimeout" in ln or "timed out" in ln.lower()][:3],
            worker_restarts=log.count("Retry worker"))
    props = {"load_models": "slowinit.v1.mar", "default_startup_timeout": 30}
    with s.server(d / "startup-ok", store, props) as ts:
        ready = ts.wait_ready(timeout=60, models=["slowinit"])
        out(experiment="k.timeouts", case="default_startup_timeout=30, init sleeps 8s",
            ready_s=round(ready, 2))


EXPERIMENTS = {
    "default_version": exp_default_version,
    "backup_dir": exp_backup_dir,
    "dotted_names": exp_dotted_names,
    "ping_timeline": exp_ping_timeline,
    "token_auth": exp_token_auth,
    "api_and_metrics": exp_api_and_metrics,
    "startup_time": exp_startup_time,
    "offline": exp_offline,
    "config_format": exp_config_format,
    "load_failure": exp_load_failure,
    "java_exit_code": exp_java_exit_code,
    "retry_window": exp_retry_window,
    "timeouts": exp_timeouts,
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="*")
    p.add_argument("--list", action="store_true")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(EXPERIMENTS))
        return 0
    names = args.experiments or list(EXPERIMENTS)
    root = Path(tempfile.mkdtemp(prefix="ts-study-"))
    s = Study(root, keep=args.keep)
    failed = 0
    try:
        for name in names:
            t0 = time.monotonic()
            try:
                EXPERIMENTS[name](s)
            except Exception as e:  # noqa: BLE001
                failed += 1
                out(experiment=name, error=repr(e)[:2000])
            print("# %s took %.1fs" % (name, time.monotonic() - t0), file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print("# kept", root, file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
