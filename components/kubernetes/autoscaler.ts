/**
 * The optional HorizontalPodAutoscaler (autoscaling/v2; `autoscaleMaxReplicas`
 * > 0): from `replicas` up to `autoscaleMaxReplicas` pods, on the pods'
 * average CPU use against their request. Needs the cluster's metrics API
 * (metrics-server). While it runs, the program leaves the Deployment's
 * replica count to it (see the wiring: `ignoreChanges`).
 */
import * as k8s from "@pulumi/kubernetes";
import { Settings } from "../config";
import { objectNames } from "./names";

/** The autoscaler's name and spec, or undefined without one. */
export function buildAutoscaler(
    settings: Settings,
): { readonly name: string; readonly spec: k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec } | undefined {
    const autoscale = settings.availability.autoscale;
    if (!autoscale) {
        return undefined;
    }
    const names = objectNames(settings);
    return {
        name: names.policy,
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: names.deployment },
            minReplicas: settings.server.replicas,
            maxReplicas: autoscale.maxReplicas,
            metrics: [
                {
                    type: "Resource",
                    resource: {
                        name: "cpu",
                        target: { type: "Utilization", averageUtilization: autoscale.cpuPercent },
                    },
                },
            ],
        },
    };
}
