/**
 * End to end: what the hardening puts on a real API server, through the real
 * Pulumi CLI and providers (kwok nodes: pods become Ready, nothing runs).
 * The NetworkPolicy, PodDisruptionBudget and autoscaler are accepted as built;
 * the pod spec keeps its read-only root, emptyDirs and ephemeral storage; a
 * value set with `pulumi config set --secret` reaches the cluster in a Secret
 * and is nowhere in the state in plain text; the autoscaler keeps the replica
 * count across an `up`; and a rollout whose new pods make no progress fails
 * within its progress deadline (not the rollout timeout), with the report,
 * while the old pods keep serving, then rolls back with no manual step. The
 * failing version's pods cannot be scheduled: kwok runs no probes, so a pod
 * that starts and never gets ready is the real-pod test's to prove
 * (test/realpods/failedRollout.test.ts); here it is the objects and the flow.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { Cluster, startCluster, testEnv, toolPath, venv } from "./support/environment";
import { Kube } from "./support/kube";
import { HANDLER, makeModel } from "./support/models";
import { PulumiProject } from "./support/project";
import { runOk } from "./support/run";

const STACK = "hardening";
const NAMESPACE = "e2e-hardening";
const SECRET = "s3cr3t-keystore-passw0rd";

describe("hardening on a real API server", () => {
    let cluster: Cluster;
    let project: PulumiProject;
    let kube: Kube;
    let env: NodeJS.ProcessEnv;
    const work = tempDir("e2e-hardening-");
    const store = path.join(work, "store");
    let model: { serializedFile: string; labels: string };
    let infra: Record<string, unknown>;

    async function upOk(): Promise<string> {
        const result = await project.up(STACK);
        assert.equal(result.code, 0, `pulumi up failed:\n${result.stdout}\n${result.stderr}`);
        return result.stdout + result.stderr;
    }

    const deployment = () => kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE]);

    before(async () => {
        const pythonEnv = venv();
        cluster = startCluster(`e2e-hardening-${process.pid}`, { ...process.env, PATH: toolPath() });
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        project = new PulumiProject(env);
        fs.mkdirSync(store);
        model = await makeModel(pythonEnv, path.join(work, "model"), 1);
        infra = {
            namespace: NAMESPACE,
            createNamespace: true,
            modelName: "demo",
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            modelStoreProtect: false,
            archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            autoscaleMaxReplicas: 4,
            inferenceFromNamespaces: ["apps"],
            // A short deadline: 10 s of startup budget (the least allowed) + 10 s to schedule.
            startupTimeoutSeconds: 10,
            podStartMarginSeconds: 10,
            rolloutTimeoutMinutes: 5,
        };
        await project.initStack(STACK, {
            ...infra,
            modelVersion: "v1",
            serializedFile: model.serializedFile,
            handler: HANDLER,
            extraFiles: [model.labels],
        });
    });

    after(async () => {
        if (project) {
            await project.destroy(STACK);
        }
        cluster?.stop();
    });

    it("creates the NetworkPolicy, the PodDisruptionBudget and the autoscaler the API server accepts as built", async () => {
        await upOk();
        const policy = await kube.json(["get", "networkpolicy", "torchserve", "-n", NAMESPACE]);
        assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
        assert.deepEqual(
            policy.spec.ingress.map((rule: any) => [
                rule.ports.map((p: any) => p.port),
                (rule.from ?? []).map((f: any) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]),
            ]),
            [
                [["ts"], ["apps"]],
                [["ts-metrics"], ["monitoring"]],
            ],
        );
        const budget = await kube.json(["get", "pdb", "torchserve", "-n", NAMESPACE]);
        assert.equal(budget.spec.maxUnavailable, 1);
        assert.equal(budget.spec.unhealthyPodEvictionPolicy, "AlwaysAllow");
        const autoscaler = await kube.json(["get", "hpa.v2.autoscaling", "torchserve", "-n", NAMESPACE]);
        assert.deepEqual([autoscaler.spec.minReplicas, autoscaler.spec.maxReplicas], [2, 4]);
        assert.equal(autoscaler.spec.metrics[0].resource.target.averageUtilization, 70);

        const d = await deployment();
        assert.equal(d.spec.progressDeadlineSeconds, 20);
        const pod = d.spec.template.spec;
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.topologySpreadConstraints[0].whenUnsatisfiable, "ScheduleAnyway");
        const container = pod.containers[0];
        assert.equal(container.securityContext.readOnlyRootFilesystem, true);
        // Only the base: v1 is a model directory (the default), loaded in place, not unpacked into the temp
        // dir. The program asks for 1024Mi; the API server stores the quantity in its canonical form.
        assert.deepEqual(
            [container.resources.requests["ephemeral-storage"], container.resources.limits["ephemeral-storage"]],
            ["1Gi", "2Gi"],
        );
        assert.deepEqual(
            container.ports.map((p: any) => p.name),
            ["ts", "ts-metrics"],
            "no management port: it listens on the pod's loopback",
        );
        const internal = await kube.json(["get", "service", "torchserve-internal", "-n", NAMESPACE]);
        assert.deepEqual(
            internal.spec.ports.map((p: any) => p.name),
            ["metrics"],
        );
        const volume = await kube.json(["get", "pv", `${NAMESPACE}.torchserve-model-store`]);
        assert.equal(volume.spec.claimRef.namespace, NAMESPACE, "a new stack's volume: <namespace>.<appName>");
    });

    it("keeps a value set with --secret out of the state and the ConfigMap: a Secret holds config.properties", async () => {
        // Infrastructure from now on: the model stays as deployed.
        await project.replaceConfig(STACK, infra);
        await runOk(
            "pulumi",
            [
                "config",
                "set",
                "--secret",
                "--path",
                "extraProperties.keystore_pass",
                SECRET,
                "--stack",
                STACK,
                "--non-interactive",
            ],
            { cwd: project.dir, env },
        );
        assert.doesNotMatch(fs.readFileSync(project.stackFile(STACK), "utf8"), new RegExp(SECRET));
        const output = await upOk();
        assert.doesNotMatch(output, new RegExp(SECRET), "not in pulumi up's output");

        const state = await runOk("pulumi", ["stack", "export", "--stack", STACK], { cwd: project.dir, env });
        assert.doesNotMatch(state.stdout, new RegExp(SECRET), "not in the state in plain text");
        const secretState = JSON.parse(state.stdout).deployment.resources.find((r: any) =>
            r.urn.endsWith("::torchserve-config-secret"),
        );
        assert.ok(secretState, "a Secret resource in the state");
        assert.match(
            JSON.stringify(secretState),
            /"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":/,
            "its data is a secret in the state: encrypted",
        );

        const d = await deployment();
        const volume = d.spec.template.spec.volumes.find((v: any) => v.name === "config");
        assert.equal(volume.configMap, undefined);
        const secret = await kube.json(["get", "secret", volume.secret.secretName, "-n", NAMESPACE]);
        assert.equal(secret.immutable, true);
        const text = Buffer.from(secret.data["config.properties"], "base64").toString("utf8");
        assert.match(text, new RegExp(`^keystore_pass=${SECRET}$`, "m"));
        const configMaps = await kube.json(["get", "configmaps", "-n", NAMESPACE]);
        assert.doesNotMatch(JSON.stringify(configMaps), new RegExp(SECRET), "no ConfigMap holds it");
        assert.deepEqual(
            configMaps.items.map((c: any) => c.metadata.name),
            ["kube-root-ca.crt"],
            "the ConfigMap the Secret replaced is deleted after the rollout",
        );
    });

    it("leaves the replica count to the autoscaler across an up", async () => {
        // What the autoscaler does: a new count through the scale subresource.
        await runOk("kubectl", ["scale", "deployment", "torchserve", "-n", NAMESPACE, "--replicas", "3"], { env });
        await project.setConfig(STACK, { jobQueueSize: 50 });
        await upOk();
        const d = await deployment();
        assert.equal(d.spec.replicas, 3, "pulumi up did not reset the autoscaler's count");
        assert.equal(d.status.availableReplicas, 3);
    });

    it("fails a rollout whose pods are never scheduled (kwok runs no probes) within the progress deadline, reporting why; the old pods keep serving", async () => {
        await runOk("kubectl", ["scale", "deployment", "torchserve", "-n", NAMESPACE, "--replicas", "2"], { env });
        const before = await deployment();
        // v2 asks for more CPU than any node has: its pods never get scheduled.
        await project.setConfig(STACK, {
            modelVersion: "v2",
            serializedFile: model.serializedFile,
            handler: HANDLER,
            extraFiles: [model.labels],
            cpuRequest: "64",
            cpuLimit: "64",
        });
        const started = Date.now();
        const failed = await project.up(STACK);
        const seconds = (Date.now() - started) / 1000;
        const output = failed.stdout + failed.stderr;
        console.log(`a rollout past its deadline, pulumi up (${seconds.toFixed(1)} s):\n${output.trim()}`);
        assert.notEqual(failed.code, 0);
        // Bounds from the configuration, not from how fast this machine is: the up must end before the
        // provider's own timeout (what it would wait for without the deadline), and the controller must have
        // given up after progressDeadlineSeconds, by the API server's clock.
        const deadline = Number(infra.startupTimeoutSeconds) + Number(infra.podStartMarginSeconds);
        const timeout = Number(infra.rolloutTimeoutMinutes) * 60;
        assert.ok(seconds < timeout, `failed after ${seconds} s: not before the rollout timeout (${timeout} s)`);
        const gaveUp = await deployment();
        assert.equal(gaveUp.spec.progressDeadlineSeconds, deadline);
        const progressing = gaveUp.status.conditions.find((c: any) => c.type === "Progressing");
        assert.equal(progressing.reason, "ProgressDeadlineExceeded", JSON.stringify(gaveUp.status));
        const v2Sets = await kube.json(["get", "replicasets", "-n", NAMESPACE, "-l", "app.kubernetes.io/version=v2"]);
        assert.equal(v2Sets.items.length, 1);
        const waited =
            (Date.parse(progressing.lastTransitionTime) - Date.parse(v2Sets.items[0].metadata.creationTimestamp)) /
            1000;
        // Margin: the timestamps' 1 s resolution, and the controller's requeue on a loaded machine (it
        // checks the deadline when it syncs the Deployment), both far below the timeout.
        const margin = 15;
        assert.ok(
            waited >= deadline - 1 && waited <= deadline + margin,
            `the controller gave up ${waited} s after the new ReplicaSet; the deadline is ${deadline} s (+${margin} s margin)`,
        );
        assert.match(
            output,
            /the rollout of demo v2 failed: its new pods were not ready within progressDeadlineSeconds 20/,
        );
        assert.match(output, /The previous version v1 is still serving: 2 ready pods\./);
        assert.match(output, /Pod torchserve-[a-z0-9-]+ \(v2\): phase Pending/);
        assert.match(output, /event FailedScheduling: 0\/2 nodes are available: 2 Insufficient cpu/);
        assert.match(output, /roll back with npm run deploy -- --stack hardening --model-version v1/);
        const state = JSON.parse(
            (await runOk("pulumi", ["stack", "export", "--stack", STACK], { cwd: project.dir, env })).stdout,
        );
        const rotate = state.deployment.resources.find((r: any) => r.urn.endsWith("::torchserve-rotate"));
        assert.equal(rotate.inputs.triggers[0], "v1", "the rotation did not run for v2");

        const after = await deployment();
        assert.equal(after.status.availableReplicas, 2, "the v1 pods keep serving");
        const v1Pods = await kube.json(["get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/version=v1"]);
        assert.equal(v1Pods.items.length, 2);
        assert.equal((await project.outputs(STACK)).modelVersion, "v1", "nothing recorded");
        assert.equal(after.metadata.uid, before.metadata.uid);

        // Roll back: the version alone, the infrastructure as it was; no manual step.
        await project.setConfig(STACK, {
            modelVersion: "v1",
            serializedFile: undefined,
            handler: undefined,
            extraFiles: undefined,
            cpuRequest: infra.cpuRequest,
            cpuLimit: undefined,
        });
        await upOk();
        const back = await deployment();
        assert.equal(back.spec.template.metadata.labels["app.kubernetes.io/version"], "v1");
        assert.equal(back.status.availableReplicas, 2);
        assert.equal(back.status.updatedReplicas, 2);
        const pending = await kube.json(["get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/version=v2"]);
        assert.deepEqual(
            pending.items.filter((p: any) => !p.metadata.deletionTimestamp),
            [],
            "the v2 pods are gone",
        );
        await project.setConfig(STACK, { modelVersion: undefined });
        const preview = await project.preview(STACK, ["--expect-no-changes"]);
        assert.equal(preview.code, 0, `after the rollback nothing is pending:\n${preview.stdout}${preview.stderr}`);
    });
});
