/**
 * How much memory a pod needs for the versions it loads, from the measured
 * footprint of TorchServe 0.12 (CPU image, torch 2.4; README, Performance,
 * "Memory per pod"): the frontend's JVM, plus for every worker of every loaded
 * version a Python process with torch and its own copy of the weights. Loading
 * also reads the weights through the page cache, which the pod's memory cgroup
 * is charged for (reclaimable, but a limit with no room for it keeps the pod
 * under memory pressure while it loads).
 */
import { Settings, quantityValue } from "../config";

const MIB = 2 ** 20;

/** Resident memory of the frontend (JVM) with no model: measured 117-120 MiB, rounded up. */
export const FRONTEND_BYTES = 128 * MIB;

/** Resident memory of one worker besides its model's weights (Python + torch): measured 145-148 MiB, rounded up. */
export const WORKER_BYTES = 160 * MIB;

export interface MemoryEstimate {
    /** Resident memory once every served version is loaded: below this, the pod is killed for memory. */
    readonly residentBytes: number;
    /** Resident memory plus the page cache of loading the largest version: below this, loads run under pressure. */
    readonly loadingBytes: number;
    /** Served versions whose size is not recorded (counted without their weights). */
    readonly unknownVersions: number;
}

/**
 * The memory a pod needs for its served versions: {@link FRONTEND_BYTES} + for each version
 * `maxWorkers` × ({@link WORKER_BYTES} + the version's input bytes), and the largest version's bytes
 * more while it loads.
 * @param servedBytes Input bytes of each served version (about its weights); 0 when not recorded.
 * @param workers Workers per version (`maxWorkers`: each loads its own copy of the weights).
 */
export function estimatePodMemory(servedBytes: readonly number[], workers: number): MemoryEstimate {
    const resident = servedBytes.reduce((sum, bytes) => sum + workers * (WORKER_BYTES + bytes), FRONTEND_BYTES);
    return {
        residentBytes: resident,
        loadingBytes: resident + Math.max(0, ...servedBytes),
        unknownVersions: servedBytes.filter((bytes) => bytes <= 0).length,
    };
}

function gib(bytes: number): string {
    return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Warnings for a `memoryLimit` clearly too small for the versions a pod loads (none on GPU pods, whose
 * weights live mostly in device memory, and none when no served version's size is known).
 * @param settings The stack's validated settings.
 * @param served The versions every pod loads, the deployed one first.
 * @param servedBytes Input bytes of each (0 when not recorded).
 */
export function memoryWarnings(
    settings: Settings,
    served: readonly string[],
    servedBytes: readonly number[],
): string[] {
    const server = settings.server;
    if (server.gpus > 0 || servedBytes.every((bytes) => bytes <= 0)) {
        return [];
    }
    const estimate = estimatePodMemory(servedBytes, server.workers.maxWorkers);
    const limit = quantityValue(server.memoryLimit);
    const what =
        `${served.length} version${served.length === 1 ? "" : "s"} (${served.join(", ")}) × ` +
        `${server.workers.maxWorkers} worker${server.workers.maxWorkers === 1 ? "" : "s"}`;
    const unknown =
        estimate.unknownVersions > 0
            ? `; ${estimate.unknownVersions} of them of unknown size, counted without weights`
            : "";
    const fixes = `raise memoryLimit, or lower servedVersions or maxWorkers`;
    if (limit < estimate.residentBytes) {
        return [
            `memoryLimit ${server.memoryLimit} is below the ${gib(estimate.residentBytes)} each pod needs for ` +
                `${what}${unknown}: the pods will be killed for memory while loading; ${fixes} ` +
                `(about ${gib(estimate.loadingBytes)} leaves room to load)`,
        ];
    }
    if (limit < estimate.loadingBytes) {
        return [
            `memoryLimit ${server.memoryLimit} leaves no room to load ${what}${unknown}: they need ` +
                `${gib(estimate.residentBytes)} resident plus ${gib(estimate.loadingBytes - estimate.residentBytes)} ` +
                `of page cache while loading, so the pods load under memory pressure (slow starts); ${fixes} ` +
                `(about ${gib(estimate.loadingBytes)})`,
        ];
    }
    return [];
}
