/**
 * Arguments of {@link TorchServeStack}. Every field has the same name as the
 * stack config key that sets it (`pulumi config set <field> <value>`), so an
 * error can name the key a user has to change.
 *
 * The values are plain, not `pulumi.Input<T>`: each one shapes what is
 * rendered (config.properties, the archive plan, the pod spec) and has to be
 * validated at preview time, before anything is deployed or deleted.
 *
 * Optional fields default to {@link DEFAULTS} (defaults.ts, their one home)
 * unless the field says how its default is computed.
 */
export interface TorchServeStackArgs {
    // ---- Namespace and naming -------------------------------------------
    /** Kubernetes namespace of this stack; every object of the stack lives in it (the stack name if unset). */
    readonly namespace: string;
    /** Create the Namespace too (it is kept, not deleted, on destroy). */
    readonly createNamespace?: boolean;
    /** Base name of the Deployment, the Services and the claim. */
    readonly appName?: string;

    // ---- Model and archive step ------------------------------------------
    /** Stable model name: clients call `/predictions/<modelName>`. Letters, digits, `_`, `-`. */
    readonly modelName: string;
    /**
     * Version of this deploy (a Kubernetes label value). With new model files and
     * no version: a short content hash of the files, so an unchanged re-run
     * changes nothing. Without model files: switch to this version's archive in
     * the store (a rollback). A version names one set of bytes forever.
     * Usually given per run by the deploy command, not committed.
     */
    readonly modelVersion?: string;
    /**
     * The new model (`--serialized-file`), relative to the project directory or
     * absolute. Set, the run brings a new model; unset (and no `modelVersion`),
     * the run keeps the model the stack deployed last. Usually given per run by
     * the deploy command (`npm run deploy -- --serialized-file ...`), not committed.
     */
    readonly serializedFile?: string;
    /**
     * Handler: a `.py` file, or a built-in TorchServe handler name such as
     * `image_classifier`. Needed with `serializedFile`, read only then.
     */
    readonly handler?: string;
    /** Extra files packed into the archive (`--extra-files`). */
    readonly extraFiles?: readonly string[];
    /** Python requirements packed into the archive (`--requirements-file`). */
    readonly requirementsFile?: string;
    /**
     * How a new version is published: `directory` (a model directory, loaded in place), `zip-store`
     * (a `.mar`, no compression) or `default` (a `.mar`, deflate).
     */
    readonly archiveFormat?: ArchiveFormat;
    /** Archives of this model kept in the stack's part of the store for rollbacks; older ones move to `backup/`. */
    readonly archiveKeep?: number;
    /**
     * Versions every pod loads: the deployed one, plus the most recently deployed
     * others (each reachable at `/predictions/<modelName>/<version>`). Each costs
     * every pod its memory and start time. At most `archiveKeep`.
     */
    readonly servedVersions?: number;
    /** The archiver executable. A name is looked up on PATH. */
    readonly archiverCommand?: string;
    /**
     * Where the model-store volume is mounted on the machine that runs a deploy
     * (absolute, or relative to the project directory). Needed only by runs that
     * bring a model; a pull request's preview needs no store.
     */
    readonly modelStorePath?: string;
    /**
     * This stack's part of the model store (a relative directory): its archives,
     * its backups, its lock. The pods mount only this part. Unset:
     * `<namespace>/<appName>`, so stacks sharing one volume never touch each
     * other's archives.
     */
    readonly modelStoreSubdir?: string;

    // ---- Model-store volume -----------------------------------------------
    /** Use this existing PersistentVolumeClaim instead of creating one. */
    readonly modelStoreClaimName?: string;
    /** Size of the created claim. */
    readonly modelStoreSize?: string;
    /** Storage class of the created claim; unset uses the cluster default. */
    readonly modelStoreStorageClass?: string;
    /** Access modes of the created claim (replicas on several nodes need a mode that allows that). */
    readonly modelStoreAccessModes?: readonly string[];
    /** Node path for a static hostPath PersistentVolume (single-node clusters); binds the claim to it. */
    readonly modelStoreHostPath?: string;
    /** Refuse to delete or replace the claim (Pulumi `protect`). */
    readonly modelStoreProtect?: boolean;

    // ---- Server ---------------------------------------------------------------
    /** Container image. Unset: TorchServe 0.12's CPU image, or its GPU image when `gpus` > 0 ({@link defaultImage}). */
    readonly image?: string;
    /** GPUs per pod (`nvidia.com/gpu` limit). */
    readonly gpus?: number;
    /** Pod replicas. */
    readonly replicas?: number;
    /** RollingUpdate maxSurge (count or percent). */
    readonly maxSurge?: number | string;
    /** RollingUpdate maxUnavailable (count or percent); 0 loses no capacity during a rollout. */
    readonly maxUnavailable?: number | string;
    /** CPU request. */
    readonly cpuRequest?: string;
    /** CPU limit. */
    readonly cpuLimit?: string;
    /** Memory request. */
    readonly memoryRequest?: string;
    /** Memory limit. */
    readonly memoryLimit?: string;
    /** Inference API port. */
    readonly inferencePort?: number;
    /** Management API port. */
    readonly managementPort?: number;
    /** Metrics API port. */
    readonly metricsPort?: number;
    /** Minimum workers per loaded model version. */
    readonly minWorkers?: number;
    /** Maximum workers per loaded model version. */
    readonly maxWorkers?: number;
    /** Server-side batch size. */
    readonly batchSize?: number;
    /** Longest wait to fill a batch, in milliseconds. */
    readonly maxBatchDelayMs?: number;
    /** Inference response timeout, in seconds. */
    readonly responseTimeoutSeconds?: number;
    /** `job_queue_size`. */
    readonly jobQueueSize?: number;
    /**
     * `install_py_dep_per_model` (pip in the pod at load).
     * Unset: true when `requirementsFile` is set ({@link defaultInstallPyDepPerModel}).
     */
    readonly installPyDepPerModel?: boolean;
    /**
     * Keep TorchServe token authorization on (then liveness uses a TCP check). Each pod generates its
     * own keys, so it is refused with more than one replica (or an autoscaler that adds them).
     */
    readonly tokenAuth?: boolean;
    /** Enable the model register/unregister API. Off by default (ShellTorch, CVE-2023-43654). */
    readonly enableModelApi?: boolean;
    /** `metrics_mode`: `prometheus` or `log`. */
    readonly metricsMode?: MetricsMode;
    /**
     * More `config.properties` entries; managed keys are refused with the key to use instead. May be
     * set as a secret (`pulumi config set --secret --path 'extraProperties.keystore_pass' ...`): the
     * rendered file then goes into a Secret instead of the ConfigMap.
     */
    readonly extraProperties?: Readonly<Record<string, string>>;
    /**
     * Accept the `extraProperties` keys that undo the hardening (commands run by the server, URLs it
     * loads models from, environment variables overriding the file, a non-loopback gRPC management
     * address). Off: they are refused.
     */
    readonly allowUnsafeExtraProperties?: boolean;
    /** Time a pod may take from start to healthy before it is restarted. */
    readonly startupTimeoutSeconds?: number;
    /**
     * Time a new pod may take to be scheduled and start its container (image pull) before its startup
     * budget begins. The Deployment's `progressDeadlineSeconds` is `startupTimeoutSeconds` plus this:
     * a rollout whose new pods are not ready by then fails.
     */
    readonly podStartMarginSeconds?: number;
    /** How long `pulumi up` waits for a rollout in all (every pod of it). */
    readonly rolloutTimeoutMinutes?: number;
    /** Make the root filesystem of the container read-only; TorchServe writes only to emptyDir volumes. */
    readonly readOnlyRootFilesystem?: boolean;
    /**
     * Ephemeral storage each pod requests besides its unpacked archives (logs, pid and key files,
     * installed requirements). Request = this + the sizes of the archives the pod loads.
     */
    readonly ephemeralStorageBase?: string;
    /** Ephemeral-storage limit of each pod. Unset: twice the request. */
    readonly ephemeralStorageLimit?: string;
    /** Spread replicas over nodes: `preferred` (ScheduleAnyway), `required` (DoNotSchedule) or `off`. */
    readonly spreadReplicas?: SpreadMode;
    /** A PodDisruptionBudget, so node drains keep serving pods. */
    readonly podDisruptionBudget?: boolean;
    /** A HorizontalPodAutoscaler from `replicas` up to this many pods; 0: none. */
    readonly autoscaleMaxReplicas?: number;
    /** The autoscaler's target: average CPU use in percent of `cpuRequest`. */
    readonly autoscaleCpuPercent?: number;

    // ---- Service -----------------------------------------------------------
    /** Type of the inference Service: `ClusterIP`, `NodePort` or `LoadBalancer`. */
    readonly serviceType?: ServiceType;
    /**
     * Bind the management API beyond the pod's loopback (where the probes call it) and put it on the
     * inference and internal Services. On a NodePort or LoadBalancer Service only with `tokenAuth`.
     */
    readonly exposeManagement?: boolean;
    /** Also expose the metrics port on the inference Service. */
    readonly exposeMetrics?: boolean;
    /**
     * A NetworkPolicy that admits only the inference port (from `inferenceFromNamespaces`, or from
     * anywhere), the metrics port from `metricsScraperNamespace`, and the management port only with
     * `exposeManagement`. Needs a network plugin that enforces NetworkPolicy.
     */
    readonly networkPolicy?: boolean;
    /** Namespaces whose pods may call the inference port; empty: any source. */
    readonly inferenceFromNamespaces?: readonly string[];
    /** Namespace of the metrics scraper (Prometheus), the only one admitted to the metrics port. */
    readonly metricsScraperNamespace?: string;
    /**
     * Egress in the NetworkPolicy too: the pods may connect only to the cluster's DNS (kube-dns pods in
     * kube-system, port 53) and to `egressAllowedTo`; never to the cloud's instance metadata endpoint.
     * Off: egress is not restricted.
     */
    readonly restrictEgress?: boolean;
    /**
     * Where the pods may connect to with `restrictEgress`: address blocks, `CIDR` (every port) or
     * `CIDR:PORT` (that TCP port), e.g. the package index or proxy pip needs with `installPyDepPerModel`.
     */
    readonly egressAllowedTo?: readonly string[];
}

/**
 * How a new version is published in the model store: `directory` (the archiver's `no-archive` output,
 * a `<model>.<version>` directory TorchServe loads in place), or a `.mar` file (`zip-store`: no
 * compression, `default`: deflate) TorchServe unpacks into each pod's temp dir.
 */
export type ArchiveFormat = "directory" | "zip-store" | "default";
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ["directory", "zip-store", "default"];

export type MetricsMode = "prometheus" | "log";
export const METRICS_MODES: readonly MetricsMode[] = ["prometheus", "log"];

export type SpreadMode = "preferred" | "required" | "off";
export const SPREAD_MODES: readonly SpreadMode[] = ["preferred", "required", "off"];

export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";
export const SERVICE_TYPES: readonly ServiceType[] = ["ClusterIP", "NodePort", "LoadBalancer"];
