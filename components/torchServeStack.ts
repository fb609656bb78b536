/**
 * The component: wiring only. It validates the args, plans what to deploy with
 * the pure builders of config/, store/, torchserve/, kubernetes/ and cli/, and
 * creates the resources in order. Children's names and parents are part of
 * every existing stack's state: changing one needs an alias.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    archiveCommand,
    archiveSpec,
    kubeGetJson,
    loadKubeAccess,
    rolloutReportCommand,
    rotateCommand,
    scriptPath,
} from "./cli";
import {
    ARCHIVE_FORMATS,
    ArchiveFormat,
    ConfigValidationError,
    FileChecks,
    ModelSettings,
    Settings,
    TorchServeStackArgs,
    modelRunKind,
    resolveSettings,
} from "./config";
import {
    buildAutoscaler,
    buildDeploymentSpec,
    buildModelStoreClaim,
    buildModelStoreVolume,
    buildNetworkPolicy,
    buildPodDisruptionBudget,
    configObjectData,
    configObjectKind,
    deploymentAnnotations,
    inferenceService,
    internalService,
    legacyVolumeName,
    objectNames,
    memoryWarnings,
    networkPolicyEnforcementWarning,
    rolloutOutcome,
    selectorLabels,
} from "./kubernetes";
import {
    FileHashCache,
    ModelRequest,
    Release,
    ReleasePlan,
    StepInputs,
    StoreOwner,
    archiveSettingsOf,
    artifactBytes,
    artifactsOf,
    defaultHashCacheFile,
    entryKindOf,
    findProjectDir,
    fingerprintArtifacts,
    isRegularFile,
    parseRelease,
    planRelease,
    rebaseModelPaths,
    resolveFromProject,
    storePartProblems,
    storedEntryKind,
    versionFromFingerprint,
} from "./store";
import { renderConfigProperties } from "./torchserve";

/**
 * What the component reads besides its args: the machine that runs the
 * deploy (files, hash cache, project directory) and the stack's recorded
 * state. Tests and embedders replace parts of it; a stack uses the defaults,
 * and index.ts passes the recorded release. Kept apart from the resource
 * options, which go to Pulumi.
 */
export interface TorchServeStackHost {
    /** File checks used by validation. Default: the real file system, relative paths from the project directory. */
    readonly files?: FileChecks;
    /** Hash cache for artifact fingerprints. Default: `~/.cache/torchserve-stack/file-hashes.json`. */
    readonly hashCache?: FileHashCache;
    /** Where relative config paths start. Default: the nearest directory with Pulumi.yaml at or above the work dir. */
    readonly projectDir?: string;
    /**
     * The release this stack recorded at its last successful deploy (index.ts reads it from the stack's
     * outputs with {@link readRecordedState}); undefined when nothing is deployed yet. A run that brings no
     * model keeps it as it is; a run that brings one plans from its history.
     */
    readonly recordedRelease?: Release;
    /**
     * Why the recorded release could not be read, when it could not (e.g. written by a newer program). A run
     * that brings no model then fails with it; a run that brings one plans without the history and says so.
     */
    readonly unreadableRelease?: string;
    /** The stack's identity in the store's owner record. Default `<organization>/<project>/<stack>`. */
    readonly stackId?: string;
    /**
     * Stack config keys set as secrets (`pulumi config set --secret`); index.ts reads them with
     * `pulumi.runtime.isConfigSecret`. Only `extraProperties` may be one: config.properties then goes
     * into a Secret whose data is secret in the state too.
     */
    readonly secretKeys?: readonly string[];
    /**
     * The hostPath volume's name as this stack recorded it (its `modelStoreVolumeName` output), or
     * undefined for a new stack; see {@link readRecordedState}.
     */
    readonly recordedVolumeName?: string;
    /**
     * The API groups the cluster lists ({@link readApiGroups}), to warn when none is a network plugin's that
     * enforces NetworkPolicy; undefined when they could not be read (no warning then).
     */
    readonly apiGroups?: readonly string[];
}

/** The model-store claim the pods mount, and what must exist before anything uses it. */
interface ModelStoreClaim {
    readonly claimName: pulumi.Output<string>;
    readonly volumeName: pulumi.Output<string>;
    readonly dependsOn: pulumi.Resource[];
}

/** This stack's identity across state backends' naming: `<organization>/<project>/<stack>`. */
export function currentStackId(): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/**
 * The API groups the cluster lists (`GET /apis`: discovery, which every authenticated user may read, so
 * a deploy needs no extra right), reached with the credentials the Kubernetes provider uses
 * (`kubernetes:kubeconfig` and `kubernetes:context`, else KUBECONFIG). Undefined, with an info line
 * saying why, when they cannot be read.
 */
export async function readApiGroups(): Promise<readonly string[] | undefined> {
    const kubernetesConfig = new pulumi.Config("kubernetes");
    try {
        const access = loadKubeAccess({
            content: kubernetesConfig.get("kubeconfig"),
            context: kubernetesConfig.get("context"),
        });
        const list = await kubeGetJson<{ groups?: { name: string }[] }>(access, "/apis");
        return (list.groups ?? []).map((group) => group.name);
    } catch (error) {
        pulumi.log.info(
            `could not read the cluster's API groups (${(error as Error).message}): ` +
                "not checking whether its network plugin enforces NetworkPolicy",
        );
        return undefined;
    }
}

/** What a stack recorded in its outputs at its last successful deploy, as the program needs it. */
export interface RecordedState {
    readonly release?: Release;
    /** Why a recorded release could not be read (see {@link TorchServeStackHost.unreadableRelease}). */
    readonly unreadable?: string;
    /** See {@link TorchServeStackHost.recordedVolumeName}. */
    readonly volumeName?: string;
}

/**
 * What this stack recorded at its last successful deploy, read from its own
 * outputs in the state backend (a pull request's runner has the state, not
 * the model files):
 * - the release; undefined for a new stack; `unreadable` says why a record
 *   that is there cannot be used (never guessed at: a guess could roll back);
 * - the hostPath volume's name: its `modelStoreVolumeName` output, or, for a
 *   stack deployed by a program that did not record it (it has outputs, not
 *   that one), the name that program gave every volume
 *   (`<namespace>-<appName>-model-store`, kept since renaming replaces the
 *   volume); undefined for a new stack, which gets the collision-proof name.
 */
export async function readRecordedState(namespace: string, appName: string): Promise<RecordedState> {
    const self = new pulumi.StackReference(currentStackId());
    const value = (await self.getOutputDetails("release")).value;
    let release: Release | undefined;
    let unreadable: string | undefined;
    try {
        release = parseRelease(value);
    } catch (error) {
        unreadable = (error as Error).message;
    }
    const recordedVolume = (await self.getOutputDetails("modelStoreVolumeName")).value;
    const deployedBefore = (await self.getOutputDetails("namespace")).value !== undefined;
    const volumeName =
        typeof recordedVolume === "string" && recordedVolume !== ""
            ? recordedVolume
            : deployedBefore
              ? legacyVolumeName({ namespace, appName })
              : undefined;
    return { release, unreadable, volumeName };
}

/**
 * TorchServe on Kubernetes with a rolling update per model version: the
 * model-store claim, `config.properties` in an immutable auto-named
 * ConfigMap (a Secret when it holds secrets), the archive step, the
 * Deployment (and the report of its rollout when that fails), the rotation
 * step, the Services, the NetworkPolicy, the PodDisruptionBudget and the
 * optional autoscaler, all children of this component.
 */
export class TorchServeStack extends pulumi.ComponentResource {
    /** The validated settings (defaults applied). */
    public readonly settings: Settings;
    /** The plan this run deploys: what it brings, what the pods load, what the store keeps. */
    public readonly plan: ReleasePlan;
    /** The deployed model version. */
    public readonly version: string;
    /** Content hash of the model artifacts and archive settings ("" when unknown). */
    public readonly fingerprint: string;
    /** Versions the server loads, the deployed (default) one first. */
    public readonly loadedVersions: readonly string[];
    /** The rendered config.properties (secret values included: never export it). */
    public readonly configProperties: string;
    /** The release to record: resolves only after the rollout and the rotation succeeded. */
    public readonly release: pulumi.Output<Release>;
    public readonly namespace: pulumi.Output<string>;
    public readonly claimName: pulumi.Output<string>;
    /** The ConfigMap holding config.properties; "" when a Secret holds it. */
    public readonly configMapName: pulumi.Output<string>;
    /** The Secret holding config.properties when it has secret values; "" otherwise. */
    public readonly configSecretName: pulumi.Output<string>;
    /** The hostPath PersistentVolume's name; "" without one. Recorded, so the name never changes. */
    public readonly modelStoreVolumeName: pulumi.Output<string>;
    public readonly deploymentName: pulumi.Output<string>;
    public readonly serviceName: pulumi.Output<string>;
    public readonly internalServiceName: pulumi.Output<string>;
    /** In-cluster URL of the stable prediction endpoint. */
    public readonly predictionUrl: pulumi.Output<string>;

    constructor(
        name: string,
        args: TorchServeStackArgs,
        opts: pulumi.ComponentResourceOptions = {},
        host: TorchServeStackHost = {},
    ) {
        super("torchserve:index:TorchServeStack", name, {}, opts);
        // The engine runs the program and the commands in this directory (the program's, bin/).
        const workDir = process.cwd();
        const projectDir = host.projectDir ?? findProjectDir(workDir);
        const files = host.files ?? { isFile: (file: string) => isRegularFile(resolveFromProject(projectDir, file)) };
        const settings = resolveSettings(args, files, host.secretKeys);
        this.settings = settings;
        // The settings keep the paths as configured (errors and outputs quote them); the steps get them rebased.
        const model = rebaseModelPaths(settings.model, projectDir, workDir);

        const owner: StoreOwner = {
            stack: host.stackId ?? currentStackId(),
            namespace: settings.namespace,
            appName: settings.appName,
        };
        // Where this machine sees the store, a part another stack owns, or one inside or around another
        // stack's, is refused now, before any object is created (the archive step checks again where it runs).
        if (modelRunKind(model) !== "keep") {
            const partProblems = storePartProblems(model.storePath, model.storeSubdir, owner);
            if (partProblems.length > 0) {
                throw new ConfigValidationError(partProblems);
            }
        }
        const request = modelRequest(model, host.hashCache);
        if (host.unreadableRelease) {
            if (request.kind === "keep") {
                throw new ConfigValidationError([
                    {
                        key: "serializedFile",
                        problem: `is required: ${host.unreadableRelease}`,
                        fix: `npm run deploy -- --stack ${pulumi.getStack()} --serialized-file ...`,
                    },
                ]);
            }
            pulumi.log.warn(
                `${host.unreadableRelease}; planning this deploy without the history of earlier ones`,
                this,
            );
        }
        const plan = planRelease(host.recordedRelease, request, {
            modelName: model.name,
            archiveKeep: model.keep,
            servedVersions: model.served,
            storeSubdir: model.storeSubdir,
            stack: pulumi.getStack(),
        });
        plan.notes.forEach((note) => pulumi.log.warn(note, this));
        memoryWarnings(
            settings,
            plan.served.map((v) => v.version),
            plan.served.map((v) => v.bytes),
        ).forEach((warning) => pulumi.log.warn(warning, this));
        const enforcement = networkPolicyEnforcementWarning(settings, host.apiGroups);
        if (enforcement) {
            pulumi.log.warn(enforcement, this);
        }
        this.plan = plan;
        this.version = plan.version;
        this.fingerprint = plan.fingerprint;
        this.loadedVersions = plan.served.map((v) => v.version);
        // Which served versions are directories: recorded per version, so a preview without the store agrees.
        const directories = plan.served.filter((v) => entryKindOf(v) === "dir").map((v) => v.version);
        this.configProperties = renderConfigProperties({
            modelName: model.name,
            versions: this.loadedVersions,
            directories,
            server: settings.server,
            exposeManagement: settings.service.exposeManagement,
        });
        const namespaceResource = settings.createNamespace
            ? new k8s.core.v1.Namespace(
                  `${name}-namespace`,
                  { metadata: { name: settings.namespace } },
                  { parent: this, retainOnDelete: true },
              )
            : undefined;
        const namespace = namespaceResource ? namespaceResource.metadata.name : pulumi.output(settings.namespace);
        const inNamespace = { parent: this, dependsOn: namespaceResource ? [namespaceResource] : [] };
        const labels = selectorLabels(settings.appName);

        const store = this.modelStoreClaim(name, settings, namespace, inNamespace, host.recordedVolumeName);

        // A run that brings no model keeps both steps exactly as deployed: they do not run again,
        // and need no model files and no store.
        const archiveInputs: StepInputs = plan.recordedSteps?.archive ?? {
            // No `dir`: the provider runs commands in workDir, and an absolute path here would
            // differ between checkouts and show as a change.
            create: archiveCommand(
                scriptPath(workDir, "archive"),
                archiveSpec(model, owner, {
                    version: plan.version,
                    fingerprint: plan.fingerprint,
                    bytes: plan.served[0].bytes,
                    served: this.loadedVersions,
                    directories,
                }),
            ),
            triggers: [plan.version, plan.fingerprint, this.loadedVersions.join(",")],
        };
        const archive = new command.local.Command(
            `${name}-archive`,
            { create: archiveInputs.create, triggers: [...archiveInputs.triggers] },
            { parent: this, dependsOn: store.dependsOn },
        );

        // After the archive step too: a failed archive leaves no new config behind. A stack whose
        // config.properties holds no secret keeps its ConfigMap (same name, same inputs).
        const configKind = configObjectKind(settings);
        const afterArchive = { ...inNamespace, dependsOn: [archive, ...inNamespace.dependsOn] };
        const configObject =
            configKind === "Secret"
                ? new k8s.core.v1.Secret(
                      `${name}-config-secret`,
                      {
                          metadata: { namespace, labels },
                          immutable: true,
                          type: "Opaque",
                          stringData: pulumi.secret(configObjectData(this.configProperties)),
                      },
                      afterArchive,
                  )
                : new k8s.core.v1.ConfigMap(
                      `${name}-config`,
                      {
                          metadata: { namespace, labels },
                          immutable: true,
                          data: configObjectData(this.configProperties),
                      },
                      afterArchive,
                  );

        const rolloutTimeout = `${settings.server.rolloutTimeoutMinutes}m`;
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: {
                    name: objectNames(settings).deployment,
                    namespace,
                    labels,
                    annotations: deploymentAnnotations(),
                },
                spec: buildDeploymentSpec({
                    settings,
                    version: this.version,
                    served: this.loadedVersions,
                    servedEntries: plan.served,
                    storeSubdir: plan.storeSubdir,
                    config: { kind: configKind, name: configObject.metadata.name },
                    claimName: store.claimName,
                }),
            },
            {
                parent: this,
                dependsOn: [archive, ...inNamespace.dependsOn],
                customTimeouts: { create: rolloutTimeout, update: rolloutTimeout },
                // The autoscaler owns the replica count while it runs; `replicas` is only the first one.
                ...(settings.availability.autoscale ? { ignoreChanges: ["spec.replicas"] } : {}),
            },
        );
        const afterRollout = this.rolloutGate(name, settings, deployment, host.recordedRelease?.version ?? "", workDir);

        const rotateInputs: StepInputs = plan.recordedSteps?.rotate ?? {
            create: rotateCommand(scriptPath(workDir, "rotate"), {
                store: model.storePath!,
                subdir: model.storeSubdir,
                owner,
                model: model.name,
                keep: plan.keep,
            }),
            triggers: [plan.version, plan.keep.join(",")],
        };
        const rotate = new command.local.Command(
            `${name}-rotate`,
            { create: rotateInputs.create, triggers: [...rotateInputs.triggers] },
            { parent: this, dependsOn: afterRollout },
        );
        const release: Release = {
            schema: plan.schema,
            modelName: model.name,
            version: plan.version,
            fingerprint: plan.fingerprint,
            served: this.loadedVersions,
            history: plan.history,
            storeSubdir: plan.storeSubdir,
            steps: { archive: archiveInputs, rotate: rotateInputs },
        };
        // Known only once the rotation ran, i.e. after the rollout succeeded: a failed deploy records nothing.
        this.release = rotate.stdout.apply(() => release);

        const inference = inferenceService(settings);
        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: inference.name, namespace, labels, annotations: inference.annotations },
                spec: inference.spec,
            },
            inNamespace,
        );
        const internal = internalService(settings);
        const internalServiceResource = new k8s.core.v1.Service(
            `${name}-internal-service`,
            {
                metadata: { name: internal.name, namespace, labels, annotations: internal.annotations },
                spec: internal.spec,
            },
            inNamespace,
        );

        this.policies(name, settings, namespace, labels, inNamespace);

        this.namespace = namespace;
        this.claimName = store.claimName;
        this.modelStoreVolumeName = store.volumeName;
        this.configMapName = configKind === "ConfigMap" ? configObject.metadata.name : pulumi.output("");
        this.configSecretName = configKind === "Secret" ? configObject.metadata.name : pulumi.output("");
        this.deploymentName = deployment.metadata.name;
        this.serviceName = service.metadata.name;
        this.internalServiceName = internalServiceResource.metadata.name;
        const port = settings.server.ports.inference;
        const endpoint = pulumi.interpolate`${service.metadata.name}.${namespace}.svc:${port}`;
        this.predictionUrl = pulumi.interpolate`http://${endpoint}/predictions/${model.name}`;
        this.registerOutputs({
            release: this.release,
            version: this.version,
            fingerprint: this.fingerprint,
            loadedVersions: this.loadedVersions,
            namespace: this.namespace,
            claimName: this.claimName,
            modelStoreVolumeName: this.modelStoreVolumeName,
            configMapName: this.configMapName,
            configSecretName: this.configSecretName,
            deploymentName: this.deploymentName,
            serviceName: this.serviceName,
            internalServiceName: this.internalServiceName,
            predictionUrl: this.predictionUrl,
        });
    }

    /**
     * What must have happened before the rotation step runs: the Deployment
     * rolled out. When its controller gave up on the new pods instead
     * (ProgressDeadlineExceeded; the provider waits for either, see
     * kubernetes/rollout.ts), the rollout report runs: it says which pods
     * failed and why, and that the previous version still serves, and fails
     * the run, so the rotation does not run and no release is recorded. Never
     * in a preview, where nothing rolls out.
     */
    private rolloutGate(
        name: string,
        settings: Settings,
        deployment: k8s.apps.v1.Deployment,
        previous: string,
        workDir: string,
    ): pulumi.Output<pulumi.Resource[]> {
        const kubernetesConfig = new pulumi.Config("kubernetes");
        return pulumi.all([deployment.metadata, deployment.status]).apply(([metadata, status]) => {
            const outcome = rolloutOutcome({ metadata, status } as Parameters<typeof rolloutOutcome>[0]);
            if (pulumi.runtime.isDryRun() || outcome.state !== "failed") {
                return [deployment];
            }
            const kubeconfig = kubernetesConfig.get("kubeconfig");
            const report = new command.local.Command(
                `${name}-rollout-report`,
                {
                    create: rolloutReportCommand(scriptPath(workDir, "rolloutReport"), {
                        namespace: settings.namespace,
                        app: settings.appName,
                        model: settings.model.name,
                        version: this.version,
                        previous,
                        stack: pulumi.getStack(),
                        replicaSet: outcome.replicaSet,
                        startupSeconds: settings.server.startupTimeoutSeconds,
                        marginSeconds: settings.server.podStartMarginSeconds,
                        context: kubernetesConfig.get("context"),
                    }),
                    // The provider's own kubeconfig, when the stack sets one (it may be secret).
                    ...(kubeconfig ? { environment: pulumi.secret({ TS_STACK_KUBECONFIG: kubeconfig }) } : {}),
                },
                { parent: this, dependsOn: [deployment] },
            );
            return [deployment, report];
        });
    }

    /**
     * Who may reach the pods (NetworkPolicy), how many may be drained at once
     * (PodDisruptionBudget) and the optional autoscaler: each only when its
     * setting asks for it.
     */
    private policies(
        name: string,
        settings: Settings,
        namespace: pulumi.Output<string>,
        labels: Record<string, string>,
        inNamespace: { parent: pulumi.Resource; dependsOn: pulumi.Resource[] },
    ): void {
        const networkPolicy = buildNetworkPolicy(settings);
        if (networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-network-policy`,
                { metadata: { name: networkPolicy.name, namespace, labels }, spec: networkPolicy.spec },
                inNamespace,
            );
        }
        const budget = buildPodDisruptionBudget(settings);
        if (budget) {
            new k8s.policy.v1.PodDisruptionBudget(
                `${name}-disruption-budget`,
                { metadata: { name: budget.name, namespace, labels }, spec: budget.spec },
                inNamespace,
            );
        }
        const autoscaler = buildAutoscaler(settings);
        if (autoscaler) {
            new k8s.autoscaling.v2.HorizontalPodAutoscaler(
                `${name}-autoscaler`,
                { metadata: { name: autoscaler.name, namespace, labels }, spec: autoscaler.spec },
                inNamespace,
            );
        }
    }

    /**
     * The model-store claim: an existing one, or a created one (optionally
     * bound to a static hostPath volume), protected and retained on delete.
     */
    private modelStoreClaim(
        name: string,
        settings: Settings,
        namespace: pulumi.Output<string>,
        inNamespace: { parent: pulumi.Resource; dependsOn: pulumi.Resource[] },
        recordedVolumeName: string | undefined,
    ): ModelStoreClaim {
        const store = settings.store;
        if (store.existingClaimName) {
            return { claimName: pulumi.output(store.existingClaimName), volumeName: pulumi.output(""), dependsOn: [] };
        }
        const keep = { protect: store.protect, retainOnDelete: true };
        const labels = selectorLabels(settings.appName);
        const volumeParts = buildModelStoreVolume(settings, recordedVolumeName);
        const volume = volumeParts
            ? new k8s.core.v1.PersistentVolume(
                  `${name}-model-store-volume`,
                  {
                      metadata: { name: volumeParts.name, labels },
                      spec: volumeParts.spec,
                  },
                  { ...inNamespace, ...keep },
              )
            : undefined;
        const claimParts = buildModelStoreClaim(settings, volume?.metadata.name);
        const claim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-model-store`,
            {
                metadata: { name: claimParts.name, namespace, labels, annotations: claimParts.annotations },
                spec: claimParts.spec,
            },
            { ...inNamespace, ...keep, dependsOn: [...inNamespace.dependsOn, ...(volume ? [volume] : [])] },
        );
        return {
            claimName: claim.metadata.name,
            volumeName: volume ? volume.metadata.name : pulumi.output(""),
            dependsOn: volume ? [claim, volume] : [claim],
        };
    }
}

/**
 * What the run asks for: new files (their fingerprint, the version named or
 * hashed from them), a version alone, or nothing. Only a run with new files
 * reads them. A version's entry kind, for a version the release history does
 * not know: what the store holds for it when this machine sees the store
 * (a run that brings a model mounts it), else what `archiveFormat` builds
 * (new files) or a `.mar` (a switch: every version before directories was one).
 */
function modelRequest(model: ModelSettings, hashCache: FileHashCache | undefined): ModelRequest {
    const kind = modelRunKind(model);
    if (kind === "keep") {
        return { kind };
    }
    const stored = (version: string) => storedEntryKind(model.storePath, model.storeSubdir, model.name, version);
    if (kind === "switch" || !model.artifacts) {
        return { kind: "switch", version: model.explicitVersion!, entry: stored(model.explicitVersion!) };
    }
    const cache = hashCache ?? new FileHashCache(defaultHashCacheFile());
    const artifacts = artifactsOf(model.artifacts);
    const fingerprintAs = (archiveFormat: ArchiveFormat) =>
        fingerprintArtifacts(artifacts, archiveSettingsOf({ ...model, archiveFormat }, model.artifacts!), cache);
    const fingerprint = fingerprintAs(model.archiveFormat);
    // The files hash once (cached); the other formats' fingerprints only hash their setting lines.
    const sameFiles = ARCHIVE_FORMATS.filter((f) => f !== model.archiveFormat).map(fingerprintAs);
    cache.save();
    const version = model.explicitVersion ?? versionFromFingerprint(fingerprint);
    return {
        kind: "new",
        version,
        fingerprint,
        bytes: artifactBytes(artifacts),
        entry: stored(version) ?? (model.archiveFormat === "directory" ? "dir" : "mar"),
        sameFiles,
    };
}
