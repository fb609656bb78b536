/**
 * The NetworkPolicy of the stack's pods (`networkPolicy`, on by default):
 * ingress only to the inference port, from `inferenceFromNamespaces` or from
 * anywhere; to the metrics port only from `metricsScraperNamespace` (and from
 * the inference clients with `exposeMetrics`); to the management port only
 * with `exposeManagement` (which binds it beyond the pod's loopback), from
 * the inference clients. Everything else, gRPC included, is refused. Egress
 * is not restricted. The kubelet's probes always pass (exec checks, and
 * traffic from the pod's own node is always allowed). Enforced only by a
 * network plugin that implements NetworkPolicy.
 */
import * as k8s from "@pulumi/kubernetes";
import { Settings } from "../config";
import { PORT_NAMES, objectNames, selectorLabels } from "./names";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Port = k8s.types.input.networking.v1.NetworkPolicyPort;

/** The label every namespace carries with its own name (Kubernetes ≥ 1.22). */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

function fromNamespace(namespace: string): Peer {
    return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } };
}

/** The policy's name and spec, or undefined with `networkPolicy` false. */
export function buildNetworkPolicy(
    settings: Settings,
): { readonly name: string; readonly spec: k8s.types.input.networking.v1.NetworkPolicySpec } | undefined {
    const service = settings.service;
    if (!service.networkPolicy) {
        return undefined;
    }
    const port = (name: string): Port => ({ port: name, protocol: "TCP" });
    const clientPorts = [port(PORT_NAMES.inference)];
    if (service.exposeManagement) {
        clientPorts.push(port(PORT_NAMES.management));
    }
    if (service.exposeMetrics) {
        clientPorts.push(port(PORT_NAMES.metrics));
    }
    const clients = service.inferenceFromNamespaces.map(fromNamespace);
    return {
        name: objectNames(settings).policy,
        spec: {
            podSelector: { matchLabels: selectorLabels(settings.appName) },
            policyTypes: ["Ingress"],
            ingress: [
                // No `from`: any source, in the cluster or through the Service.
                { ports: clientPorts, ...(clients.length > 0 ? { from: clients } : {}) },
                { ports: [port(PORT_NAMES.metrics)], from: [fromNamespace(service.metricsScraperNamespace)] },
            ],
        },
    };
}
