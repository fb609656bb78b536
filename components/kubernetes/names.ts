/**
 * Names that tie the stack's Kubernetes objects together: the labels that
 * select its pods (every object of the stack carries them), the container
 * port names the Services and probes target, and the object names derived
 * from `appName` (existing stacks' objects have these names: changing one
 * replaces the object).
 */
import { Settings } from "../config";

/** Named container ports (the Services target these names). */
export const PORT_NAMES = { inference: "ts", management: "ts-management", metrics: "ts-metrics" } as const;

/** Labels that select this stack's pods; stable across versions. */
export function selectorLabels(appName: string): Record<string, string> {
    return { "app.kubernetes.io/name": "torchserve", "app.kubernetes.io/instance": appName };
}

/** Labels of the pods of one version (the version label changes on each deploy and rolls the pods). */
export function podLabels(appName: string, version: string): Record<string, string> {
    return {
        ...selectorLabels(appName),
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/component": "model-server",
    };
}

/** The names of the stack's explicitly named objects (the ConfigMap or Secret is auto-named). */
export function objectNames(settings: Pick<Settings, "appName" | "namespace">): {
    readonly deployment: string;
    readonly service: string;
    readonly internalService: string;
    readonly claim: string;
    /** Also the PodDisruptionBudget, the NetworkPolicy and the autoscaler: one of each per stack. */
    readonly policy: string;
} {
    return {
        deployment: settings.appName,
        service: settings.appName,
        internalService: `${settings.appName}-internal`,
        claim: `${settings.appName}-model-store`,
        policy: settings.appName,
    };
}

/**
 * The hostPath PersistentVolume's name (cluster-scoped, so it names the
 * namespace too): `<namespace>.<appName>-model-store`. Neither part can hold
 * a dot, so two stacks never get the same name. Stacks deployed before this
 * name was used have `<namespace>-<appName>-model-store`
 * ({@link legacyVolumeName}), which (`a-b`, `c`) and (`a`, `b-c`) share; they
 * keep it, since renaming a volume replaces it (`recorded`: the name the stack
 * recorded, see TorchServeStackHost).
 */
export function volumeName(settings: Pick<Settings, "appName" | "namespace">, recorded?: string): string {
    const current = `${settings.namespace}.${settings.appName}-model-store`;
    return recorded === legacyVolumeName(settings) ? recorded : current;
}

/** The volume name stacks deployed before {@link volumeName} have: ambiguous, kept only for them. */
export function legacyVolumeName(settings: Pick<Settings, "appName" | "namespace">): string {
    return `${settings.namespace}-${settings.appName}-model-store`;
}
