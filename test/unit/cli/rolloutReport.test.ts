/**
 * The report of a failed rollout: its command line read back, its text, and
 * the pods it reads from an API server (a local HTTP server answering as
 * kube-apiserver does, with the kubeconfig's bearer token checked), and the
 * kubeconfig credentials it understands.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { RolloutReportSpec, parseRolloutReportArgs, rolloutReportCommand } from "../../../components/cli";
import { loadKubeAccess } from "../../../components/cli/kubeApi";
import { formatRolloutReport, gatherPods, whyLines } from "../../../components/cli/rolloutReport";
import { tempDir } from "../../support/tempDir";

const spec: RolloutReportSpec = {
    namespace: "ml-prod",
    app: "torchserve",
    model: "demo",
    version: "v-bad",
    previous: "v1",
    stack: "prod",
    replicaSet: "torchserve-7c9f",
    startupSeconds: 30,
    marginSeconds: 60,
};

const pod = (name: string, version: string, ready: boolean, extra: any = {}) => ({
    metadata: { name, labels: { "app.kubernetes.io/instance": "torchserve", "app.kubernetes.io/version": version } },
    spec: { nodeName: "node-1" },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }], ...extra },
});

/** An API server with two v1 pods (ready) and one v-bad pod that restarted after its startup probe failed. */
function fakeApiServer(token: string): http.Server {
    return http.createServer((request, response) => {
        const url = new URL(request.url!, "http://x");
        const send = (status: number, body: unknown) => {
            response.writeHead(status, { "content-type": "application/json" });
            response.end(typeof body === "string" ? body : JSON.stringify(body));
        };
        if (request.headers.authorization !== `Bearer ${token}`) {
            return send(401, { message: "Unauthorized" });
        }
        if (url.pathname === "/api/v1/namespaces/ml-prod/pods") {
            assert.equal(url.searchParams.get("labelSelector"), "app.kubernetes.io/instance=torchserve");
            return send(200, {
                items: [
                    pod("torchserve-old-a", "v1", true),
                    pod("torchserve-old-b", "v1", true),
                    pod("torchserve-new-x", "v-bad", false, {
                        containerStatuses: [
                            {
                                name: "torchserve",
                                ready: false,
                                restartCount: 1,
                                state: { running: { startedAt: "2026-11-30T10:01:00Z" } },
                                lastState: {
                                    terminated: { reason: "Error", exitCode: 137, finishedAt: "2026-11-30T10:00:58Z" },
                                },
                            },
                        ],
                    }),
                ],
            });
        }
        if (url.pathname === "/api/v1/namespaces/ml-prod/events") {
            assert.equal(url.searchParams.get("fieldSelector"), "involvedObject.name=torchserve-new-x");
            return send(200, {
                items: [
                    {
                        type: "Normal",
                        reason: "Pulled",
                        message: "image present",
                        lastTimestamp: "2026-11-30T10:00:01Z",
                    },
                    {
                        type: "Warning",
                        reason: "Unhealthy",
                        count: 14,
                        message: "Startup probe failed: not ready: v-bad: workers UNLOADING\n",
                        lastTimestamp: "2026-11-30T10:00:57Z",
                    },
                ],
            });
        }
        if (url.pathname === "/api/v1/namespaces/ml-prod/pods/torchserve-new-x/log") {
            assert.equal(url.searchParams.get("previous"), "true", "the run that failed, not the new one");
            response.writeHead(200, { "content-type": "text/plain" });
            return response.end("loading\nRuntimeError: v-bad cannot load its weights\n");
        }
        send(404, { message: `no ${url.pathname}` });
    });
}

describe("rollout report", () => {
    const dir = tempDir("report-");
    let server: http.Server;
    let kubeconfig: string;

    before(async () => {
        server = fakeApiServer("t0ken");
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as { port: number }).port;
        fs.writeFileSync(path.join(dir, "token"), "t0ken\n");
        kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(
            kubeconfig,
            stringify({
                apiVersion: "v1",
                kind: "Config",
                "current-context": "local",
                clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${port}` } }],
                users: [{ name: "u", user: { tokenFile: "token" } }],
                contexts: [{ name: "local", context: { cluster: "c", user: "u" } }],
            }),
        );
    });

    after(() => server.close());

    /** Runs the report script as the rollout-report step does (`node bin/components/cli/rolloutReport.js …`). */
    function runReportScript(
        command: string,
        env: NodeJS.ProcessEnv,
    ): Promise<{ code: number | null; stdout: string; stderr: string }> {
        const words = JSON.parse(
            execFileSync("sh", ["-c", `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- ${command}`], {
                encoding: "utf8",
            }),
        ) as string[];
        return new Promise((resolve) => {
            // Asynchronous: the stand-in API server answers from this process.
            execFile(
                process.execPath,
                words,
                { env, cwd: path.resolve(__dirname, "..", "..", "..", "..") },
                (error, stdout, stderr) =>
                    resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
            );
        });
    }

    const script = () => rolloutReportCommand("bin/components/cli/rolloutReport.js", spec).slice("node ".length);

    it("as its step runs it: prints the report and exits non-zero, so the run fails before the rotation", async () => {
        const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig };
        const { code, stdout, stderr } = await runReportScript(script(), env);
        assert.equal(code, 1, stderr);
        assert.equal(stdout, "");
        const lines = stderr.trimEnd().split("\n");
        assert.ok(
            lines.every((line) => line.startsWith("[torchserve-stack rollout] ")),
            "every line carries the step's prefix (the deploy command strips it)",
        );
        const text = lines.map((line) => line.slice("[torchserve-stack rollout] ".length)).join("\n");
        assert.match(
            text,
            /^the rollout of demo v-bad failed: its new pods were not ready within progressDeadlineSeconds 90/,
        );
        assert.match(text, /^The previous version v1 is still serving: 2 ready pods\.$/m);
        assert.match(text, /^Pod torchserve-new-x \(v-bad, node node-1\): running since/m);
        assert.match(text, /^ {4}RuntimeError: v-bad cannot load its weights$/m);
        assert.match(text, /^What to do: roll back with npm run deploy -- --stack prod --model-version v1 /m);

        // The stack's own kubeconfig (kubernetes:kubeconfig), passed as TS_STACK_KUBECONFIG, wins over KUBECONFIG.
        const stackKubeconfig = fs.readFileSync(kubeconfig, "utf8").replace("tokenFile: token", "token: t0ken");
        const fromStack = await runReportScript(script(), {
            ...env,
            KUBECONFIG: path.join(dir, "missing"),
            TS_STACK_KUBECONFIG: stackKubeconfig,
        });
        assert.equal(fromStack.code, 1);
        assert.match(fromStack.stderr, /The previous version v1 is still serving: 2 ready pods\./);
    });

    it("as its step runs it: still fails the run, saying what to do, when the cluster cannot be read", async () => {
        const denied = fs.readFileSync(kubeconfig, "utf8").replace("tokenFile: token", "token: wrong");
        const env = { PATH: process.env.PATH, HOME: dir, TS_STACK_KUBECONFIG: denied };
        const { code, stderr } = await runReportScript(script(), env);
        assert.equal(code, 1, "a rollout that failed fails the run, whether or not its pods could be read");
        assert.match(stderr, /\[torchserve-stack rollout\] Why: the pods could not be read \(GET .*401/);
        assert.match(stderr, /\[torchserve-stack rollout\] The previous version v1 is still deployed/);

        const broken = await runReportScript("bin/components/cli/rolloutReport.js --app torchserve", env);
        assert.equal(broken.code, 1);
        assert.match(broken.stderr, /^\[torchserve-stack rollout\] error: missing --/m);
    });

    it("passes its spec on its command line, read back exactly", () => {
        const line = rolloutReportCommand("bin/components/cli/rolloutReport.js", { ...spec, context: "prod ctx" });
        const words = JSON.parse(
            execFileSync(
                "sh",
                ["-c", `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- ${line.slice(5)}`],
                {
                    encoding: "utf8",
                },
            ),
        );
        assert.deepEqual(parseRolloutReportArgs(words.slice(1)), { ...spec, context: "prod ctx" });
        const first = rolloutReportCommand("x.js", { ...spec, previous: "", replicaSet: "" });
        assert.deepEqual(parseRolloutReportArgs(first.split(" ").slice(2)), {
            ...spec,
            previous: "",
            replicaSet: "",
            context: undefined,
        });
    });

    it("reads the failed pod's state, warning events and last log lines with the kubeconfig's credentials", async () => {
        const access = loadKubeAccess({ env: { KUBECONFIG: kubeconfig } });
        assert.equal(access.token, "t0ken", "tokenFile relative to the kubeconfig");
        const pods = await gatherPods(access, spec);
        assert.deepEqual(
            pods.map((p) => [p.name, p.version, p.ready]),
            [
                ["torchserve-old-a", "v1", true],
                ["torchserve-old-b", "v1", true],
                ["torchserve-new-x", "v-bad", false],
            ],
        );
        const failed = pods[2];
        assert.equal(
            failed.container,
            "running since 2026-11-30T10:01:00Z, not ready; restarted 1 time; last run ended Error (exit 137) at 2026-11-30T10:00:58Z",
        );
        assert.deepEqual(failed.events, ["Unhealthy (x14): Startup probe failed: not ready: v-bad: workers UNLOADING"]);
        assert.deepEqual(failed.logTail, ["RuntimeError: v-bad cannot load its weights"], "the lines that tell why");

        const text = formatRolloutReport(spec, pods);
        assert.match(
            text,
            /^the rollout of demo v-bad failed: its new pods were not ready within progressDeadlineSeconds 90 \(startupTimeoutSeconds 30 \+ podStartMarginSeconds 60\); the Deployment controller gave up on ReplicaSet torchserve-7c9f\./,
        );
        assert.match(text, /^The previous version v1 is still serving: 2 ready pods\.$/m);
        assert.match(text, /^Pod torchserve-new-x \(v-bad, node node-1\): running since/m);
        assert.match(text, /^ {2}event Unhealthy \(x14\): Startup probe failed: not ready: v-bad: workers UNLOADING$/m);
        assert.match(text, /^ {4}RuntimeError: v-bad cannot load its weights$/m);
        assert.match(text, /roll back with npm run deploy -- --stack prod --model-version v1/);
        assert.match(text, /v-bad is not loaded again unless it is deployed again/);
    });

    it("still says what happened and what to do when the cluster cannot be read", async () => {
        const denied = loadKubeAccess({
            content: fs.readFileSync(kubeconfig, "utf8").replace("tokenFile: token", "token: wrong"),
        });
        const why = await gatherPods(denied, spec).then(
            () => "",
            (error: Error) => error.message,
        );
        assert.match(why, /401/);
        const text = formatRolloutReport(spec, undefined, why);
        assert.match(text, /The previous version v1 is still deployed/);
        assert.match(text, /Why: the pods could not be read \(GET .*401/);
        assert.match(
            text,
            /kubectl -n ml-prod logs -l app\.kubernetes\.io\/instance=torchserve,app\.kubernetes\.io\/version=v-bad/,
        );
        assert.match(
            formatRolloutReport({ ...spec, previous: "" }, []),
            /No version was deployed before: nothing serves/,
        );
    });

    it("takes credentials from client certificates and exec plugins too, in the context asked for", () => {
        const plugin = path.join(dir, "credential-plugin");
        fs.writeFileSync(
            plugin,
            '#!/bin/sh\necho "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"status\\":{\\"token\\":\\"from-$PLUGIN_ENV\\"}}"\n',
            { mode: 0o755 },
        );
        const content = stringify({
            "current-context": "a",
            clusters: [
                {
                    name: "c",
                    cluster: {
                        server: "https://k:6443",
                        "certificate-authority-data": Buffer.from("CA").toString("base64"),
                    },
                },
            ],
            users: [
                {
                    name: "cert",
                    user: {
                        "client-certificate-data": Buffer.from("CERT").toString("base64"),
                        "client-key-data": Buffer.from("KEY").toString("base64"),
                    },
                },
                { name: "exec", user: { exec: { command: plugin, env: [{ name: "PLUGIN_ENV", value: "plugin" }] } } },
            ],
            contexts: [
                { name: "a", context: { cluster: "c", user: "cert" } },
                { name: "b", context: { cluster: "c", user: "exec" } },
            ],
        });
        const cert = loadKubeAccess({ content });
        assert.deepEqual(
            [cert.server, String(cert.ca), String(cert.cert), String(cert.key)],
            ["https://k:6443", "CA", "CERT", "KEY"],
        );
        assert.equal(loadKubeAccess({ content, context: "b" }).token, "from-plugin");
        assert.throws(() => loadKubeAccess({ content, context: "c" }), /no entry named "c"/);
    });
});

describe("the lines of a failed container's log that tell why", () => {
    it("keeps the exceptions raised first, each once, then other error lines, in log order", () => {
        const retry = (n: number) => [
            `2026-11-25T22:38:1${n},502 [INFO ] W-9000-demo_v-bad-stdout MODEL_LOG - Traceback (most recent call last):`,
            `2026-11-25T22:38:1${n},503 [INFO ] W-9000-demo_v-bad-stdout MODEL_LOG -   File "bad_handler.py", line 6, in initialize`,
            `2026-11-25T22:38:1${n},504 [INFO ] W-9000-demo_v-bad-stdout MODEL_LOG - RuntimeError: v-bad: these weights do not fit`,
            `2026-11-25T22:38:1${n},508 [DEBUG] W-9000-demo_v-bad org.pytorch.serve.wlm.WorkerThread - State change WORKER_ERROR -> WORKER_STOPPED`,
            `2026-11-25T22:38:1${n},516 [INFO ] W-9000-demo_v-bad-stdout MODEL_LOG - RuntimeError: 500 - Unknown exception`,
            `2026-11-25T22:38:1${n},524 [INFO ] epollEventLoopGroup-3-1 ACCESS_LOG - /127.0.0.1:46478 "GET /models/demo/all HTTP/1.1" 200 1`,
        ];
        const lines = whyLines([...retry(1), ...retry(2), ...Array.from({ length: 40 }, (_, i) => `noise ${i}`)]);
        assert.deepEqual(
            lines.map((line) => line.replace(/^\S+ \[[A-Z ]+\] \S+ \S+ - /, "")),
            [
                "Traceback (most recent call last):",
                "RuntimeError: v-bad: these weights do not fit",
                "State change WORKER_ERROR -> WORKER_STOPPED",
                "RuntimeError: 500 - Unknown exception",
            ],
        );
        assert.deepEqual(whyLines(["a", "", "b"]), ["a", "b"], "nothing telling: the last lines");
    });
});
