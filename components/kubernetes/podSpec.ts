/**
 * What a TorchServe pod gets, in one place: image, args, ports, probes,
 * resources, mounts and security context. Pure: the program and the
 * pod-emulation test build the same spec from the same settings.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings, quantityValue } from "../config";
import { CONFIG_FILE_NAME, CONTAINER_CONFIG_DIR, CONTAINER_MODEL_STORE } from "../torchserve";
import { PORT_NAMES, podLabels, selectorLabels } from "./names";
import { buildProbes } from "./probes";
import { progressDeadlineSeconds } from "./rollout";

/** The image's `model-server` user and group. */
export const MODEL_SERVER_UID = 1000;

/**
 * Where TorchServe writes, each an emptyDir (the root filesystem is read-only
 * by default). The working directory holds `key_file.json` (token
 * authorization) and `logs/`; TEMP (java.io.tmpdir, and Python's tempfile
 * through TMPDIR) holds the pid file and every loaded `.mar`, unpacked (a
 * model directory is only linked from there);
 * /tmp holds the workers' sockets and the JVM's perf data.
 */
export const CONTAINER_WORK_DIR = "/home/model-server/work";
export const CONTAINER_TEMP_DIR = "/home/model-server/tmp";
export const CONTAINER_SYSTEM_TMP = "/tmp";

const MIB = 2 ** 20;

/**
 * Ephemeral storage of a pod: TorchServe unpacks every loaded `.mar` into
 * the container's temp dir, and only links a model directory from there
 * (measured on 0.12: 12 KiB for a 1 GiB model), so the request is
 * `ephemeralStorageBase` (logs, pid and key files, installed requirements)
 * plus the `.mar` versions' input bytes (about their unpacked size), in whole
 * MiB; the limit is `ephemeralStorageLimit` (never below the request), or
 * twice the request. A version whose size is not recorded counts 0.
 */
export function ephemeralStorage(
    settings: Settings,
    served: readonly ServedEntry[],
): { request: string; limit: string } {
    const base = quantityValue(settings.server.ephemeralStorage.base);
    const unpacked = served.filter((v) => v.entry !== "dir").reduce((sum, v) => sum + v.bytes, 0);
    const request = Math.ceil((base + unpacked) / MIB);
    const limit = settings.server.ephemeralStorage.limit;
    return {
        request: `${request}Mi`,
        limit:
            limit === undefined ? `${2 * request}Mi` : quantityValue(limit) >= request * MIB ? limit : `${request}Mi`,
    };
}

/** The TorchServe command line: foreground (a dead server ends the container) and no config snapshots. */
export function torchServeArgs(): string[] {
    return [
        "--start",
        "--foreground",
        "--ncs",
        "--model-store",
        CONTAINER_MODEL_STORE,
        "--ts-config",
        `${CONTAINER_CONFIG_DIR}/${CONFIG_FILE_NAME}`,
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

/** A served version as it sizes a pod: its input bytes and its entry (absent: a `.mar`, as before directories). */
export interface ServedEntry {
    readonly bytes: number;
    readonly entry?: "mar" | "dir";
}

/** What the Deployment needs besides settings. */
export interface DeploymentInput {
    readonly settings: Settings;
    /** The deployed (default) version. */
    readonly version: string;
    /** Every version the pods load, the deployed one first: readiness waits for all of them. */
    readonly served: readonly string[];
    /** Each served version's input bytes (0 when unknown) and entry kind: sizes the temp storage. */
    readonly servedEntries?: readonly ServedEntry[];
    /** The stack's part of the model store, mounted as the pod's model store. */
    readonly storeSubdir: string;
    /** The auto-named object holding config.properties (its name is an Output in the program). */
    readonly config: { readonly kind: "ConfigMap" | "Secret"; readonly name: pulumi.Input<string> };
    readonly claimName: pulumi.Input<string>;
}

/**
 * The Deployment spec: RollingUpdate within maxSurge/maxUnavailable, one
 * TorchServe container, and a progress deadline of one pod's start (see
 * {@link progressDeadlineSeconds}).
 */
export function buildDeploymentSpec(input: DeploymentInput): k8s.types.input.apps.v1.DeploymentSpec {
    const { settings, version } = input;
    const server = settings.server;
    return {
        replicas: server.replicas,
        revisionHistoryLimit: 5,
        progressDeadlineSeconds: progressDeadlineSeconds(settings),
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
    const storage = ephemeralStorage(settings, input.servedEntries ?? []);
    const limits: Record<string, string> = {
        cpu: server.cpuLimit,
        memory: server.memoryLimit,
        "ephemeral-storage": storage.limit,
    };
    if (server.gpus > 0) {
        limits["nvidia.com/gpu"] = String(server.gpus);
    }
    const ports = [
        { name: PORT_NAMES.inference, containerPort: server.ports.inference, protocol: "TCP" },
        // Bound to the pod's loopback unless exposed: no port to name then.
        ...(settings.service.exposeManagement
            ? [{ name: PORT_NAMES.management, containerPort: server.ports.management, protocol: "TCP" }]
            : []),
        { name: PORT_NAMES.metrics, containerPort: server.ports.metrics, protocol: "TCP" },
    ];
    const configVolume =
        input.config.kind === "Secret"
            ? // Owned by root, readable by the server's group (fsGroup) only.
              { name: "config", secret: { secretName: input.config.name, defaultMode: 0o440 } }
            : { name: "config", configMap: { name: input.config.name } };
    return {
        // Covers the preStop sleep and the server's own shutdown.
        terminationGracePeriodSeconds: 60,
        // TorchServe never calls the Kubernetes API: no token in the pod.
        automountServiceAccountToken: false,
        ...spreadOver(settings),
        securityContext: {
            runAsNonRoot: true,
            runAsUser: MODEL_SERVER_UID,
            runAsGroup: MODEL_SERVER_UID,
            fsGroup: MODEL_SERVER_UID,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [
            {
                name: "torchserve",
                image: server.image,
                // Bypass the image entrypoint: it ends in `tail -f /dev/null`,
                // which keeps a dead server's container alive.
                command: ["torchserve"],
                args: torchServeArgs(),
                workingDir: CONTAINER_WORK_DIR,
                ports,
                resources: {
                    requests: {
                        cpu: server.cpuRequest,
                        memory: server.memoryRequest,
                        "ephemeral-storage": storage.request,
                    },
                    limits,
                },
                env: [
                    { name: "TEMP", value: CONTAINER_TEMP_DIR },
                    { name: "TMPDIR", value: CONTAINER_TEMP_DIR },
                    { name: "LOG_LOCATION", value: `${CONTAINER_WORK_DIR}/logs` },
                    { name: "METRICS_LOCATION", value: `${CONTAINER_WORK_DIR}/logs` },
                    // pip runs in the pod only with install_py_dep_per_model; its version check must not call out.
                    { name: "PIP_DISABLE_PIP_VERSION_CHECK", value: "1" },
                ],
                ...buildProbes(settings, input.served),
                lifecycle: { preStop: { exec: { command: preStopCommand() } } },
                // A container that fails shows its last log lines in its status (and in a failed rollout's report).
                terminationMessagePolicy: "FallbackToLogsOnError",
                securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    readOnlyRootFilesystem: server.readOnlyRootFilesystem,
                },
                volumeMounts: [
                    { name: "work", mountPath: CONTAINER_WORK_DIR },
                    { name: "temp", mountPath: CONTAINER_TEMP_DIR },
                    { name: "tmp", mountPath: CONTAINER_SYSTEM_TMP },
                    { name: "config", mountPath: CONTAINER_CONFIG_DIR, readOnly: true },
                    // Read-only: the server unpacks archives to its temp dir; only the archive step writes the store.
                    // Only the stack's own part of the store: other stacks' archives are not even visible.
                    {
                        name: "model-store",
                        mountPath: CONTAINER_MODEL_STORE,
                        subPath: input.storeSubdir,
                        readOnly: true,
                    },
                ],
            },
        ],
        volumes: [
            configVolume,
            { name: "model-store", persistentVolumeClaim: { claimName: input.claimName, readOnly: true } },
            { name: "work", emptyDir: {} },
            { name: "temp", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
        ],
    };
}

/**
 * Replicas spread over nodes (`kubernetes.io/hostname`), each ReplicaSet's
 * pods among themselves (`pod-template-hash`), so a rollout's new pods spread
 * too; `preferred` never blocks scheduling, `required` does.
 */
function spreadOver(settings: Settings): Pick<k8s.types.input.core.v1.PodSpec, "topologySpreadConstraints"> {
    const mode = settings.availability.spreadReplicas;
    if (mode === "off") {
        return {};
    }
    return {
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: mode === "required" ? "DoNotSchedule" : "ScheduleAnyway",
                labelSelector: { matchLabels: selectorLabels(settings.appName) },
                matchLabelKeys: ["pod-template-hash"],
            },
        ],
    };
}
