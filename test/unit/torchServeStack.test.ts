/**
 * The component built in-process under Pulumi mocks, from stack config the
 * way index.ts reads it (set with setAllConfig, read back with allConfig).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS, parseStackConfig } from "../../components/config";
import { FileHashCache, archiveFileName } from "../../components/store";
import { TorchServeStack } from "../../components/torchServeStack";
import { makeModelDir } from "../support/fixtures";
import { MockRun, Recorded } from "../support/mocks";

const fixture = makeModelDir("tsstack-program-");
const host = { hashCache: new FileHashCache() };
const base = {
    modelName: "demo",
    serializedFile: fixture.args.serializedFile,
    handler: fixture.args.handler,
    extraFiles: JSON.stringify(fixture.args.extraFiles),
    modelStorePath: fixture.store,
    modelStoreHostPath: "/data/model-store",
};

/** Builds the stack as index.ts does, from this stack config, and returns what it registered or the error. */
async function deploy(
    config: Record<string, string>,
    stack = "dev",
): Promise<{ resources?: Recorded[]; error?: Error; outputs?: Record<string, unknown> }> {
    const run = await MockRun.start(
        stack,
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`torchserve-stack:${k}`, v])),
    );
    let error: Error | undefined;
    let outputs: Record<string, unknown> | undefined;
    try {
        const args = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getProject(), pulumi.getStack());
        const stack = new TorchServeStack(args.appName ?? DEFAULTS.appName, args, {}, host);
        outputs = await valueOf(
            pulumi.all({
                namespace: stack.namespace,
                claimName: stack.claimName,
                deploymentName: stack.deploymentName,
                serviceName: stack.serviceName,
                internalServiceName: stack.internalServiceName,
                predictionUrl: stack.predictionUrl,
            }),
        );
    } catch (caught) {
        error = caught as Error;
    }
    const resources = await run.finish();
    return error ? { error, resources } : { resources, outputs };
}

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

async function resourcesOf(config: Record<string, string>, stack = "dev"): Promise<Recorded[]> {
    const result = await deploy(config, stack);
    assert.equal(result.error, undefined);
    return result.resources!;
}

function byType(resources: Recorded[], type: string): Recorded[] {
    return resources.filter((r) => r.type === type);
}

function one(resources: Recorded[], type: string): Recorded {
    const found = byType(resources, type);
    assert.equal(found.length, 1, `one ${type}`);
    return found[0];
}

function named(resources: Recorded[], name: string): Recorded {
    return resources.find((r) => r.name === name)!;
}

describe("TorchServeStack under mocks", () => {
    let first: Recorded[];
    before(async () => {
        first = await resourcesOf({ ...base, modelVersion: "v1" });
    });

    it("creates the component and all its parts, as its children", () => {
        assert.equal(one(first, "torchserve:index:TorchServeStack").name, "torchserve");
        for (const type of [
            "kubernetes:core/v1:PersistentVolume",
            "kubernetes:core/v1:PersistentVolumeClaim",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:apps/v1:Deployment",
        ]) {
            one(first, type);
        }
        assert.equal(byType(first, "kubernetes:core/v1:Service").length, 2);
        assert.deepEqual(
            byType(first, "command:local:Command")
                .map((r) => r.name)
                .sort(),
            ["torchserve-archive", "torchserve-rotate"],
        );
        assert.equal(byType(first, "kubernetes:core/v1:Namespace").length, 0, "no namespace unless asked");
        // Existing stacks' state holds these names and parents: changing them would replace the objects.
        assert.deepEqual(
            first
                .filter((r) => r.parent === "torchserve")
                .map((r) => r.name)
                .sort(),
            [
                "torchserve-archive",
                "torchserve-config",
                "torchserve-deployment",
                "torchserve-internal-service",
                "torchserve-model-store",
                "torchserve-model-store-volume",
                "torchserve-rotate",
                "torchserve-service",
            ],
        );
    });

    it("gives the names and the in-cluster prediction URL as outputs", async () => {
        const { outputs } = await deploy({ ...base, modelVersion: "v1", namespace: "ml-a" });
        assert.deepEqual(outputs, {
            namespace: "ml-a",
            claimName: "torchserve-model-store",
            deploymentName: "torchserve",
            serviceName: "torchserve",
            internalServiceName: "torchserve-internal",
            predictionUrl: "http://torchserve.ml-a.svc:8080/predictions/demo",
        });
    });

    it("puts every namespaced object in the stack's namespace (the stack name by default)", () => {
        for (const r of first.filter(
            (x) => x.type.startsWith("kubernetes:") && x.type !== "kubernetes:core/v1:PersistentVolume",
        )) {
            assert.equal(r.inputs.metadata.namespace, "dev", r.name);
        }
        assert.equal(
            one(first, "kubernetes:core/v1:PersistentVolume").inputs.metadata.name,
            "dev-torchserve-model-store",
        );
    });

    it("mounts an auto-named immutable ConfigMap holding config.properties", () => {
        const configMap = one(first, "kubernetes:core/v1:ConfigMap");
        assert.equal(configMap.inputs.metadata.name, undefined, "auto-named");
        assert.equal(configMap.inputs.immutable, true);
        assert.match(configMap.inputs.data["config.properties"], /^load_models=demo\.v1\.mar$/m);
        const deployment = one(first, "kubernetes:apps/v1:Deployment");
        assert.match(deployment.inputs.spec.template.spec.volumes[0].configMap.name, /^torchserve-config-[0-9a-f]{8}$/);
    });

    it("orders the steps: archive before the Deployment, rotation after it", () => {
        assert.ok(one(first, "kubernetes:apps/v1:Deployment").dependencies.includes("torchserve-archive"));
        assert.ok(
            one(first, "kubernetes:core/v1:ConfigMap").dependencies.includes("torchserve-archive"),
            "a failed archive leaves no new ConfigMap",
        );
        assert.ok(named(first, "torchserve-rotate").dependencies.includes("torchserve-deployment"));
    });

    it("binds the claim to the static hostPath volume, and protects and keeps both", () => {
        const claim = one(first, "kubernetes:core/v1:PersistentVolumeClaim");
        assert.equal(claim.inputs.spec.volumeName, "dev-torchserve-model-store");
        assert.equal(claim.inputs.spec.storageClassName, "");
        const volume = one(first, "kubernetes:core/v1:PersistentVolume");
        assert.equal(volume.inputs.spec.persistentVolumeReclaimPolicy, "Retain");
        assert.deepEqual(volume.inputs.spec.claimRef, { namespace: "dev", name: "torchserve-model-store" });
        for (const r of [claim, volume]) {
            assert.deepEqual([r.protect, r.retainOnDelete], [true, true], r.name);
        }
    });

    it("archives with the real archiver flags and does nothing else in preview", () => {
        const archive = named(first, "torchserve-archive");
        assert.match(
            archive.inputs.create,
            /^node bin\/components\/cli\/archive\.js --store \S+ --model demo --version v1 --archiver torch-model-archiver /,
        );
        // The files and format reach the step's flags (a flag's values, wherever it stands in the command).
        const words: string[] = archive.inputs.create.split(" ");
        const flag = (name: string) => words.filter((_, i) => words[i - 1] === name);
        assert.deepEqual(
            ["--serialized-file", "--handler", "--extra-file", "--requirements-file", "--archive-format"].map(flag),
            [[base.serializedFile], [base.handler], fixture.args.extraFiles, [], ["zip-store"]],
        );
        assert.deepEqual(archive.inputs.triggers.slice(0, 1), ["v1"]);
        assert.equal(archive.inputs.dir, undefined, "no checkout-specific path in the inputs");
        assert.equal(fs.existsSync(fixture.store), false, "preview wrote nothing to the store");
    });

    it("produces identical inputs on a second run with unchanged config", async () => {
        assert.deepEqual(await resourcesOf({ ...base, modelVersion: "v1" }), first);
    });

    it("changes only the version label, the archive step and the ConfigMap on a version bump", async () => {
        // The store now holds v1, as after a first `pulumi up`.
        fs.mkdirSync(fixture.store, { recursive: true });
        fs.writeFileSync(path.join(fixture.store, archiveFileName("demo", "v1")), "v1");
        try {
            const bumped = await resourcesOf({ ...base, modelVersion: "v2" });
            const before = new Map((await resourcesOf({ ...base, modelVersion: "v1" })).map((r) => [r.name, r]));
            const changed = bumped
                .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(before.get(r.name)?.inputs))
                .map((r) => r.name)
                .sort();
            assert.deepEqual(changed, [
                "torchserve-archive",
                "torchserve-config",
                "torchserve-deployment",
                "torchserve-rotate",
            ]);
            const configText: string = one(bumped, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
            assert.match(configText, /^load_models=demo\.v2\.mar,demo\.v1\.mar$/m, "the previous version stays loaded");
            const oldSpec = before.get("torchserve-deployment")!.inputs.spec;
            const newSpec = one(bumped, "kubernetes:apps/v1:Deployment").inputs.spec;
            assert.equal(newSpec.template.metadata.labels["app.kubernetes.io/version"], "v2");
            const strip = (spec: any) => ({
                ...spec,
                template: {
                    ...spec.template,
                    metadata: {},
                    spec: { ...spec.template.spec, volumes: spec.template.spec.volumes.slice(1) },
                },
            });
            assert.deepEqual(strip(newSpec), strip(oldSpec), "nothing else in the Deployment changes");
        } finally {
            fs.rmSync(fixture.store, { recursive: true, force: true });
        }
    });

    it("rolls the pods on a config-only change through a new ConfigMap name, without re-archiving", async () => {
        const changed = await resourcesOf({ ...base, modelVersion: "v1", jobQueueSize: "50" });
        const oldName = one(first, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.volumes[0].configMap.name;
        const newName = one(changed, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.volumes[0].configMap
            .name;
        assert.notEqual(newName, oldName, "a new ConfigMap name changes the pod template, so the Deployment rolls");
        assert.deepEqual(
            named(changed, "torchserve-archive").inputs,
            named(first, "torchserve-archive").inputs,
            "the archive step does not run again",
        );
    });

    it("uses a content hash as the version when none is set, stable across runs", async () => {
        const a = await resourcesOf(base);
        const b = await resourcesOf(base);
        const version = one(a, "kubernetes:apps/v1:Deployment").inputs.spec.template.metadata.labels[
            "app.kubernetes.io/version"
        ];
        assert.match(version, /^[0-9a-f]{12}$/);
        assert.deepEqual(a, b);
    });

    it("creates the namespace when asked, and scopes each stack to its own namespace", async () => {
        const staging = await resourcesOf({ ...base, createNamespace: "true" }, "staging");
        assert.equal(one(staging, "kubernetes:core/v1:Namespace").inputs.metadata.name, "staging");
        const prod = await resourcesOf({ ...base, namespace: "ml-prod" }, "prod");
        assert.equal(one(prod, "kubernetes:apps/v1:Deployment").inputs.metadata.namespace, "ml-prod");
        assert.equal(
            one(prod, "kubernetes:core/v1:PersistentVolume").inputs.metadata.name,
            "ml-prod-torchserve-model-store",
        );
    });

    it("fails with the key and the fix for bad config, as a RunError (message only), creating no object", async () => {
        const unknownKey = await deploy({ ...base, archiveKeep: "0", managementPort: "8080", modelVerson: "v1" });
        assert.ok(
            pulumi.RunError.isInstance(unknownKey.error),
            "the runtime prints a RunError's message without a stack trace",
        );
        assert.match(
            unknownKey.error!.message,
            /modelVerson = "v1": is not a torchserve-stack config key \(did you mean modelVersion\?\)/,
        );
        assert.deepEqual(unknownKey.resources, []);
        const invalid = await deploy({ ...base, archiveKeep: "0", managementPort: "8080" });
        assert.ok(pulumi.RunError.isInstance(invalid.error));
        assert.match(invalid.error!.message, /archiveKeep = 0: must be a whole number from 1 to 100/);
        assert.match(invalid.error!.message, /managementPort = 8080: clashes with inferencePort/);
        assert.match(invalid.error!.message, /Fix: pulumi config set archiveKeep 3/);
        assert.deepEqual(
            invalid.resources!.map((r) => r.type),
            ["torchserve:index:TorchServeStack"],
            "only the component, no child",
        );
    });
});
