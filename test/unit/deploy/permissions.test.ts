import assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { neededPermissions } from "../../../components/kubernetes";
import { missingPermissions, missingPermissionsMessage, permissionPlan } from "../../../deploy/permissions";

const P = "torchserve-stack";

describe("the deploy's permission preflight", () => {
    it("checks in the namespace the program resolves: the stack name by default, else the config's", () => {
        assert.equal(permissionPlan({}, P, "staging", false)!.namespace, "staging");
        assert.equal(permissionPlan({ [`${P}:namespace`]: "" }, P, "staging", false)!.namespace, "staging");
        assert.equal(permissionPlan({ [`${P}:namespace`]: "ml-prod" }, P, "prod", false)!.namespace, "ml-prod");
    });

    it("adds the cluster-scoped rights only for the options that need them, and reads the provider's kubeconfig", () => {
        const scopes = (raw: Record<string, string>) => [
            ...new Set(
                permissionPlan(raw, P, "s", false)!
                    .permissions.filter((p) => p.scope === "cluster")
                    .map((p) => p.resource),
            ),
        ];
        assert.deepEqual(scopes({}), []);
        assert.deepEqual(scopes({ [`${P}:createNamespace`]: "true" }), ["namespaces"]);
        assert.deepEqual(scopes({ [`${P}:modelStoreHostPath`]: "/data" }), ["persistentvolumes"]);
        const both = { [`${P}:modelStoreHostPath`]: "/data", [`${P}:modelStoreClaimName`]: "c" };
        assert.deepEqual(scopes(both), [], "a config error the engine reports; no volume is made");
        const plan = permissionPlan({ "kubernetes:kubeconfig": "/k", "kubernetes:context": "c" }, P, "s", true)!;
        assert.deepEqual([plan.kubeconfig, plan.context], ["/k", "c"]);
        assert.deepEqual([...new Set(plan.permissions.map((p) => p.verb))], ["get"], "a preview reads");
    });

    it("leaves a config that does not parse to the engine, which reports its problems", () => {
        assert.equal(permissionPlan({ [`${P}:replicas`]: "two" }, P, "s", false), undefined);
    });

    it("names each missing permission, the step that needs it, and the command that fixes it", () => {
        const plan = permissionPlan({ [`${P}:createNamespace`]: "true" }, P, "staging", false)!;
        const missing = plan.permissions.filter(
            (p) => (p.resource === "endpoints" && p.verb === "watch") || p.resource === "namespaces",
        );
        const message = missingPermissionsMessage(missing, plan, "system:serviceaccount:kubeflow:pipeline-runner");
        const lines = message.split("\n");
        assert.match(
            lines[0],
            /credentials \(system:serviceaccount:kubeflow:pipeline-runner\) lack 4 of the \d+ permissions/,
        );
        assert.match(
            lines[1],
            /^ {2}- watch endpoints in namespace staging: the provider's Service await watches the endpoints/,
        );
        assert.match(message, /- create namespaces cluster-wide: apply the Namespace/);
        assert.match(
            message,
            /npm run --silent rbac -- --namespace staging --service-account-namespace kubeflow --service-account pipeline-runner --cluster-scoped \| kubectl apply -f -/,
        );
        const own = missingPermissionsMessage(
            missing.slice(0, 1),
            plan,
            "system:serviceaccount:staging:torchserve-deployer",
        );
        assert.match(own, /rbac -- --namespace staging \| kubectl/, "its own namespace and the default name: no flags");
        const user = missingPermissionsMessage(missing.slice(0, 1), plan, "oidc:system:serviceaccount:a:b");
        assert.match(user, /\(oidc:system:serviceaccount:a:b\)[^\n]*\n[^]*rbac -- --namespace staging \| kubectl/);
        const plain = missingPermissionsMessage(missing.slice(0, 1), plan, undefined);
        assert.match(plain, /credentials lack 1 of/);
        assert.match(plain, /rbac -- --namespace staging \| kubectl/);
    });

    describe("against an API server", () => {
        const reviews: any[] = [];
        let server: http.Server;
        let url: string;
        before(async () => {
            server = http.createServer((request, response) => {
                let body = "";
                request.on("data", (chunk) => (body += chunk));
                request.on("end", () => {
                    const review = JSON.parse(body);
                    reviews.push({
                        path: request.url,
                        method: request.method,
                        type: request.headers["content-type"],
                        review,
                    });
                    const a = review.spec.resourceAttributes;
                    // This account may do everything but watch endpoints and read logs.
                    const allowed = !(a.resource === "endpoints" && a.verb === "watch") && a.subresource !== "log";
                    response.setHeader("content-type", "application/json");
                    response.end(JSON.stringify({ ...review, status: { allowed } }));
                });
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        });
        after(() => server.close());

        it("asks one SelfSubjectAccessReview per right, in the namespace, and returns those denied", async () => {
            const wanted = neededPermissions({ preview: false, createNamespace: true, modelStoreHostPath: false });
            const missing = await missingPermissions({ server: url, insecure: false, token: "t" }, "staging", wanted);
            assert.deepEqual(
                missing.map((p) => `${p.verb} ${p.resource}`),
                ["watch endpoints", "get pods/log"],
            );
            assert.equal(reviews.length, wanted.length);
            assert.ok(reviews.every((r) => r.method === "POST" && r.type === "application/json"));
            assert.ok(reviews.every((r) => r.path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"));
            const log = reviews.find((r) => r.review.spec.resourceAttributes.subresource === "log").review;
            assert.deepEqual(log.spec.resourceAttributes, {
                namespace: "staging",
                verb: "get",
                group: "",
                resource: "pods",
                subresource: "log",
            });
            const namespace = reviews.find((r) => r.review.spec.resourceAttributes.resource === "namespaces").review;
            assert.equal(namespace.spec.resourceAttributes.namespace, undefined, "cluster-wide");
        });
    });
});
