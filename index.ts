/**
 * The torchserve-stack program: reads this stack's typed config and deploys
 * one TorchServeStack into the stack's namespace.
 */
import * as pulumi from "@pulumi/pulumi";
import { TorchServeStack } from "./components/torchServeStack";
import { DEFAULTS, parseStackConfig } from "./components/config";

const args = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack());
const torchserve = new TorchServeStack(args.appName ?? DEFAULTS.appName, args);

export const namespace = torchserve.namespace;
export const modelName = torchserve.settings.model.name;
export const modelVersion = torchserve.version;
export const loadedVersions = torchserve.loadedVersions;
export const deploymentName = torchserve.deploymentName;
export const serviceName = torchserve.serviceName;
export const internalServiceName = torchserve.internalServiceName;
export const configMapName = torchserve.configMapName;
export const claimName = torchserve.claimName;
export const predictionUrl = torchserve.predictionUrl;
