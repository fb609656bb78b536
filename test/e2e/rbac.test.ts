/**
 * The shipped RBAC on a real kube-apiserver, which enforces it: the manifests
 * `npm run rbac` prints (a ServiceAccount in the pipeline's namespace, the
 * Role and RoleBinding in the stack's, the ClusterRole for the hostPath
 * volume and the Namespace) are applied, and the deploy command runs with a
 * token of exactly that ServiceAccount, as a pipeline pod does: a first
 * deploy, a new version, a preview, a rollout that fails with its report, a
 * rollback. Then each rule is removed in turn, and the deploy fails at once
 * (its preflight), naming every permission the rule held, the step that needs
 * it and the fix; not a 403 halfway, not a hang.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Rule, describePermission, rulesOf } from "../../components/kubernetes";
import { tempDir } from "../support/tempDir";
import { Cluster, startCluster, testEnv, toolPath, venv } from "./support/environment";
import { Kube } from "./support/kube";
import { HANDLER } from "./support/models";
import { PulumiProject } from "./support/project";
import { run, runOk } from "./support/run";
import { serviceAccountEnv } from "./support/serviceAccount";
import { DeployRun, runDeployCommand, trainingRunFlags } from "./support/deployCommand";

const STACK = "rbac";
const NAMESPACE = "e2e-rbac";
/** Where the pipeline's pods (and so the deployer's ServiceAccount) live. */
const PIPELINE_NAMESPACE = "e2e-pipeline";
const ACCOUNT = `system:serviceaccount:${PIPELINE_NAMESPACE}:torchserve-deployer`;

describe("the shipped RBAC, enforced by a real API server", () => {
    let cluster: Cluster;
    let env: NodeJS.ProcessEnv;
    /** The deploy step's environment: the ServiceAccount's token, no KUBECONFIG. */
    let podEnv: NodeJS.ProcessEnv;
    let kube: Kube;
    let pythonEnv: string;
    let project: PulumiProject;
    const work = tempDir("e2e-rbac-");
    const store = path.join(work, "store");
    const manifests = path.join(work, "rbac.yaml");
    const models: { serializedFile: string; labels: string }[] = [];

    const deploy = (args: string[]): Promise<DeployRun> =>
        runDeployCommand(project.dir, args, { cwd: work, env: podEnv, timeoutMs: 5 * 60_000 });

    const modelFlags = (index: number, version: string): string[] =>
        trainingRunFlags(STACK, version, models[index], HANDLER, pythonEnv);

    const version = async () =>
        (await kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE])).spec.template.metadata.labels[
            "app.kubernetes.io/version"
        ];

    /** Waits until the authorizer says the ServiceAccount may (or may not) do `verb` on `rule`'s resource. */
    async function untilAllowed(rule: Rule, verb: string, cluster: boolean, allowed: boolean): Promise<void> {
        const [resource, subresource] = rule.resources[0].split("/");
        const group = rule.apiGroups[0];
        const args = [
            "auth",
            "can-i",
            verb,
            group ? `${resource}.${group}` : resource,
            ...(subresource ? [`--subresource=${subresource}`] : []),
            ...(cluster ? ["--all-namespaces"] : ["-n", NAMESPACE]),
            "--as",
            ACCOUNT,
        ];
        for (let i = 0; i < 50; i++) {
            const answer = await run("kubectl", args, { env });
            if ((answer.stdout.trim() === "yes") === allowed) {
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        assert.fail(`kubectl ${args.join(" ")} never said ${allowed ? "yes" : "no"}`);
    }

    before(async () => {
        pythonEnv = venv();
        cluster = startCluster(`e2e-rbac-${process.pid}`, { ...process.env, PATH: toolPath() });
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        project = new PulumiProject(env);
        fs.mkdirSync(store);
        // kwok runs no containers: the archive step packs these bytes, nothing loads them.
        for (let i = 0; i < 3; i++) {
            const dir = path.join(work, `run-${i + 1}`);
            fs.mkdirSync(dir);
            fs.writeFileSync(path.join(dir, "model.pt"), `weights of run ${i + 1}`);
            fs.writeFileSync(path.join(dir, "labels.json"), '["a", "b"]\n');
            models.push({ serializedFile: path.join(dir, "model.pt"), labels: path.join(dir, "labels.json") });
        }
        // The Role lives in the stack's namespace, so an admin creates it first; createNamespace then adopts it.
        for (const namespace of [NAMESPACE, PIPELINE_NAMESPACE]) {
            await runOk("kubectl", ["create", "namespace", namespace], { env });
        }
        const generated = await runOk(
            process.execPath,
            [
                path.join(project.dir, "bin", "deploy", "rbac.js"),
                "--namespace",
                NAMESPACE,
                "--service-account-namespace",
                PIPELINE_NAMESPACE,
                "--cluster-scoped",
            ],
            { env },
        );
        fs.writeFileSync(manifests, generated.stdout);
        await runOk("kubectl", ["apply", "-f", manifests], { env });
        podEnv = await serviceAccountEnv(env, cluster.kubeconfig, PIPELINE_NAMESPACE, "torchserve-deployer");
        await project.initStack(STACK, {
            namespace: NAMESPACE,
            // Both options that need the ClusterRole, so it is exercised too.
            createNamespace: true,
            modelName: "demo",
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            modelStoreProtect: false,
            servedVersions: 2,
            replicas: 2,
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            // A short progress deadline for the failing version: 10 s of startup budget + 10 s to schedule.
            startupTimeoutSeconds: 10,
            podStartMarginSeconds: 10,
            rolloutTimeoutMinutes: 2,
        });
    });

    after(async () => {
        if (project) {
            await project.destroy(STACK);
        }
        cluster?.stop();
    });

    it("holds no more than the shipped rules: the account may not read secrets elsewhere or touch RBAC", async () => {
        for (const args of [
            ["get", "secrets", "-n", PIPELINE_NAMESPACE],
            ["create", "roles", "-n", NAMESPACE],
            ["update", "deployments.apps", "-n", NAMESPACE],
            ["delete", "persistentvolumeclaims", "-n", NAMESPACE],
            ["list", "events", "-n", "default"],
        ]) {
            const answer = await run("kubectl", ["auth", "can-i", ...args, "--as", ACCOUNT], { env });
            assert.equal(answer.stdout.trim(), "no", args.join(" "));
        }
    });

    it("deploys v1, then v2, with exactly the shipped ServiceAccount's token", async () => {
        const v1 = await deploy(modelFlags(0, "v1"));
        assert.equal(v1.code, 0, v1.stderr);
        assert.match(v1.stderr, /using the pod's service account/);
        assert.match(v1.stderr, /permissions: all \d+ this run needs in namespace e2e-rbac/);
        assert.doesNotMatch(v1.stderr, /forbidden/i, "no request of the run was refused");
        const v2 = await deploy(modelFlags(1, "v2"));
        assert.equal(v2.code, 0, v2.stderr);
        assert.deepEqual(v2.summary.loadedVersions, ["v2", "v1"]);
        assert.equal(await version(), "v2");
        console.log(`v2 with the deployer's token (${v2.seconds.toFixed(1)} s):\n${v2.stderr.trim().slice(-1500)}`);
    });

    it("previews a new version", async () => {
        const preview = await deploy([...modelFlags(2, "v3"), "--preview"]);
        assert.equal(preview.code, 0, preview.stderr);
        assert.equal(preview.summary.operation, "preview");
        assert.ok(preview.summary.changes.update >= 1, JSON.stringify(preview.summary.changes));
        assert.equal(await version(), "v2", "a preview deploys nothing");
    });

    it("fails a rollout whose pods never schedule, with the report read with the account's rights", async () => {
        // v3 asks for more CPU than any node has: its pods stay Pending past the 20 s deadline.
        await project.setConfig(STACK, { cpuRequest: "64", cpuLimit: "64" });
        const failed = await deploy(modelFlags(2, "v3"));
        await project.setConfig(STACK, { cpuRequest: "100m", cpuLimit: undefined });
        assert.equal(failed.code, 4, failed.stderr);
        assert.equal(failed.summary.failure.kind, "rollout");
        // The report listed the pods and their events with the deployer's token: none of it was refused.
        assert.match(failed.stderr, /Pod torchserve-[a-z0-9-]+ \(v3\): phase Pending/);
        assert.match(failed.stderr, /event FailedScheduling: /);
        assert.doesNotMatch(failed.stderr, /(events|logs): GET [^\n]*403/);
        assert.equal(await version(), "v3", "the Deployment holds v3; the v2 pods keep serving");
    });

    it("rolls back to v1", async () => {
        const back = await deploy(["--stack", STACK, "--model-version", "v1"]);
        assert.equal(back.code, 0, back.stderr);
        assert.equal(back.summary.modelVersion, "v1");
        assert.equal(await version(), "v1");
    });

    it("with each rule removed in turn, fails at once naming each permission the rule held", async () => {
        const roles = [
            { kind: "role", name: "torchserve-deployer", namespaced: true, rules: rulesOf("namespace") },
            {
                kind: "clusterrole",
                name: "torchserve-deployer-cluster-scoped",
                namespaced: false,
                rules: rulesOf("cluster"),
            },
        ];
        const outputs: string[] = [];
        for (const role of roles) {
            for (const [index, rule] of role.rules.entries()) {
                const target = [role.kind, role.name, ...(role.namespaced ? ["-n", NAMESPACE] : [])];
                const remove = JSON.stringify([{ op: "remove", path: `/rules/${index}` }]);
                await runOk("kubectl", ["patch", ...target, "--type", "json", "-p", remove], { env });
                await untilAllowed(rule, rule.verbs[0], !role.namespaced, false);
                const result = await deploy(["--stack", STACK, "--model-version", "v2"]);
                await runOk("kubectl", ["apply", "-f", manifests], { env });
                await untilAllowed(rule, rule.verbs[0], !role.namespaced, true);

                const label = `${rule.resources[0]} removed`;
                assert.equal(result.code, 2, `${label}: ${result.stderr}`);
                assert.equal(result.summary.failure.kind, "bad-input", label);
                const message: string = result.summary.failure.message;
                assert.match(message, new RegExp(`lack ${rule.verbs.length} of the \\d+ permissions`), label);
                for (const verb of rule.verbs) {
                    const scope = role.namespaced ? "namespace" : "cluster";
                    const named = describePermission(
                        { verb, group: rule.apiGroups[0], resource: rule.resources[0], scope },
                        NAMESPACE,
                    );
                    assert.ok(message.includes(`  - ${named}: `), `${label}: names ${named}\n${message}`);
                }
                assert.match(
                    message,
                    /npm run --silent rbac -- --namespace e2e-rbac --service-account-namespace e2e-pipeline/,
                );
                assert.doesNotMatch(message, /^\s+at /m, `${label}: a message, not a stack trace`);
                assert.ok(result.seconds < 30, `${label}: failed fast (${result.seconds} s), no hang`);
                assert.deepEqual(result.summary.changes, {}, `${label}: nothing ran`);
                outputs.push(`${label} (${result.seconds.toFixed(1)} s): ${message}`);
            }
        }
        console.log(`the deploy with one rule removed:\n${outputs.slice(0, 2).join("\n")}`);
        assert.equal(await version(), "v1", "no run changed anything");
    });

    it("previews with only reads: a removed get fails a preview, a removed create does not", async () => {
        const configMaps = rulesOf("namespace").findIndex((rule) => rule.resources[0] === "configmaps");
        const rule = rulesOf("namespace")[configMaps];
        const target = ["role", "torchserve-deployer", "-n", NAMESPACE];
        const keepOnly = (verbs: string[]) =>
            JSON.stringify([{ op: "replace", path: `/rules/${configMaps}/verbs`, value: verbs }]);
        await runOk("kubectl", ["patch", ...target, "--type", "json", "-p", keepOnly(["get"])], { env });
        await untilAllowed(rule, "create", false, false);
        const readOnly = await deploy(["--stack", STACK, "--model-version", "v2", "--preview"]);
        await runOk("kubectl", ["patch", ...target, "--type", "json", "-p", keepOnly(["create", "patch"])], { env });
        await untilAllowed(rule, "get", false, false);
        const noGet = await deploy(["--stack", STACK, "--model-version", "v2", "--preview"]);
        await runOk("kubectl", ["apply", "-f", manifests], { env });
        assert.equal(readOnly.code, 0, readOnly.stderr);
        assert.equal(noGet.code, 2, noGet.stderr);
        assert.match(
            noGet.summary.failure.message,
            /lack 1 of the \d+ permissions[^\n]*\n {2}- get configmaps in namespace e2e-rbac: read the config.properties ConfigMap/,
        );
    });
});
