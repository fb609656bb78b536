/**
 * Settings of what the pods expose and to whom: the inference Service's type
 * and extra ports, and the NetworkPolicy's sources (inference clients, the
 * metrics scraper).
 */
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set, setPathCommand as setPath } from "./errors";
import { SERVICE_TYPES, ServiceType, TorchServeStackArgs } from "./stackArgs";
import { isDnsLabel } from "./validators";

export interface ServiceSettings {
    readonly type: ServiceType;
    readonly exposeManagement: boolean;
    readonly exposeMetrics: boolean;
    readonly networkPolicy: boolean;
    /** Namespaces admitted to the inference port; empty: any source. */
    readonly inferenceFromNamespaces: readonly string[];
    /** The namespace admitted to the metrics port. */
    readonly metricsScraperNamespace: string;
}

export function resolveService(args: TorchServeStackArgs, problems: ProblemList): ServiceSettings {
    const type = args.serviceType ?? DEFAULTS.serviceType;
    if (!SERVICE_TYPES.includes(type)) {
        problems.add({
            key: "serviceType",
            value: type,
            problem: `must be one of ${SERVICE_TYPES.join(", ")}`,
            fix: set("serviceType", DEFAULTS.serviceType),
        });
    }
    const inferenceFromNamespaces = args.inferenceFromNamespaces ?? DEFAULTS.inferenceFromNamespaces;
    inferenceFromNamespaces.forEach((namespace, i) => {
        if (!isDnsLabel(namespace)) {
            problems.add({
                key: `inferenceFromNamespaces[${i}]`,
                value: namespace,
                problem: "is not a valid Kubernetes namespace name",
                fix: setPath(`inferenceFromNamespaces[${i}]`, "ml-clients"),
            });
        }
    });
    if (inferenceFromNamespaces.length > 0 && type !== "ClusterIP" && SERVICE_TYPES.includes(type)) {
        problems.add({
            key: "inferenceFromNamespaces",
            value: inferenceFromNamespaces,
            problem:
                `admits only pods of those namespaces, so the ${type} Service's clients outside the ` +
                "cluster would be refused",
            fix: `pulumi config rm inferenceFromNamespaces, or ${set("serviceType", "ClusterIP")}`,
        });
    }
    const metricsScraperNamespace = args.metricsScraperNamespace ?? DEFAULTS.metricsScraperNamespace;
    if (!isDnsLabel(metricsScraperNamespace)) {
        problems.add({
            key: "metricsScraperNamespace",
            value: metricsScraperNamespace,
            problem: "is not a valid Kubernetes namespace name (the namespace your Prometheus runs in)",
            fix: set("metricsScraperNamespace", DEFAULTS.metricsScraperNamespace),
        });
    }
    return {
        type,
        exposeManagement: args.exposeManagement ?? DEFAULTS.exposeManagement,
        exposeMetrics: args.exposeMetrics ?? DEFAULTS.exposeMetrics,
        networkPolicy: args.networkPolicy ?? DEFAULTS.networkPolicy,
        inferenceFromNamespaces,
        metricsScraperNamespace,
    };
}
