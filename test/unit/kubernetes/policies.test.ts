/** The NetworkPolicy, the PodDisruptionBudget and the autoscaler, built from settings. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TorchServeStackArgs, resolveSettings } from "../../../components/config";
import { cidrContains, parseCidr } from "../../../components/config";
import {
    POLICY_ENFORCING_API_GROUPS,
    buildAutoscaler,
    buildNetworkPolicy,
    buildPodDisruptionBudget,
    networkPolicyEnforcementWarning,
    selectorLabels,
} from "../../../components/kubernetes";
import { makeModelDir, realFiles } from "../../support/fixtures";

const fixture = makeModelDir();
const settingsWith = (more: Partial<TorchServeStackArgs> = {}) =>
    resolveSettings({ ...fixture.args, ...more }, realFiles);
const fromNamespace = (name: string) => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } },
});

describe("NetworkPolicy", () => {
    it("admits by default only the inference port from anywhere and the metrics port from the scraper's namespace", () => {
        const policy = buildNetworkPolicy(settingsWith())!;
        assert.equal(policy.name, "torchserve");
        assert.deepEqual(policy.spec, {
            podSelector: { matchLabels: selectorLabels("torchserve") },
            policyTypes: ["Ingress"],
            ingress: [
                { ports: [{ port: "ts", protocol: "TCP" }] },
                { ports: [{ port: "ts-metrics", protocol: "TCP" }], from: [fromNamespace("monitoring")] },
            ],
        });
        assert.doesNotMatch(JSON.stringify(policy), /ts-management/, "no rule reaches the management port");
    });

    it("admits inference only from the named namespaces, and the scraper from the configured one", () => {
        const policy = buildNetworkPolicy(
            settingsWith({ inferenceFromNamespaces: ["apps", "batch"], metricsScraperNamespace: "observability" }),
        )! as any;
        assert.deepEqual(policy.spec.ingress[0].from, [fromNamespace("apps"), fromNamespace("batch")]);
        assert.deepEqual(policy.spec.ingress[1].from, [fromNamespace("observability")]);
    });

    it("admits inference from exactly the one client namespace named", () => {
        const policy = buildNetworkPolicy(settingsWith({ inferenceFromNamespaces: ["apps"] }))! as any;
        assert.deepEqual(policy.spec.ingress[0], {
            ports: [{ port: "ts", protocol: "TCP" }],
            from: [fromNamespace("apps")],
        });
    });

    it("adds only the port exposed to the clients' rule: metrics alone never admits the management port", () => {
        const metrics = buildNetworkPolicy(settingsWith({ exposeMetrics: true }))! as any;
        assert.deepEqual(
            metrics.spec.ingress.map((rule: any) => rule.ports.map((p: any) => p.port)),
            [["ts", "ts-metrics"], ["ts-metrics"]],
        );
        assert.doesNotMatch(JSON.stringify(metrics), /ts-management/);
        const management = buildNetworkPolicy(settingsWith({ exposeManagement: true }))! as any;
        assert.deepEqual(
            management.spec.ingress[0].ports.map((p: any) => p.port),
            ["ts", "ts-management"],
        );
    });

    it("adds the management and metrics ports to the clients' rule only when they are exposed", () => {
        const policy = buildNetworkPolicy(settingsWith({ exposeManagement: true, exposeMetrics: true }))! as any;
        assert.deepEqual(
            policy.spec.ingress[0].ports.map((p: any) => p.port),
            ["ts", "ts-management", "ts-metrics"],
        );
    });

    it("is not built with networkPolicy false", () => {
        assert.equal(buildNetworkPolicy(settingsWith({ networkPolicy: false })), undefined);
    });
});

/** Whether an egress rule list admits a TCP connection to `address`:`port` (ipBlock rules only). */
function admits(egress: any[], address: string, port: number): boolean {
    const target = parseCidr(`${address}/${address.includes(":") ? 128 : 32}`)!;
    return egress.some(
        (rule) =>
            (rule.ports === undefined || rule.ports.some((p: any) => p.port === port && p.protocol === "TCP")) &&
            rule.to.some(
                (peer: any) =>
                    peer.ipBlock &&
                    cidrContains(parseCidr(peer.ipBlock.cidr)!, target) &&
                    !(peer.ipBlock.except ?? []).some((e: string) => cidrContains(parseCidr(e)!, target)),
            ),
    );
}

describe("NetworkPolicy egress (restrictEgress)", () => {
    const dns = {
        to: [
            {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
        ],
        ports: [
            { port: 53, protocol: "UDP" },
            { port: 53, protocol: "TCP" },
        ],
    };

    it("is not restricted by default: no Egress policy type, no egress rules", () => {
        const spec = buildNetworkPolicy(settingsWith())!.spec as any;
        assert.deepEqual(spec.policyTypes, ["Ingress"]);
        assert.equal(spec.egress, undefined);
    });

    it("admits only the cluster's DNS with no destinations listed", () => {
        const spec = buildNetworkPolicy(settingsWith({ restrictEgress: true }))!.spec as any;
        assert.deepEqual(spec.policyTypes, ["Ingress", "Egress"]);
        assert.deepEqual(spec.egress, [dns]);
        assert.equal(admits(spec.egress, "169.254.169.254", 80), false);
        assert.equal(admits(spec.egress, "10.0.0.5", 3128), false);
    });

    it("admits the listed blocks (a port: that TCP port only) and never the metadata endpoints", () => {
        const spec = buildNetworkPolicy(
            settingsWith({
                restrictEgress: true,
                egressAllowedTo: ["10.0.0.5/32:3128", "0.0.0.0/0:443", "169.254.0.0/16", "::/0"],
            }),
        )!.spec as any;
        assert.deepEqual(spec.egress, [
            dns,
            { to: [{ ipBlock: { cidr: "10.0.0.5/32" } }], ports: [{ port: 3128, protocol: "TCP" }] },
            {
                to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.169.254/32", "100.100.100.200/32"] } }],
                ports: [{ port: 443, protocol: "TCP" }],
            },
            { to: [{ ipBlock: { cidr: "169.254.0.0/16", except: ["169.254.169.254/32"] } }] },
            { to: [{ ipBlock: { cidr: "::/0", except: ["fd00:ec2::254/128"] } }] },
        ]);
        assert.ok(admits(spec.egress, "10.0.0.5", 3128), "the proxy");
        assert.equal(admits(spec.egress, "10.0.0.5", 22), false, "the proxy's other ports");
        assert.ok(admits(spec.egress, "151.101.0.223", 443), "an index over HTTPS");
        assert.ok(admits(spec.egress, "169.254.20.10", 53), "node-local DNS in the listed link-local block");
        for (const port of [80, 443, 3128]) {
            assert.equal(admits(spec.egress, "169.254.169.254", port), false, `metadata on ${port}`);
            assert.equal(admits(spec.egress, "100.100.100.200", port), false, `Alibaba metadata on ${port}`);
            assert.equal(admits(spec.egress, "fd00:ec2::254", port), false, `AWS IPv6 metadata on ${port}`);
        }
    });
});

describe("NetworkPolicy enforcement warning", () => {
    const groups = ["apps", "networking.k8s.io", "policy", "autoscaling"];

    it("warns when the cluster lists no policy-enforcing plugin's API group", () => {
        const warning = networkPolicyEnforcementWarning(settingsWith(), groups);
        assert.match(warning ?? "", /^networkPolicy: this cluster's API lists no network plugin known to enforce/);
        assert.match(warning!, /NetworkPolicy [a-z0-9-]+\/torchserve is probably inert/);
        assert.match(warning!, /\(Calico, Cilium, Antrea, AWS VPC CNI policy agent, OVN-Kubernetes, \.\.\.\)/);
        assert.match(warning!, /every pod may reach the inference and metrics ports\. Install a plugin/);
        assert.doesNotMatch(warning!, /restrictEgress/);
        assert.match(
            networkPolicyEnforcementWarning(settingsWith({ restrictEgress: true }), groups)!,
            /the pods may connect anywhere \(restrictEgress\)/,
        );
    });

    it("does not warn with a known plugin, without a policy, or when the groups could not be read", () => {
        for (const plugin of POLICY_ENFORCING_API_GROUPS) {
            assert.equal(networkPolicyEnforcementWarning(settingsWith(), [...groups, plugin]), undefined, plugin);
        }
        // The groups each plugin registers (its CRDs or API server), as documented by the plugins.
        for (const group of [
            "crd.projectcalico.org",
            "projectcalico.org",
            "cilium.io",
            "crd.antrea.io",
            "networking.k8s.aws",
            "k8s.ovn.org",
            "network.openshift.io",
            "kubeovn.io",
        ]) {
            assert.ok(POLICY_ENFORCING_API_GROUPS.includes(group), group);
        }
        assert.equal(networkPolicyEnforcementWarning(settingsWith({ networkPolicy: false }), groups), undefined);
        assert.equal(networkPolicyEnforcementWarning(settingsWith(), undefined), undefined);
    });
});

describe("PodDisruptionBudget", () => {
    it("lets a drain evict as many pods as a rollout may take down, at least one, unhealthy ones always", () => {
        const budget = buildPodDisruptionBudget(settingsWith())! as any;
        assert.equal(budget.name, "torchserve");
        assert.deepEqual(budget.spec, {
            selector: { matchLabels: selectorLabels("torchserve") },
            maxUnavailable: 1,
            unhealthyPodEvictionPolicy: "AlwaysAllow",
        });
        assert.equal(
            (buildPodDisruptionBudget(settingsWith({ maxUnavailable: 2, replicas: 5 }))! as any).spec.maxUnavailable,
            2,
        );
        assert.equal(
            (buildPodDisruptionBudget(settingsWith({ maxUnavailable: "25%" }))! as any).spec.maxUnavailable,
            "25%",
        );
        assert.equal((buildPodDisruptionBudget(settingsWith({ maxUnavailable: "0%" }))! as any).spec.maxUnavailable, 1);
        assert.equal(buildPodDisruptionBudget(settingsWith({ podDisruptionBudget: false })), undefined);
    });
});

describe("HorizontalPodAutoscaler", () => {
    it("scales the Deployment from replicas to autoscaleMaxReplicas on CPU, only when asked", () => {
        assert.equal(buildAutoscaler(settingsWith()), undefined);
        const autoscaler = buildAutoscaler(
            settingsWith({ replicas: 2, autoscaleMaxReplicas: 8, autoscaleCpuPercent: 60 }),
        )!;
        assert.deepEqual(autoscaler.spec, {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "torchserve" },
            minReplicas: 2,
            maxReplicas: 8,
            metrics: [
                {
                    type: "Resource",
                    resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } },
                },
            ],
        });
    });
});
