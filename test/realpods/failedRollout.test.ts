/**
 * Real pods: a version that cannot load (its handler raises in `initialize`)
 * deployed by the pipeline's deploy command on the real node, under constant
 * client load through the Service. The deploy fails within the startup budget
 * plus the margin (the progress deadline), not the rollout timeout, with the
 * report (which pod, why, that the previous version still serves); no request
 * fails and every answer comes from the previous version; then a rollback and
 * a fix-forward both succeed with no manual step, and the bad version is
 * never loaded again. Along the way, what the hardening means on a real pod:
 * the management port refuses at the pod's IP, the root filesystem is
 * read-only, and no service account token is mounted.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { Cluster, startCluster, testEnv, toolPath, venv } from "../e2e/support/environment";
import { Kube } from "../e2e/support/kube";
import { HANDLER, listDir, makeModel } from "../e2e/support/models";
import { PulumiProject } from "../e2e/support/project";
import { run } from "../e2e/support/run";
import { ConstantLoad, LoadSample } from "./support/load";

const STACK = "failed-rollout";
const NAMESPACE = "failed-rollout";
const RATE = 5;
const BODY = JSON.stringify({ data: [1, 2, 3, 4] });
const STARTUP_SECONDS = 30;
const MARGIN_SECONDS = 30;
/** The Deployment's progressDeadlineSeconds, as the program derives it from the two. */
const DEADLINE_SECONDS = STARTUP_SECONDS + MARGIN_SECONDS;
/** Far above the deadline: the deadline, not this timeout, must end a failed rollout. */
const ROLLOUT_TIMEOUT_MINUTES = 10;
/**
 * From the deadline passing to the deploy command's exit: the provider sees the condition through its
 * watch, the report step reads the pods, events and logs, the engine fails the run, the command writes
 * its summary. Measured 10-20 s on a quiet machine; the bound allows a machine loaded by other suites.
 */
const REPORT_MARGIN_SECONDS = 90;
/** The controller marks the rollout failed when it requeues at the deadline; API times are whole seconds. */
const CONTROLLER_MARGIN_SECONDS = 15;

/** A handler whose model can never load: TorchServe retries its worker, the pod never becomes ready. */
const BAD_HANDLER = [
    "from handler import TinyHandler",
    "",
    "",
    "class BadWeights(TinyHandler):",
    "    def initialize(self, context):",
    '        raise RuntimeError("v-bad: these weights do not fit this handler")',
    "",
].join("\n");

describe("real pods: a version that cannot load fails its deploy fast, the old one serves, rollback and fix-forward work", () => {
    let cluster: Cluster;
    let env: NodeJS.ProcessEnv;
    let kube: Kube;
    let project: PulumiProject;
    let pythonEnv: string;
    let load: ConstantLoad | undefined;
    const work = tempDir("realpods-failed-");
    const store = path.join(work, "store");
    const badHandler = path.join(work, "bad_handler.py");
    const models: { serializedFile: string; labels: string }[] = [];

    /** One run of the deploy command: its exit code, JSON summary, stderr and duration. */
    async function deploy(
        args: string[],
    ): Promise<{ code: number; summary: any; stderr: string; seconds: number; endedAt: number }> {
        const started = Date.now();
        const result = await run(
            process.execPath,
            [
                path.join(project.dir, "bin", "deploy", "main.js"),
                "--stack",
                STACK,
                "--archiver-command",
                path.join(pythonEnv, "bin", "torch-model-archiver"),
                ...args,
            ],
            { cwd: work, env, timeoutMs: 15 * 60_000 },
        );
        return {
            code: result.code,
            summary: JSON.parse(result.stdout.trim().split("\n").pop()!),
            stderr: result.stderr,
            seconds: (Date.now() - started) / 1000,
            endedAt: Date.now(),
        };
    }

    const withModel = (index: number, handler = HANDLER, extra: string[] = []) => [
        "--serialized-file",
        models[index].serializedFile,
        "--handler",
        handler,
        "--extra-file",
        models[index].labels,
        ...extra.flatMap((file) => ["--extra-file", file]),
    ];

    async function pods(selector: string): Promise<any[]> {
        const list = await kube.json(["get", "pods", "-n", NAMESPACE, "-l", selector]);
        return list.items.filter((p: any) => !p.metadata.deletionTimestamp);
    }

    async function serviceUrl(): Promise<string> {
        const service = await kube.json(["get", "service", "torchserve", "-n", NAMESPACE]);
        return `http://${service.spec.clusterIP}:${service.spec.ports[0].port}/predictions/demo`;
    }

    async function configProperties(): Promise<string> {
        const d = await kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE]);
        const name = d.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        return (await kube.json(["get", "configmap", name, "-n", NAMESPACE])).data["config.properties"];
    }

    before(async () => {
        pythonEnv = venv();
        cluster = startCluster(
            `realpods-failed-${process.pid}`,
            { ...process.env, PATH: toolPath() },
            { realNode: true },
        );
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        project = new PulumiProject(env);
        fs.mkdirSync(store);
        fs.writeFileSync(badHandler, BAD_HANDLER);
        for (let i = 0; i < 2; i++) {
            models.push(await makeModel(pythonEnv, path.join(work, `model-${i + 1}`), i + 1));
        }
        await project.initStack(STACK, {
            namespace: NAMESPACE,
            createNamespace: true,
            modelName: "demo",
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            modelStoreProtect: false,
            replicas: 2,
            maxSurge: "1",
            maxUnavailable: "0",
            // The previous version stays loaded too: the one that failed must never be it.
            servedVersions: 2,
            cpuRequest: "250m",
            memoryRequest: "512Mi",
            startupTimeoutSeconds: STARTUP_SECONDS,
            podStartMarginSeconds: MARGIN_SECONDS,
            rolloutTimeoutMinutes: ROLLOUT_TIMEOUT_MINUTES,
        });
    });

    after(async () => {
        await load?.stop();
        if (project) {
            await project.destroy(STACK);
        }
        cluster?.stop();
    });

    it("deploys v1: Ready pods with a read-only root, no service account token, management closed at the pod IP", async () => {
        const v1 = await deploy(["--model-version", "v1", ...withModel(0)]);
        assert.equal(v1.code, 0, v1.stderr.slice(-4000));
        const running = await pods("app.kubernetes.io/version=v1");
        assert.equal(running.length, 2);
        const pod = running[0];
        const exec = (command: string) =>
            run("kubectl", ["exec", "-n", NAMESPACE, pod.metadata.name, "--", "sh", "-c", command], { env });
        const rootWrite = await exec("touch /home/model-server/probe");
        assert.notEqual(rootWrite.code, 0);
        assert.match(rootWrite.stderr, /Read-only file system/);
        const scratchWrite = await exec("touch /home/model-server/tmp/probe /tmp/probe && ls /home/model-server/work");
        assert.equal(scratchWrite.code, 0, scratchWrite.stderr);
        assert.match(scratchWrite.stdout, /logs/, "the server logs into its working directory");
        const token = await exec("ls /var/run/secrets/kubernetes.io/serviceaccount");
        assert.notEqual(token.code, 0, "no service account token in the pod");

        const ip = pod.status.podIP;
        const ping = await fetch(`http://${ip}:8080/ping`);
        assert.equal(ping.status, 200, "inference answers at the pod IP");
        const management = await fetch(`http://${ip}:8081/models`).then(
            (r) => r.status,
            (error: Error) => (error.cause as NodeJS.ErrnoException)?.code,
        );
        assert.equal(management, "ECONNREFUSED", "management refuses at the pod IP");
        console.log(
            `pod ${pod.metadata.name} (${ip}): /ping 200, :8081 ${management}, root write: ${rootWrite.stderr.trim()}`,
        );
    });

    it(`fails a v-bad deploy with exit 4 at its ${DEADLINE_SECONDS} s progress deadline, reporting why, while v1 keeps answering`, async () => {
        load = new ConstantLoad(await serviceUrl(), RATE, BODY);
        load.start();
        const bad = await deploy(["--model-version", "v-bad", ...withModel(1, badHandler, [HANDLER])]);
        const report = bad.summary.failure?.message ?? "";
        console.log(
            `v-bad deploy: exit ${bad.code} after ${bad.seconds.toFixed(1)} s (deadline ${DEADLINE_SECONDS} s)\n` +
                `failure reported:\n${report}`,
        );
        assert.equal(bad.code, 4, "exit code 4: the rollout failed");
        assert.equal(bad.summary.result, "failed");
        assert.match(
            report,
            /the rollout of demo v-bad failed: its new pods were not ready within progressDeadlineSeconds 60/,
        );
        assert.match(report, /The previous version v1 is still serving: 2 ready pods\./);
        assert.match(report, /Pod torchserve-[a-z0-9]+-[a-z0-9]+ \(v-bad, node realpods-failed-\d+-node\)/);
        assert.match(report, /v-bad: these weights do not fit this handler/, "why: the handler's own error");
        assert.match(report, /roll back with npm run deploy -- --stack failed-rollout --model-version v1/);

        const d = await kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE]);
        const progressing = d.status.conditions.find((c: any) => c.type === "Progressing");
        assert.equal(progressing.reason, "ProgressDeadlineExceeded");
        // Timed against the configured deadline, on the cluster's own clock: the controller gave up at the
        // deadline after the v-bad ReplicaSet's last progress, and the deploy ended soon after, far before
        // the rollout timeout.
        const replicaSets = await kube.json([
            "get",
            "replicasets",
            "-n",
            NAMESPACE,
            "-l",
            "app.kubernetes.io/version=v-bad",
        ]);
        assert.equal(replicaSets.items.length, 1);
        const failedAt = Date.parse(progressing.lastTransitionTime);
        const rolloutStarted = Date.parse(replicaSets.items[0].metadata.creationTimestamp);
        const untilDeadline = (failedAt - rolloutStarted) / 1000;
        const afterDeadline = (bad.endedAt - failedAt) / 1000;
        console.log(
            `v-bad ReplicaSet created -> ProgressDeadlineExceeded ${untilDeadline} s; then -> deploy exit ${afterDeadline} s`,
        );
        assert.ok(untilDeadline >= DEADLINE_SECONDS - 1, `not before the deadline (${untilDeadline} s)`);
        assert.ok(
            untilDeadline <= DEADLINE_SECONDS + CONTROLLER_MARGIN_SECONDS,
            `at the deadline (${untilDeadline} s)`,
        );
        assert.ok(afterDeadline <= REPORT_MARGIN_SECONDS, `the deploy ended ${afterDeadline} s after the deadline`);
        assert.ok(bad.seconds < ROLLOUT_TIMEOUT_MINUTES * 60, "the deadline, not the rollout timeout, ended it");
        assert.equal((await pods("app.kubernetes.io/version=v1")).length, 2, "the v1 pods are all still there");
        assert.equal((await project.outputs(STACK)).modelVersion, "v1", "nothing recorded");
    });

    it("rolls back to v1 with no manual step, still without a failed request", async () => {
        const back = await deploy(["--model-version", "v1"]);
        assert.equal(back.code, 0, back.stderr.slice(-4000));
        assert.equal(back.summary.modelVersion, "v1");
        assert.deepEqual(await pods("app.kubernetes.io/version=v-bad"), [], "the failed pods are gone");
        assert.equal((await pods("app.kubernetes.io/version=v1")).length, 2);
        assert.match(
            await configProperties(),
            /^load_models=demo\.v1$/m,
            "v-bad is not loaded (v1 is a directory, the default format)",
        );

        const samples = await load!.stop();
        load = undefined;
        const failed = samples.filter((s: LoadSample) => s.status !== 200);
        const versions = [...new Set(samples.map((s: LoadSample) => s.version))];
        console.log(
            `through the failed deploy and the rollback: ${samples.length} requests, ${failed.length} failed, versions ${versions}`,
        );
        assert.deepEqual(failed, [], "no failed request");
        assert.deepEqual(versions, ["v1"], "only v1 ever answered");
        assert.ok(samples.length > RATE * 60, `the load ran through both deploys (${samples.length} requests)`);
    });

    it("fixes forward with v2, and never loads v-bad again", async () => {
        const v2 = await deploy(["--model-version", "v2", ...withModel(1)]);
        assert.equal(v2.code, 0, v2.stderr.slice(-4000));
        assert.deepEqual(v2.summary.loadedVersions, ["v2", "v1"], "the previous successful version, not v-bad");
        const text = await configProperties();
        assert.match(text, /^load_models=demo\.v2,demo\.v1$/m);
        assert.doesNotMatch(text, /v-bad/);
        const url = await serviceUrl();
        const post = (suffix: string) =>
            fetch(`${url}${suffix}`, { method: "POST", body: BODY, headers: { "content-type": "application/json" } });
        assert.equal(((await (await post("")).json()) as { version: string }).version, "v2");
        assert.equal((await post("/v1")).status, 200);
        assert.equal((await post("/v-bad")).status, 404, "no pod serves v-bad");
        const history = (await project.outputs(STACK)).release as { history: { version: string }[] };
        assert.deepEqual(
            history.history.map((h) => h.version),
            ["v2", "v1"],
            "only successful deploys in the history",
        );
        const part = path.join(store, NAMESPACE, "torchserve");
        assert.deepEqual(
            listDir(part).filter((f) => f.startsWith("demo.")),
            ["demo.v1", "demo.v2"],
            "the store keeps the successful versions",
        );
        assert.deepEqual(listDir(path.join(part, "backup")), ["demo.v-bad"], "v-bad moved aside, never deleted");
    });
});
