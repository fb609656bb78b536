/** Settings of the TorchServe pods: image, rollout, resources, ports, workers and server flags. */
import { ProblemList, setCommand as set } from "./errors";
import { validateExtraProperties } from "./extraProperties";
import { METRICS_MODES, MetricsMode, TorchServeStackArgs } from "./stackArgs";
import { isIntInRange, isIntOrPercent, isQuantity, isZeroBound, quantityValue } from "./validators";

/** TorchServe 0.12 images; the archiver ships inside them too. */
export const TORCHSERVE_IMAGE_CPU = "pytorch/torchserve:0.12.0-cpu";
export const TORCHSERVE_IMAGE_GPU = "pytorch/torchserve:0.12.0-gpu";

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
    readonly startupTimeoutSeconds: number;
    readonly rolloutTimeoutMinutes: number;
}

export function resolveServer(args: TorchServeStackArgs, problems: ProblemList): ServerSettings {
    const gpus = args.gpus ?? 0;
    if (!isIntInRange(gpus, 0, 16)) {
        problems.add({ key: "gpus", value: gpus, problem: "must be a whole number from 0 to 16", fix: set("gpus", "1") });
    }
    const image = args.image ?? (gpus > 0 ? TORCHSERVE_IMAGE_GPU : TORCHSERVE_IMAGE_CPU);
    if (!image.trim() || /\s/.test(image)) {
        problems.add({ key: "image", value: image, problem: "is not a container image reference", fix: set("image", TORCHSERVE_IMAGE_CPU) });
    }
    const replicas = args.replicas ?? 2;
    if (!isIntInRange(replicas, 1, 1000)) {
        problems.add({ key: "replicas", value: replicas, problem: "must be a whole number from 1 to 1000", fix: set("replicas", "2") });
    }
    const maxSurge = args.maxSurge ?? 1;
    const maxUnavailable = args.maxUnavailable ?? 0;
    for (const [key, value] of [["maxSurge", maxSurge], ["maxUnavailable", maxUnavailable]] as const) {
        if (!isIntOrPercent(value)) {
            problems.add({ key, value, problem: "must be a non-negative whole number or a percentage such as 25%", fix: set(key, "1") });
        }
    }
    if (isIntOrPercent(maxSurge) && isIntOrPercent(maxUnavailable) && isZeroBound(maxSurge) && isZeroBound(maxUnavailable)) {
        problems.add({ key: "maxSurge", value: maxSurge, problem: "and maxUnavailable are both zero, so a rollout could never make progress", fix: set("maxSurge", "1") });
    }

    const resources = {
        cpuRequest: args.cpuRequest ?? "1",
        cpuLimit: args.cpuLimit ?? "1",
        memoryRequest: args.memoryRequest ?? "1Gi",
        memoryLimit: args.memoryLimit ?? "4Gi",
    };
    for (const [key, value] of Object.entries(resources)) {
        if (!isQuantity(value) || quantityValue(value) <= 0) {
            problems.add({ key, value, problem: "is not a positive Kubernetes quantity (e.g. 500m or 2 for CPU, 512Mi or 4Gi for memory)", fix: set(key, key.startsWith("cpu") ? "1" : "4Gi") });
        }
    }
    for (const [request, limit] of [["cpuRequest", "cpuLimit"], ["memoryRequest", "memoryLimit"]] as const) {
        const r = resources[request];
        const l = resources[limit];
        if (isQuantity(r) && isQuantity(l) && quantityValue(r) > quantityValue(l)) {
            problems.add({ key: request, value: r, problem: `is larger than ${limit} (${l}); Kubernetes rejects such a pod`, fix: set(request, l) });
        }
    }

    const ports = {
        inference: args.inferencePort ?? 8080,
        management: args.managementPort ?? 8081,
        metrics: args.metricsPort ?? 8082,
    };
    const portKeys = { inference: "inferencePort", management: "managementPort", metrics: "metricsPort" } as const;
    const seen = new Map<number, string>();
    for (const [role, port] of Object.entries(ports) as [keyof typeof ports, number][]) {
        const key = portKeys[role];
        if (!isIntInRange(port, 1024, 65535)) {
            problems.add({ key, value: port, problem: "must be a whole number from 1024 to 65535 (the server runs as a non-root user)", fix: set(key, String({ inference: 8080, management: 8081, metrics: 8082 }[role])) });
        } else if (seen.has(port)) {
            problems.add({ key, value: port, problem: `clashes with ${seen.get(port)}`, fix: `give each of inferencePort, managementPort and metricsPort its own port, e.g. ${set(key, String(port + 1))}` });
        } else {
            seen.set(port, key);
        }
    }

    const workers = {
        minWorkers: args.minWorkers ?? 1,
        maxWorkers: args.maxWorkers ?? 1,
        batchSize: args.batchSize ?? 1,
        maxBatchDelayMs: args.maxBatchDelayMs ?? 100,
        responseTimeoutSeconds: args.responseTimeoutSeconds ?? 120,
    };
    const workerBounds: Record<keyof WorkerSettings, [number, number]> = {
        minWorkers: [1, 64], maxWorkers: [1, 64], batchSize: [1, 4096], maxBatchDelayMs: [0, 600_000], responseTimeoutSeconds: [1, 86_400],
    };
    for (const [key, [min, max]] of Object.entries(workerBounds) as [keyof WorkerSettings, [number, number]][]) {
        if (!isIntInRange(workers[key], min, max)) {
            problems.add({ key, value: workers[key], problem: `must be a whole number from ${min} to ${max}`, fix: set(key, String(Math.max(min, 1))) });
        }
    }
    if (workers.minWorkers > workers.maxWorkers) {
        problems.add({ key: "minWorkers", value: workers.minWorkers, problem: `is larger than maxWorkers (${workers.maxWorkers})`, fix: set("maxWorkers", String(workers.minWorkers)) });
    }
    const jobQueueSize = args.jobQueueSize ?? 100;
    if (!isIntInRange(jobQueueSize, 1, 1_000_000)) {
        problems.add({ key: "jobQueueSize", value: jobQueueSize, problem: "must be a whole number from 1 to 1000000", fix: set("jobQueueSize", "100") });
    }
    const metricsMode = args.metricsMode ?? "prometheus";
    if (!METRICS_MODES.includes(metricsMode)) {
        problems.add({ key: "metricsMode", value: metricsMode, problem: `must be one of ${METRICS_MODES.join(", ")}`, fix: set("metricsMode", "prometheus") });
    }
    const startupTimeoutSeconds = args.startupTimeoutSeconds ?? 300;
    if (!isIntInRange(startupTimeoutSeconds, 10, 3600)) {
        problems.add({ key: "startupTimeoutSeconds", value: startupTimeoutSeconds, problem: "must be a whole number of seconds from 10 to 3600", fix: set("startupTimeoutSeconds", "300") });
    }
    const rolloutTimeoutMinutes = args.rolloutTimeoutMinutes ?? 10;
    if (!isIntInRange(rolloutTimeoutMinutes, 1, 240)) {
        problems.add({ key: "rolloutTimeoutMinutes", value: rolloutTimeoutMinutes, problem: "must be a whole number of minutes from 1 to 240", fix: set("rolloutTimeoutMinutes", "10") });
    }
    const extraProperties = args.extraProperties ?? {};
    validateExtraProperties(extraProperties, problems);

    return {
        image, gpus, replicas, maxSurge, maxUnavailable, ...resources, ports, workers, jobQueueSize,
        installPyDepPerModel: args.installPyDepPerModel ?? args.requirementsFile !== undefined,
        tokenAuth: args.tokenAuth ?? false,
        enableModelApi: args.enableModelApi ?? false,
        metricsMode, extraProperties, startupTimeoutSeconds, rolloutTimeoutMinutes,
    };
}
