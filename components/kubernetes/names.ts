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

/** The names of the stack's explicitly named objects (the ConfigMap is auto-named). */
export function objectNames(settings: Pick<Settings, "appName" | "namespace">): {
    readonly deployment: string;
    readonly service: string;
    readonly internalService: string;
    readonly claim: string;
    readonly volume: string;
} {
    const claim = `${settings.appName}-model-store`;
    return {
        deployment: settings.appName,
        service: settings.appName,
        internalService: `${settings.appName}-internal`,
        claim,
        // Cluster-scoped: the namespace in the name keeps stacks apart.
        volume: `${settings.namespace}-${claim}`,
    };
}
