/**
 * The PodDisruptionBudget (`podDisruptionBudget`, on by default): a node
 * drain evicts at most `maxUnavailable` pods at a time, so
 * `replicas - maxUnavailable` keep serving, as in a rollout. With
 * `maxUnavailable` 0 (the default: rollouts add a pod first, drains cannot)
 * it allows 1, since a budget that allows none blocks every drain. Pods that
 * are not ready (a failed version) may always be evicted.
 */
import * as k8s from "@pulumi/kubernetes";
import { Settings, isZeroBound } from "../config";
import { objectNames, selectorLabels } from "./names";

/** The budget's name and spec, or undefined with `podDisruptionBudget` false. */
export function buildPodDisruptionBudget(
    settings: Settings,
): { readonly name: string; readonly spec: k8s.types.input.policy.v1.PodDisruptionBudgetSpec } | undefined {
    if (!settings.availability.podDisruptionBudget) {
        return undefined;
    }
    const maxUnavailable = settings.server.maxUnavailable;
    return {
        name: objectNames(settings).policy,
        spec: {
            selector: { matchLabels: selectorLabels(settings.appName) },
            maxUnavailable: isZeroBound(maxUnavailable) ? 1 : maxUnavailable,
            unhealthyPodEvictionPolicy: "AlwaysAllow",
        },
    };
}
