/**
 * End to end: two stacks on one model store, through the real Pulumi CLI,
 * providers and archiver (kwok nodes). The first is deployed; the second is
 * configured with its part inside the first's (its `backup/`, where the first
 * rotates its old versions) or around it. Its `pulumi preview` fails with
 * `modelStoreSubdir`, the first stack and the fix, and its `pulumi up` fails
 * the same way having created nothing: no namespace, claim, volume, Service
 * or Deployment, and nothing in the store (issue 19, point 5).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { Cluster, startCluster, testEnv, toolPath, venv } from "./support/environment";
import { Kube } from "./support/kube";
import { HANDLER, makeModel } from "./support/models";
import { PulumiProject } from "./support/project";

const FIRST = "parts-a";
const SECOND = "parts-b";

describe("a stack whose part of the store lies inside or around another stack's", () => {
    let cluster: Cluster;
    let project: PulumiProject;
    let kube: Kube;
    const work = tempDir("e2e-parts-");
    const store = path.join(work, "store");
    let second: Record<string, unknown>;

    /** Everything in the store, relative, sorted. */
    const storeTree = () => fs.readdirSync(store, { recursive: true, encoding: "utf8" }).sort();

    before(async () => {
        const pythonEnv = venv();
        cluster = startCluster(`e2e-parts-${process.pid}`, { ...process.env, PATH: toolPath() });
        const env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        project = new PulumiProject(env);
        fs.mkdirSync(store);
        const model = await makeModel(pythonEnv, path.join(work, "model"), 1);
        const common = {
            createNamespace: true,
            modelName: "demo",
            modelStorePath: store,
            modelStoreSize: "1Gi",
            modelStoreProtect: false,
            archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            cpuRequest: "100m",
            memoryRequest: "128Mi",
            replicas: 1,
            modelVersion: "v1",
            serializedFile: model.serializedFile,
            handler: HANDLER,
            extraFiles: [model.labels],
        };
        await project.initStack(FIRST, {
            ...common,
            namespace: "e2e-parts-a",
            modelStoreHostPath: store,
            modelStoreSubdir: "prod/torchserve",
        });
        second = { ...common, namespace: "e2e-parts-b", modelStoreSubdir: "prod/torchserve/backup" };
        await project.initStack(SECOND, second);
        const first = await project.up(FIRST);
        assert.equal(first.code, 0, `pulumi up of the first stack failed:\n${first.stdout}\n${first.stderr}`);
    });

    after(async () => {
        if (project) {
            await project.destroy(SECOND);
            await project.destroy(FIRST);
        }
        cluster?.stop();
    });

    it("fails the second stack's preview and up with modelStoreSubdir and the first stack, creating nothing", async () => {
        for (const [subdir, where] of [
            ["prod/torchserve/backup", "lies inside prod/torchserve"],
            ["prod", "contains prod/torchserve"],
        ]) {
            await project.setConfig(SECOND, { ...second, modelStoreSubdir: subdir });
            const before = storeTree();
            const preview = await project.preview(SECOND);
            const previewText = preview.stdout + preview.stderr;
            assert.notEqual(preview.code, 0, previewText);
            const expected = new RegExp(
                `modelStoreSubdir = "${subdir}": ${where}, the part of the model store that belongs to stack ` +
                    `[^ ]*${FIRST} \\(namespace e2e-parts-a, app torchserve\\)`,
            );
            assert.match(previewText, expected);
            assert.match(previewText, /Fix: give this stack a part of its own/);

            const up = await project.up(SECOND);
            const upText = up.stdout + up.stderr;
            assert.notEqual(up.code, 0, upText);
            assert.match(upText, expected);
            assert.equal(await kube.exists("namespace", "e2e-parts-b"), false, "no namespace");
            assert.deepEqual(storeTree(), before, `${subdir}: nothing written into the store`);
        }
        const outputs = await project.outputs(SECOND).catch(() => ({}));
        assert.deepEqual(outputs, {}, "the second stack has no outputs: nothing was deployed");
        for (const kind of ["persistentvolumeclaim", "service", "deployment"]) {
            const listed = await kube.json(["get", kind, "-n", "e2e-parts-b"]);
            assert.deepEqual(listed.items, [], `no ${kind} of the second stack`);
        }
        const volumes = await kube.json(["get", "pv"]);
        assert.deepEqual(
            volumes.items.map((v: any) => v.spec.claimRef?.namespace),
            ["e2e-parts-a"],
            "only the first stack's volume",
        );
        // The first stack is as it was: its part holds its version, its owner record is its own.
        const record = JSON.parse(
            fs.readFileSync(path.join(store, "prod/torchserve/.torchserve-stack/owner.json"), "utf8"),
        );
        assert.match(record.stack, new RegExp(`${FIRST}$`));
        assert.ok(fs.existsSync(path.join(store, "prod/torchserve/demo.v1")));
    });
});
