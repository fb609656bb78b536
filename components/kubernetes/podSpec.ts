/**
 * What a TorchServe pod gets, in one place: image, args, ports, probes,
 * resources, mounts and security context. Pure: the program and the
 * pod-emulation test build the same spec from the same settings.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Settings } from "../config";
import { CONFIG_FILE_NAME, CONTAINER_CONFIG_DIR, CONTAINER_MODEL_STORE } from "../torchserve";
import { PORT_NAMES, podLabels, selectorLabels } from "./names";
import { buildProbes } from "./probes";

/** The image's `model-server` user and group. */
export const MODEL_SERVER_UID = 1000;

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

/** What the Deployment needs besides settings. */
export interface DeploymentInput {
    readonly settings: Settings;
    /** The deployed (default) version. */
    readonly version: string;
    /** Every version the pods load, the deployed one first: readiness waits for all of them. */
    readonly served: readonly string[];
    /** The stack's part of the model store, mounted as the pod's model store. */
    readonly storeSubdir: string;
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
        containers: [
            {
                name: "torchserve",
                image: server.image,
                // Bypass the image entrypoint: it ends in `tail -f /dev/null`,
                // which keeps a dead server's container alive.
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
                ...buildProbes(settings, input.served),
                lifecycle: { preStop: { exec: { command: preStopCommand() } } },
                securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [
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
            { name: "config", configMap: { name: input.configMapName } },
            { name: "model-store", persistentVolumeClaim: { claimName: input.claimName, readOnly: true } },
        ],
    };
}
