/**
 * Upgrading an existing stack to this checkout: a stack deployed by the
 * program as it was before releases were recorded (BASELINE, the last commit
 * before the components were regrouped, built from `git archive` with its own
 * `npm ci` and build), with a protected claim and hostPath volume and its
 * archive in the old flat store layout, then `pulumi preview` and `pulumi up`
 * by this checkout's program on the same stack (same state backend, same
 * stack config file), from another directory as a fresh checkout would be.
 * The regrouping alone changed nothing (checked when it landed, with
 * --expect-no-changes); what changes now is the release model (the steps'
 * command lines and triggers, the pods' store mount and readiness check) and
 * the hardening (a NetworkPolicy and a PodDisruptionBudget are added, the
 * config binds management to the pod's loopback, so a new ConfigMap; the
 * internal Service drops the management port; the pod spec). The protected
 * claim and volume stay as they are (the volume keeps its name), no archive
 * is rebuilt (the new default, a directory, does not apply to a version the
 * store holds as a `.mar`), and the next run that brings no model changes
 * nothing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { Cluster, REPO, startCluster, testEnv, toolPath, venv } from "./support/environment";
import { Kube } from "./support/kube";
import { HANDLER, listDir, makeModel } from "./support/models";
import { PulumiProject } from "./support/project";
import { runOk } from "./support/run";

/** The last commit of main before the regrouping. */
const BASELINE = "6a37f03";
const STACK = "upgrade";
const NAMESPACE = "e2e-upgrade";
const RELATIVE_HANDLER = "model/handler.py";

/** A build of the project at `commit` in a temporary directory: `git archive`, `npm ci`, `npm run build`. */
async function buildCommit(commit: string, env: NodeJS.ProcessEnv): Promise<string> {
    const git = (args: string[]) => execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8" }).trim();
    try {
        git(["cat-file", "-e", `${commit}^{commit}`]);
    } catch (error) {
        const shallow = git(["rev-parse", "--is-shallow-repository"]) === "true";
        throw new Error(
            `the upgrade test deploys commit ${commit} first, and this clone does not have it` +
                (shallow ? " (a shallow clone: run git fetch --unshallow)" : ""),
            { cause: error },
        );
    }
    const dir = tempDir(`e2e-baseline-${commit}-`);
    execFileSync("bash", ["-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "bash", REPO, commit, dir]);
    await runOk("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: dir, env });
    await runOk("npm", ["run", "--silent", "build"], { cwd: dir, env });
    return dir;
}

describe(`upgrading a stack deployed by ${BASELINE}`, () => {
    let cluster: Cluster;
    let env: NodeJS.ProcessEnv;
    let kube: Kube;
    let previous: PulumiProject;
    let current: PulumiProject;
    const work = tempDir("e2e-upgrade-");
    const store = path.join(work, "store");

    before(async () => {
        const pythonEnv = venv();
        cluster = startCluster(`e2e-upgrade-${process.pid}`, { ...process.env, PATH: toolPath() });
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        previous = new PulumiProject(env, await buildCommit(BASELINE, env));
        current = new PulumiProject(env);
        for (const project of [previous, current]) {
            fs.mkdirSync(path.join(project.dir, path.dirname(RELATIVE_HANDLER)));
            fs.copyFileSync(HANDLER, path.join(project.dir, RELATIVE_HANDLER));
        }
        const model = await makeModel(pythonEnv, path.join(work, "model"), 1);
        await previous.initStack(STACK, {
            namespace: NAMESPACE,
            createNamespace: true,
            modelName: "demo",
            modelVersion: "v1",
            serializedFile: model.serializedFile,
            handler: RELATIVE_HANDLER,
            extraFiles: [model.labels],
            archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            // modelStoreProtect stays at its default (true): the claim and the volume are protected.
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            rolloutTimeoutMinutes: 3,
        });
    });

    after(async () => {
        if (previous) {
            await current.pulumi(["state", "unprotect", "--all", "--yes", "--stack", STACK]);
            await current.destroy(STACK);
        }
        cluster?.stop();
    });

    it(`deploys with the program of ${BASELINE}: protected claim and volume, an Available Deployment`, async () => {
        const up = await previous.up(STACK);
        assert.equal(up.code, 0, `pulumi up with ${BASELINE} failed:\n${up.stdout}\n${up.stderr}`);
        const claim = await kube.json(["get", "pvc", "torchserve-model-store", "-n", NAMESPACE]);
        assert.equal(claim.status.phase, "Bound");
        assert.equal(
            (await kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE])).status.availableReplicas,
            2,
        );
        const state = await runOk("pulumi", ["stack", "export", "--stack", STACK], { cwd: previous.dir, env });
        const protectedNames = (JSON.parse(state.stdout).deployment.resources as { urn: string; protect?: boolean }[])
            .filter((r) => r.protect)
            .map((r) => r.urn.split("::").pop())
            .sort();
        assert.deepEqual(protectedNames, ["torchserve-model-store", "torchserve-model-store-volume"]);
        assert.deepEqual(listDir(store), ["demo.v1.mar"]);
    });

    it("upgrades with this checkout's program: the claim and the volume stay, no archive is rebuilt", async () => {
        // The stack's config file goes with the stack (it also holds the secrets salt).
        fs.copyFileSync(previous.stackFile(STACK), current.stackFile(STACK));
        const preview = await current.pulumi(["preview", "--stack", STACK, "--json"]);
        assert.equal(preview.code, 0, `the preview failed:\n${preview.stdout}\n${preview.stderr}`);
        const steps = (JSON.parse(preview.stdout).steps as { op: string; urn: string }[]).map((step) => ({
            op: step.op,
            name: step.urn.split("::").pop()!,
        }));
        // The stack reference is the program reading its own last outputs (a read, not a change).
        const changed = steps.filter((step) => step.op !== "same" && step.op !== "read");
        assert.deepEqual(
            changed.map((step) => `${step.op} ${step.name}`).sort(),
            [
                "create torchserve-disruption-budget",
                "create torchserve-network-policy",
                // New triggers (the release model): a Command with other triggers is replaced.
                "replace torchserve-archive",
                // management_address on the pod's loopback: new text, so a new ConfigMap (as every config change).
                "replace torchserve-config",
                "replace torchserve-rotate",
                "update torchserve-deployment",
                "update torchserve-internal-service",
            ],
            "the claim and the volume (protected) and the inference Service stay",
        );

        const up = await current.up(STACK);
        assert.equal(up.code, 0, `the upgrade failed:\n${up.stdout}\n${up.stderr}`);
        assert.match(up.stdout, /linked from the old flat layout/, "the archive is linked, not rebuilt");
        assert.deepEqual(listDir(store), ["demo.v1.mar", NAMESPACE], "the flat archive stays where it was");
        assert.deepEqual(listDir(path.join(store, NAMESPACE, "torchserve")), ["demo.v1.mar"]);
        const deployment = await kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE]);
        assert.equal(deployment.status.availableReplicas, 2);
        assert.equal(deployment.spec.template.metadata.labels["app.kubernetes.io/version"], "v1");
        // The default is now a directory, but v1 is a .mar in the store: the config names what is there.
        const configMapName = deployment.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap
            .name;
        const properties = (await kube.json(["get", "configmap", configMapName, "-n", NAMESPACE])).data[
            "config.properties"
        ];
        assert.match(properties, /^load_models=demo\.v1\.mar$/m);
        const release = (await current.outputs(STACK)).release as any;
        assert.deepEqual(
            [release.schema, release.history.map((h: any) => h.entry)],
            [1, ["mar"]],
            "recorded as a .mar, in the schema the programs before directories read",
        );
        assert.equal(
            (await current.outputs(STACK)).modelStoreVolumeName,
            `${NAMESPACE}-torchserve-model-store`,
            "the volume keeps the name it was created with, now recorded",
        );
        console.log(`upgrade from ${BASELINE}, pulumi up:\n${up.stdout.trim()}`);
    });

    it("then keeps the upgraded stack as it is in a run that brings no model (a pull request)", async () => {
        await current.replaceConfig(STACK, {
            namespace: NAMESPACE,
            createNamespace: true,
            modelName: "demo",
            modelStoreHostPath: store,
            modelStoreSize: "1Gi",
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            rolloutTimeoutMinutes: 3,
        });
        const preview = await current.preview(STACK, ["--expect-no-changes"]);
        assert.equal(preview.code, 0, `the preview shows changes:\n${preview.stdout}\n${preview.stderr}`);
    });
});
