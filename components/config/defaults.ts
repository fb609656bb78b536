/**
 * The one home of every stack config default. Pulumi.yaml must declare a
 * default for each optional key too (Pulumi treats a key without one as
 * required); a unit test keeps those, and README's table, equal to these.
 */
import { TorchServeStackArgs } from "./stackArgs";

/** TorchServe 0.12 images; the archiver ships inside them too. */
export const TORCHSERVE_IMAGE_CPU = "pytorch/torchserve:0.12.0-cpu";
export const TORCHSERVE_IMAGE_GPU = "pytorch/torchserve:0.12.0-gpu";

/** Defaults of the optional keys that have a fixed one. */
export const DEFAULTS = {
    // Namespace and naming (`namespace` defaults to the stack name, see parseStackConfig)
    createNamespace: false,
    appName: "torchserve",
    // Model and archive step
    extraFiles: [],
    archiveFormat: "directory",
    archiveKeep: 3,
    servedVersions: 1,
    archiverCommand: "torch-model-archiver",
    // Model-store volume
    modelStoreSize: "10Gi",
    modelStoreAccessModes: ["ReadWriteMany"],
    modelStoreProtect: true,
    // Server
    gpus: 0,
    replicas: 2,
    maxSurge: 1,
    maxUnavailable: 0,
    cpuRequest: "1",
    cpuLimit: "1",
    memoryRequest: "1Gi",
    memoryLimit: "4Gi",
    inferencePort: 8080,
    managementPort: 8081,
    metricsPort: 8082,
    minWorkers: 1,
    maxWorkers: 1,
    batchSize: 1,
    maxBatchDelayMs: 100,
    responseTimeoutSeconds: 120,
    jobQueueSize: 100,
    tokenAuth: false,
    enableModelApi: false,
    metricsMode: "prometheus",
    extraProperties: {},
    allowUnsafeExtraProperties: false,
    startupTimeoutSeconds: 300,
    podStartMarginSeconds: 120,
    rolloutTimeoutMinutes: 10,
    readOnlyRootFilesystem: true,
    ephemeralStorageBase: "1Gi",
    spreadReplicas: "preferred",
    podDisruptionBudget: true,
    autoscaleMaxReplicas: 0,
    autoscaleCpuPercent: 70,
    // Service and network
    serviceType: "ClusterIP",
    exposeManagement: false,
    exposeMetrics: false,
    networkPolicy: true,
    inferenceFromNamespaces: [],
    metricsScraperNamespace: "monitoring",
    restrictEgress: false,
    egressAllowedTo: [],
} as const satisfies { readonly [K in keyof TorchServeStackArgs]?: TorchServeStackArgs[K] };

/** `image` when unset: the CPU image, or the GPU image when the pod gets GPUs. */
export function defaultImage(gpus: number): string {
    return gpus > 0 ? TORCHSERVE_IMAGE_GPU : TORCHSERVE_IMAGE_CPU;
}

/** `installPyDepPerModel` when unset (`auto`): pip runs in the pod only when the archive has requirements. */
export function defaultInstallPyDepPerModel(requirementsFile: string | undefined): boolean {
    return requirementsFile !== undefined;
}
