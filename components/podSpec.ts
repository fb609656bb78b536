/**
 * What a TorchServe pod gets, in one place: image, args, ports, probes,
 * resources, mounts and security context. Pure: the program and the
 * pod-emulation test build the same spec from the same settings.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_FILE_NAME, CONTAINER_CONFIG_DIR, CONTAINER_MODEL_STORE } from "./configProperties";
import { Settings } from "./settings";

/** Named container ports (the Services target these names). */
export const PORT_NAMES = { inference: "ts", management: "ts-management", metrics: "ts-metrics" } as const;

/** The image's `model-server` user and group. */
export const MODEL_SERVER_UID = 1000;

/** How often the startup probe checks; its failure threshold follows from the startup budget. */
export const STARTUP_PROBE_PERIOD_SECONDS = 5;

/** Labels that select this stack's pods; stable across versions. */
export function selectorLabels(appName: string): Record<string, string> {
    return { "app.kubernetes.io/name": "torchserve", "app.kubernetes.io/instance": appName };
}

/** Labels of the pods of one version (the version label changes on each deploy and rolls the pods). */
export function podLabels(appName: string, version: string): Record<string, string> {
    return { ...selectorLabels(appName), "app.kubernetes.io/version": version, "app.kubernetes.io/component": "model-server" };
}

/** The TorchServe command line: foreground (a dead server ends the container) and no config snapshots. */
export function torchServeArgs(): string[] {
    return [
        "--start", "--foreground", "--ncs",
        "--model-store", CONTAINER_MODEL_STORE,
        "--ts-config", `${CONTAINER_CONFIG_DIR}/${CONFIG_FILE_NAME}`,
    ];
}

/** What the Deployment needs besides settings. */
export interface DeploymentInput {
    readonly settings: Settings;
    readonly version: string;
    /** Auto-named ConfigMap holding config.properties (an Output in the program). */
    readonly configMapName: pulumi.Input<string>;
    readonly claimName: pulumi.Input<string>;
}

/** The Deployment spec: RollingUpdate within maxSurge/maxUnavailable, one TorchServe container. */
export function buildDeploymentSpec(input: DeploymentInput): k8s.types.input.apps.v1.DeploymentSpec {
    const { settings, version } = input;
    const server = settings.server;
    return {
        replicas: server.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selectorLabels(settings.appName) },
        strategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxSurge: server.maxSurge, maxUnavailable: server.maxUnavailable },
        },
        template: {
            metadata: { labels: podLabels(settings.appName, version) },
            spec: buildPodSpec(input),
        },
    };
}

/** The pod spec of one version. */
export function buildPodSpec(input: DeploymentInput): k8s.types.input.core.v1.PodSpec {
    const { settings } = input;
    const server = settings.server;
    const limits: Record<string, string> = { cpu: server.cpuLimit, memory: server.memoryLimit };
    if (server.gpus > 0) {
        limits["nvidia.com/gpu"] = String(server.gpus);
    }
    return {
        securityContext: {
            runAsNonRoot: true,
            runAsUser: MODEL_SERVER_UID,
            runAsGroup: MODEL_SERVER_UID,
            fsGroup: MODEL_SERVER_UID,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [{
            name: "torchserve",
            image: server.image,
            // Bypass the image entrypoint: it ends in `tail -f /dev/null`, which keeps a dead server's container alive.
            command: ["torchserve"],
            args: torchServeArgs(),
            ports: [
                { name: PORT_NAMES.inference, containerPort: server.ports.inference, protocol: "TCP" },
                { name: PORT_NAMES.management, containerPort: server.ports.management, protocol: "TCP" },
                { name: PORT_NAMES.metrics, containerPort: server.ports.metrics, protocol: "TCP" },
            ],
            resources: {
                requests: { cpu: server.cpuRequest, memory: server.memoryRequest },
                limits,
            },
            ...buildProbes(settings),
            securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
            },
            volumeMounts: [
                { name: "config", mountPath: CONTAINER_CONFIG_DIR, readOnly: true },
                // Read-only: the server unpacks archives to its temp dir; only the archive step writes the store.
                { name: "model-store", mountPath: CONTAINER_MODEL_STORE, readOnly: true },
            ],
        }],
        volumes: [
            { name: "config", configMap: { name: input.configMapName } },
            { name: "model-store", persistentVolumeClaim: { claimName: input.claimName, readOnly: true } },
        ],
    };
}

type Probes = Pick<k8s.types.input.core.v1.Container, "startupProbe" | "readinessProbe" | "livenessProbe">;

/**
 * Probes on `/ping`: 200 once every loaded version has its minimum workers.
 * With token authorization on, `/ping` is refused without a key, so the
 * probes fall back to TCP checks of the inference port.
 */
export function buildProbes(settings: Settings): Probes {
    const check = settings.server.tokenAuth
        ? { tcpSocket: { port: PORT_NAMES.inference } }
        : { httpGet: { path: "/ping", port: PORT_NAMES.inference } };
    return {
        startupProbe: {
            ...check,
            periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
            timeoutSeconds: 3,
            failureThreshold: Math.ceil(settings.server.startupTimeoutSeconds / STARTUP_PROBE_PERIOD_SECONDS),
        },
        readinessProbe: { ...check, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
        livenessProbe: { ...check, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
}
