#!/usr/bin/env python3
"""Start, probe and stop a real TorchServe 0.12 on loopback, for tests.

Library use (any Python; torch is only needed inside the venv):

    from torchserve_smoke import TorchServe, build_mar, venv_path
    store = tmp / "store"
    build_mar(store, "demo", "v1", scale=1)              # -> store/demo.v1.mar
    with TorchServe(tmp / "ts", store, {"load_models": "demo.v1.mar"}) as ts:
        ts.wait_ready()                                  # /ping == 200
        code, body = ts.predict("demo", [1, 2, 3, 4])

CLI smoke test (exit 0 when everything answers as expected):

    python3 test/serve/torchserve_smoke.py [--versions v1,v2,v3] [--keep]

Every server binds 127.0.0.1 on free ports (REST inference/management/metrics
and gRPC), and gets its own TMPDIR/TEMP, cwd and log dir, so several can run at
once: TorchServe keeps its pid file in TMPDIR (.model_server.pid), its worker
sockets and unpacked models in java.io.tmpdir (TEMP), key_file.json in the cwd,
and logs in LOG_LOCATION. stop() ends the process group it started (the
`torchserve` Python launcher does not forward SIGTERM to its java child).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "test" / "fixtures" / "model"


def venv_path(ensure=True):
    """The cached TorchServe venv (scripts/python-env.sh); builds it when ensure."""
    script = REPO / "scripts" / "python-env.sh"
    args = [str(script)] + ([] if ensure else ["--print"])
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (best effort: freed before use)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def render_properties(props, header=("Generated for a TorchServe test",)):
    """config.properties text: '# ' header lines, then sorted key=value lines.
    dict/list values are written as compact JSON (the `models` key)."""
    lines = ["# " + h for h in header]
    for key in sorted(props):
        value = props[key]
        if isinstance(value, (dict, list)):
            value = json.dumps(value, sort_keys=True, separators=(",", ":"))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        value = str(value)
        if "\n" in value or "\r" in value:
            raise ValueError("multi-line value for %s" % key)
        lines.append("%s=%s" % (key, value))
    return "\n".join(lines) + "\n"


def build_mar(store, name, version, scale=1.0, venv=None, requirements=True,
              filename=None, archive_format="default", handler=None, extra_files=(),
              config_file=None):
    """Build the fixture model with weights * scale and archive it with the real
    torch-model-archiver as store/<name>.<version>.mar (or store/filename).
    Manifest: modelName=name, modelVersion=version. Returns the .mar path.
    handler replaces the fixture handler.py (which is then added as an extra
    file, importable as `handler`); extra_files are added too; config_file is
    the archiver's -c model-config.yaml."""
    venv = Path(venv) if venv else venv_path()
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mar-") as work:
        work = Path(work)
        subprocess.run([str(venv / "bin" / "python"), str(FIXTURE / "make_model.py"),
                        str(work / "model"), "--scale", str(scale)],
                       check=True, stdout=subprocess.DEVNULL)
        cmd = [str(venv / "bin" / "torch-model-archiver"), "--model-name", name,
               "--version", version, "--serialized-file", str(work / "model" / "model.pt"),
               "--handler", str(handler or FIXTURE / "handler.py"),
               "--extra-files", ",".join(
                   [str(work / "model" / "labels.json")]
                   + ([str(FIXTURE / "handler.py")] if handler else [])
                   + [str(f) for f in extra_files]),
               "--export-path", str(work), "-f", "--archive-format", archive_format]
        if requirements:
            cmd += ["--requirements-file", str(FIXTURE / "requirements.txt")]
        if config_file:
            cmd += ["--config-file", str(config_file)]
        subprocess.run(cmd, check=True)
        target = store / (filename or "%s.%s.mar" % (name, version))
        shutil.move(str(work / ("%s.mar" % name)), str(target))
    return target


class TorchServe:
    """One `torchserve --start --foreground --ncs` process on loopback ports."""

    def __init__(self, workdir, model_store, props=None, venv=None, token_auth=False,
                 extra_args=(), env=None, wrap=(), config_text=None):
        self.workdir = Path(workdir)
        self.model_store = Path(model_store)
        self.venv = Path(venv) if venv else venv_path()
        (self.inference_port, self.management_port, self.metrics_port,
         grpc_inf, grpc_mgmt) = free_ports(5)
        self.props = {
            "inference_address": "http://127.0.0.1:%d" % self.inference_port,
            "management_address": "http://127.0.0.1:%d" % self.management_port,
            "metrics_address": "http://127.0.0.1:%d" % self.metrics_port,
            "grpc_inference_address": "127.0.0.1",
            "grpc_management_address": "127.0.0.1",
            "grpc_inference_port": grpc_inf,
            "grpc_management_port": grpc_mgmt,
            "model_store": str(self.model_store),
            "enable_model_api": "false",
            "metrics_mode": "prometheus",
            "default_workers_per_model": 1,
        }
        if not token_auth:
            self.props["disable_token_authorization"] = "true"
        self.props.update(props or {})
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})  # value None removes the variable
        self.wrap = list(wrap)  # command prefix, e.g. ["strace", "-f", ...]
        self.config_text = config_text  # literal config.properties instead of props
        self.proc = None
        self.started_at = None
        self.exit_code = None

    # -- paths -----------------------------------------------------------
    @property
    def config_path(self):
        return self.workdir / "config.properties"

    @property
    def log_path(self):
        return self.workdir / "torchserve.out"

    @property
    def key_file(self):
        return self.workdir / "key_file.json"

    def log_text(self):
        parts = []
        for p in [self.log_path] + sorted((self.workdir / "logs").glob("*.log")):
            if p.exists():
                parts.append("==> %s <==\n%s" % (p.name, p.read_text(errors="replace")))
        return "\n".join(parts)

    # -- lifecycle -------------------------------------------------------
    def start(self):
        tmp = self.workdir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.config_path.write_text(self.config_text if self.config_text is not None
                                    else render_properties(self.props))
        env = dict(os.environ)
        env.update({
            "PATH": "%s:%s" % (self.venv / "bin", env.get("PATH", "")),
            "TMPDIR": str(tmp),       # pid file (.model_server.pid), Python temp files
            "TEMP": str(tmp),         # -> java.io.tmpdir: worker sockets, unpacked models
            "LOG_LOCATION": str(self.workdir / "logs"),
            "METRICS_LOCATION": str(self.workdir / "logs"),
        })
        for k, v in self.extra_env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        cmd = self.wrap + [str(self.venv / "bin" / "torchserve"), "--start", "--foreground", "--ncs",
               "--model-store", str(self.model_store), "--ts-config", str(self.config_path)]
        cmd += self.extra_args
        self._out = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=str(self.workdir), env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM the process group we started, then SIGKILL; returns exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            pgid = self.proc.pid  # start_new_session: our child leads its own group
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(10)
        # The java child may outlive the launcher: make sure the group is gone.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.exit_code = self.proc.returncode
        self._out.close()
        return self.exit_code

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- HTTP ------------------------------------------------------------
    def url(self, api, path):
        port = {"inference": self.inference_port, "management": self.management_port,
                "metrics": self.metrics_port}[api]
        return "http://127.0.0.1:%d%s" % (port, path)

    def token(self, kind):
        """'inference' or 'management' key from key_file.json (token auth on)."""
        data = json.loads(self.key_file.read_text())
        return data[kind]["key"]

    def request(self, api, path, method="GET", body=None, headers=None, timeout=30):
        """(status, text); status None when nothing listens (connection refused)."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url(api, path), data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (ConnectionError, urllib.error.URLError, socket.timeout) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, (ConnectionError, socket.timeout, OSError)):
                return None, str(reason)
            raise

    def ping(self, headers=None):
        return self.request("inference", "/ping", headers=headers, timeout=5)

    def predict(self, model, data, version=None, headers=None):
        path = "/predictions/%s" % model + ("/%s" % version if version else "")
        code, text = self.request("inference", path, "POST", {"data": data}, headers=headers)
        try:
            return code, json.loads(text)
        except ValueError:
            return code, text

    def workers_ready(self, model, headers=None):
        """True when every registered version of model has workers, all READY
        (management API; /ping alone says 200 while workers are still loading)."""
        code, text = self.request("management", "/models/%s/all" % model, headers=headers,
                                  timeout=5)
        if code != 200:
            return False
        versions = json.loads(text)
        return bool(versions) and all(
            v.get("workers") and all(w.get("status") == "READY" for w in v["workers"])
            for v in versions)

    def wait_ready(self, timeout=180, interval=0.1, models=(), headers=None):
        """Poll /ping until 200 and, for each name in models, until all its
        versions' workers are READY; returns seconds since start(). Raises with
        the log tail on timeout or when the process exits."""
        deadline = time.monotonic() + timeout
        last = None
        pending = list(models)
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError("torchserve exited with %s before it was ready; last %r\n%s"
                                   % (self.proc.returncode, last, self.log_text()[-4000:]))
            if last is None or last[0] != 200:
                last = self.ping(headers=headers)
            if last[0] == 200:
                pending = [m for m in pending if not self.workers_ready(m, headers=headers)]
                if not pending:
                    return time.monotonic() - self.started_at
            time.sleep(interval)
        raise TimeoutError("not ready after %ss; last ping %r, models not READY %r\n%s"
                           % (timeout, last, pending, self.log_text()[-4000:]))


def _smoke(argv=None):
    p = argparse.ArgumentParser(description="TorchServe smoke test with the tiny fixture model")
    p.add_argument("--versions", default="v1,v2,v3",
                   help="comma list; version i gets weights * i; the last is the newest")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    args = p.parse_args(argv)
    versions = [v for v in args.versions.split(",") if v]
    venv = venv_path()
    work = Path(tempfile.mkdtemp(prefix="ts-smoke-"))
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)

    try:
        store = work / "store"
        for i, v in enumerate(versions, 1):
            build_mar(store, "demo", v, scale=i, venv=venv)
        newest = versions[-1]
        # TorchServe makes the FIRST registered version the default, so list newest first.
        order = [newest] + [v for v in versions if v != newest]
        props = {
            "load_models": ",".join("demo.%s.mar" % v for v in order),
            "models": {"demo": {v: {"marName": "demo.%s.mar" % v, "minWorkers": 1, "maxWorkers": 1,
                                    "batchSize": 1, "maxBatchDelay": 100,
                                    "responseTimeout": 120, "defaultVersion": v == newest}
                                for v in versions}},
            "install_py_dep_per_model": "false",
            "job_queue_size": 100,
        }
        with TorchServe(work / "ts", store, props, venv=venv) as ts:
            secs = ts.wait_ready(models=["demo"])
            check("ready", True, "/ping 200 and all workers READY after %.1fs" % secs)
            x = [1, 2, 3, 4]
            code, body = ts.predict("demo", x)
            scale = len(versions)
            check("default version is newest", code == 200 and body.get("version") == newest
                  and body.get("output") == [31.0 * scale, -2.0 * scale], "%s %s" % (code, body))
            for i, v in enumerate(versions, 1):
                code, body = ts.predict("demo", x, version=v)
                check("version %s" % v, code == 200 and body.get("output") == [31.0 * i, -2.0 * i],
                      "%s %s" % (code, body))
            code, text = ts.request("management", "/models/demo/all")
            listed = sorted(m.get("modelVersion") for m in json.loads(text)) if code == 200 else []
            check("management lists versions", listed == sorted(versions), "%s %s" % (code, listed))
            code, text = ts.request("management", "/models?url=demo.v1.mar", "POST")
            check("register API disabled", code == 405, str(code))
            code, text = ts.request("metrics", "/metrics")
            check("prometheus metrics", code == 200 and "ts_inference_requests_total" in text, str(code))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work dir kept:", work)
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(_smoke())
