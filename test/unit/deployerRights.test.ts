/**
 * The deployer's Role against what the program really does: every kind the
 * component registers with every option on (run under the Pulumi mocks, a
 * failed rollout included, so the rollout report runs too), what the
 * provider's awaits read for it, and every API path the rollout report
 * requests (against a local HTTP server). A new kind, a dropped rule or a new
 * read fails here before a deploy gets a 403 or hangs on a forbidden watch.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { gatherPods } from "../../components/cli/rolloutReport";
import { DEFAULTS, parseStackConfig } from "../../components/config";
import { FileHashCache } from "../../components/store";
import { Rule, Scope, Verb, rulesOf } from "../../components/kubernetes";
import { TorchServeStack } from "../../components/torchServeStack";
import { makeModelDir } from "../support/fixtures";
import { MockRun, Recorded } from "../support/mocks";

const fixture = makeModelDir("tsstack-rights-");

/** Every option that adds a kind or changes how one is handled, on. */
const everyOption: Record<string, string> = {
    modelName: "demo",
    modelVersion: "v2",
    serializedFile: fixture.args.serializedFile!,
    handler: fixture.args.handler!,
    extraFiles: JSON.stringify(fixture.args.extraFiles),
    modelStorePath: fixture.store,
    modelStoreHostPath: "/data/model-store",
    createNamespace: "true",
    replicas: "2",
    autoscaleMaxReplicas: "4",
    podDisruptionBudget: "true",
    networkPolicy: "true",
    extraProperties: JSON.stringify({ keystore_pass: "hunter2" }),
};

/** Kinds without a namespace (the provider's objects of these live at cluster scope). */
const CLUSTER_SCOPED = new Set([
    "Namespace",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
]);

interface Right {
    readonly verb: Verb;
    readonly group: string;
    readonly resource: string;
    readonly scope: Scope;
    readonly why: string;
}

/** `kubernetes:networking.k8s.io/v1:NetworkPolicy` -> group, resource (RBAC's plural) and scope. */
function apiResourceOf(type: string): { group: string; resource: string; kind: string; scope: Scope } {
    const match = /^kubernetes:([^/]+)\/[^:]+:(\w+)$/.exec(type);
    assert.ok(match, `a Kubernetes type token: ${type}`);
    const [, group, kind] = match;
    const lower = kind.toLowerCase();
    const resource = lower.endsWith("y") ? `${lower.slice(0, -1)}ies` : `${lower}s`;
    return {
        group: group === "core" ? "" : group,
        resource,
        kind,
        scope: CLUSTER_SCOPED.has(kind) ? "cluster" : "namespace",
    };
}

/**
 * What the provider (4.25, server-side apply) does with one registered object:
 * apply (create, patch), read (get), and unless it is kept on delete, delete
 * and the deletion await's informer (list, watch); plus its await's reads.
 */
function rightsFor(resource: Recorded): Right[] {
    const api = apiResourceOf(resource.type);
    const on = (verbs: Verb[], why: string, target: Pick<Right, "group" | "resource" | "scope"> = api) =>
        verbs.map((verb) => ({ verb, group: target.group, resource: target.resource, scope: target.scope, why }));
    const rights = on(["create", "patch", "get"], `apply ${resource.name}`);
    if (!resource.retainOnDelete) {
        rights.push(...on(["delete", "list", "watch"], `delete ${resource.name}`));
    }
    const annotations = resource.inputs.metadata?.annotations ?? {};
    const inNamespace = (name: string, group = "") => ({ group, resource: name, scope: "namespace" as Scope });
    // Every await (skipAwait too) watches events for warnings: those of the stack's namespace are granted.
    rights.push(...on(["list", "watch"], `warning events of ${resource.name}`, inNamespace("events")));
    if (api.kind === "Deployment") {
        if (annotations["pulumi.com/waitFor"]) {
            rights.push(...on(["list", "watch"], "the waitFor condition's informer"));
        } else {
            // The built-in Deployment await's informers.
            for (const [name, group] of [
                ["deployments", "apps"],
                ["replicasets", "apps"],
                ["pods", ""],
                ["persistentvolumeclaims", ""],
            ]) {
                rights.push(...on(["list", "watch"], "the Deployment await", inNamespace(name, group)));
            }
        }
    }
    if (api.kind === "Service" && annotations["pulumi.com/skipAwait"] !== "true") {
        rights.push(...on(["list", "watch"], "the Service await"));
        rights.push(...on(["list", "watch"], "the Service await", inNamespace("endpoints")));
    }
    return rights;
}

function granted(rules: readonly Rule[], right: Pick<Right, "verb" | "group" | "resource">): boolean {
    return rules.some(
        (rule) =>
            rule.apiGroups.includes(right.group) &&
            rule.resources.includes(right.resource) &&
            rule.verbs.includes(right.verb),
    );
}

function notGranted(rights: readonly Right[]): string[] {
    return rights
        .filter((right) => !granted(rulesOf(right.scope), right))
        .map((r) => `${r.verb} ${r.resource}${r.group ? `.${r.group}` : ""} (${r.scope}): ${r.why}`);
}

/** The component with every option on, a failed rollout (the report runs): what it registered. */
async function registeredWithEveryOption(): Promise<Recorded[]> {
    const run = await MockRun.start(
        "staging",
        Object.fromEntries(Object.entries(everyOption).map(([k, v]) => [`torchserve-stack:${k}`, v])),
        false,
        {},
        {
            secretKeys: ["torchserve-stack:extraProperties"],
            deploymentStatus: {
                conditions: [
                    {
                        type: "Progressing",
                        status: "False",
                        reason: "ProgressDeadlineExceeded",
                        message: 'ReplicaSet "torchserve-6b7f" has timed out progressing.',
                    },
                ],
            },
        },
    );
    const args = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack());
    const stack = new TorchServeStack(
        args.appName ?? DEFAULTS.appName,
        args,
        {},
        {
            hashCache: new FileHashCache(),
            secretKeys: ["extraProperties"],
            stackId: "organization/torchserve-stack/staging",
        },
    );
    await new Promise((resolve) => stack.deploymentName.apply(resolve));
    return run.finish();
}

describe("the deployer's Role against what the program manages", () => {
    let resources: Recorded[];
    before(async () => {
        resources = await registeredWithEveryOption();
    });

    it("registers every kind an option adds (so the checks below see them all)", () => {
        const kinds = new Set(resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => r.type));
        assert.deepEqual([...kinds].sort(), [
            "kubernetes:apps/v1:Deployment",
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:PersistentVolume",
            "kubernetes:core/v1:PersistentVolumeClaim",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:Service",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:policy/v1:PodDisruptionBudget",
        ]);
        assert.ok(
            resources.some((r) => r.name === "torchserve-rollout-report"),
            "the rollout report runs",
        );
    });

    it("grants every verb the provider needs for each registered kind, in its scope", () => {
        const kubernetes = resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.deepEqual(notGranted(kubernetes.flatMap(rightsFor)), []);
    });

    it("grants the ConfigMap a stack without secret config gets, as the Secret", () => {
        const configMap = rightsFor({
            type: "kubernetes:core/v1:ConfigMap",
            name: "torchserve-config",
            inputs: { metadata: {} },
            dependencies: [],
            protect: false,
            retainOnDelete: false,
            secretPaths: [],
            ignoreChanges: [],
        });
        assert.deepEqual(notGranted(configMap), []);
    });

    it("grants create only on kinds the program creates: nothing stale", () => {
        const created = new Set(
            resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => apiResourceOf(r.type).resource),
        );
        created.add("configmaps");
        const creatable = [...rulesOf("namespace"), ...rulesOf("cluster")]
            .filter((rule) => rule.verbs.includes("create"))
            .flatMap((rule) => rule.resources);
        assert.deepEqual(creatable.sort(), [...created].sort());
    });
});

describe("the deployer's Role against the rollout report's reads", () => {
    const requests: string[] = [];
    let server: http.Server;
    let url: string;
    before(async () => {
        server = http.createServer((request, response) => {
            requests.push(`${request.method} ${request.url}`);
            const path = (request.url ?? "").split("?")[0];
            response.setHeader("content-type", "application/json");
            if (path.endsWith("/pods")) {
                const pod = {
                    metadata: { name: "torchserve-6b7f-abcde", labels: { "app.kubernetes.io/version": "v2" } },
                    status: { phase: "Running", containerStatuses: [{ restartCount: 1, state: { running: {} } }] },
                };
                response.end(JSON.stringify({ items: [pod] }));
            } else if (path.endsWith("/events")) {
                response.end(JSON.stringify({ items: [{ type: "Warning", reason: "Unhealthy", message: "probe" }] }));
            } else {
                response.end("java.lang.OutOfMemoryError: boom\n");
            }
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it("grants every request the report makes for a failed pod (pods, its events, its log)", async () => {
        const facts = await gatherPods(
            { server: url, insecure: false },
            {
                namespace: "staging",
                app: "torchserve",
                model: "demo",
                version: "v2",
                previous: "v1",
                stack: "staging",
                replicaSet: "torchserve-6b7f",
                startupSeconds: 300,
                marginSeconds: 120,
            },
        );
        assert.equal(facts[0].logTail.length, 1, "it read the log");
        assert.equal(requests.length, 3, requests.join("\n"));
        const rights = requests.map((line): Right => {
            const [method, target] = line.split(" ");
            assert.equal(method, "GET");
            const parts = target.split("?")[0].split("/").filter(Boolean);
            // /api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]] or /apis/<group>/<version>/namespaces/...
            const group = parts[0] === "api" ? "" : parts[1];
            const rest = parts.slice(parts[0] === "api" ? 2 : 3);
            assert.equal(rest[0], "namespaces");
            assert.equal(rest[1], "staging", "only the stack's namespace");
            const [resource, name, subresource] = rest.slice(2);
            return {
                verb: name === undefined ? "list" : "get",
                group,
                resource: subresource ? `${resource}/${subresource}` : resource,
                scope: "namespace",
                why: line,
            };
        });
        assert.deepEqual(notGranted(rights), []);
    });
});
