/**
 * What a TorchServe pod gets, in one place: image, args, ports, probes,
 * resources, mounts and security context. Pure: the program and the
 * pod-emulation test build the same spec from the same settings.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_FILE_NAME, CONTAINER_CONFIG_DIR, CONTAINER_MODEL_STORE } from "../torchserve/configProperties";
import { Settings } from "../config/settings";

/** Named container ports (the Services target these names). */
export const PORT_NAMES = { inference: "ts", management: "ts-management", metrics: "ts-metrics" } as const;

/** The image's `model-server` user and group. */
export const MODEL_SERVER_UID = 1000;

/**
 * How often the startup probe checks; its failure threshold follows from the
 * startup budget. Short, because the fixture is ready 2.5-3 s after start
 * (README "Performance"): a pod becomes ready at most 2 s after its models
 * have loaded, and each pod of a rollout waits that much at most.
 */
export const STARTUP_PROBE_PERIOD_SECONDS = 2;

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

/**
 * Graceful stop. The kubelet's SIGTERM reaches only the `torchserve` launcher,
 * which exits and leaves the Java server to be killed with the container;
 * `torchserve --stop` stops the server itself. The sleep first lets the
 * Service stop sending new requests to this pod.
 */
export function preStopCommand(): string[] {
    return ["sh", "-c", "sleep 5; torchserve --stop"];
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
        // Covers the preStop sleep and the server's own shutdown.
        terminationGracePeriodSeconds: 60,
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
            // pip runs in the pod only with install_py_dep_per_model; its version check must not call out.
            env: [{ name: "PIP_DISABLE_PIP_VERSION_CHECK", value: "1" }],
            ...buildProbes(settings),
            lifecycle: { preStop: { exec: { command: preStopCommand() } } },
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
 * A check that every loaded version of the model has at least its minimum
 * workers READY, through the management API inside the pod. Measured on
 * TorchServe 0.12: `/ping` answers 200 Healthy as soon as the frontend is up,
 * seconds before a model's workers have loaded (and even when they fail), so
 * it cannot gate traffic. Uses the image's Python; with token authorization
 * on, it reads the management key from key_file.json in the server's directory.
 */
export function modelReadyCommand(settings: Settings): string[] {
    const url = `http://127.0.0.1:${settings.server.ports.management}/models/${settings.model.name}/all`;
    const script = [
        "import json,os,sys,urllib.request as r",
        `q=r.Request(${JSON.stringify(url)})`,
        "k='key_file.json'",
        "os.path.exists(k) and q.add_header('Authorization','Bearer '+json.load(open(k))['management']['key'])",
        "v=json.load(r.urlopen(q,timeout=4))",
        "sys.exit(0 if v and all(len(m['workers'])>=m['minWorkers'] and all(w['status']=='READY' for w in m['workers']) for m in v) else 1)",
    ].join(";");
    return ["python", "-c", script];
}

/**
 * Startup and readiness: the model's workers are READY (see
 * {@link modelReadyCommand}), so a rollout only moves traffic to pods that can
 * answer. Liveness: the frontend answers `/ping` (a TCP check when token
 * authorization is on, since `/ping` then needs a key); TorchServe restarts
 * crashed workers itself, so liveness does not restart a pod for that.
 */
export function buildProbes(settings: Settings): Probes {
    const modelReady = { exec: { command: modelReadyCommand(settings) } };
    const alive = settings.server.tokenAuth
        ? { tcpSocket: { port: PORT_NAMES.inference } }
        : { httpGet: { path: "/ping", port: PORT_NAMES.inference } };
    return {
        startupProbe: {
            ...modelReady,
            periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
            timeoutSeconds: 5,
            failureThreshold: Math.ceil(settings.server.startupTimeoutSeconds / STARTUP_PROBE_PERIOD_SECONDS),
        },
        readinessProbe: { ...modelReady, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2 },
        livenessProbe: { ...alive, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
}
