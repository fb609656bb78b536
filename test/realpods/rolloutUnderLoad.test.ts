/**
 * Real pods: the stack on a local cluster whose node really runs containers
 * (kubelet + containerd + runc, the locally built TorchServe image, exec
 * probes run by the kubelet, kube-proxy routing Service traffic), deployed by
 * the pipeline's deploy command. A version bump under constant client load
 * through the Service, from two kinds of client at once (a new connection per
 * request, and a pool of 8 kept-alive connections), kept up until no v1 pod
 * exists: no request may fail, every answer comes from v1 or v2, v2 answers
 * only once a v2 pod is Ready, and only v2 once the rollout ended (new
 * connections) or the last v1 pod is gone (kept-alive ones).
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
import { ConstantLoad } from "./support/load";
import { PodTimeline } from "./support/podTimeline";

const STACK = "realpods";
const NAMESPACE = "realpods";
const REPLICAS = 2;
const RATE = 20;
/** The keep-alive client: like an ingress or a `requests.Session` pool, 8 persistent connections. */
const POOLED_RATE = 40;
const POOLED_CONNECTIONS = 8;
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

    it(`rolls v2 out under ${RATE} new-connection and ${POOLED_RATE} keep-alive requests/s: none fails`, async () => {
        const url = await serviceUrl();
        const timeline = new PodTimeline(env, NAMESPACE, "app.kubernetes.io/instance=torchserve");
        await timeline.start();
        const loads = {
            "new-connection": new ConstantLoad(url, RATE, BODY),
            "keep-alive": new ConstantLoad(url, POOLED_RATE, BODY, 10_000, {
                kind: "keep-alive",
                connections: POOLED_CONNECTIONS,
            }),
        };
        const deployStarted = Date.now() + 3000;
        Object.values(loads).forEach((load) => load.start());
        await new Promise((r) => setTimeout(r, 3000));
        const summary = await deploy("v2", 1);
        const rolloutEnd = Date.now();
        // Until no v1 pod exists: a terminating pod still serves the connections kept open to it.
        const v1Gone = await timeline.waitUntilGone("v1", 120_000);
        await new Promise((r) => setTimeout(r, 3000));
        const samples = {
            "new-connection": await loads["new-connection"].stop(),
            "keep-alive": await loads["keep-alive"].stop(),
        };
        const loadEnd = Date.now();
        await timeline.stop();
        assert.ok(v1Gone, "every v1 pod was gone within 120 s of the rollout's end");

        const v1Pods = [...timeline.pods.values()].filter((p) => p.version === "v1");
        const v2Pods = [...timeline.pods.values()].filter((p) => p.version === "v2");
        const lastV1Gone = Math.max(...v1Pods.map((p) => p.goneSeen!));
        const firstV2Ready = Math.min(...v2Pods.map((p) => p.readyTransition ?? Infinity));
        const at = (wall: number) => ((wall - deployStarted) / 1000).toFixed(2);
        console.log(
            [
                `rollout (deploy command's rolloutSeconds): ${summary.rolloutSeconds} s; deploy run ${summary.durationSeconds} s`,
                `times in s from the deploy's start; the deploy returned at ${at(rolloutEnd)}, the last v1 pod was gone at ${at(lastV1Gone)}`,
                ...[...timeline.pods.values()].map(
                    (p) =>
                        `pod ${p.name} (${p.version}, ${p.ip}): seen ${at(p.firstSeen)}` +
                        (p.readyTransition ? `, Ready (API, whole s) ${at(p.readyTransition)}` : "") +
                        (p.deletionRequested ? `, deleted (API, whole s) ${at(p.deletionRequested)}` : "") +
                        (p.deletingSeen ? `, seen terminating ${at(p.deletingSeen)}` : "") +
                        (p.goneSeen ? `, gone ${at(p.goneSeen)}` : ""),
                ),
                ...Object.entries(samples).flatMap(([kind, list]) => {
                    const failed = list.filter((s) => s.status !== 200);
                    return [
                        `${kind}: ${list.length} requests, ${failed.length} failed; answers v1 ${list.filter((s) => s.version === "v1").length}, v2 ${list.filter((s) => s.version === "v2").length}`,
                        ...failed.map(
                            (s) =>
                                `  failed: sent ${at(s.sentWall)}, ended ${at(s.doneWall)}` +
                                (s.connection === undefined
                                    ? ""
                                    : ` on connection ${s.connection} (reused ${s.reused})`) +
                                `: ${s.status} ${s.error}`,
                        ),
                    ];
                }),
            ].join("\n"),
        );

        // New connections lose nothing. A kept-alive connection stays on its pod after the pod left the
        // Service, and TorchServe cannot close it gracefully: a request sent on it while that pod's server
        // stops fails (README "Failure modes"). What holds: only then, at most once per pooled connection
        // per stopping pod, each a reset.
        assert.deepEqual(
            samples["new-connection"].filter((s) => s.status !== 200),
            [],
            "new-connection: no failed request",
        );
        // Zero is the goal (issue 19, point 10), not yet met: TorchServe resets kept-alive connections when
        // it stops, and nothing in the pod drains them yet (README Failure modes). Printed, and bounded here.
        const keepAliveFailures = samples["keep-alive"].filter((s) => s.status !== 200);
        console.log(`keep-alive: ${keepAliveFailures.length} of ${samples["keep-alive"].length} requests failed`);
        assert.ok(
            keepAliveFailures.length <= POOLED_CONNECTIONS * v1Pods.length,
            "keep-alive: at most one per connection and stop",
        );
        for (const failure of keepAliveFailures) {
            assert.match(failure.error ?? "", /ECONNRESET|socket hang up/, "keep-alive: a reset");
            assert.ok(
                v1Pods.some((p) => failure.doneWall >= p.deletionRequested! && failure.doneWall <= p.goneSeen!),
                `keep-alive: failed only while a v1 pod was stopping (ended ${at(failure.doneWall)})`,
            );
        }
        for (const [kind, list] of Object.entries(samples)) {
            const rate = kind === "keep-alive" ? POOLED_RATE : RATE;
            // The load ran through the whole rollout without a pause: from before the deploy until no v1 pod was left.
            assert.ok(list[0].sentWall <= deployStarted, `${kind}: started before the deploy`);
            assert.ok(list[list.length - 1].sentWall >= lastV1Gone, `${kind}: still sending when the last v1 pod went`);
            const longestGap = Math.max(...list.slice(1).map((s, i) => s.sentWall - list[i].sentWall));
            assert.ok(longestGap < 1000, `${kind}: a request at least every second (longest gap ${longestGap} ms)`);
            assert.ok(list.length >= rate * ((loadEnd - deployStarted) / 1000), `${kind}: ${rate}/s held`);
            assert.deepEqual(
                [...new Set(list.map((s) => s.version))].sort(),
                ["v1", "v2"],
                `${kind}: every answer from v1 or v2, and both answered`,
            );
            // Ready times are whole seconds, truncated: the real moment is no earlier, so no margin is needed.
            const firstV2Answer = list.find((s) => s.version === "v2")!;
            assert.ok(firstV2Answer.doneWall >= firstV2Ready, `${kind}: no v2 answer before a v2 pod was Ready`);
        }
        // New connections go only to ready endpoints: only v2 once the rollout ended (kube-proxy's update: 2 s).
        const afterRollout = samples["new-connection"].filter((s) => s.sentWall > rolloutEnd + 2000);
        assert.ok(afterRollout.length > RATE * 2, "new-connection requests after the rollout ended");
        assert.deepEqual([...new Set(afterRollout.map((s) => s.version))], ["v2"], "only v2 once the rollout ended");
        // Kept-alive connections stay on their pod until it closes them: only v2 once no v1 pod exists.
        const afterV1 = samples["keep-alive"].filter((s) => s.sentWall > lastV1Gone);
        assert.ok(afterV1.length > 0, "keep-alive requests after the last v1 pod went");
        assert.deepEqual(
            [...new Set(afterV1.map((s) => s.version))],
            ["v2"],
            "keep-alive: only v2 once no v1 pod exists",
        );
        assert.equal(summary.modelVersion, "v2");
        assert.equal(summary.previousModelVersion, "v1");
        assert.ok(summary.rolloutSeconds > 0, "the rollout was timed");
    });
});
