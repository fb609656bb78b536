/**
 * Names that tie the stack's Kubernetes objects together: the labels that
 * select its pods (the Deployment, the Services and the volumes carry them)
 * and the container port names the Services and probes target.
 */

/** Named container ports (the Services target these names). */
export const PORT_NAMES = { inference: "ts", management: "ts-management", metrics: "ts-metrics" } as const;

/** Labels that select this stack's pods; stable across versions. */
export function selectorLabels(appName: string): Record<string, string> {
    return { "app.kubernetes.io/name": "torchserve", "app.kubernetes.io/instance": appName };
}

/** Labels of the pods of one version (the version label changes on each deploy and rolls the pods). */
export function podLabels(appName: string, version: string): Record<string, string> {
    return { ...selectorLabels(appName), "app.kubernetes.io/version": version, "app.kubernetes.io/component": "model-server" };
}
