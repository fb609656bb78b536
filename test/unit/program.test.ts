import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { archiveFileName } from "../../components/store";
import { makeModelDir } from "../support/fixtures";

const projectDir = path.resolve(__dirname, "..", "..", "..");
const harness = path.join(__dirname, "..", "support", "mockProgram.js");

interface Resource {
    type: string;
    name: string;
    inputs: any;
    dependencies: string[];
}

/** Runs the real program once under mocks with this stack config, in a fresh process. */
function runProgram(config: Record<string, string>, stack = "dev"): { resources?: Resource[]; error?: string } {
    const prefixed = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `torchserve-stack:${k}`, v]));
    const result = spawnSync(process.execPath, [harness, JSON.stringify({ config: prefixed, stack, preview: true })], {
        cwd: projectDir, encoding: "utf8", env: { ...process.env, TS_STACK_CACHE: fixture.dir },
    });
    assert.equal(result.status, 0, result.stderr);
    const marker = result.stdout.lastIndexOf("@@RESULT@@");
    assert.ok(marker >= 0, `no result from the program: ${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout.slice(marker + "@@RESULT@@".length));
}

function byType(resources: Resource[], type: string): Resource[] {
    return resources.filter((r) => r.type === type);
}

function one(resources: Resource[], type: string): Resource {
    const found = byType(resources, type);
    assert.equal(found.length, 1, `one ${type}`);
    return found[0];
}

const fixture = makeModelDir("tsstack-program-");
const base = {
    modelName: "demo",
    serializedFile: fixture.args.serializedFile,
    handler: fixture.args.handler,
    extraFiles: JSON.stringify(fixture.args.extraFiles),
    modelStorePath: fixture.store,
    modelStoreHostPath: "/data/model-store",
};

describe("the program under mocks", () => {
    const first = runProgram({ ...base, modelVersion: "v1" });

    it("creates the component and all its parts", () => {
        assert.equal(first.error, undefined);
        const resources = first.resources!;
        assert.equal(one(resources, "torchserve:index:TorchServeStack").name, "torchserve");
        for (const type of ["kubernetes:core/v1:PersistentVolume", "kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:ConfigMap", "kubernetes:apps/v1:Deployment"]) {
            one(resources, type);
        }
        assert.equal(byType(resources, "kubernetes:core/v1:Service").length, 2);
        assert.deepEqual(byType(resources, "command:local:Command").map((r) => r.name).sort(), ["torchserve-archive", "torchserve-rotate"]);
        assert.equal(byType(resources, "kubernetes:core/v1:Namespace").length, 0, "no namespace unless asked");
    });

    it("puts every namespaced object in the stack's namespace (the stack name by default)", () => {
        for (const r of first.resources!.filter((x) => x.type.startsWith("kubernetes:") && x.type !== "kubernetes:core/v1:PersistentVolume")) {
            assert.equal(r.inputs.metadata.namespace, "dev", r.name);
        }
        assert.equal(one(first.resources!, "kubernetes:core/v1:PersistentVolume").inputs.metadata.name, "dev-torchserve-model-store");
    });

    it("mounts an auto-named immutable ConfigMap holding config.properties", () => {
        const configMap = one(first.resources!, "kubernetes:core/v1:ConfigMap");
        assert.equal(configMap.inputs.metadata.name, undefined, "auto-named");
        assert.equal(configMap.inputs.immutable, true);
        assert.match(configMap.inputs.data["config.properties"], /^load_models=demo\.v1\.mar$/m);
        const deployment = one(first.resources!, "kubernetes:apps/v1:Deployment");
        assert.match(deployment.inputs.spec.template.spec.volumes[0].configMap.name, /^torchserve-config-[0-9a-f]{8}$/);
    });

    it("orders the steps: archive before the Deployment, rotation after it", () => {
        const resources = first.resources!;
        assert.ok(one(resources, "kubernetes:apps/v1:Deployment").dependencies.includes("torchserve-archive"));
        assert.ok(one(resources, "kubernetes:core/v1:ConfigMap").dependencies.includes("torchserve-archive"), "a failed archive leaves no new ConfigMap");
        assert.ok(byType(resources, "command:local:Command").find((r) => r.name === "torchserve-rotate")!.dependencies.includes("torchserve-deployment"));
    });

    it("binds the claim to the static hostPath volume and keeps it", () => {
        const claim = one(first.resources!, "kubernetes:core/v1:PersistentVolumeClaim");
        assert.equal(claim.inputs.spec.volumeName, "dev-torchserve-model-store");
        assert.equal(claim.inputs.spec.storageClassName, "");
        const volume = one(first.resources!, "kubernetes:core/v1:PersistentVolume");
        assert.equal(volume.inputs.spec.persistentVolumeReclaimPolicy, "Retain");
        assert.deepEqual(volume.inputs.spec.claimRef, { namespace: "dev", name: "torchserve-model-store" });
    });

    it("archives with the real archiver flags and does nothing else in preview", () => {
        const archive = byType(first.resources!, "command:local:Command").find((r) => r.name === "torchserve-archive")!;
        assert.match(archive.inputs.create, /^node bin\/components\/cli\/archive\.js --store \S+ --model demo --version v1 --archiver torch-model-archiver /);
        assert.deepEqual(archive.inputs.triggers.slice(0, 1), ["v1"]);
        assert.equal(archive.inputs.dir, undefined, "no checkout-specific path in the inputs");
        assert.equal(fs.existsSync(fixture.store), false, "preview wrote nothing to the store");
    });

    it("produces identical inputs on a second run with unchanged config", () => {
        const second = runProgram({ ...base, modelVersion: "v1" });
        assert.deepEqual(second, first);
    });

    it("changes only the version label, the archive step and the ConfigMap on a version bump", () => {
        // The store now holds v1, as after a first `pulumi up`.
        fs.mkdirSync(fixture.store, { recursive: true });
        fs.writeFileSync(path.join(fixture.store, archiveFileName("demo", "v1")), "v1");
        try {
            const bumped = runProgram({ ...base, modelVersion: "v2" }).resources!;
            const before = new Map(runProgram({ ...base, modelVersion: "v1" }).resources!.map((r) => [r.name, r]));
            const changed = bumped.filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(before.get(r.name)?.inputs)).map((r) => r.name).sort();
            assert.deepEqual(changed, ["torchserve-archive", "torchserve-config", "torchserve-deployment", "torchserve-rotate"]);
            const configText: string = one(bumped, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
            assert.match(configText, /^load_models=demo\.v2\.mar,demo\.v1\.mar$/m, "the previous version stays loaded");
            const oldSpec = before.get("torchserve-deployment")!.inputs.spec;
            const newSpec = one(bumped, "kubernetes:apps/v1:Deployment").inputs.spec;
            assert.equal(newSpec.template.metadata.labels["app.kubernetes.io/version"], "v2");
            const strip = (spec: any) => ({ ...spec, template: { ...spec.template, metadata: {}, spec: { ...spec.template.spec, volumes: spec.template.spec.volumes.slice(1) } } });
            assert.deepEqual(strip(newSpec), strip(oldSpec), "nothing else in the Deployment changes");
        } finally {
            fs.rmSync(fixture.store, { recursive: true, force: true });
        }
    });

    it("rolls the pods on a config-only change through a new ConfigMap name, without re-archiving", () => {
        const changed = runProgram({ ...base, modelVersion: "v1", jobQueueSize: "50" }).resources!;
        const oldName = one(first.resources!, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.volumes[0].configMap.name;
        const newName = one(changed, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.volumes[0].configMap.name;
        assert.notEqual(newName, oldName, "a new ConfigMap name changes the pod template, so the Deployment rolls");
        const archive = (rs: Resource[]) => byType(rs, "command:local:Command").find((r) => r.name === "torchserve-archive")!.inputs;
        assert.deepEqual(archive(changed), archive(first.resources!), "the archive step does not run again");
    });

    it("uses a content hash as the version when none is set, stable across runs", () => {
        const a = runProgram(base).resources!;
        const b = runProgram(base).resources!;
        const version = one(a, "kubernetes:apps/v1:Deployment").inputs.spec.template.metadata.labels["app.kubernetes.io/version"];
        assert.match(version, /^[0-9a-f]{12}$/);
        assert.deepEqual(a, b);
    });

    it("creates the namespace when asked, and scopes each stack to its own namespace", () => {
        const staging = runProgram({ ...base, createNamespace: "true" }, "staging").resources!;
        assert.equal(one(staging, "kubernetes:core/v1:Namespace").inputs.metadata.name, "staging");
        const prod = runProgram({ ...base, namespace: "ml-prod" }, "prod").resources!;
        assert.equal(one(prod, "kubernetes:apps/v1:Deployment").inputs.metadata.namespace, "ml-prod");
        assert.equal(one(prod, "kubernetes:core/v1:PersistentVolume").inputs.metadata.name, "ml-prod-torchserve-model-store");
    });

    it("fails the preview with the key and the fix for bad config, registering nothing", () => {
        const result = runProgram({ ...base, archiveKeep: "0", managementPort: "8080", modelVerson: "v1" });
        assert.equal(result.resources, undefined);
        assert.match(result.error!, /modelVerson = "v1": is not a torchserve-stack config key \(did you mean modelVersion\?\)/);
        const again = runProgram({ ...base, archiveKeep: "0", managementPort: "8080" });
        assert.match(again.error!, /archiveKeep = 0: must be a whole number from 1 to 100/);
        assert.match(again.error!, /managementPort = 8080: clashes with inferencePort/);
        assert.match(again.error!, /Fix: pulumi config set archiveKeep 3/);
    });
});
