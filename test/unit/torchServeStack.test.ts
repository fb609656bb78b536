/**
 * The component built in-process under Pulumi mocks, from stack config the
 * way index.ts reads it (set with setAllConfig, read back with allConfig).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parseArchiveArgs, parseRolloutReportArgs } from "../../components/cli";
import { DEFAULTS, parseStackConfig } from "../../components/config";
import { FileHashCache, Release, claimOwnership, storeLayout } from "../../components/store";
import { TorchServeStack, TorchServeStackHost } from "../../components/torchServeStack";
import { makeModelDir } from "../support/fixtures";
import { MockRun, MockRunOptions, Recorded } from "../support/mocks";
import { PLAIN_SECRET, assertNoSecret } from "../support/secrets";
import { tempDir } from "../support/tempDir";

const fixture = makeModelDir("tsstack-program-");
const hashCache = new FileHashCache();
/** Infrastructure config, as committed in a stack file. */
const infra = { modelName: "demo", modelStoreHostPath: "/data/model-store" };
/** A run that brings a model (what the deploy command adds per run). */
const base = {
    ...infra,
    serializedFile: fixture.args.serializedFile!,
    handler: fixture.args.handler!,
    extraFiles: JSON.stringify(fixture.args.extraFiles),
    modelStorePath: fixture.store,
};

/** Builds the stack as index.ts does, from stack config and a recorded release: what it registered, or the error. */
async function deploy(
    config: Record<string, string>,
    stackName = "dev",
    recordedRelease?: Release,
    more: TorchServeStackHost = {},
    mock: MockRunOptions & { preview?: boolean } = {},
): Promise<{
    resources?: Recorded[];
    error?: Error;
    outputs?: Record<string, any>;
    release?: Release;
    /** What the component registered as its outputs. */
    componentOutputs?: unknown;
    /** What it logged as warnings (under mocks the SDK prints them with console.warn). */
    warnings: string[];
    /** The errors a run with failing resources ended with. */
    failures?: Error[];
}> {
    const run = await MockRun.start(
        stackName,
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`torchserve-stack:${k}`, v])),
        mock.preview ?? true,
        {},
        { ...mock, secretKeys: mock.secretKeys?.map((key) => `torchserve-stack:${key}`) },
    );
    let error: Error | undefined;
    let outputs: Record<string, unknown> | undefined;
    let release: Release | undefined;
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
    try {
        const args = parseStackConfig(
            pulumi.runtime.allConfig(),
            pulumi.getProject(),
            pulumi.getStack(),
            mock.secretKeys,
        );
        const host = {
            hashCache,
            recordedRelease,
            stackId: `organization/torchserve-stack/${stackName}`,
            secretKeys: mock.secretKeys,
            ...more,
        };
        const stack = new TorchServeStack(args.appName ?? DEFAULTS.appName, args, {}, host);
        // Not awaited: a release that never resolves (a failed deploy) must not hang the test.
        stack.release.apply((value) => (release = value));
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
    let resources: Recorded[];
    try {
        resources = await run.finish();
    } finally {
        console.warn = warn;
    }
    // Every registration is answered: what resolves from them has resolved after one more turn.
    await new Promise((resolve) => setImmediate(resolve));
    const componentOutputs = run.componentOutputs.get(config.appName ?? DEFAULTS.appName);
    return error
        ? { error, resources, warnings }
        : { resources, outputs, release, componentOutputs, warnings, failures: run.failures };
}

/** The release a successful deploy of this config records. */
async function releaseOf(config: Record<string, string>, recorded?: Release): Promise<Release> {
    const result = await deploy(config, "dev", recorded);
    assert.equal(result.error, undefined);
    return result.release!;
}

/** Names of the resources whose inputs differ between two runs. */
function changedBetween(a: Recorded[], b: Recorded[]): string[] {
    const before = new Map(a.map((r) => [r.name, r]));
    return b
        .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(before.get(r.name)?.inputs))
        .map((r) => r.name)
        .sort();
}

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

async function resourcesOf(config: Record<string, string>, stack = "dev", recorded?: Release): Promise<Recorded[]> {
    const result = await deploy(config, stack, recorded);
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
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:policy/v1:PodDisruptionBudget",
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
                "torchserve-disruption-budget",
                "torchserve-internal-service",
                "torchserve-model-store",
                "torchserve-model-store-volume",
                "torchserve-network-policy",
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
            "dev.torchserve-model-store",
        );
    });

    it("mounts an auto-named immutable ConfigMap holding config.properties", () => {
        const configMap = one(first, "kubernetes:core/v1:ConfigMap");
        assert.equal(configMap.inputs.metadata.name, undefined, "auto-named");
        assert.equal(configMap.inputs.immutable, true);
        assert.match(configMap.inputs.data["config.properties"], /^load_models=demo\.v1$/m);
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
        assert.equal(claim.inputs.spec.volumeName, "dev.torchserve-model-store");
        assert.equal(claim.inputs.spec.storageClassName, "");
        const volume = one(first, "kubernetes:core/v1:PersistentVolume");
        assert.equal(volume.inputs.spec.persistentVolumeReclaimPolicy, "Retain");
        assert.deepEqual(volume.inputs.spec.claimRef, { namespace: "dev", name: "torchserve-model-store" });
        for (const r of [claim, volume]) {
            assert.deepEqual([r.protect, r.retainOnDelete], [true, true], r.name);
        }
    });

    it("archives with the real archiver flags into the stack's part of the store, and does nothing else in preview", () => {
        const archive = named(first, "torchserve-archive");
        const [node, script, ...argv] = archive.inputs.create.split(" ");
        assert.deepEqual([node, script], ["node", "bin/components/cli/archive.js"]);
        const spec = parseArchiveArgs(argv);
        assert.equal(spec.store, fixture.store);
        assert.equal(spec.subdir, "dev/torchserve", "the stack's part: <namespace>/<appName>");
        assert.deepEqual(spec.owner, {
            stack: "organization/torchserve-stack/dev",
            namespace: "dev",
            appName: "torchserve",
        });
        assert.equal(spec.version, "v1");
        assert.match(spec.fingerprint, /^[0-9a-f]{64}$/);
        assert.deepEqual(spec.served, ["v1"]);
        assert.deepEqual(spec.build, {
            archiver: "torch-model-archiver",
            archiveFormat: "directory",
            serializedFile: fixture.args.serializedFile,
            handler: fixture.args.handler,
            extraFiles: fixture.args.extraFiles,
            requirementsFile: undefined,
        });
        assert.deepEqual(archive.inputs.triggers, ["v1", spec.fingerprint, "v1"]);
        assert.equal(archive.inputs.dir, undefined, "no checkout-specific path in the inputs");
        assert.equal(fs.existsSync(fixture.store), false, "preview wrote nothing to the store");
    });

    it("produces identical inputs on a second run with unchanged config", async () => {
        assert.deepEqual(await resourcesOf({ ...base, modelVersion: "v1" }), first);
    });

    it("changes only the version, the archive and rotate steps and the ConfigMap on a version bump", async () => {
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const bumped = await resourcesOf({ ...base, modelVersion: "v2" }, "dev", v1);
        assert.deepEqual(changedBetween(first, bumped), [
            "torchserve-archive",
            "torchserve-config",
            "torchserve-deployment",
            "torchserve-rotate",
        ]);
        const configText: string = one(bumped, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
        assert.match(configText, /^load_models=demo\.v2$/m, "servedVersions 1: only the deployed version");
        const newSpec = one(bumped, "kubernetes:apps/v1:Deployment").inputs.spec;
        assert.equal(newSpec.template.metadata.labels["app.kubernetes.io/version"], "v2");
        const rotate = named(bumped, "torchserve-rotate").inputs.create;
        assert.match(rotate, / --keep v2,v1$/, "the previous version stays in the store for a rollback");

        const served = await resourcesOf({ ...base, modelVersion: "v2", servedVersions: "2" }, "dev", v1);
        const servedText: string = one(served, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
        assert.match(servedText, /^load_models=demo\.v2,demo\.v1$/m, "servedVersions 2: the previous one too");

        // A release recorded before directories (no kinds): its v1 is a .mar, named so next to the new directory.
        const old = { ...v1, schema: 1, history: v1.history.map(({ entry, ...h }) => (void entry, h)) };
        const mixed = await resourcesOf({ ...base, modelVersion: "v2", servedVersions: "2" }, "dev", old);
        const mixedText: string = one(mixed, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
        assert.match(mixedText, /^load_models=demo\.v2,demo\.v1\.mar$/m);
        assert.match(named(mixed, "torchserve-archive").inputs.create, / --served v2,v1 --directories v2 /);
    });

    it("keeps every input as deployed when a run brings no model: a pull request's preview needs no files or store", async () => {
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const noFiles = { isFile: () => assert.fail("a run that brings no model must not read model files") };
        const readsBefore = hashCache.reads;
        const kept = await deploy(infra, "dev", v1, { files: noFiles });
        assert.equal(kept.error, undefined);
        assert.deepEqual(changedBetween(first, kept.resources!), [], "nothing to change");
        assert.equal(hashCache.reads, readsBefore, "no file hashed");
        assert.deepEqual(kept.release, v1, "the same release is recorded again");
    });

    it("shows exactly an infrastructure change in a run that brings no model", async () => {
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const changed = await resourcesOf({ ...infra, batchSize: "8", replicas: "3" }, "dev", v1);
        assert.deepEqual(changedBetween(first, changed), ["torchserve-config", "torchserve-deployment"]);
        const deployment = one(changed, "kubernetes:apps/v1:Deployment").inputs.spec;
        assert.equal(deployment.replicas, 3);
        assert.equal(
            deployment.template.metadata.labels["app.kubernetes.io/version"],
            "v1",
            "no rollback, no roll forward",
        );
    });

    it("refuses a run that brings no model when none is deployed, naming serializedFile", async () => {
        const result = await deploy(infra, "dev", undefined);
        assert.ok(pulumi.RunError.isInstance(result.error));
        assert.match(
            result.error!.message,
            /serializedFile = \(not set\): is required: stack dev has no model deployed yet/,
        );
    });

    it("switches to an archived version without files (a rollback), and refuses a version reused for other files", async () => {
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const v2 = await releaseOf({ ...base, modelVersion: "v2" }, v1);
        const back = await deploy({ ...infra, modelVersion: "v1", modelStorePath: fixture.store }, "dev", v2);
        assert.equal(back.error, undefined);
        const spec = parseArchiveArgs(named(back.resources!, "torchserve-archive").inputs.create.split(" ").slice(2));
        assert.equal(spec.version, "v1");
        assert.equal(spec.build, undefined, "no files: the archived v1 is served");
        assert.equal(spec.fingerprint, v1.fingerprint, "its fingerprint from the history");

        fs.writeFileSync(fixture.args.serializedFile!, "other weights");
        try {
            const reused = await deploy({ ...base, modelVersion: "v1" }, "dev", v2);
            assert.match(reused.error!.message, /modelVersion = "v1": already names other model files/);
        } finally {
            fs.writeFileSync(fixture.args.serializedFile!, "weights-v1");
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
            "ml-prod.torchserve-model-store",
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
    it("adds the NetworkPolicy and the PodDisruptionBudget, and an autoscaler that then owns the replica count", () => {
        const policy = one(first, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
        assert.equal(policy.inputs.metadata.name, "torchserve");
        assert.deepEqual(
            policy.inputs.spec.ingress.map((rule: any) => rule.ports.map((p: any) => p.port)),
            [["ts"], ["ts-metrics"]],
        );
        assert.equal(one(first, "kubernetes:policy/v1:PodDisruptionBudget").inputs.spec.maxUnavailable, 1);
        assert.equal(byType(first, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").length, 0);
        const deployment = one(first, "kubernetes:apps/v1:Deployment");
        assert.deepEqual(deployment.ignoreChanges, [], "without an autoscaler the program sets the replica count");
        assert.match(deployment.inputs.metadata.annotations["pulumi.com/waitFor"], /ProgressDeadlineExceeded/);
        assert.equal(deployment.inputs.spec.template.spec.automountServiceAccountToken, false);
        assert.equal(deployment.inputs.spec.progressDeadlineSeconds, 420);
    });

    it("leaves the replica count to the autoscaler when there is one, and drops the policies when asked", async () => {
        const scaled = await resourcesOf({
            ...base,
            modelVersion: "v1",
            autoscaleMaxReplicas: "6",
            networkPolicy: "false",
            podDisruptionBudget: "false",
        });
        const autoscaler = one(scaled, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
        assert.deepEqual([autoscaler.inputs.spec.minReplicas, autoscaler.inputs.spec.maxReplicas], [2, 6]);
        assert.equal(autoscaler.parent, "torchserve");
        assert.deepEqual(one(scaled, "kubernetes:apps/v1:Deployment").ignoreChanges, ["spec.replicas"]);
        assert.equal(byType(scaled, "kubernetes:networking.k8s.io/v1:NetworkPolicy").length, 0);
        assert.equal(byType(scaled, "kubernetes:policy/v1:PodDisruptionBudget").length, 0);
    });

    it("warns that the NetworkPolicy may be inert when the cluster lists no enforcing plugin, and restricts egress when asked", async () => {
        const warnings: string[] = [];
        const warn = pulumi.log.warn;
        pulumi.log.warn = async (message: string) => {
            warnings.push(message);
        };
        try {
            const bare = await deploy({ ...base, modelVersion: "v1" }, "dev", undefined, { apiGroups: ["apps"] });
            assert.equal(bare.error, undefined);
            assert.equal(
                warnings.filter((w) => /no network plugin known to enforce NetworkPolicy/.test(w)).length,
                1,
                warnings.join("\n"),
            );
            warnings.length = 0;
            const calico = await deploy({ ...base, modelVersion: "v1", restrictEgress: "true" }, "dev", undefined, {
                apiGroups: ["apps", "crd.projectcalico.org"],
            });
            assert.deepEqual(
                warnings.filter((w) => /NetworkPolicy/.test(w)),
                [],
            );
            const policy = one(calico.resources!, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
            assert.deepEqual(policy.inputs.spec.policyTypes, ["Ingress", "Egress"]);
            assert.deepEqual(
                policy.inputs.spec.egress.map((rule: any) => rule.ports.map((p: any) => p.port)),
                [[53, 53]],
            );
        } finally {
            pulumi.log.warn = warn;
        }
    });

    it("keeps config.properties secret end to end when extraProperties holds a secret: a Secret, marked secret", async () => {
        const config = { ...base, modelVersion: "v1", extraProperties: JSON.stringify({ keystore_pass: "hunter2" }) };
        const secret = await deploy(config, "dev", undefined, {}, { secretKeys: ["extraProperties"] });
        assert.equal(secret.error, undefined);
        const resources = secret.resources!;
        assert.equal(byType(resources, "kubernetes:core/v1:ConfigMap").length, 0, "no ConfigMap holds it");
        const object = one(resources, "kubernetes:core/v1:Secret");
        assert.equal(object.name, "torchserve-config-secret");
        assert.equal(object.inputs.immutable, true);
        assert.deepEqual(object.secretPaths, ["stringData"], "the program marks the data secret");
        // Mocks get a secret as the SDK serializes it: wrapped, its value inside.
        assert.match(object.inputs.stringData.value["config.properties"], /^keystore_pass=hunter2$/m);
        const others = resources.filter((r) => r !== object);
        assert.doesNotMatch(JSON.stringify(others.map((r) => r.inputs)), /hunter2/, "nowhere else in plain text");
        const volume = one(resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.volumes[0];
        assert.match(volume.secret.secretName, /^torchserve-config-secret-[0-9a-f]{8}$/);
        assert.equal(secret.outputs!.namespace, "dev");

        // The same entry not set as a secret, and a stack without secrets: the ConfigMap, exactly as before.
        const plain = await resourcesOf(config);
        assert.equal(byType(plain, "kubernetes:core/v1:Secret").length, 0);
        const unchanged = await deploy({ ...base, modelVersion: "v1" }, "dev", undefined, {}, { secretKeys: [] });
        assert.deepEqual(unchanged.resources, first);
    });

    it("refuses a secret in a key whose value would end up in plain text", async () => {
        const result = await deploy(
            { ...base, modelVersion: "v1" },
            "dev",
            undefined,
            {},
            { secretKeys: ["modelVersion"] },
        );
        assert.match(
            result.error!.message,
            /modelVersion = \[secret\]: is set as a secret, but its value ends up in plain text/,
        );
    });

    it("never puts secret config in its outputs, its release, its warnings or any object but the Secret", async () => {
        const config = {
            ...base,
            modelVersion: "v1",
            extraProperties: JSON.stringify({ keystore_pass: PLAIN_SECRET }),
            // A warning, to see that none quotes the secret.
            memoryLimit: "256Mi",
            memoryRequest: "128Mi",
        };
        const built = await deploy(config, "dev", undefined, {}, { secretKeys: ["extraProperties"], preview: false });
        assert.equal(built.error, undefined);
        const [secret, ...others] = [
            one(built.resources!, "kubernetes:core/v1:Secret"),
            ...built.resources!.filter((r) => r.type !== "kubernetes:core/v1:Secret"),
        ];
        assert.match(secret.inputs.stringData.value["config.properties"], /^keystore_pass=Zq7J"vKwY'pQx$/m);
        assert.ok(built.componentOutputs, "the component registered its outputs");
        assert.match(JSON.stringify(built.componentOutputs), /"configSecretName":"torchserve-config-secret-/);
        assert.equal(built.warnings.length, 1, built.warnings.join("\n"));
        for (const [where, value] of Object.entries({
            "the component's outputs": built.componentOutputs,
            "the recorded release": built.release,
            "the warnings": built.warnings,
            "the other objects": others,
        })) {
            assertNoSecret(JSON.stringify(value), PLAIN_SECRET, where);
        }
    });

    it("keeps the management port off the policy, the Services, the pods and beyond loopback with exposeMetrics alone", async () => {
        const resources = await resourcesOf({ ...base, modelVersion: "v1", exposeMetrics: "true" });
        const policy = one(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs.spec;
        assert.deepEqual(
            policy.ingress.map((rule: any) => rule.ports.map((p: any) => p.port)),
            [["ts", "ts-metrics"], ["ts-metrics"]],
        );
        const services = byType(resources, "kubernetes:core/v1:Service");
        assert.deepEqual(
            services.map((s) => [s.name, s.inputs.spec.ports.map((p: any) => p.name)]),
            [
                ["torchserve-internal-service", ["metrics"]],
                ["torchserve-service", ["preds", "metrics"]],
            ],
        );
        const container = one(resources, "kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0];
        assert.deepEqual(
            container.ports.map((p: any) => p.name),
            ["ts", "ts-metrics"],
        );
        const properties = one(resources, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
        assert.match(properties, /^management_address=http:\/\/127\.0\.0\.1:8081$/m);
        assert.match(properties, /^metrics_address=http:\/\/0\.0\.0\.0:8082$/m);
    });

    it("warns when memoryLimit is below what a pod needs for the model it deploys, with the figures", async () => {
        // 64 MiB of weights (a sparse file): the figures tell its size from none.
        const big = makeModelDir("tsstack-memory-");
        fs.truncateSync(big.args.serializedFile!, 64 * 2 ** 20);
        const config = {
            ...infra,
            serializedFile: big.args.serializedFile!,
            handler: big.args.handler!,
            extraFiles: JSON.stringify(big.args.extraFiles),
            modelStorePath: big.store,
            modelVersion: "v1",
            memoryRequest: "128Mi",
        };
        const low = await deploy({ ...config, memoryLimit: "256Mi" });
        assert.equal(low.error, undefined);
        assert.deepEqual(low.warnings, [
            "warning: [runtime] memoryLimit 256Mi is below the 0.34 GiB each pod needs for 1 version (v1) × 1 " +
                "worker: the pods will be killed for memory while loading; raise memoryLimit, or lower " +
                "servedVersions or maxWorkers (about 0.41 GiB leaves room to load)",
        ]);
        const enough = await deploy({ ...config, memoryLimit: "512Mi" });
        assert.deepEqual(enough.warnings, [], "no warning when the limit holds the model and its loading");
    });

    it("reports a rollout its controller gave up on, before the rotation, which then never runs", async () => {
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const failedStatus = {
            conditions: [
                {
                    type: "Progressing",
                    status: "False",
                    reason: "ProgressDeadlineExceeded",
                    message: 'ReplicaSet "torchserve-6b7f" has timed out progressing.',
                },
            ],
        };
        const failed = await deploy(
            { ...base, modelVersion: "v2" },
            "dev",
            v1,
            {},
            {
                preview: false,
                deploymentStatus: failedStatus,
            },
        );
        const report = named(failed.resources!, "torchserve-rollout-report");
        assert.ok(report, "the report step runs");
        assert.equal(report.parent, "torchserve");
        assert.deepEqual(report.dependencies, ["torchserve-deployment"]);
        const words = report.inputs.create.split(" ");
        assert.deepEqual(words.slice(0, 2), ["node", "bin/components/cli/rolloutReport.js"]);
        assert.deepEqual(parseRolloutReportArgs(words.slice(2)), {
            namespace: "dev",
            app: "torchserve",
            model: "demo",
            version: "v2",
            previous: "v1",
            stack: "dev",
            replicaSet: "torchserve-6b7f",
            startupSeconds: 300,
            marginSeconds: 120,
            context: undefined,
        });
        assert.ok(
            named(failed.resources!, "torchserve-rotate").dependencies.includes("torchserve-rollout-report"),
            "the rotation waits for the report, whose failure stops the run",
        );

        const done = await deploy(
            { ...base, modelVersion: "v2" },
            "dev",
            v1,
            {},
            {
                preview: false,
                deploymentStatus: {
                    conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }],
                },
            },
        );
        assert.equal(named(done.resources!, "torchserve-rollout-report"), undefined, "no report after a rollout");
        assert.deepEqual(named(done.resources!, "torchserve-rotate").dependencies, ["torchserve-deployment"]);
    });

    it("records a release only once the rotate step ran: a failed rollout or rotation records nothing, and the next deploy never loads or keeps that version", async () => {
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const progressed = (reason: string, status: string) => ({
            conditions: [{ type: "Progressing", status, reason, message: 'ReplicaSet "torchserve-6b7f" ...' }],
        });
        // The report step fails the run as the real one does (it exits 4); the rotation never runs.
        const failedRollout = await deploy(
            { ...base, modelVersion: "v2" },
            "dev",
            v1,
            {},
            {
                preview: false,
                deploymentStatus: progressed("ProgressDeadlineExceeded", "False"),
                failingResources: ["torchserve-rollout-report"],
            },
        );
        assert.ok(named(failedRollout.resources!, "torchserve-rollout-report"), "the rollout was reported as failed");
        assert.equal(failedRollout.release, undefined, "a failed rollout records no release");
        assert.ok(
            failedRollout.failures!.some((e) => /torchserve-rollout-report failed/.test(e.message)),
            "the run ends with the report's failure",
        );
        // Rolled out, but the rotation failed (e.g. it found no entry of the deployed version).
        const failedRotation = await deploy(
            { ...base, modelVersion: "v2" },
            "dev",
            v1,
            {},
            {
                preview: false,
                deploymentStatus: progressed("NewReplicaSetAvailable", "True"),
                failingResources: ["torchserve-rotate"],
            },
        );
        assert.equal(named(failedRotation.resources!, "torchserve-rollout-report"), undefined);
        assert.equal(failedRotation.release, undefined, "a failed rotation records no release");
        assert.ok(failedRotation.failures!.some((e) => /torchserve-rotate failed/.test(e.message)));

        // The pipeline's next deploy plans from what the stack recorded: v1's release, not v2's.
        for (const failed of [failedRollout, failedRotation]) {
            const recorded = failed.release ?? v1;
            const next = await deploy({ ...base, modelVersion: "v3", servedVersions: "3" }, "dev", recorded);
            assert.equal(next.error, undefined);
            assert.deepEqual(next.release!.served, ["v3", "v1"], "v2 is not loaded");
            assert.deepEqual(
                next.release!.history.map((h) => h.version),
                ["v3", "v1"],
            );
            const rotate = named(next.resources!, "torchserve-rotate").inputs.create.split(" ");
            assert.equal(rotate[rotate.indexOf("--keep") + 1], "v3,v1", "v2 is rotated out of the part");
        }
        // A deploy that rolled out and rotated records its release (the failures above are not the mocks').
        const done = await deploy(
            { ...base, modelVersion: "v2" },
            "dev",
            v1,
            {},
            { preview: false, deploymentStatus: progressed("NewReplicaSetAvailable", "True") },
        );
        assert.deepEqual(done.release?.served, ["v2"]);
    });

    it("refuses at preview, creating no object, a part of the mounted store that is, contains or lies inside another stack's", async () => {
        const store = tempDir("tsstack-parts-");
        const prod = { stack: "organization/torchserve-stack/prod", namespace: "prod", appName: "torchserve" };
        claimOwnership(storeLayout(store, "dev/torchserve"), prod);
        const run = { ...base, modelVersion: "v1", modelStorePath: store };
        for (const [subdir, where] of [
            [undefined, "is the part of the model store that belongs to"],
            ["dev/torchserve/backup", "lies inside dev/torchserve, the part of the model store that belongs to"],
            ["dev", "contains dev/torchserve, the part of the model store that belongs to"],
        ]) {
            const refused = await deploy(subdir ? { ...run, modelStoreSubdir: subdir } : run);
            assert.ok(pulumi.RunError.isInstance(refused.error), `${subdir}: a config error`);
            assert.match(
                refused.error!.message,
                new RegExp(
                    `modelStoreSubdir = "${subdir ?? "dev/torchserve"}": ${where} stack organization/torchserve-stack/prod ` +
                        "\\(namespace prod, app torchserve\\)",
                ),
            );
            assert.match(
                refused.error!.message,
                /Fix: give this stack a part of its own.*pulumi config set modelStoreSubdir/,
            );
            assert.deepEqual(
                refused.resources!.map((r) => r.type),
                ["torchserve:index:TorchServeStack"],
                "no namespace, claim, service or step",
            );
        }
        const beside = await deploy({ ...run, modelStoreSubdir: "dev/torchserve-2" });
        assert.equal(beside.error, undefined, "a part beside the other's");
        // A run that brings no model runs no store step: it is not refused (its part was checked when deployed).
        const v1 = await releaseOf({ ...base, modelVersion: "v1" });
        const keep = await deploy({ ...infra, modelStorePath: store }, "dev", v1);
        assert.equal(keep.error, undefined);
    });

    it("names a new stack's volume so that no other stack can share it, and keeps an existing stack's name", async () => {
        const legacy = await deploy({ ...base, modelVersion: "v1" }, "dev", undefined, {
            recordedVolumeName: "dev-torchserve-model-store",
        });
        assert.equal(
            one(legacy.resources!, "kubernetes:core/v1:PersistentVolume").inputs.metadata.name,
            "dev-torchserve-model-store",
        );
        assert.equal(
            one(legacy.resources!, "kubernetes:core/v1:PersistentVolumeClaim").inputs.spec.volumeName,
            "dev-torchserve-model-store",
        );
        const fresh = await deploy({ ...base, modelVersion: "v1", namespace: "a-b", appName: "c" }, "dev");
        const other = await deploy({ ...base, modelVersion: "v1", namespace: "a", appName: "b-c" }, "dev");
        const names = [fresh, other].map(
            (r) => one(r.resources!, "kubernetes:core/v1:PersistentVolume").inputs.metadata.name,
        );
        assert.deepEqual(names, ["a-b.c-model-store", "a.b-c-model-store"]);
    });

    it("names a version as the store already holds it when the program sees the store (an upgrade's flat .mar)", async () => {
        fs.mkdirSync(fixture.store, { recursive: true });
        fs.writeFileSync(path.join(fixture.store, "demo.v7.mar"), "an archive of the old flat layout");
        try {
            const run = await deploy({ ...base, modelVersion: "v7" });
            assert.equal(run.error, undefined);
            const text: string = one(run.resources!, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
            assert.match(text, /^load_models=demo\.v7\.mar$/m, "not the default directory: the store has a .mar");
            assert.doesNotMatch(named(run.resources!, "torchserve-archive").inputs.create, /--directories/);
            const fresh = await deploy({ ...base, modelVersion: "v8" });
            const freshText: string = one(fresh.resources!, "kubernetes:core/v1:ConfigMap").inputs.data[
                "config.properties"
            ];
            assert.match(freshText, /^load_models=demo\.v8$/m, "a version the store does not hold: the default");
        } finally {
            fs.rmSync(fixture.store, { recursive: true, force: true });
        }
    });

    it("takes the same files under a version recorded as a .mar (built as zip-store) for that version, not other files", async () => {
        const asMar = await releaseOf({ ...base, modelVersion: "v1", archiveFormat: "zip-store" });
        const old: Release = { ...asMar, history: asMar.history.map(({ entry, ...h }) => (void entry, h)) };
        const again = await deploy({ ...base, modelVersion: "v1" }, "dev", old);
        assert.equal(again.error, undefined, "the default format changed, the files did not");
        assert.equal(again.release!.fingerprint, asMar.fingerprint, "the fingerprint it was recorded with");
        const text: string = one(again.resources!, "kubernetes:core/v1:ConfigMap").inputs.data["config.properties"];
        assert.match(text, /^load_models=demo\.v1\.mar$/m);
        const other = await deploy(
            { ...base, modelVersion: "v1", archiveFormat: "zip-store", handler: "image_classifier" },
            "dev",
            old,
        );
        assert.match(String(other.error), /already names other model files/);
    });
});
