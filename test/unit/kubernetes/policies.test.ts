/** The NetworkPolicy, the PodDisruptionBudget and the autoscaler, built from settings. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TorchServeStackArgs, resolveSettings } from "../../../components/config";
import {
    buildAutoscaler,
    buildNetworkPolicy,
    buildPodDisruptionBudget,
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
