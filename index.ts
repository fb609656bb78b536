/**
 * The torchserve-stack program: reads this stack's typed config and the
 * release it recorded at its last successful deploy, and deploys one
 * TorchServeStack into the stack's namespace. A run that brings no model (a
 * pull request's preview, an `up` of an infrastructure change) keeps that
 * release; the deploy command (`npm run deploy`) brings one.
 */
import * as pulumi from "@pulumi/pulumi";
import { TorchServeStack, readRecordedRelease } from "./components/torchServeStack";
import { DEFAULTS, parseStackConfig } from "./components/config";

export = async () => {
    const args = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack());
    const recorded = await readRecordedRelease();
    const torchserve = new TorchServeStack(
        args.appName ?? DEFAULTS.appName,
        args,
        {},
        { recordedRelease: recorded.release, unreadableRelease: recorded.unreadable },
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
        claimName: torchserve.claimName,
        predictionUrl: torchserve.predictionUrl,
    };
};
