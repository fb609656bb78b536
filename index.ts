/**
 * The torchserve-stack program: reads this stack's typed config (and which
 * keys are secrets) and what it recorded at its last successful deploy, and
 * deploys one TorchServeStack into the stack's namespace. A run that brings no
 * model (a pull request's preview, an `up` of an infrastructure change) keeps
 * the recorded release; the deploy command (`npm run deploy`) brings one.
 */
import * as pulumi from "@pulumi/pulumi";
import { TorchServeStack, readApiGroups, readRecordedState } from "./components/torchServeStack";
import { DEFAULTS, parseStackConfig } from "./components/config";

/**
 * Whether a stack config key was set as a secret. The Node runtime exports this (it is how
 * `Config.get` warns about secrets) but does not declare it in its typings; `allConfig()` itself
 * returns plain values and so cannot tell.
 */
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

export = async () => {
    const project = pulumi.getProject();
    const raw = pulumi.runtime.allConfig();
    // `allConfig` gives plain values: the secret flag is per key, and only extraProperties may carry one.
    // Read before parsing: no config error may quote a secret value.
    const secretKeys = Object.keys(raw)
        .filter((key) => key.startsWith(`${project}:`) && isConfigSecret(key))
        .map((key) => key.slice(project.length + 1));
    const args = parseStackConfig(raw, project, pulumi.getStack(), secretKeys);
    const appName = args.appName ?? DEFAULTS.appName;
    const recorded = await readRecordedState(args.namespace, appName);
    // Whether the NetworkPolicy is enforced at all: warned at every preview and deploy.
    const apiGroups = (args.networkPolicy ?? DEFAULTS.networkPolicy) ? await readApiGroups() : undefined;
    const torchserve = new TorchServeStack(
        appName,
        args,
        {},
        {
            recordedRelease: recorded.release,
            unreadableRelease: recorded.unreadable,
            recordedVolumeName: recorded.volumeName,
            secretKeys,
            apiGroups,
        },
    );
    return {
        namespace: torchserve.namespace,
        modelName: torchserve.settings.model.name,
        modelVersion: torchserve.version,
        loadedVersions: torchserve.loadedVersions,
        release: torchserve.release,
        deploymentName: torchserve.deploymentName,
        serviceName: torchserve.serviceName,
        internalServiceName: torchserve.internalServiceName,
        configMapName: torchserve.configMapName,
        configSecretName: torchserve.configSecretName,
        claimName: torchserve.claimName,
        modelStoreVolumeName: torchserve.modelStoreVolumeName,
        predictionUrl: torchserve.predictionUrl,
    };
};
