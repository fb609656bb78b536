import * as path from "node:path";
import {
    ARCHIVE_FORMATS, ArchiveFormat, METRICS_MODES, MetricsMode, SERVICE_TYPES, ServiceType,
    TorchServeStackArgs,
} from "./stackArgs";
import { ProblemList } from "./errors";
import { EXTRA_PROPERTY_KEYS, MANAGED_PROPERTY_KEYS } from "./extraProperties";
import {
    closestMatch, isDns1035Label, isDnsLabel, isDnsSubdomain, isIntInRange, isIntOrPercent,
    isLabelValue, isModelName, isQuantity, isZeroBound, quantityValue,
} from "./validators";

/** TorchServe 0.12 images; the archiver ships inside them too. */
export const TORCHSERVE_IMAGE_CPU = "pytorch/torchserve:0.12.0-cpu";
export const TORCHSERVE_IMAGE_GPU = "pytorch/torchserve:0.12.0-gpu";

/** Handler names TorchServe resolves without a handler file. */
export const BUILTIN_HANDLERS: readonly string[] = [
    "image_classifier", "image_segmenter", "object_detector", "text_classifier",
];

/** A handler given as a file path rather than a built-in handler name. */
export function isHandlerFile(handler: string): boolean {
    return handler.endsWith(".py") || handler.includes("/");
}

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

/** Every setting of a stack, defaults applied and validated. */
export interface Settings {
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly appName: string;
    readonly model: ModelSettings;
    readonly store: StoreSettings;
    readonly server: ServerSettings;
    readonly service: ServiceSettings;
}

export interface ModelSettings {
    readonly name: string;
    /** The version the user set, if any; otherwise a content hash is used. */
    readonly explicitVersion?: string;
    readonly serializedFile: string;
    readonly handler: string;
    readonly extraFiles: readonly string[];
    readonly requirementsFile?: string;
    readonly archiveFormat: ArchiveFormat;
    readonly keep: number;
    readonly archiverCommand: string;
    /** Local mount path of the model-store volume. */
    readonly storePath: string;
}

export interface StoreSettings {
    readonly existingClaimName?: string;
    readonly size: string;
    readonly storageClass?: string;
    readonly accessModes: readonly string[];
    readonly hostPath?: string;
    readonly protect: boolean;
}

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

export interface ServiceSettings {
    readonly type: ServiceType;
    readonly exposeManagement: boolean;
    readonly exposeMetrics: boolean;
}

/** What validation may ask of the file system; injectable for tests. */
export interface FileChecks {
    /** True when `file` (relative to the project directory or absolute) is an existing regular file. */
    isFile(file: string): boolean;
}

/**
 * Applies defaults to `args` and validates all of them, reporting every
 * problem at once. Throws {@link ConfigValidationError}; never touches the cluster.
 */
export function resolveSettings(args: TorchServeStackArgs, files: FileChecks): Settings {
    const problems = new ProblemList();
    const set = (key: string, value: string) => `pulumi config set ${key} ${value}`;

    const namespace = args.namespace;
    if (!isDnsLabel(namespace ?? "")) {
        problems.add({
            key: "namespace", value: namespace,
            problem: "is not a valid Kubernetes namespace (lowercase letters, digits and '-', at most 63, starting and ending alphanumeric)",
            fix: set("namespace", "ml-staging"),
        });
    }
    const appName = args.appName ?? "torchserve";
    // The longest derived name is `<appName>-model-store`; Service names must be RFC 1035 labels.
    if (!isDns1035Label(appName) || appName.length > 40) {
        problems.add({
            key: "appName", value: appName,
            problem: "must start with a letter, use lowercase letters, digits and '-', and be at most 40 characters (it prefixes Service and claim names)",
            fix: set("appName", "torchserve"),
        });
    }

    const model = resolveModel(args, files, problems, set);
    const store = resolveStore(args, problems, set);
    const server = resolveServer(args, problems, set);
    const service = resolveService(args, problems, set);

    problems.throwIfAny();
    return { namespace, createNamespace: args.createNamespace ?? false, appName, model, store, server, service };
}

type SetCommand = (key: string, value: string) => string;

function resolveModel(args: TorchServeStackArgs, files: FileChecks, problems: ProblemList, set: SetCommand): ModelSettings {
    if (!args.modelName) {
        problems.add({ key: "modelName", value: args.modelName, problem: "is required: it is the stable name clients call at /predictions/<modelName>", fix: set("modelName", "resnet") });
    } else if (!isModelName(args.modelName)) {
        problems.add({ key: "modelName", value: args.modelName, problem: "may only use letters, digits, '_' and '-' (no dots), starting with a letter or digit, at most 64 characters", fix: set("modelName", args.modelName.replace(/[^A-Za-z0-9_-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "model") });
    }
    if (args.modelVersion !== undefined && (args.modelVersion === "" || !isLabelValue(args.modelVersion))) {
        problems.add({ key: "modelVersion", value: args.modelVersion, problem: "must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", fix: `${set("modelVersion", "2026-11-24.1")}, or remove it to use a content hash: pulumi config rm modelVersion` });
    }

    const requireFile = (key: string, file: string | undefined, what: string) => {
        if (!file) {
            problems.add({ key, value: file, problem: `is required: ${what}`, fix: set(key, "path/to/file") });
        } else if (!files.isFile(file)) {
            problems.add({ key, value: file, problem: `${what} does not exist or is not a file`, fix: `write the file first, or point ${key} at it: ${set(key, "path/to/file")} (relative paths start at the project directory)` });
        }
    };
    requireFile("serializedFile", args.serializedFile, "the serialized model to archive");
    const handler = args.handler;
    if (handler && !isHandlerFile(handler)) {
        if (!BUILTIN_HANDLERS.includes(handler)) {
            problems.add({ key: "handler", value: handler, problem: `is neither a .py file nor a built-in handler (${BUILTIN_HANDLERS.join(", ")})`, fix: set("handler", "handler.py") });
        }
    } else {
        requireFile("handler", handler, "the handler file");
    }
    const extraFiles = args.extraFiles ?? [];
    if (!Array.isArray(extraFiles)) {
        problems.add({ key: "extraFiles", value: extraFiles, problem: "must be a list of file paths", fix: `pulumi config set --path 'extraFiles[0]' labels.json` });
    } else {
        extraFiles.forEach((file, i) => {
            if (typeof file !== "string" || !files.isFile(file)) {
                problems.add({ key: `extraFiles[${i}]`, value: file, problem: "does not exist or is not a file", fix: `create it or remove it from the list: pulumi config set --path 'extraFiles[${i}]' path/to/file` });
            } else if (/[,*?[\]]/.test(file)) {
                problems.add({ key: `extraFiles[${i}]`, value: file, problem: "contains a comma or a wildcard character (* ? [ ]), which torch-model-archiver's --extra-files treats as a separator or a pattern", fix: "rename the file without those characters" });
            }
        });
    }
    if (args.requirementsFile !== undefined) {
        requireFile("requirementsFile", args.requirementsFile, "the requirements file");
    }
    const archiveFormat = args.archiveFormat ?? "zip-store";
    if (!ARCHIVE_FORMATS.includes(archiveFormat)) {
        problems.add({ key: "archiveFormat", value: archiveFormat, problem: `must be one of ${ARCHIVE_FORMATS.join(", ")} (tgz and no-archive produce no .mar file, so versions could not be kept and rotated)`, fix: set("archiveFormat", "zip-store") });
    }
    const keep = args.archiveKeep ?? 3;
    if (!isIntInRange(keep, 1, 100)) {
        problems.add({ key: "archiveKeep", value: keep, problem: "must be a whole number from 1 to 100 (the deployed version is always kept)", fix: set("archiveKeep", "3") });
    }
    const archiverCommand = args.archiverCommand ?? "torch-model-archiver";
    if (!archiverCommand.trim()) {
        problems.add({ key: "archiverCommand", value: archiverCommand, problem: "is empty", fix: "pulumi config rm archiverCommand (uses torch-model-archiver from PATH)" });
    }
    if (!args.modelStorePath) {
        problems.add({ key: "modelStorePath", value: args.modelStorePath, problem: "is required: the local path where the model-store volume is mounted on the machine that runs pulumi up", fix: set("modelStorePath", "/mnt/model-store") });
    }
    return {
        name: args.modelName,
        explicitVersion: args.modelVersion,
        serializedFile: args.serializedFile,
        handler: args.handler,
        extraFiles,
        requirementsFile: args.requirementsFile,
        archiveFormat,
        keep,
        archiverCommand,
        storePath: args.modelStorePath,
    };
}

function resolveStore(args: TorchServeStackArgs, problems: ProblemList, set: SetCommand): StoreSettings {
    const size = args.modelStoreSize ?? "10Gi";
    if (!isQuantity(size) || quantityValue(size) <= 0) {
        problems.add({ key: "modelStoreSize", value: size, problem: "is not a positive Kubernetes quantity", fix: set("modelStoreSize", "20Gi") });
    }
    if (args.modelStoreClaimName !== undefined && !isDnsSubdomain(args.modelStoreClaimName)) {
        problems.add({ key: "modelStoreClaimName", value: args.modelStoreClaimName, problem: "is not a valid claim name", fix: set("modelStoreClaimName", "serving-model-pvc") });
    }
    if (args.modelStoreStorageClass !== undefined && args.modelStoreStorageClass !== "" && !isDnsSubdomain(args.modelStoreStorageClass)) {
        problems.add({ key: "modelStoreStorageClass", value: args.modelStoreStorageClass, problem: "is not a valid storage class name", fix: set("modelStoreStorageClass", "standard") });
    }
    const accessModes = args.modelStoreAccessModes ?? ["ReadWriteMany"];
    if (!Array.isArray(accessModes) || accessModes.length === 0 || accessModes.some((m) => !ACCESS_MODES.includes(m))) {
        problems.add({ key: "modelStoreAccessModes", value: accessModes, problem: `must be a non-empty list of ${ACCESS_MODES.join(", ")}`, fix: "pulumi config set --path 'modelStoreAccessModes[0]' ReadWriteMany" });
    }
    if (args.modelStoreHostPath !== undefined && !path.posix.isAbsolute(args.modelStoreHostPath)) {
        problems.add({ key: "modelStoreHostPath", value: args.modelStoreHostPath, problem: "must be an absolute path on the node", fix: set("modelStoreHostPath", "/data/model-store") });
    }
    if (args.modelStoreClaimName !== undefined && args.modelStoreHostPath !== undefined) {
        problems.add({ key: "modelStoreHostPath", value: args.modelStoreHostPath, problem: "cannot be combined with modelStoreClaimName: an existing claim already has its volume", fix: "pulumi config rm modelStoreHostPath" });
    }
    return {
        existingClaimName: args.modelStoreClaimName,
        size,
        storageClass: args.modelStoreStorageClass,
        accessModes,
        hostPath: args.modelStoreHostPath,
        protect: args.modelStoreProtect ?? true,
    };
}

function resolveServer(args: TorchServeStackArgs, problems: ProblemList, set: SetCommand): ServerSettings {
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

function validateExtraProperties(extra: Readonly<Record<string, string>>, problems: ProblemList): void {
    if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
        problems.add({ key: "extraProperties", value: extra, problem: "must be a map of config.properties keys to values", fix: "pulumi config set --path 'extraProperties.max_request_size' 104857600" });
        return;
    }
    for (const [name, value] of Object.entries(extra)) {
        const key = `extraProperties.${name}`;
        const fixFor = (v: string) => `pulumi config set --path '${key}' ${v}`;
        if (name in MANAGED_PROPERTY_KEYS) {
            problems.add({ key, value, problem: `${name} is rendered by this program`, fix: `set ${MANAGED_PROPERTY_KEYS[name]} instead, and remove it: pulumi config rm --path '${key}'` });
            continue;
        }
        if (!EXTRA_PROPERTY_KEYS.includes(name)) {
            const hint = closestMatch(name, EXTRA_PROPERTY_KEYS);
            problems.add({ key, value, problem: `${name} is not a TorchServe 0.12 config.properties key${hint ? ` (did you mean ${hint}?)` : ""}`, fix: hint ? `pulumi config rm --path '${key}' and set extraProperties.${hint}` : `pulumi config rm --path '${key}'` });
            continue;
        }
        if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            problems.add({ key, value, problem: "must be a single string, number or boolean", fix: fixFor("VALUE") });
            continue;
        }
        const text = String(value);
        // One line, printable ASCII, no escapes: both Java Properties.load and TorchServe's
        // naive Python parser must read it the same way.
        if (!/^[\x20-\x7e]*$/.test(text) || text.includes("\\")) {
            problems.add({ key, value, problem: "must be one line of printable ASCII without backslashes (Java and Python parse config.properties differently otherwise)", fix: fixFor("VALUE") });
        } else if (text !== text.trim()) {
            problems.add({ key, value, problem: "has leading or trailing spaces, which config.properties parsers treat differently", fix: fixFor(JSON.stringify(text.trim())) });
        } else if (text.includes("$$")) {
            problems.add({ key, value, problem: "contains $$, which TorchServe expands from environment variables and fails to start on when unset", fix: fixFor("VALUE") });
        }
    }
}

function resolveService(args: TorchServeStackArgs, problems: ProblemList, set: SetCommand): ServiceSettings {
    const type = args.serviceType ?? "ClusterIP";
    if (!SERVICE_TYPES.includes(type)) {
        problems.add({ key: "serviceType", value: type, problem: `must be one of ${SERVICE_TYPES.join(", ")}`, fix: set("serviceType", "ClusterIP") });
    }
    return { type, exposeManagement: args.exposeManagement ?? false, exposeMetrics: args.exposeMetrics ?? false };
}
