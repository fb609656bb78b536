import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    buildDeploymentSpec,
    buildPodSpec,
    ephemeralStorage,
    modelReadyCommand,
    selectorLabels,
} from "../../../components/kubernetes";
import { resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();
const settings = resolveSettings(fixture.args, realFiles);
const input = {
    settings,
    version: "v7",
    served: ["v7", "v6"],
    storeSubdir: "ml-dev/torchserve",
    config: { kind: "ConfigMap" as const, name: "torchserve-config-abc" },
    claimName: "torchserve-model-store",
};

// The builders return Pulumi input types; with plain inputs they are plain objects.
const spec = buildDeploymentSpec(input) as any;
const pod = buildPodSpec(input) as any;
const container = pod.containers[0];
// The labels every object of the stack carries (README "What gets deployed"): existing stacks select by them.
const SELECTOR = { "app.kubernetes.io/name": "torchserve", "app.kubernetes.io/instance": "torchserve" };

describe("pod spec", () => {
    it("rolls with zero downtime by default", () => {
        assert.equal(spec.replicas, 2);
        assert.deepEqual(spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    });

    it("selects by stable labels and marks pods with the version", () => {
        assert.deepEqual(spec.selector.matchLabels, SELECTOR);
        assert.deepEqual(spec.template.metadata.labels, {
            ...SELECTOR,
            "app.kubernetes.io/version": "v7",
            "app.kubernetes.io/component": "model-server",
        });
        const other = buildDeploymentSpec({
            ...input,
            settings: resolveSettings({ ...fixture.args, appName: "ts-b" }, realFiles),
        }) as any;
        assert.deepEqual(other.selector.matchLabels, { ...SELECTOR, "app.kubernetes.io/instance": "ts-b" });
        for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
            assert.equal(spec.template.metadata.labels[key], value, "selector matches the template");
        }
        assert.ok(
            !("app.kubernetes.io/version" in spec.selector.matchLabels),
            "a version bump must not change the selector",
        );
    });

    it("runs torchserve in the foreground without config snapshots, bypassing the image entrypoint", () => {
        assert.deepEqual(container.command, ["torchserve"]);
        assert.deepEqual(container.args, [
            "--start",
            "--foreground",
            "--ncs",
            "--model-store",
            "/home/model-server/model-store",
            "--ts-config",
            "/home/model-server/config/config.properties",
        ]);
    });

    it("names the ports the Services target, management only when it is bound beyond the pod's loopback", () => {
        assert.deepEqual(
            container.ports.map((p: any) => [p.name, p.containerPort]),
            [
                ["ts", 8080],
                ["ts-metrics", 8082],
            ],
        );
        const exposed = buildPodSpec({
            ...input,
            settings: resolveSettings({ ...fixture.args, exposeManagement: true }, realFiles),
        }) as any;
        assert.deepEqual(
            exposed.containers[0].ports.map((p: any) => p.name),
            ["ts", "ts-management", "ts-metrics"],
        );
    });

    it("gates startup and readiness on the model's workers being READY, and liveness on /ping", () => {
        // What the check decides is run for real in probes.test.ts; here: which probe runs it, how often.
        const [python, flag, script] = container.readinessProbe.exec.command;
        assert.deepEqual([python, flag], ["python", "-c"]);
        assert.match(script, /http:\/\/127\.0\.0\.1:8081\/models\/demo\/all/);
        assert.deepEqual(container.startupProbe.exec.command, container.readinessProbe.exec.command);
        assert.equal(container.startupProbe.httpGet, undefined);
        assert.deepEqual(container.livenessProbe.httpGet, { path: "/ping", port: "ts" });
        assert.equal(container.livenessProbe.exec, undefined, "liveness does not wait for the model");
        // README "Performance": startup every 2 s within startupTimeoutSeconds (300), readiness every 5 s
        // with 2 failures to leave the Service, liveness every 10 s with 6 failures before a restart.
        const timing = (p: any) => [p.periodSeconds, p.failureThreshold];
        assert.deepEqual(timing(container.startupProbe), [2, 150]);
        assert.deepEqual(timing(container.readinessProbe), [5, 2]);
        assert.deepEqual(timing(container.livenessProbe), [10, 6]);
        const slow = buildPodSpec({
            ...input,
            settings: resolveSettings({ ...fixture.args, startupTimeoutSeconds: 901 }, realFiles),
        }) as any;
        assert.deepEqual(timing(slow.containers[0].startupProbe), [2, 451], "rounded up: never less than the budget");
        assert.match(script, /e=\["v7","v6"\]/, "the check names the versions the pod must serve");
        assert.throws(() => modelReadyCommand(settings, []), /needs the versions/);
    });

    it("keeps liveness keyless with token authorization on (TCP), while the model check reads the key file", () => {
        const tokenSettings = resolveSettings({ ...fixture.args, tokenAuth: true, replicas: 1 }, realFiles);
        const tokenPod = buildPodSpec({ ...input, settings: tokenSettings }) as any;
        assert.deepEqual(tokenPod.containers[0].livenessProbe.tcpSocket, { port: "ts" });
        assert.equal(tokenPod.containers[0].livenessProbe.httpGet, undefined, "/ping needs a key then");
        assert.match(tokenPod.containers[0].readinessProbe.exec.command[2], /key_file\.json/);
    });

    it("stops the server itself before the container is killed, with time to drain", () => {
        assert.deepEqual(container.lifecycle.preStop.exec.command, ["sh", "-c", "sleep 5; torchserve --stop"]);
        assert.ok(pod.terminationGracePeriodSeconds > 5 + 10);
        assert.deepEqual(
            container.env.find((e: any) => e.name === "PIP_DISABLE_PIP_VERSION_CHECK"),
            { name: "PIP_DISABLE_PIP_VERSION_CHECK", value: "1" },
        );
    });

    it("sets requests and limits, and a GPU limit only when asked", () => {
        assert.deepEqual(container.resources, {
            requests: { cpu: "1", memory: "1Gi", "ephemeral-storage": "1024Mi" },
            limits: { cpu: "1", memory: "4Gi", "ephemeral-storage": "2048Mi" },
        });
        const gpuPod = buildPodSpec({
            ...input,
            settings: resolveSettings({ ...fixture.args, gpus: 2 }, realFiles),
        }) as any;
        assert.equal(gpuPod.containers[0].resources.limits["nvidia.com/gpu"], "2");
        assert.match(gpuPod.containers[0].image, /-gpu$/);
    });

    it("runs as the non-root model-server user with fsGroup and no privilege escalation", () => {
        assert.equal(pod.securityContext.runAsNonRoot, true);
        assert.equal(pod.securityContext.runAsUser, 1000);
        assert.equal(pod.securityContext.fsGroup, 1000);
        assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
        assert.equal(container.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    });

    it("gets no service account token, and a read-only root filesystem with emptyDirs where TorchServe writes", () => {
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(container.securityContext.readOnlyRootFilesystem, true);
        const writable = container.volumeMounts.filter((m: any) => !m.readOnly);
        assert.deepEqual(
            writable.map((m: any) => [m.name, m.mountPath]),
            [
                ["work", "/home/model-server/work"],
                ["temp", "/home/model-server/tmp"],
                ["tmp", "/tmp"],
            ],
        );
        for (const mount of writable) {
            assert.deepEqual(
                pod.volumes.find((v: any) => v.name === mount.name),
                { name: mount.name, emptyDir: {} },
            );
        }
        // key_file.json goes to the working directory, the logs to LOG_LOCATION, archives and the pid file to TEMP.
        assert.equal(container.workingDir, "/home/model-server/work");
        const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
        assert.equal(env.TEMP, "/home/model-server/tmp");
        assert.equal(env.TMPDIR, "/home/model-server/tmp");
        assert.equal(env.LOG_LOCATION, "/home/model-server/work/logs");
        // TorchServe writes its metrics log there too (its default is under the read-only image).
        assert.equal(env.METRICS_LOCATION, "/home/model-server/work/logs");
        // `kubectl logs` and the rollout report address the container by this name.
        assert.equal(container.name, "torchserve");
        assert.equal(container.terminationMessagePolicy, "FallbackToLogsOnError");
        const writableRoot = buildPodSpec({
            ...input,
            settings: resolveSettings({ ...fixture.args, readOnlyRootFilesystem: false }, realFiles),
        }) as any;
        assert.equal(writableRoot.containers[0].securityContext.readOnlyRootFilesystem, false);
    });

    it("sizes ephemeral storage from the archives the pod unpacks: base + their bytes, limit twice that or the cap", () => {
        const gib = 2 ** 30;
        const mar = (bytes: number) => ({ bytes, entry: "mar" as const });
        assert.deepEqual(ephemeralStorage(settings, [mar(3 * gib), mar(gib / 2)]), {
            request: "4608Mi",
            limit: "9216Mi",
        });
        assert.deepEqual(ephemeralStorage(settings, [mar(1)]), { request: "1025Mi", limit: "2050Mi" }, "rounded up");
        assert.deepEqual(
            ephemeralStorage(settings, [{ bytes: gib }]),
            { request: "2048Mi", limit: "4096Mi" },
            "a version recorded before directories is a .mar",
        );
        const capped = resolveSettings(
            { ...fixture.args, ephemeralStorageBase: "2Gi", ephemeralStorageLimit: "10Gi" },
            realFiles,
        );
        assert.deepEqual(ephemeralStorage(capped, [mar(gib)]), { request: "3072Mi", limit: "10Gi" });
        assert.deepEqual(
            ephemeralStorage(capped, [mar(9 * gib)]),
            { request: "11264Mi", limit: "11264Mi" },
            "never below",
        );
        const sized = buildPodSpec({ ...input, servedEntries: [mar(3 * gib), mar(gib / 2)] }) as any;
        assert.equal(sized.containers[0].resources.requests["ephemeral-storage"], "4608Mi");
    });

    it("adds nothing for a model directory: TorchServe loads it in place, only linking it from its temp dir", () => {
        const gib = 2 ** 30;
        assert.deepEqual(ephemeralStorage(settings, [{ bytes: 3 * gib, entry: "dir" }]), {
            request: "1024Mi",
            limit: "2048Mi",
        });
        const mixed = buildPodSpec({
            ...input,
            servedEntries: [
                { bytes: 3 * gib, entry: "dir" },
                { bytes: gib, entry: "mar" },
            ],
        }) as any;
        assert.equal(mixed.containers[0].resources.requests["ephemeral-storage"], "2048Mi", "the .mar only");
    });

    it("spreads replicas over nodes, per ReplicaSet: preferred by default, required or off on request", () => {
        assert.deepEqual(pod.topologySpreadConstraints, [
            {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: selectorLabels("torchserve") },
                matchLabelKeys: ["pod-template-hash"],
            },
        ]);
        const spread = (mode: string) =>
            buildPodSpec({
                ...input,
                settings: resolveSettings({ ...fixture.args, spreadReplicas: mode as any }, realFiles),
            }) as any;
        assert.equal(spread("required").topologySpreadConstraints[0].whenUnsatisfiable, "DoNotSchedule");
        assert.equal(spread("off").topologySpreadConstraints, undefined);
    });

    it("gives up on a rollout one pod start after its last progress: startup budget + margin", () => {
        assert.equal(spec.progressDeadlineSeconds, 300 + 120);
        const quick = resolveSettings(
            { ...fixture.args, startupTimeoutSeconds: 30, podStartMarginSeconds: 20 },
            realFiles,
        );
        assert.equal((buildDeploymentSpec({ ...input, settings: quick }) as any).progressDeadlineSeconds, 50);
    });

    it("mounts the ConfigMap (or the Secret) and only the stack's part of the model-store claim, read-only", () => {
        assert.deepEqual(pod.volumes.slice(0, 2), [
            { name: "config", configMap: { name: "torchserve-config-abc" } },
            { name: "model-store", persistentVolumeClaim: { claimName: "torchserve-model-store", readOnly: true } },
        ]);
        for (const name of ["config", "model-store"]) {
            assert.equal(container.volumeMounts.find((m: any) => m.name === name).readOnly, true, name);
        }
        const store = container.volumeMounts.find((m: any) => m.name === "model-store");
        assert.equal(store.subPath, "ml-dev/torchserve");
        assert.equal(store.mountPath, "/home/model-server/model-store");
        const secretPod = buildPodSpec({ ...input, config: { kind: "Secret", name: "torchserve-config-secret-abc" } });
        assert.deepEqual((secretPod as any).volumes[0], {
            name: "config",
            secret: { secretName: "torchserve-config-secret-abc", defaultMode: 0o440 },
        });
    });

    it("changes only the version label and the versions the model check expects on a version bump", () => {
        const next = buildDeploymentSpec({ ...input, version: "v8", served: ["v8", "v7"] }) as any;
        const withoutVersion = (s: any) => {
            const c = s.template.spec.containers[0];
            const rest = { ...c, startupProbe: undefined, readinessProbe: undefined };
            return { ...s, template: { spec: { ...s.template.spec, containers: [rest] } } };
        };
        assert.deepEqual(withoutVersion(next), withoutVersion(spec));
        assert.deepEqual(next.template.metadata.labels, {
            ...SELECTOR,
            "app.kubernetes.io/version": "v8",
            "app.kubernetes.io/component": "model-server",
        });
        assert.match(next.template.spec.containers[0].readinessProbe.exec.command[2], /e=\["v8","v7"\]/);
    });
});
