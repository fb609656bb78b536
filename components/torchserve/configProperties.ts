/**
 * Renders TorchServe's `config.properties`. Pure and deterministic: sorted
 * keys, no timestamps, one `key=value` per line, so identical settings give
 * identical text (and the same ConfigMap), and any change gives a new one.
 */
import { ServerSettings } from "../config";
import { entryName } from "../store";

/** Where the pod sees the model store and the config (kubernetes/podSpec.ts mounts them there). */
export const CONTAINER_MODEL_STORE = "/home/model-server/model-store";
export const CONTAINER_CONFIG_DIR = "/home/model-server/config";
export const CONFIG_FILE_NAME = "config.properties";
/** Where the management API listens unless exposed, and where the in-pod checks call it. */
export const LOOPBACK = "127.0.0.1";

/** What to render for one stack. */
export interface ConfigInput {
    readonly modelName: string;
    /** Versions to load, the deployed (default) one first. */
    readonly versions: readonly string[];
    /**
     * Those of `versions` published as model directories (`<model>.<version>`, loaded in place); the
     * others are `.mar` files. Each version's kind is recorded in the release, so a preview without
     * the store renders the same names.
     */
    readonly directories?: readonly string[];
    readonly server: ServerSettings;
    /**
     * Also bind the management API where the others are (`exposeManagement`). Otherwise it listens
     * on the pod's loopback only: the probes run inside the pod, and nothing else needs it.
     */
    readonly exposeManagement?: boolean;
    /** Where the inference and metrics APIs bind: 0.0.0.0 in a pod; loopback when a test runs the server locally. */
    readonly bindAddress?: string;
    /** Model store path as the server sees it. */
    readonly modelStore?: string;
}

/** The properties as a sorted key/value map (what the file means). */
export function buildConfigProperties(input: ConfigInput): Record<string, string> {
    const { server, modelName, versions } = input;
    if (versions.length === 0) {
        throw new Error("at least one model version must be loaded");
    }
    const bind = input.bindAddress ?? "0.0.0.0";
    const managementBind = input.exposeManagement ? bind : LOOPBACK;
    const directories = new Set(input.directories ?? []);
    const entry = (version: string) => entryName(modelName, version, directories.has(version) ? "dir" : "mar");
    const perVersion: Record<string, Record<string, unknown>> = {};
    versions.forEach((version, i) => {
        perVersion[version] = sortKeys({
            batchSize: server.workers.batchSize,
            defaultVersion: i === 0,
            marName: entry(version),
            maxBatchDelay: server.workers.maxBatchDelayMs,
            maxWorkers: server.workers.maxWorkers,
            minWorkers: server.workers.minWorkers,
            responseTimeout: server.workers.responseTimeoutSeconds,
        });
    });
    const managed: Record<string, string> = {
        default_startup_timeout: String(server.startupTimeoutSeconds),
        disable_token_authorization: String(!server.tokenAuth),
        enable_model_api: String(server.enableModelApi),
        inference_address: `http://${bind}:${server.ports.inference}`,
        install_py_dep_per_model: String(server.installPyDepPerModel),
        job_queue_size: String(server.jobQueueSize),
        load_models: versions.map(entry).join(","),
        management_address: `http://${managementBind}:${server.ports.management}`,
        metrics_address: `http://${bind}:${server.ports.metrics}`,
        metrics_mode: server.metricsMode,
        model_store: input.modelStore ?? CONTAINER_MODEL_STORE,
        models: JSON.stringify({ [modelName]: sortKeys(perVersion) }),
    };
    const all: Record<string, string> = { ...stringValues(server.extraProperties), ...managed };
    return sortKeys(all) as Record<string, string>;
}

/** The file text: a header comment, then one sorted `key=value` line each. */
export function renderConfigProperties(input: ConfigInput): string {
    const properties = buildConfigProperties(input);
    const lines = [
        "# Rendered by torchserve-stack from stack config; edits here are overwritten.",
        ...Object.entries(properties).map(([key, value]) => `${key}=${value}`),
    ];
    return `${lines.join("\n")}\n`;
}

function stringValues(record: Readonly<Record<string, unknown>>): Record<string, string> {
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, String(v)]));
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
    return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
