/**
 * End to end: the real Pulumi engine, Kubernetes provider and Command
 * provider against a real kube-apiserver (a local control plane with kwok
 * nodes, or E2E_KUBECONFIG), with the real torch-model-archiver writing into a
 * real model-store directory. One stateful scenario, in order.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { Cluster, startCluster, testEnv, toolPath, venv } from "./support/environment";
import { Kube, RolloutRecorder } from "./support/kube";
import { HANDLER, listDir, makeModel, mtimes, readManifest, treeSha256 } from "./support/models";
import { PulumiProject } from "./support/project";

const REPLICAS = 2;
const MAX_SURGE = 1;
const MAX_UNAVAILABLE = 0;
const RELATIVE_HANDLER = "model/handler.py";

describe("end to end on a real API server", () => {
    let cluster: Cluster;
    let project: PulumiProject;
    let kube: Kube;
    let env: NodeJS.ProcessEnv;
    let pythonEnv: string;
    const work = tempDir("e2e-work-");
    const storeA = path.join(work, "store-a");
    const storeB = path.join(work, "store-b");
    // Each stack's part of its store: <namespace>/<appName>.
    const partA = path.join(storeA, "e2e-a", "torchserve");
    const partB = path.join(storeB, "e2e-b", "torchserve");
    let firstV1Sha = "";
    const models: { serializedFile: string; labels: string }[] = [];
    /** sha256 of the demo.v1 directory as first published (a rebuild would differ: the manifest's createdOn). */

    /** Stack config for namespace `ns` deploying `version` from model `index`. */
    function stackConfig(ns: string, store: string, version: string, index: number): Record<string, unknown> {
        return {
            namespace: ns,
            createNamespace: true,
            modelName: "demo",
            modelVersion: version,
            serializedFile: models[index].serializedFile,
            // Relative to the project directory, as users write paths (the engine runs the program in bin/).
            handler: RELATIVE_HANDLER,
            extraFiles: [models[index].labels],
            archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            modelStoreProtect: false,
            // Three versions loaded side by side, so rotation and per-version endpoints show.
            servedVersions: 3,
            replicas: REPLICAS,
            maxSurge: String(MAX_SURGE),
            maxUnavailable: String(MAX_UNAVAILABLE),
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            rolloutTimeoutMinutes: 3,
        };
    }

    async function upOk(stack: string): Promise<string> {
        const result = await project.up(stack);
        assert.equal(result.code, 0, `pulumi up failed:\n${result.stdout}\n${result.stderr}`);
        return result.stdout;
    }

    /** A config error reaches the user as its message alone: no stack trace, no dump of the error object. */
    function assertOnlyTheMessage(output: string): void {
        assert.match(output, /torchserve-stack configuration has \d+ problems?; nothing was deployed or deleted:/);
        assert.match(output, /^\s+Fix: /m);
        assert.doesNotMatch(output, /^\s+at /m, `a stack trace in:\n${output}`);
        assert.doesNotMatch(output, /unhandled exception/i, `reported as an unhandled exception:\n${output}`);
        assert.doesNotMatch(output, /problems: \[/, `the error object dumped:\n${output}`);
    }

    async function deployment(ns: string): Promise<any> {
        return kube.json(["get", "deployment", "torchserve", "-n", ns]);
    }

    before(async () => {
        const path0 = toolPath();
        pythonEnv = venv();
        cluster = startCluster(`e2e-${process.pid}`, { ...process.env, PATH: path0 });
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        project = new PulumiProject(env);
        fs.mkdirSync(path.join(project.dir, path.dirname(RELATIVE_HANDLER)));
        fs.copyFileSync(HANDLER, path.join(project.dir, RELATIVE_HANDLER));
        for (let i = 0; i < 4; i++) {
            models.push(await makeModel(pythonEnv, path.join(work, `model-${i + 1}`), i + 1));
        }
        fs.mkdirSync(storeA);
        fs.mkdirSync(storeB);
        await project.initStack("a", stackConfig("e2e-a", storeA, "v1", 0));
    });

    after(async () => {
        if (project) {
            await project.destroy("a");
            await project.destroy("b");
        }
        cluster?.stop();
    });

    it("pulumi up creates a bound claim, the ConfigMap, an Available Deployment and the Services, and archives v1", async () => {
        await upOk("a");
        const claim = await kube.json(["get", "pvc", "torchserve-model-store", "-n", "e2e-a"]);
        assert.equal(claim.status.phase, "Bound");
        assert.equal(
            claim.spec.volumeName,
            "e2e-a.torchserve-model-store",
            "a new stack's volume: <namespace>.<appName>",
        );
        const d = await deployment("e2e-a");
        assert.equal(d.status.availableReplicas, REPLICAS);
        assert.equal(d.status.updatedReplicas, REPLICAS);
        assert.equal(d.spec.template.metadata.labels["app.kubernetes.io/version"], "v1");
        const configMapName = d.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        const configMap = await kube.json(["get", "configmap", configMapName, "-n", "e2e-a"]);
        assert.equal(configMap.immutable, true);
        assert.match(configMap.data["config.properties"], /^load_models=demo\.v1$/m);
        const service = await kube.json(["get", "service", "torchserve", "-n", "e2e-a"]);
        assert.deepEqual(
            service.spec.ports.map((p: any) => p.name),
            ["preds"],
        );
        assert.ok(await kube.exists("service", "torchserve-internal", "e2e-a"));
        assert.deepEqual(listDir(partA), ["demo.v1"]);
        firstV1Sha = treeSha256(path.join(partA, "demo.v1"));
        const manifest = await readManifest(pythonEnv, path.join(partA, "demo.v1"));
        assert.equal(manifest.modelName, "demo", "the stable name, not a versioned one");
        assert.equal(manifest.modelVersion, "v1");
    });

    it("shows no changes in a preview right after, and a second up changes nothing", async () => {
        const preview = await project.preview("a", ["--expect-no-changes"]);
        assert.equal(preview.code, 0, `${preview.stdout}\n${preview.stderr}`);
        const second = await project.up("a", ["--expect-no-changes"]);
        assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
        assert.deepEqual(listDir(partA), ["demo.v1"]);
    });

    it("rolls a version bump out within maxSurge/maxUnavailable, after a PR preview that shows it", async () => {
        await project.setConfig("a", stackConfig("e2e-a", storeA, "v2", 1));
        const preview = await project.preview("a");
        assert.equal(preview.code, 0, preview.stderr);
        assert.match(preview.stdout, /app\.kubernetes\.io\/version\s*:\s*"v1" => "v2"/);
        assert.deepEqual(listDir(partA), ["demo.v1"], "a preview archives nothing");

        const recorder = new RolloutRecorder(env, "e2e-a", "torchserve");
        await recorder.start();
        try {
            await upOk("a");
        } finally {
            await recorder.stop();
        }
        console.log(
            `ReplicaSets during the v1 -> v2 rollout (revision:version desired/current/available):\n  ${recorder.describe().join("\n  ")}`,
        );
        for (const sample of recorder.samples) {
            // The controller bounds the ReplicaSets' desired replicas; their status.replicas are updated
            // independently, so their sum can show a transient extra pod.
            const pods = sample.reduce((n, rs) => n + rs.desired, 0);
            const available = sample.reduce((n, rs) => n + rs.available, 0);
            assert.ok(pods <= REPLICAS + MAX_SURGE, `at most ${REPLICAS + MAX_SURGE} pods: ${JSON.stringify(sample)}`);
            assert.ok(
                available >= REPLICAS - MAX_UNAVAILABLE,
                `at least ${REPLICAS - MAX_UNAVAILABLE} available: ${JSON.stringify(sample)}`,
            );
        }
        const final = recorder.samples[recorder.samples.length - 1];
        const byVersion = Object.fromEntries(final.map((rs) => [rs.version, rs]));
        assert.equal(byVersion.v2.available, REPLICAS, "the new ReplicaSet is fully available");
        assert.equal(byVersion.v1.desired, 0, "the old ReplicaSet is scaled to 0");
        assert.ok(
            recorder.samples.some((s) => s.filter((rs) => rs.available > 0).length === 2),
            "old and new pods served side by side (a rolling update, not a recreate)",
        );
        const newDesired = [
            ...new Set(recorder.samples.flatMap((s) => s.filter((rs) => rs.version === "v2").map((rs) => rs.desired))),
        ];
        assert.deepEqual(
            newDesired,
            Array.from({ length: REPLICAS / MAX_SURGE }, (_, i) => (i + 1) * MAX_SURGE),
            "the new ReplicaSet grew maxSurge pods at a time",
        );
        assert.deepEqual(listDir(partA), ["demo.v1", "demo.v2"]);
        assert.equal((await readManifest(pythonEnv, path.join(partA, "demo.v2"))).modelVersion, "v2");
    });

    it("keeps the newest 3 archives after two more bumps and moves the oldest to backup/", async () => {
        for (const [version, index] of [
            ["v3", 2],
            ["v4", 3],
        ] as const) {
            await project.setConfig("a", stackConfig("e2e-a", storeA, version, index));
            await upOk("a");
        }
        assert.deepEqual(listDir(partA), ["backup", "demo.v2", "demo.v3", "demo.v4"]);
        assert.deepEqual(listDir(path.join(partA, "backup")), ["demo.v1"]);
        const d = await deployment("e2e-a");
        const configMapName = d.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        const configMap = await kube.json(["get", "configmap", configMapName, "-n", "e2e-a"]);
        assert.match(configMap.data["config.properties"], /^load_models=demo\.v4,demo\.v3,demo\.v2$/m);
    });

    it("rolls the pods through a new ConfigMap on a config-only change and deletes the old ConfigMap", async () => {
        const before = await deployment("e2e-a");
        const oldConfigMap = before.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        const oldRevision = before.metadata.annotations["deployment.kubernetes.io/revision"];
        await project.setConfig("a", { ...stackConfig("e2e-a", storeA, "v4", 3), jobQueueSize: 50 });
        const archivesBefore = mtimes(partA);
        const output = await upOk("a");
        // The engine lists every resource it operates on; an archive step that ran would be among them.
        assert.doesNotMatch(output, /torchserve-archive|torchserve-rotate/, "no archive or rotate step ran");
        assert.deepEqual(mtimes(partA), archivesBefore, "no archive was written or moved");
        const after = await deployment("e2e-a");
        const newConfigMap = after.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        assert.notEqual(newConfigMap, oldConfigMap);
        assert.notEqual(
            after.metadata.annotations["deployment.kubernetes.io/revision"],
            oldRevision,
            "a new ReplicaSet revision",
        );
        assert.equal(after.status.updatedReplicas, REPLICAS);
        assert.equal(after.status.availableReplicas, REPLICAS);
        assert.match(
            (await kube.json(["get", "configmap", newConfigMap, "-n", "e2e-a"])).data["config.properties"],
            /^job_queue_size=50$/m,
        );
        assert.equal(
            await kube.exists("configmap", oldConfigMap, "e2e-a"),
            false,
            "the old ConfigMap is deleted after the rollout",
        );
        assert.deepEqual(listDir(partA), ["backup", "demo.v2", "demo.v3", "demo.v4"], "no archive step ran");
    });

    it("fails a deploy whose archive step fails, leaving the running Deployment on the previous version", async () => {
        const revisionBefore = (await deployment("e2e-a")).metadata.annotations["deployment.kubernetes.io/revision"];
        const current = { ...stackConfig("e2e-a", storeA, "v4", 3), jobQueueSize: 50 };

        // A missing handler is caught by the program before anything runs.
        await project.setConfig("a", {
            ...current,
            modelVersion: "v5",
            handler: path.join(work, "missing_handler.py"),
        });
        const missing = await project.up("a");
        assert.notEqual(missing.code, 0);
        assert.match(
            missing.stdout + missing.stderr,
            /handler = ".*missing_handler\.py": the handler file does not exist/,
        );
        assertOnlyTheMessage(missing.stdout + missing.stderr);

        // The real archiver failing while the step runs (here: an archiver release that rejects an option).
        const failingArchiver = path.join(work, "torch-model-archiver-incompatible");
        fs.writeFileSync(
            failingArchiver,
            `#!/bin/sh\nexec ${path.join(pythonEnv, "bin", "torch-model-archiver")} --incompatible-option "$@"\n`,
            { mode: 0o755 },
        );
        await project.setConfig("a", { ...current, modelVersion: "v5", archiverCommand: failingArchiver });
        const failed = await project.up("a");
        assert.notEqual(failed.code, 0);
        assert.match(failed.stdout + failed.stderr, /unrecognized arguments: --incompatible-option/);
        assert.match(
            failed.stdout + failed.stderr,
            /failed with exit code 2; the store and the running Deployment are unchanged/,
        );

        const d = await deployment("e2e-a");
        assert.equal(d.spec.template.metadata.labels["app.kubernetes.io/version"], "v4");
        assert.equal(d.metadata.annotations["deployment.kubernetes.io/revision"], revisionBefore);
        assert.equal(d.status.availableReplicas, REPLICAS);
        assert.deepEqual(
            listDir(partA),
            ["backup", "demo.v2", "demo.v3", "demo.v4"],
            "no partial archive, no rotation",
        );
        await project.setConfig("a", current);
        const recovered = await project.preview("a", ["--expect-no-changes"]);
        assert.equal(
            recovered.code,
            0,
            `back on the deployed config, nothing is pending:\n${recovered.stdout}${recovered.stderr}`,
        );
    });

    it("reports an unknown config key at preview with its message only, naming the key it meant", async () => {
        const current = { ...stackConfig("e2e-a", storeA, "v4", 3), jobQueueSize: 50 };
        await project.setConfig("a", { ...current, modelVerson: "v5" });
        const preview = await project.preview("a");
        await project.setConfig("a", { ...current, modelVerson: undefined });
        assert.notEqual(preview.code, 0);
        const output = preview.stdout + preview.stderr;
        assert.match(
            output,
            /modelVerson = "v5": is not a torchserve-stack config key \(did you mean modelVersion\?\)/,
        );
        assertOnlyTheMessage(output);
        console.log(`pulumi preview with an unknown config key:\n${output.trim()}`);
    });

    it("refuses v1 for other files, then rolls back to v1 as archived, from backup/, without losing any archive", async () => {
        await project.setConfig("a", { ...stackConfig("e2e-a", storeA, "v1", 3), jobQueueSize: 50 });
        const reused = await project.preview("a");
        assert.notEqual(reused.code, 0, "v1 names model-1's bytes, not model-4's");
        assert.match(reused.stdout + reused.stderr, /modelVersion = "v1": already names other model files/);
        assertOnlyTheMessage(reused.stdout + reused.stderr);

        // A rollback brings no files: the version alone names the archive.
        const { serializedFile, handler, extraFiles, ...withoutFiles } = stackConfig("e2e-a", storeA, "v1", 3);
        void [serializedFile, handler, extraFiles];
        await project.replaceConfig("a", { ...withoutFiles, jobQueueSize: 50 });
        await upOk("a");
        const d = await deployment("e2e-a");
        assert.equal(d.spec.template.metadata.labels["app.kubernetes.io/version"], "v1");
        assert.equal(d.status.availableReplicas, REPLICAS);
        const kept = listDir(partA).filter((f) => f.startsWith("demo."));
        const backedUp = listDir(path.join(partA, "backup"));
        assert.deepEqual(kept, ["demo.v1", "demo.v3", "demo.v4"]);
        assert.deepEqual(backedUp, ["demo.v2"]);
        assert.equal(treeSha256(path.join(partA, "demo.v1")), firstV1Sha, "the very bytes first published as v1");
    });

    it("runs a second stack in its own namespace, and destroying it leaves the first intact", async () => {
        await project.initStack("b", { ...stackConfig("e2e-b", storeB, "b1", 0), replicas: 1 });
        await upOk("b");
        assert.equal((await deployment("e2e-b")).status.availableReplicas, 1);
        const aBefore = await deployment("e2e-a");

        const destroyed = await project.destroy("b");
        assert.equal(destroyed.code, 0, destroyed.stderr);
        assert.equal(await kube.exists("deployment", "torchserve", "e2e-b"), false);
        assert.equal(await kube.exists("service", "torchserve", "e2e-b"), false);
        assert.ok(
            await kube.exists("pvc", "torchserve-model-store", "e2e-b"),
            "the model store claim is retained on destroy",
        );
        assert.deepEqual(listDir(partB), ["demo.b1"], "the store's archives are kept");

        const aAfter = await deployment("e2e-a");
        assert.equal(aAfter.metadata.uid, aBefore.metadata.uid);
        assert.equal(aAfter.status.availableReplicas, REPLICAS);
        const preview = await project.preview("a", ["--expect-no-changes"]);
        assert.equal(preview.code, 0, `${preview.stdout}\n${preview.stderr}`);
    });
});
