/**
 * Arguments of {@link TorchServeStack}. Every field has the same name as the
 * stack config key that sets it (`pulumi config set <field> <value>`), so an
 * error can name the key a user has to change.
 *
 * The values are plain, not `pulumi.Input<T>`: each one shapes what is
 * rendered (config.properties, the archive plan, the pod spec) and has to be
 * validated at preview time, before anything is deployed or deleted.
 */
export interface TorchServeStackArgs {
    // ---- Namespace and naming -------------------------------------------
    /** Kubernetes namespace of this stack; every object of the stack lives in it. */
    readonly namespace: string;
    /** Create the Namespace too (it is kept, not deleted, on destroy). Default false. */
    readonly createNamespace?: boolean;
    /** Base name of the Deployment, the Services and the claim. Default `torchserve`. */
    readonly appName?: string;

    // ---- Model and archive step ------------------------------------------
    /** Stable model name: clients call `/predictions/<modelName>`. Letters, digits, `_`, `-`. */
    readonly modelName: string;
    /**
     * Version of this deploy (a Kubernetes label value). When unset, a short
     * content hash of the model artifacts, so an unchanged re-run changes nothing.
     * A version names one archive forever: setting an older version again rolls
     * back to its archive, it never rebuilds it.
     */
    readonly modelVersion?: string;
    /** The serialized model (`--serialized-file`), relative to the project directory or absolute. */
    readonly serializedFile: string;
    /** Handler: a `.py` file, or a built-in TorchServe handler name such as `image_classifier`. */
    readonly handler: string;
    /** Extra files packed into the archive (`--extra-files`). Default none. */
    readonly extraFiles?: readonly string[];
    /** Python requirements packed into the archive (`--requirements-file`). */
    readonly requirementsFile?: string;
    /** `--archive-format`: `zip-store` (default, no compression) or `default` (deflate). */
    readonly archiveFormat?: ArchiveFormat;
    /** How many archives of this model stay in the model store; older ones move to `backup/`. Default 3. */
    readonly archiveKeep?: number;
    /** The archiver executable. Default `torch-model-archiver` from PATH. */
    readonly archiverCommand?: string;
    /** Where the model-store volume is mounted on the machine that runs `pulumi up` (absolute, or relative to the project directory). */
    readonly modelStorePath: string;

    // ---- Model-store volume -----------------------------------------------
    /** Use this existing PersistentVolumeClaim instead of creating one. */
    readonly modelStoreClaimName?: string;
    /** Size of the created claim. Default `10Gi`. */
    readonly modelStoreSize?: string;
    /** Storage class of the created claim; unset uses the cluster default. */
    readonly modelStoreStorageClass?: string;
    /** Access modes of the created claim. Default `["ReadWriteMany"]` (replicas on several nodes). */
    readonly modelStoreAccessModes?: readonly string[];
    /** Node path for a static hostPath PersistentVolume (single-node clusters); binds the claim to it. */
    readonly modelStoreHostPath?: string;
    /** Refuse to delete or replace the claim (Pulumi `protect`). Default true. */
    readonly modelStoreProtect?: boolean;

    // ---- Server ---------------------------------------------------------------
    /** Container image. Default `pytorch/torchserve:0.12.0-cpu`, or `-gpu` when `gpus` > 0. */
    readonly image?: string;
    /** GPUs per pod (`nvidia.com/gpu` limit). Default 0. */
    readonly gpus?: number;
    /** Pod replicas. Default 2. */
    readonly replicas?: number;
    /** RollingUpdate maxSurge (count or percent). Default 1. */
    readonly maxSurge?: number | string;
    /** RollingUpdate maxUnavailable (count or percent). Default 0: no capacity is lost during a rollout. */
    readonly maxUnavailable?: number | string;
    /** CPU request. Default `1`. */
    readonly cpuRequest?: string;
    /** CPU limit. Default `1`. */
    readonly cpuLimit?: string;
    /** Memory request. Default `1Gi`. */
    readonly memoryRequest?: string;
    /** Memory limit. Default `4Gi`. */
    readonly memoryLimit?: string;
    /** Inference API port. Default 8080. */
    readonly inferencePort?: number;
    /** Management API port. Default 8081. */
    readonly managementPort?: number;
    /** Metrics API port. Default 8082. */
    readonly metricsPort?: number;
    /** Minimum workers per loaded model version. Default 1. */
    readonly minWorkers?: number;
    /** Maximum workers per loaded model version. Default 1. */
    readonly maxWorkers?: number;
    /** Server-side batch size. Default 1. */
    readonly batchSize?: number;
    /** Longest wait to fill a batch, in milliseconds. Default 100. */
    readonly maxBatchDelayMs?: number;
    /** Inference response timeout, in seconds. Default 120. */
    readonly responseTimeoutSeconds?: number;
    /** `job_queue_size`. Default 100. */
    readonly jobQueueSize?: number;
    /** `install_py_dep_per_model` (pip in the pod at load). Default: true when `requirementsFile` is set. */
    readonly installPyDepPerModel?: boolean;
    /** Keep TorchServe token authorization on (then probes use TCP checks). Default false. */
    readonly tokenAuth?: boolean;
    /** Enable the model register/unregister API. Default false (ShellTorch, CVE-2023-43654). */
    readonly enableModelApi?: boolean;
    /** `metrics_mode`: `prometheus` (default) or `log`. */
    readonly metricsMode?: MetricsMode;
    /** More `config.properties` entries; managed keys are refused with the key to use instead. */
    readonly extraProperties?: Readonly<Record<string, string>>;
    /** Time a pod may take from start to healthy before it is restarted. Default 300. */
    readonly startupTimeoutSeconds?: number;
    /** How long `pulumi up` waits for a rollout. Default 10. */
    readonly rolloutTimeoutMinutes?: number;

    // ---- Service -----------------------------------------------------------
    /** Type of the inference Service: `ClusterIP` (default), `NodePort` or `LoadBalancer`. */
    readonly serviceType?: ServiceType;
    /** Also expose the management port on the inference Service. Default false. */
    readonly exposeManagement?: boolean;
    /** Also expose the metrics port on the inference Service. Default false. */
    readonly exposeMetrics?: boolean;
}

/** Archive formats that produce a single `.mar` file the model store can rotate. */
export type ArchiveFormat = "default" | "zip-store";
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ["default", "zip-store"];

export type MetricsMode = "prometheus" | "log";
export const METRICS_MODES: readonly MetricsMode[] = ["prometheus", "log"];

export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";
export const SERVICE_TYPES: readonly ServiceType[] = ["ClusterIP", "NodePort", "LoadBalancer"];
