import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    DEPLOYER_NEEDS,
    describePermission,
    neededPermissions,
    rbacManifests,
    ruleTable,
    rulesOf,
} from "../../../components/kubernetes";

const everything = { preview: false, createNamespace: true, modelStoreHostPath: true };

describe("the deployer's rights", () => {
    it("merges the needs into one rule per resource, verbs in kubectl's order", () => {
        const role = rulesOf("namespace");
        const keys = role.map((rule) => `${rule.apiGroups[0]}/${rule.resources[0]}`);
        assert.equal(new Set(keys).size, keys.length, "one rule per resource");
        const services = role.find((rule) => rule.resources[0] === "services")!;
        assert.deepEqual(services.verbs, ["get", "list", "watch", "create", "patch", "delete"]);
        const claims = role.find((rule) => rule.resources[0] === "persistentvolumeclaims")!;
        assert.deepEqual(claims.verbs, ["get", "create", "patch"], "kept on delete: never deleted");
        assert.deepEqual(role.find((rule) => rule.resources[0] === "endpoints")!.verbs, ["list", "watch"]);
        assert.deepEqual(role.find((rule) => rule.resources[0] === "pods/log")!.verbs, ["get"]);
        assert.ok(!role.some((rule) => rule.verbs.includes("update" as never)), "server-side apply never PUTs");
        assert.deepEqual(
            rulesOf("cluster").map((rule) => [rule.resources[0], rule.verbs]),
            [
                ["persistentvolumes", ["get", "create", "patch"]],
                ["namespaces", ["get", "create", "patch"]],
            ],
        );
    });

    it("says for each verb of each rule which step needs it", () => {
        for (const row of [...ruleTable("namespace"), ...ruleTable("cluster")]) {
            const covered = new Set(row.steps.flatMap((step) => step.verbs));
            assert.deepEqual([...row.rule.verbs].sort(), [...covered].sort(), row.rule.resources[0]);
            assert.ok(row.steps.every((step) => step.why.length > 10));
        }
        assert.ok(DEPLOYER_NEEDS.every((need) => (need.scope === "cluster") === (need.option !== undefined)));
    });

    it("needs in a run what its options and operation use: a preview only reads", () => {
        const all = neededPermissions(everything);
        const count = (scope: string) => all.filter((p) => p.scope === scope).length;
        const roleVerbs = rulesOf("namespace").reduce((n, rule) => n + rule.verbs.length, 0);
        assert.equal(count("namespace"), roleVerbs, "every verb of the Role, once");
        assert.equal(count("cluster"), 6);
        const plain = neededPermissions({ ...everything, createNamespace: false, modelStoreHostPath: false });
        assert.equal(plain.filter((p) => p.scope === "cluster").length, 0);
        const onlyVolume = neededPermissions({ ...everything, createNamespace: false });
        assert.deepEqual(
            [...new Set(onlyVolume.filter((p) => p.scope === "cluster").map((p) => p.resource))],
            ["persistentvolumes"],
        );
        const preview = neededPermissions({ ...everything, preview: true });
        assert.deepEqual([...new Set(preview.map((p) => p.verb))], ["get"]);
        assert.ok(preview.some((p) => p.resource === "deployments"));
        assert.ok(!preview.some((p) => p.resource === "pods/log"), "a preview runs no report");
        const listEvents = all.find((p) => p.verb === "list" && p.resource === "events")!;
        assert.match(listEvents.why, /rollout report/);
    });

    it("names a permission as kubectl does, with where it applies", () => {
        assert.equal(
            describePermission(
                { verb: "create", group: "apps", resource: "deployments", scope: "namespace" },
                "staging",
            ),
            "create deployments.apps in namespace staging",
        );
        assert.equal(
            describePermission({ verb: "list", group: "", resource: "endpoints", scope: "namespace" }, "ml"),
            "list endpoints in namespace ml",
        );
        assert.equal(
            describePermission({ verb: "get", group: "", resource: "persistentvolumes", scope: "cluster" }, "ml"),
            "get persistentvolumes cluster-wide",
        );
    });

    it("binds the Role in the stack's namespace to a ServiceAccount that may live elsewhere", () => {
        const objects = rbacManifests({ namespace: "staging", serviceAccountNamespace: "kubeflow-user" }) as any[];
        assert.deepEqual(
            objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`),
            [
                "ServiceAccount kubeflow-user/torchserve-deployer",
                "Role staging/torchserve-deployer",
                "RoleBinding staging/torchserve-deployer",
            ],
        );
        assert.deepEqual(objects[2].subjects, [
            { kind: "ServiceAccount", name: "torchserve-deployer", namespace: "kubeflow-user" },
        ]);
        assert.deepEqual(objects[1].rules, rulesOf("namespace"));
        const withCluster = rbacManifests({
            namespace: "staging",
            clusterScoped: true,
            serviceAccountName: "d",
        }) as any[];
        assert.deepEqual(
            withCluster.slice(3).map((o) => o.kind),
            ["ClusterRole", "ClusterRoleBinding"],
        );
        assert.deepEqual(withCluster[3].rules, rulesOf("cluster"));
        assert.equal(withCluster[3].metadata.name, "torchserve-deployer-cluster-scoped");
        assert.equal(withCluster[4].metadata.name, "torchserve-deployer-cluster-scoped-staging-d");
        assert.deepEqual(withCluster[4].roleRef, {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "torchserve-deployer-cluster-scoped",
        });
        assert.deepEqual(withCluster[4].subjects, [{ kind: "ServiceAccount", name: "d", namespace: "staging" }]);
    });
});
