/**
 * The NetworkPolicy of the stack's pods (`networkPolicy`, on by default):
 * ingress only to the inference port, from `inferenceFromNamespaces` or from
 * anywhere; to the metrics port only from `metricsScraperNamespace` (and from
 * the inference clients with `exposeMetrics`); to the management port only
 * with `exposeManagement` (which binds it beyond the pod's loopback), from
 * the inference clients. Everything else, gRPC included, is refused. Egress
 * is not restricted unless `restrictEgress`: then only to the cluster's DNS
 * and `egressAllowedTo`, never to the cloud's metadata endpoint. The
 * kubelet's probes always pass (exec checks, and traffic from the pod's own
 * node is always allowed). Enforced only by a network plugin that implements
 * NetworkPolicy ({@link networkPolicyEnforcementWarning}).
 */
import * as k8s from "@pulumi/kubernetes";
import { EgressDestination, Settings, metadataEndpointsIn, parseCidr } from "../config";
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
            policyTypes: service.restrictEgress ? ["Ingress", "Egress"] : ["Ingress"],
            ingress: [
                // No `from`: any source, in the cluster or through the Service.
                { ports: clientPorts, ...(clients.length > 0 ? { from: clients } : {}) },
                { ports: [port(PORT_NAMES.metrics)], from: [fromNamespace(service.metricsScraperNamespace)] },
            ],
            ...(service.restrictEgress ? { egress: egressRules(service.egressAllowedTo) } : {}),
        },
    };
}

/**
 * The cluster's DNS as kubeadm, EKS, GKE and AKS run it: pods labelled `k8s-app=kube-dns` in
 * kube-system (CoreDNS keeps that label). Policies see the pod behind the DNS Service's address.
 */
export const CLUSTER_DNS_PEER: Peer = {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: "kube-system" } },
    podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
};

/** DNS, then one rule per destination, each block minus the metadata endpoints it holds. */
function egressRules(
    destinations: readonly EgressDestination[],
): k8s.types.input.networking.v1.NetworkPolicyEgressRule[] {
    return [
        {
            to: [CLUSTER_DNS_PEER],
            ports: [
                { port: 53, protocol: "UDP" },
                { port: 53, protocol: "TCP" },
            ],
        },
        ...destinations.map((destination) => {
            const except = metadataEndpointsIn(parseCidr(destination.cidr)!);
            return {
                to: [{ ipBlock: { cidr: destination.cidr, ...(except.length > 0 ? { except } : {}) } }],
                ...(destination.port === undefined ? {} : { ports: [{ port: destination.port, protocol: "TCP" }] }),
            };
        }),
    ];
}

/**
 * API groups that a network plugin which enforces NetworkPolicy registers (its CRDs or its API
 * server): Calico (and Canal), Cilium (also GKE Dataplane V2 and AKS with Cilium), Antrea, the AWS
 * VPC CNI's policy agent, OVN-Kubernetes, OpenShift SDN, Kube-OVN. A plugin that registers none
 * (kube-router, Weave Net, Azure Network Policy Manager) cannot be told from no plugin at all.
 */
export const POLICY_ENFORCING_API_GROUPS: readonly string[] = [
    "crd.projectcalico.org",
    "projectcalico.org",
    "cilium.io",
    "crd.antrea.io",
    "networking.k8s.aws",
    "k8s.ovn.org",
    "network.openshift.io",
    "kubeovn.io",
];

/**
 * The warning that the NetworkPolicy may be inert: with `networkPolicy`, when the cluster's API
 * (its discovery document, which every authenticated user may read) lists none of
 * {@link POLICY_ENFORCING_API_GROUPS}. `apiGroups` undefined: the groups could not be read, no warning.
 */
export function networkPolicyEnforcementWarning(
    settings: Settings,
    apiGroups: readonly string[] | undefined,
): string | undefined {
    if (!settings.service.networkPolicy || apiGroups === undefined) {
        return undefined;
    }
    if (apiGroups.some((group) => POLICY_ENFORCING_API_GROUPS.includes(group))) {
        return undefined;
    }
    return (
        "networkPolicy: this cluster's API lists no network plugin known to enforce NetworkPolicy " +
        "(Calico, Cilium, Antrea, AWS VPC CNI policy agent, OVN-Kubernetes, ...), so the NetworkPolicy " +
        `${settings.namespace}/${objectNames(settings).policy} is probably inert: every pod may reach the ` +
        "inference and metrics ports" +
        (settings.service.restrictEgress ? ", and the pods may connect anywhere (restrictEgress)" : "") +
        ". Install a plugin that enforces it; if yours does without registering an API (kube-router, Weave Net, " +
        "Azure Network Policy Manager), this warning does not apply"
    );
}
