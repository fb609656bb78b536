import * as fs from "node:fs";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { archiveCommand, archiveSpec, rotateCommand, scriptPath } from "./cli";
import { FileChecks, Settings, TorchServeStackArgs, resolveSettings } from "./config";
import { buildDeploymentSpec, buildInferenceServiceSpec, buildInternalServiceSpec, scrapeAnnotations, selectorLabels } from "./kubernetes";
import {
    FileHashCache, archiveSettingsOf, artifactsOf, defaultHashCacheFile, findProjectDir, fingerprintArtifacts, isRegularFile, listArchives,
    planRotation, rebaseModelPaths, resolveFromProject, versionFromFingerprint,
} from "./store";
import { CONFIG_FILE_NAME, renderConfigProperties } from "./torchserve";

/** Extra knobs for tests and embedders; the defaults are what a stack uses. */
export interface TorchServeStackOptions extends pulumi.ComponentResourceOptions {
    /** File checks used by validation. Default: the real file system. */
    readonly files?: FileChecks;
    /** Hash cache for artifact fingerprints. Default: `~/.cache/torchserve-stack/file-hashes.json`. */
    readonly hashCache?: FileHashCache;
    /** Where relative config paths start. Default: the nearest directory with Pulumi.yaml at or above the working directory. */
    readonly projectDir?: string;
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

    constructor(name: string, args: TorchServeStackArgs, opts: TorchServeStackOptions = {}) {
        super("torchserve:index:TorchServeStack", name, {}, opts);
        // The engine runs the program and the commands in this directory (the program's, bin/).
        const workDir = process.cwd();
        const projectDir = opts.projectDir ?? findProjectDir(workDir);
        const files = opts.files ?? { isFile: (file: string) => isRegularFile(resolveFromProject(projectDir, file)) };
        const settings = resolveSettings(args, files);
        this.settings = settings;
        // The settings keep the paths as configured (errors and outputs quote them); the steps get them rebased.
        const model = rebaseModelPaths(settings.model, projectDir, workDir);

        const hashCache = opts.hashCache ?? new FileHashCache(defaultHashCacheFile());
        this.fingerprint = fingerprintArtifacts(artifactsOf(model), archiveSettingsOf(model), hashCache);
        hashCache.save();
        this.version = settings.model.explicitVersion ?? versionFromFingerprint(this.fingerprint);

        if (!fs.existsSync(model.storePath)) {
            // Expected on a first deploy; elsewhere it usually means the store volume is not mounted here.
            pulumi.log.warn(`modelStorePath ${settings.model.storePath} does not exist: planned as an empty store (only this version loaded). `
                + "On a first deploy the archive step creates it; otherwise mount the model-store volume there before preview or up.", this);
        }
        // Planned from the store as it is now; the rotation step applies the same plan after the rollout.
        this.loadedVersions = planRotation(listArchives(model.storePath, model.name), this.version, model.keep).keep;
        this.configProperties = renderConfigProperties({ modelName: model.name, versions: this.loadedVersions, server: settings.server });

        const namespaceResource = settings.createNamespace
            ? new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: settings.namespace } }, { parent: this, retainOnDelete: true })
            : undefined;
        const namespace = namespaceResource ? namespaceResource.metadata.name : pulumi.output(settings.namespace);
        const inNamespace = { parent: this, dependsOn: namespaceResource ? [namespaceResource] : [] };
        const labels = selectorLabels(settings.appName);

        const claimName = this.modelStoreClaim(name, settings, namespace, inNamespace);

        const archive = new command.local.Command(`${name}-archive`, {
            // No `dir`: the provider runs commands in workDir, and an absolute path here would
            // differ between checkouts and show as a change.
            create: archiveCommand(scriptPath(workDir, "archive"), archiveSpec(model, this.version)),
            triggers: [this.version, this.fingerprint],
        }, { parent: this, dependsOn: claimName.resources });

        // After the archive step too: a failed archive leaves no new config behind.
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, {
            metadata: { namespace, labels },
            immutable: true,
            data: { [CONFIG_FILE_NAME]: this.configProperties },
        }, { ...inNamespace, dependsOn: [archive, ...inNamespace.dependsOn] });

        const rolloutTimeout = `${settings.server.rolloutTimeoutMinutes}m`;
        const deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, {
            metadata: { name: settings.appName, namespace, labels },
            spec: buildDeploymentSpec({ settings, version: this.version, configMapName: configMap.metadata.name, claimName: claimName.name }),
        }, { parent: this, dependsOn: [archive, ...inNamespace.dependsOn], customTimeouts: { create: rolloutTimeout, update: rolloutTimeout } });

        new command.local.Command(`${name}-rotate`, {
            create: rotateCommand(scriptPath(workDir, "rotate"), { store: model.storePath, model: model.name, current: this.version, keep: model.keep }),
            triggers: [this.version, model.keep],
        }, { parent: this, dependsOn: [deployment] });

        const service = new k8s.core.v1.Service(`${name}-service`, {
            metadata: { name: settings.appName, namespace, labels, annotations: settings.service.exposeMetrics ? scrapeAnnotations(settings) : {} },
            spec: buildInferenceServiceSpec(settings),
        }, inNamespace);
        const internalService = new k8s.core.v1.Service(`${name}-internal-service`, {
            metadata: { name: `${settings.appName}-internal`, namespace, labels, annotations: settings.service.exposeMetrics ? {} : scrapeAnnotations(settings) },
            spec: buildInternalServiceSpec(settings),
        }, inNamespace);

        this.namespace = namespace;
        this.claimName = claimName.name;
        this.configMapName = configMap.metadata.name;
        this.deploymentName = deployment.metadata.name;
        this.serviceName = service.metadata.name;
        this.internalServiceName = internalService.metadata.name;
        this.predictionUrl = pulumi.interpolate`http://${service.metadata.name}.${namespace}.svc:${settings.server.ports.inference}/predictions/${model.name}`;
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
     * bound to a static hostPath volume). Created volumes are protected and
     * retained on delete: losing the store loses every model.
     */
    private modelStoreClaim(
        name: string, settings: Settings, namespace: pulumi.Output<string>,
        inNamespace: { parent: pulumi.Resource; dependsOn: pulumi.Resource[] },
    ): { name: pulumi.Output<string>; resources: pulumi.Resource[] } {
        const store = settings.store;
        if (store.existingClaimName) {
            return { name: pulumi.output(store.existingClaimName), resources: [] };
        }
        const claimName = `${settings.appName}-model-store`;
        const keep = { protect: store.protect, retainOnDelete: true };
        let volume: k8s.core.v1.PersistentVolume | undefined;
        if (store.hostPath) {
            volume = new k8s.core.v1.PersistentVolume(`${name}-model-store-volume`, {
                // Cluster-scoped: the namespace in the name keeps stacks apart.
                metadata: { name: `${settings.namespace}-${claimName}`, labels: selectorLabels(settings.appName) },
                spec: {
                    capacity: { storage: store.size },
                    accessModes: [...store.accessModes],
                    persistentVolumeReclaimPolicy: "Retain",
                    storageClassName: "",
                    hostPath: { path: store.hostPath, type: "DirectoryOrCreate" },
                    claimRef: { namespace: settings.namespace, name: claimName },
                },
            }, { ...inNamespace, ...keep });
        }
        const claim = new k8s.core.v1.PersistentVolumeClaim(`${name}-model-store`, {
            metadata: {
                name: claimName,
                namespace,
                labels: selectorLabels(settings.appName),
                // A dynamically provisioned claim may wait for its first pod (WaitForFirstConsumer),
                // which comes after it: do not block on Bound then.
                annotations: volume ? {} : { "pulumi.com/skipAwait": "true" },
            },
            spec: {
                accessModes: [...store.accessModes],
                resources: { requests: { storage: store.size } },
                ...(volume ? { storageClassName: "", volumeName: volume.metadata.name } : {}),
                ...(!volume && store.storageClass !== undefined ? { storageClassName: store.storageClass } : {}),
            },
        }, { ...inNamespace, ...keep, dependsOn: [...inNamespace.dependsOn, ...(volume ? [volume] : [])] });
        return { name: claim.metadata.name, resources: volume ? [claim, volume] : [claim] };
    }
}
