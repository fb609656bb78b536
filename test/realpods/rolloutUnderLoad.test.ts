/**
 * Real pods: the stack on a local cluster whose node really runs containers
 * (kubelet + containerd + runc, the locally built TorchServe image, exec
 * probes run by the kubelet, kube-proxy routing Service traffic), deployed by
 * the pipeline's deploy command. A version bump under constant client load
 * through the Service: no request may fail, every answer comes from v1 or v2,
 * v2 answers only once a v2 pod is Ready, and only v2 once the rollout ended.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { Cluster, startCluster, testEnv, toolPath, venv } from "../e2e/support/environment";
import { Kube } from "../e2e/support/kube";
import { HANDLER, makeModel } from "../e2e/support/models";
import { PulumiProject } from "../e2e/support/project";
import { run } from "../e2e/support/run";
import { ConstantLoad, LoadSample } from "./support/load";

const STACK = "realpods";
const NAMESPACE = "realpods";
const REPLICAS = 2;
const RATE = 20;
const BODY = JSON.stringify({ data: [1, 2, 3, 4] });

describe("real pods: a version bump under constant load through the Service", () => {
    let cluster: Cluster;
    let env: NodeJS.ProcessEnv;
    let kube: Kube;
    let project: PulumiProject;
    let pythonEnv: string;
    const work = tempDir("realpods-");
    const store = path.join(work, "store");
    const models: { serializedFile: string; labels: string }[] = [];

    /** One pipeline deploy of model `index` as `version`, through the deploy command; returns its summary. */
    async function deploy(version: string, index: number): Promise<any> {
        const result = await run(
            process.execPath,
            [
                path.join(project.dir, "bin", "deploy", "main.js"),
                "--stack",
                STACK,
                "--model-version",
                version,
                "--serialized-file",
                models[index].serializedFile,
                "--handler",
                HANDLER,
                "--extra-file",
                models[index].labels,
                "--archiver-command",
                path.join(pythonEnv, "bin", "torch-model-archiver"),
            ],
            { cwd: work, env, timeoutMs: 10 * 60_000 },
        );
        const summary = JSON.parse(result.stdout.trim().split("\n").pop()!);
        assert.equal(result.code, 0, `deploy of ${version} failed:\n${result.stderr.slice(-4000)}`);
        return summary;
    }

    async function serviceUrl(): Promise<string> {
        const service = await kube.json(["get", "service", "torchserve", "-n", NAMESPACE]);
        return `http://${service.spec.clusterIP}:${service.spec.ports[0].port}/predictions/demo`;
    }

    before(async () => {
        pythonEnv = venv();
        cluster = startCluster(`realpods-${process.pid}`, { ...process.env, PATH: toolPath() }, { realNode: true });
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        project = new PulumiProject(env);
        fs.mkdirSync(store);
        for (let i = 0; i < 2; i++) {
            models.push(await makeModel(pythonEnv, path.join(work, `model-${i + 1}`), i + 1));
        }
        // What a committed stack file holds: infrastructure only; the model comes with each deploy.
        await project.initStack(STACK, {
            namespace: NAMESPACE,
            createNamespace: true,
            modelName: "demo",
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            modelStoreProtect: false,
            replicas: REPLICAS,
            maxSurge: "1",
            maxUnavailable: "0",
            cpuRequest: "250m",
            memoryRequest: "512Mi",
            rolloutTimeoutMinutes: 5,
        });
    });

    after(async () => {
        if (project) {
            await project.destroy(STACK);
        }
        cluster?.stop();
    });

    it("deploys v1 on the real node and answers through the Service's cluster IP", async () => {
        const summary = await deploy("v1", 0);
        assert.equal(summary.modelVersion, "v1");
        const pods = await kube.json(["get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/instance=torchserve"]);
        assert.equal(pods.items.length, REPLICAS);
        for (const pod of pods.items) {
            assert.match(pod.spec.nodeName, /-node$/, "scheduled on the real node");
            const ready = pod.status.conditions.find((c: any) => c.type === "Ready");
            assert.equal(ready.status, "True");
        }
        const response = await fetch(await serviceUrl(), {
            method: "POST",
            body: BODY,
            headers: { "content-type": "application/json" },
        });
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as { version: string }).version, "v1");
    });

    it(`rolls v2 out under ${RATE} requests/s: no failed request, v2 only from Ready pods, only v2 afterwards`, async () => {
        const load = new ConstantLoad(await serviceUrl(), RATE, BODY);
        const loadStartedAt = Date.now();
        load.start();
        await new Promise((r) => setTimeout(r, 3000));
        const summary = await deploy("v2", 1);
        const rolloutEnd = load.now();
        await new Promise((r) => setTimeout(r, 5000));
        const samples = await load.stop();

        const pods = await kube.json(["get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/version=v2"]);
        const readyAt = pods.items.map((pod: any) => {
            const ready = pod.status.conditions.find((c: any) => c.type === "Ready");
            const created = Date.parse(pod.metadata.creationTimestamp);
            const started = Date.parse(pod.status.startTime);
            const readyTime = Date.parse(ready.lastTransitionTime);
            return {
                name: pod.metadata.name,
                createdToReady: (readyTime - created) / 1000,
                startedToReady: (readyTime - started) / 1000,
                readyTime,
            };
        });
        const firstV2Ready = Math.min(...readyAt.map((p: any) => p.readyTime));
        const failed = samples.filter((s: LoadSample) => s.status !== 200);
        const versions = new Set(samples.map((s: LoadSample) => s.version));
        const firstV2Answer = samples.find((s: LoadSample) => s.version === "v2");
        const afterRollout = samples.filter((s: LoadSample) => s.sentAt > rolloutEnd + 2);
        const duration = samples[samples.length - 1].sentAt;
        console.log(
            [
                `v1 -> v2 under load: ${samples.length} requests in ${duration.toFixed(1)} s (${(samples.length / duration).toFixed(1)}/s), ${failed.length} failed`,
                `answers: v1 ${samples.filter((s) => s.version === "v1").length}, v2 ${samples.filter((s) => s.version === "v2").length}`,
                `rollout (deploy command's rolloutSeconds): ${summary.rolloutSeconds} s; deploy run ${summary.durationSeconds} s`,
                ...readyAt.map(
                    (p: any) =>
                        `pod ${p.name}: created -> Ready ${p.createdToReady} s, started -> Ready ${p.startedToReady} s`,
                ),
            ].join("\n"),
        );
        assert.deepEqual(failed, [], "no failed request");
        assert.ok(
            samples.length >= RATE * duration * 0.8,
            `the load held ${RATE}/s: ${samples.length} in ${duration} s`,
        );
        assert.deepEqual([...versions].sort(), ["v1", "v2"], "every answer from v1 or v2, and both answered");
        // Ready times have one-second resolution: allow that much.
        assert.ok(
            loadStartedAt + firstV2Answer!.doneAt * 1000 >= firstV2Ready - 1000,
            "no v2 answer before a v2 pod was Ready",
        );
        assert.ok(afterRollout.length > RATE * 2, "requests after the rollout ended");
        assert.deepEqual([...new Set(afterRollout.map((s) => s.version))], ["v2"], "only v2 once the rollout ended");
        assert.equal(summary.modelVersion, "v2");
        assert.equal(summary.previousModelVersion, "v1");
        assert.ok(summary.rolloutSeconds > 0, "the rollout was timed");
    });
});
