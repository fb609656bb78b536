import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildDeploymentSpec, buildPodSpec } from "../../../components/kubernetes";
import { resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();
const settings = resolveSettings(fixture.args, realFiles);
const input = { settings, version: "v7", configMapName: "torchserve-config-abc", claimName: "torchserve-model-store" };

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
        assert.deepEqual(
            container.volumeMounts.map((m: any) => m.mountPath),
            ["/home/model-server/config", "/home/model-server/model-store"],
            "the paths the args name are the mounts",
        );
    });

    it("names the three ports the Services target", () => {
        assert.equal(container.name, "torchserve");
        assert.deepEqual(container.ports, [
            { name: "ts", containerPort: 8080, protocol: "TCP" },
            { name: "ts-management", containerPort: 8081, protocol: "TCP" },
            { name: "ts-metrics", containerPort: 8082, protocol: "TCP" },
        ]);
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
    });

    it("keeps liveness keyless with token authorization on (TCP), while the model check reads the key file", () => {
        const tokenSettings = resolveSettings({ ...fixture.args, tokenAuth: true }, realFiles);
        const tokenPod = buildPodSpec({ ...input, settings: tokenSettings }) as any;
        assert.deepEqual(tokenPod.containers[0].livenessProbe.tcpSocket, { port: "ts" });
        assert.equal(tokenPod.containers[0].livenessProbe.httpGet, undefined, "/ping needs a key then");
        assert.match(tokenPod.containers[0].readinessProbe.exec.command[2], /key_file\.json/);
    });

    it("stops the server itself before the container is killed, with time to drain", () => {
        assert.deepEqual(container.lifecycle.preStop.exec.command, ["sh", "-c", "sleep 5; torchserve --stop"]);
        assert.ok(pod.terminationGracePeriodSeconds > 5 + 10);
        assert.deepEqual(container.env, [{ name: "PIP_DISABLE_PIP_VERSION_CHECK", value: "1" }]);
    });

    it("sets requests and limits, and a GPU limit only when asked", () => {
        assert.deepEqual(container.resources, {
            requests: { cpu: "1", memory: "1Gi" },
            limits: { cpu: "1", memory: "4Gi" },
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

    it("mounts the ConfigMap and the model-store claim read-only", () => {
        assert.deepEqual(pod.volumes, [
            { name: "config", configMap: { name: "torchserve-config-abc" } },
            { name: "model-store", persistentVolumeClaim: { claimName: "torchserve-model-store", readOnly: true } },
        ]);
        assert.deepEqual(
            container.volumeMounts.map((m: any) => [m.name, m.mountPath, m.readOnly]),
            [
                ["config", "/home/model-server/config", true],
                ["model-store", "/home/model-server/model-store", true],
            ],
            "each mount names one of the pod's volumes",
        );
    });

    it("changes only the version label on a version bump", () => {
        const next = buildDeploymentSpec({ ...input, version: "v8" }) as any;
        assert.deepEqual(
            { ...next, template: { ...next.template, metadata: {} } },
            { ...spec, template: { ...spec.template, metadata: {} } },
        );
        assert.deepEqual(next.template.metadata.labels, {
            ...SELECTOR,
            "app.kubernetes.io/version": "v8",
            "app.kubernetes.io/component": "model-server",
        });
    });
});
