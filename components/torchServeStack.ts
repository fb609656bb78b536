/**
 * The component: wiring only. It validates the args, plans what to deploy with
 * the pure builders of config/, store/, torchserve/, kubernetes/ and cli/, and
 * creates the resources in order. Children's names and parents are part of
 * every existing stack's state: changing one needs an alias.
 */
import * as fs from "node:fs";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { archiveCommand, archiveSpec, rotateCommand, scriptPath } from "./cli";
import { FileChecks, Settings, TorchServeStackArgs, resolveSettings } from "./config";
import {
    buildDeploymentSpec,
    buildModelStoreClaim,
    buildModelStoreVolume,
    inferenceService,
    internalService,
    objectNames,
    selectorLabels,
} from "./kubernetes";
import {
    FileHashCache,
    archiveSettingsOf,
    artifactsOf,
    defaultHashCacheFile,
    findProjectDir,
    fingerprintArtifacts,
    isRegularFile,
    listArchives,
    planRotation,
    rebaseModelPaths,
    resolveFromProject,
    versionFromFingerprint,
} from "./store";
import { CONFIG_FILE_NAME, renderConfigProperties } from "./torchserve";

/**
 * What the component reads from the machine that runs `pulumi up`. Tests and
 * embedders replace parts of it; a stack uses the defaults. Kept apart from
 * the resource options, which go to Pulumi.
 */
export interface TorchServeStackHost {
    /** File checks used by validation. Default: the real file system, relative paths from the project directory. */
    readonly files?: FileChecks;
    /** Hash cache for artifact fingerprints. Default: `~/.cache/torchserve-stack/file-hashes.json`. */
    readonly hashCache?: FileHashCache;
    /** Where relative config paths start. Default: the nearest directory with Pulumi.yaml at or above the work dir. */
    readonly projectDir?: string;
}

/** The model-store claim the pods mount, and what must exist before anything uses it. */
interface ModelStoreClaim {
    readonly claimName: pulumi.Output<string>;
    readonly dependsOn: pulumi.Resource[];
}

/**
 * TorchServe on Kubernetes with a rolling update per model version: the
 * model-store claim, `config.properties` in an immutable auto-named
 * ConfigMap, the archive step, the Deployment, the rotation step and the
 * Services, all children of this component.
 */
export class TorchServeStack extends pulumi.ComponentResource {
    /** The validated settings (defaults applied). */
    public readonly settings: Settings;
    /** The deployed model version (configured, or the artifacts' content hash). */
    public readonly version: string;
    /** Content hash of the model artifacts and archive settings. */
    public readonly fingerprint: string;
    /** Versions the server loads, the deployed (default) one first. */
    public readonly loadedVersions: readonly string[];
    /** The rendered config.properties. */
    public readonly configProperties: string;
    public readonly namespace: pulumi.Output<string>;
    public readonly claimName: pulumi.Output<string>;
    public readonly configMapName: pulumi.Output<string>;
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
        const settings = resolveSettings(args, files);
        this.settings = settings;
        // The settings keep the paths as configured (errors and outputs quote them); the steps get them rebased.
        const model = rebaseModelPaths(settings.model, projectDir, workDir);

        const hashCache = host.hashCache ?? new FileHashCache(defaultHashCacheFile());
        this.fingerprint = fingerprintArtifacts(artifactsOf(model), archiveSettingsOf(model), hashCache);
        hashCache.save();
        this.version = settings.model.explicitVersion ?? versionFromFingerprint(this.fingerprint);

        if (!fs.existsSync(model.storePath)) {
            // Expected on a first deploy; elsewhere it usually means the store volume is not mounted here.
            pulumi.log.warn(
                `modelStorePath ${settings.model.storePath} does not exist: ` +
                    "planned as an empty store (only this version loaded). " +
                    "On a first deploy the archive step creates it; " +
                    "otherwise mount the model-store volume there before preview or up.",
                this,
            );
        }
        // Planned from the store as it is now; the rotation step applies the same plan after the rollout.
        this.loadedVersions = planRotation(listArchives(model.storePath, model.name), this.version, model.keep).keep;
        this.configProperties = renderConfigProperties({
            modelName: model.name,
            versions: this.loadedVersions,
            server: settings.server,
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

        const store = this.modelStoreClaim(name, settings, namespace, inNamespace);

        const archive = new command.local.Command(
            `${name}-archive`,
            {
                // No `dir`: the provider runs commands in workDir, and an absolute path here would
                // differ between checkouts and show as a change.
                create: archiveCommand(scriptPath(workDir, "archive"), archiveSpec(model, this.version)),
                triggers: [this.version, this.fingerprint],
            },
            { parent: this, dependsOn: store.dependsOn },
        );

        // After the archive step too: a failed archive leaves no new config behind.
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: { namespace, labels },
                immutable: true,
                data: { [CONFIG_FILE_NAME]: this.configProperties },
            },
            { ...inNamespace, dependsOn: [archive, ...inNamespace.dependsOn] },
        );

        const rolloutTimeout = `${settings.server.rolloutTimeoutMinutes}m`;
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: objectNames(settings).deployment, namespace, labels },
                spec: buildDeploymentSpec({
                    settings,
                    version: this.version,
                    configMapName: configMap.metadata.name,
                    claimName: store.claimName,
                }),
            },
            {
                parent: this,
                dependsOn: [archive, ...inNamespace.dependsOn],
                customTimeouts: { create: rolloutTimeout, update: rolloutTimeout },
            },
        );

        new command.local.Command(
            `${name}-rotate`,
            {
                create: rotateCommand(scriptPath(workDir, "rotate"), {
                    store: model.storePath,
                    model: model.name,
                    current: this.version,
                    keep: model.keep,
                }),
                triggers: [this.version, model.keep],
            },
            { parent: this, dependsOn: [deployment] },
        );

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

        this.namespace = namespace;
        this.claimName = store.claimName;
        this.configMapName = configMap.metadata.name;
        this.deploymentName = deployment.metadata.name;
        this.serviceName = service.metadata.name;
        this.internalServiceName = internalServiceResource.metadata.name;
        const port = settings.server.ports.inference;
        const endpoint = pulumi.interpolate`${service.metadata.name}.${namespace}.svc:${port}`;
        this.predictionUrl = pulumi.interpolate`http://${endpoint}/predictions/${model.name}`;
        this.registerOutputs({
            version: this.version,
            fingerprint: this.fingerprint,
            loadedVersions: this.loadedVersions,
            namespace: this.namespace,
            claimName: this.claimName,
            configMapName: this.configMapName,
            deploymentName: this.deploymentName,
            serviceName: this.serviceName,
            internalServiceName: this.internalServiceName,
            predictionUrl: this.predictionUrl,
        });
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
    ): ModelStoreClaim {
        const store = settings.store;
        if (store.existingClaimName) {
            return { claimName: pulumi.output(store.existingClaimName), dependsOn: [] };
        }
        const keep = { protect: store.protect, retainOnDelete: true };
        const labels = selectorLabels(settings.appName);
        const volumeParts = buildModelStoreVolume(settings);
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
        return { claimName: claim.metadata.name, dependsOn: volume ? [claim, volume] : [claim] };
    }
}
