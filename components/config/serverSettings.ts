/** Settings of the TorchServe pods: image, rollout, resources, ports, workers and server flags. */
import { DEFAULTS, TORCHSERVE_IMAGE_CPU, defaultImage, defaultInstallPyDepPerModel } from "./defaults";
import { ProblemList, setCommand as set } from "./errors";
import { validateExtraProperties } from "./extraProperties";
import { METRICS_MODES, MetricsMode, TorchServeStackArgs } from "./stackArgs";
import { isIntInRange, isIntOrPercent, isQuantity, isZeroBound, quantityValue } from "./validators";

export interface WorkerSettings {
    readonly minWorkers: number;
    readonly maxWorkers: number;
    readonly batchSize: number;
    readonly maxBatchDelayMs: number;
    readonly responseTimeoutSeconds: number;
}

export interface ServerSettings {
    readonly image: string;
    readonly gpus: number;
    readonly replicas: number;
    readonly maxSurge: number | string;
    readonly maxUnavailable: number | string;
    readonly cpuRequest: string;
    readonly cpuLimit: string;
    readonly memoryRequest: string;
    readonly memoryLimit: string;
    readonly ports: { readonly inference: number; readonly management: number; readonly metrics: number };
    readonly workers: WorkerSettings;
    readonly jobQueueSize: number;
    readonly installPyDepPerModel: boolean;
    readonly tokenAuth: boolean;
    readonly enableModelApi: boolean;
    readonly metricsMode: MetricsMode;
    readonly extraProperties: Readonly<Record<string, string>>;
    readonly allowUnsafeExtraProperties: boolean;
    readonly startupTimeoutSeconds: number;
    readonly podStartMarginSeconds: number;
    readonly rolloutTimeoutMinutes: number;
    readonly readOnlyRootFilesystem: boolean;
    /** Ephemeral storage besides the unpacked archives, and the limit when set (else twice the request). */
    readonly ephemeralStorage: { readonly base: string; readonly limit?: string };
}

/** Validates the server keys, area by area, in the order their problems are reported. */
export function resolveServer(args: TorchServeStackArgs, problems: ProblemList): ServerSettings {
    const rollout = resolveRollout(args, problems);
    const resources = resolveResources(args, problems);
    const ports = resolvePorts(args, problems);
    const workers = resolveWorkers(args, problems);
    const flags = resolveServerFlags(args, problems);
    return { ...rollout, ...resources, ports, workers, ...flags };
}

type RolloutSettings = Pick<ServerSettings, "image" | "gpus" | "replicas" | "maxSurge" | "maxUnavailable">;
type ResourceSettings = Pick<
    ServerSettings,
    "cpuRequest" | "cpuLimit" | "memoryRequest" | "memoryLimit" | "ephemeralStorage" | "readOnlyRootFilesystem"
>;
type ServerFlags = Omit<ServerSettings, keyof RolloutSettings | keyof ResourceSettings | "ports" | "workers">;

/** Image, GPUs, replicas and the RollingUpdate bounds. */
function resolveRollout(args: TorchServeStackArgs, problems: ProblemList): RolloutSettings {
    const gpus = args.gpus ?? DEFAULTS.gpus;
    if (!isIntInRange(gpus, 0, 16)) {
        problems.add({
            key: "gpus",
            value: gpus,
            problem: "must be a whole number from 0 to 16",
            fix: set("gpus", "1"),
        });
    }
    const image = args.image ?? defaultImage(gpus);
    if (!image.trim() || /\s/.test(image)) {
        problems.add({
            key: "image",
            value: image,
            problem: "is not a container image reference",
            fix: set("image", TORCHSERVE_IMAGE_CPU),
        });
    }
    const replicas = args.replicas ?? DEFAULTS.replicas;
    if (!isIntInRange(replicas, 1, 1000)) {
        problems.add({
            key: "replicas",
            value: replicas,
            problem: "must be a whole number from 1 to 1000",
            fix: set("replicas", String(DEFAULTS.replicas)),
        });
    }
    const maxSurge = args.maxSurge ?? DEFAULTS.maxSurge;
    const maxUnavailable = args.maxUnavailable ?? DEFAULTS.maxUnavailable;
    for (const [key, value] of [
        ["maxSurge", maxSurge],
        ["maxUnavailable", maxUnavailable],
    ] as const) {
        if (!isIntOrPercent(value)) {
            problems.add({
                key,
                value,
                problem: "must be a non-negative whole number or a percentage such as 25%",
                fix: set(key, "1"),
            });
        }
    }
    if (
        isIntOrPercent(maxSurge) &&
        isIntOrPercent(maxUnavailable) &&
        isZeroBound(maxSurge) &&
        isZeroBound(maxUnavailable)
    ) {
        problems.add({
            key: "maxSurge",
            value: maxSurge,
            problem: "and maxUnavailable are both zero, so a rollout could never make progress",
            fix: set("maxSurge", "1"),
        });
    }
    return { image, gpus, replicas, maxSurge, maxUnavailable };
}

/**
 * CPU and memory requests and limits: positive quantities, each request within its limit; the
 * ephemeral storage besides the archives (the request grows with them, so the limit is checked
 * against this part only); the root filesystem.
 */
function resolveResources(args: TorchServeStackArgs, problems: ProblemList): ResourceSettings {
    const resources = {
        cpuRequest: args.cpuRequest ?? DEFAULTS.cpuRequest,
        cpuLimit: args.cpuLimit ?? DEFAULTS.cpuLimit,
        memoryRequest: args.memoryRequest ?? DEFAULTS.memoryRequest,
        memoryLimit: args.memoryLimit ?? DEFAULTS.memoryLimit,
    };
    for (const [key, value] of Object.entries(resources)) {
        if (!isQuantity(value) || quantityValue(value) <= 0) {
            problems.add({
                key,
                value,
                problem: "is not a positive Kubernetes quantity (e.g. 500m or 2 for CPU, 512Mi or 4Gi for memory)",
                fix: set(key, key.startsWith("cpu") ? "1" : "4Gi"),
            });
        }
    }
    for (const [request, limit] of [
        ["cpuRequest", "cpuLimit"],
        ["memoryRequest", "memoryLimit"],
    ] as const) {
        const r = resources[request];
        const l = resources[limit];
        if (isQuantity(r) && isQuantity(l) && quantityValue(r) > quantityValue(l)) {
            problems.add({
                key: request,
                value: r,
                problem: `is larger than ${limit} (${l}); Kubernetes rejects such a pod`,
                fix: set(request, l),
            });
        }
    }
    const base = args.ephemeralStorageBase ?? DEFAULTS.ephemeralStorageBase;
    if (!isQuantity(base) || quantityValue(base) <= 0) {
        problems.add({
            key: "ephemeralStorageBase",
            value: base,
            problem: "is not a positive Kubernetes quantity",
            fix: set("ephemeralStorageBase", DEFAULTS.ephemeralStorageBase),
        });
    }
    const limit = args.ephemeralStorageLimit;
    if (limit !== undefined && (!isQuantity(limit) || quantityValue(limit) <= 0)) {
        problems.add({
            key: "ephemeralStorageLimit",
            value: limit,
            problem: "is not a positive Kubernetes quantity",
            fix: set("ephemeralStorageLimit", "20Gi"),
        });
    } else if (limit !== undefined && isQuantity(base) && quantityValue(limit) < quantityValue(base)) {
        problems.add({
            key: "ephemeralStorageLimit",
            value: limit,
            problem: `is smaller than ephemeralStorageBase (${base}), before any archive is counted`,
            fix:
                "pulumi config rm ephemeralStorageLimit (twice the request), or " +
                set("ephemeralStorageLimit", "20Gi"),
        });
    }
    return {
        ...resources,
        ephemeralStorage: { base, ...(limit !== undefined ? { limit } : {}) },
        readOnlyRootFilesystem: args.readOnlyRootFilesystem ?? DEFAULTS.readOnlyRootFilesystem,
    };
}

const PORT_KEYS = { inference: "inferencePort", management: "managementPort", metrics: "metricsPort" } as const;

/** The three API ports: unprivileged (the server is not root) and distinct. */
function resolvePorts(args: TorchServeStackArgs, problems: ProblemList): ServerSettings["ports"] {
    const ports = {
        inference: args.inferencePort ?? DEFAULTS.inferencePort,
        management: args.managementPort ?? DEFAULTS.managementPort,
        metrics: args.metricsPort ?? DEFAULTS.metricsPort,
    };
    const seen = new Map<number, string>();
    for (const [role, port] of Object.entries(ports) as [keyof typeof ports, number][]) {
        const key = PORT_KEYS[role];
        if (!isIntInRange(port, 1024, 65535)) {
            problems.add({
                key,
                value: port,
                problem: "must be a whole number from 1024 to 65535 (the server runs as a non-root user)",
                fix: set(key, String(DEFAULTS[key])),
            });
        } else if (seen.has(port)) {
            problems.add({
                key,
                value: port,
                problem: `clashes with ${seen.get(port)}`,
                fix:
                    "give each of inferencePort, managementPort and metricsPort its own port, " +
                    `e.g. ${set(key, String(port + 1))}`,
            });
        } else {
            seen.set(port, key);
        }
    }
    return ports;
}

const WORKER_BOUNDS: Readonly<Record<keyof WorkerSettings, readonly [number, number]>> = {
    minWorkers: [1, 64],
    maxWorkers: [1, 64],
    batchSize: [1, 4096],
    maxBatchDelayMs: [0, 600_000],
    responseTimeoutSeconds: [1, 86_400],
};

/** Workers and batching per loaded model version. */
function resolveWorkers(args: TorchServeStackArgs, problems: ProblemList): WorkerSettings {
    const workers = {
        minWorkers: args.minWorkers ?? DEFAULTS.minWorkers,
        maxWorkers: args.maxWorkers ?? DEFAULTS.maxWorkers,
        batchSize: args.batchSize ?? DEFAULTS.batchSize,
        maxBatchDelayMs: args.maxBatchDelayMs ?? DEFAULTS.maxBatchDelayMs,
        responseTimeoutSeconds: args.responseTimeoutSeconds ?? DEFAULTS.responseTimeoutSeconds,
    };
    for (const [key, [min, max]] of Object.entries(WORKER_BOUNDS) as [keyof WorkerSettings, [number, number]][]) {
        if (!isIntInRange(workers[key], min, max)) {
            problems.add({
                key,
                value: workers[key],
                problem: `must be a whole number from ${min} to ${max}`,
                fix: set(key, String(Math.max(min, 1))),
            });
        }
    }
    if (workers.minWorkers > workers.maxWorkers) {
        problems.add({
            key: "minWorkers",
            value: workers.minWorkers,
            problem: `is larger than maxWorkers (${workers.maxWorkers})`,
            fix: set("maxWorkers", String(workers.minWorkers)),
        });
    }
    return workers;
}

/** The server's own flags and timeouts, and the extra config.properties entries. */
function resolveServerFlags(args: TorchServeStackArgs, problems: ProblemList): ServerFlags {
    const jobQueueSize = args.jobQueueSize ?? DEFAULTS.jobQueueSize;
    if (!isIntInRange(jobQueueSize, 1, 1_000_000)) {
        problems.add({
            key: "jobQueueSize",
            value: jobQueueSize,
            problem: "must be a whole number from 1 to 1000000",
            fix: set("jobQueueSize", String(DEFAULTS.jobQueueSize)),
        });
    }
    const metricsMode = args.metricsMode ?? DEFAULTS.metricsMode;
    if (!METRICS_MODES.includes(metricsMode)) {
        problems.add({
            key: "metricsMode",
            value: metricsMode,
            problem: `must be one of ${METRICS_MODES.join(", ")}`,
            fix: set("metricsMode", DEFAULTS.metricsMode),
        });
    }
    const startupTimeoutSeconds = args.startupTimeoutSeconds ?? DEFAULTS.startupTimeoutSeconds;
    if (!isIntInRange(startupTimeoutSeconds, 10, 3600)) {
        problems.add({
            key: "startupTimeoutSeconds",
            value: startupTimeoutSeconds,
            problem: "must be a whole number of seconds from 10 to 3600",
            fix: set("startupTimeoutSeconds", String(DEFAULTS.startupTimeoutSeconds)),
        });
    }
    const podStartMarginSeconds = args.podStartMarginSeconds ?? DEFAULTS.podStartMarginSeconds;
    if (!isIntInRange(podStartMarginSeconds, 0, 3600)) {
        problems.add({
            key: "podStartMarginSeconds",
            value: podStartMarginSeconds,
            problem: "must be a whole number of seconds from 0 to 3600",
            fix: set("podStartMarginSeconds", String(DEFAULTS.podStartMarginSeconds)),
        });
    }
    const rolloutTimeoutMinutes = args.rolloutTimeoutMinutes ?? DEFAULTS.rolloutTimeoutMinutes;
    if (!isIntInRange(rolloutTimeoutMinutes, 1, 240)) {
        problems.add({
            key: "rolloutTimeoutMinutes",
            value: rolloutTimeoutMinutes,
            problem: "must be a whole number of minutes from 1 to 240",
            fix: set("rolloutTimeoutMinutes", String(DEFAULTS.rolloutTimeoutMinutes)),
        });
    }
    const extraProperties = args.extraProperties ?? DEFAULTS.extraProperties;
    const allowUnsafeExtraProperties = args.allowUnsafeExtraProperties ?? DEFAULTS.allowUnsafeExtraProperties;
    validateExtraProperties(extraProperties, problems, allowUnsafeExtraProperties);
    return {
        jobQueueSize,
        installPyDepPerModel: args.installPyDepPerModel ?? defaultInstallPyDepPerModel(args.requirementsFile),
        tokenAuth: args.tokenAuth ?? DEFAULTS.tokenAuth,
        enableModelApi: args.enableModelApi ?? DEFAULTS.enableModelApi,
        metricsMode,
        extraProperties,
        allowUnsafeExtraProperties,
        startupTimeoutSeconds,
        podStartMarginSeconds,
        rolloutTimeoutMinutes,
    };
}
