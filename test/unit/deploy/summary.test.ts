/**
 * The deploy command's decisions, without the engine: the exit code of each
 * failure kind, the summary built from the engine's events (a preview's plan,
 * the warnings, a failed rollout's words), and the lines it ends with.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { USAGE, UsageError } from "../../../deploy/options";
import { runConfigFileText } from "../../../deploy/runConfigFile";
import { EXIT_CODES, FailureKind, NO_ENGINE_ERROR, RunReport } from "../../../deploy/runReport";
import { EngineRun, closingLines, failedBeforeRunning, summarizeRun } from "../../../deploy/summary";

const PROJECT = "urn:pulumi:prod::torchserve-stack::";
const STACK_URN = `${PROJECT}pulumi:pulumi:Stack::torchserve-stack-prod`;
const SELF = `${PROJECT}pulumi:pulumi:StackReference::organization/torchserve-stack/prod`;
const COMPONENT = `${PROJECT}torchserve:index:TorchServeStack::torchserve`;
const DEPLOYMENT = `${PROJECT}torchserve:index:TorchServeStack$kubernetes:apps/v1:Deployment::torchserve-deployment`;
const CONFIG_MAP = `${PROJECT}torchserve:index:TorchServeStack$kubernetes:core/v1:ConfigMap::torchserve-config`;
const PROVIDER = `${PROJECT}pulumi:providers:command::default_1_2_1`;
const MEMORY_WARNING = "memoryLimit 64Mi is below the 0.28 GiB each pod needs";
/** How the engine sends a value a preview cannot know. */
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

let sequence = 0;
function event(fields: Partial<EngineEvent>): EngineEvent {
    return { sequence: sequence++, timestamp: 0, ...fields } as EngineEvent;
}
const step = (urn: string, op: string, outputs?: Record<string, unknown>) =>
    ({ metadata: { urn, op, type: urn.split("::")[2].split("$").pop(), provider: "", new: { outputs } } }) as any;
const diagnostic = (severity: string, message: string, extra: object = {}) =>
    event({ diagnosticEvent: { urn: COMPONENT, message, color: "never", severity, ...extra } as any });

/** The events of a preview that would roll prod from v2 to v3, as the engine sends them. */
function previewEvents(): EngineEvent[] {
    return [
        event({ resourcePreEvent: { ...step(SELF, "read"), planning: true } }),
        event({ resOutputsEvent: { ...step(SELF, "read", { outputs: { modelVersion: "v2" } }), planning: true } }),
        event({ resourcePreEvent: { ...step(DEPLOYMENT, "update"), planning: true } }),
        event({ resourcePreEvent: { ...step(CONFIG_MAP, "create-replacement"), planning: true } }),
        event({ resourcePreEvent: { ...step(CONFIG_MAP, "replace"), planning: true } }),
        event({ resourcePreEvent: { ...step(CONFIG_MAP, "delete-replaced"), planning: true } }),
        event({ resourcePreEvent: { ...step(STACK_URN, "update"), planning: true } }),
        event({ resourcePreEvent: { ...step(COMPONENT, "same"), planning: true } }),
        event({ resourcePreEvent: { ...step(PROVIDER, "create"), planning: true } }),
        diagnostic("warning", `${MEMORY_WARNING}\n`),
        diagnostic("warning", `${MEMORY_WARNING}\n`),
        diagnostic("warning", "archiveKeep 2 takes effect at the next model deploy"),
        diagnostic("info", "[torchserve-stack archive] reusing demo.v3"),
        diagnostic("warning", "still waiting", { ephemeral: true }),
        diagnostic("warning", " \n"),
        event({
            resOutputsEvent: {
                ...step(STACK_URN, "update", {
                    modelName: "demo",
                    modelVersion: "v3",
                    loadedVersions: ["v3", "v2"],
                    predictionUrl: "http://torchserve.prod.svc:8080/predictions/demo",
                    deploymentName: UNKNOWN_VALUE,
                    configSecretName: null,
                    release: { version: "v3", history: [UNKNOWN_VALUE] },
                }),
                planning: true,
            },
        }),
        event({ resOutputsEvent: { ...step(DEPLOYMENT, "update", { spec: { replicas: 2 } }), planning: true } }),
        event({
            summaryEvent: {
                maybeCorrupt: false,
                durationSeconds: 3,
                resourceChanges: { update: 2, replace: 1, same: 9, delete: 0 } as any,
                policyPacks: {},
            },
        }),
    ];
}

/** What main.ts hands over after an engine run, from a report fed `events`. */
function engineRun(events: EngineEvent[], fields: Partial<EngineRun> & Pick<EngineRun, "preview">): EngineRun {
    const report = new RunReport(() => 0);
    events.forEach(report.onEvent);
    return {
        stack: "prod",
        failure: null,
        outputs: { modelName: "demo", modelVersion: "v2", loadedVersions: ["v2"] },
        previousOutputs: report.previousOutputs,
        programOutputs: report.programOutputs,
        rolloutSeconds: report.rolloutSeconds,
        durationSeconds: 4.56789,
        changes: report.changes,
        changedResources: report.changedResources,
        warnings: report.warnings,
        ...fields,
    };
}

describe("the deploy command's exit codes", () => {
    const table: Record<FailureKind | "ok", number> = { ok: 0, "bad-input": 2, archive: 3, rollout: 4, other: 1 };

    it("gives each failure kind its own code: 0 done, 2 bad input, 3 archive step, 4 rollout, 1 else", () => {
        assert.deepEqual({ ...EXIT_CODES }, table);
        for (const kind of ["bad-input", "archive", "rollout", "other"] as const) {
            const summary = summarizeRun(engineRun([], { preview: false, failure: { kind, message: "it failed" } }));
            assert.equal(summary.exitCode, table[kind], kind);
            assert.equal(summary.result, "failed");
            assert.equal(summary.failure?.kind, kind);
        }
        const done = summarizeRun(engineRun([], { preview: false }));
        assert.deepEqual([done.exitCode, done.result, done.failure], [0, "succeeded", null]);
    });

    it("says the same codes in its usage text", () => {
        const line = USAGE.split("\n").find((l) => l.startsWith("exit codes:"))!;
        const said = Object.fromEntries(
            line
                .slice("exit codes: ".length)
                .split(", ")
                .map((part) => [part.slice(part.indexOf(" ") + 1), Number(part.split(" ")[0])]),
        );
        assert.deepEqual(said, {
            done: table.ok,
            "bad input": table["bad-input"],
            "archive step failed": table.archive,
            "rollout failed": table.rollout,
            "other failure": table.other,
        });
    });

    it("exits 2 for bad flags and a stack file that is not YAML, 1 for anything else before the engine runs", () => {
        assert.equal(failedBeforeRunning("prod", false, new UsageError("--stack is required")).exitCode, 2);
        let broken: unknown;
        try {
            runConfigFileText("config: [\n", "torchserve-stack", {}, "/app/Pulumi.prod.yaml");
        } catch (error) {
            broken = error;
        }
        const summary = failedBeforeRunning("prod", true, broken);
        assert.equal(summary.exitCode, 2, "a broken stack file is bad input");
        assert.equal(summary.operation, "preview");
        assert.match(summary.failure!.message, /^\/app\/Pulumi\.prod\.yaml is not valid YAML: .*line \d+, column \d+/);
        const other = failedBeforeRunning("prod", false, new Error("EACCES: permission denied"));
        assert.deepEqual(other, {
            stack: "prod",
            operation: "up",
            result: "failed",
            exitCode: 1,
            failure: { kind: "other", message: "EACCES: permission denied" },
            modelName: null,
            modelVersion: null,
            previousModelVersion: null,
            loadedVersions: [],
            predictionUrl: null,
            rolloutSeconds: null,
            durationSeconds: 0,
            changes: {},
            changedResources: [],
            warnings: [],
            outputs: {},
        });
    });
});

describe("the deploy summary, from the engine's events", () => {
    it("says what a preview would deploy, what it would change, and every warning, each once", () => {
        const summary = summarizeRun(engineRun(previewEvents(), { preview: true }));
        assert.equal(summary.operation, "preview");
        assert.equal(summary.exitCode, 0);
        assert.equal(summary.modelName, "demo");
        assert.equal(summary.modelVersion, "v3", "the version it would deploy");
        assert.equal(summary.previousModelVersion, "v2", "the version deployed now");
        assert.deepEqual(summary.loadedVersions, ["v3", "v2"]);
        assert.equal(summary.predictionUrl, "http://torchserve.prod.svc:8080/predictions/demo");
        assert.deepEqual(summary.changes, { update: 2, replace: 1, same: 9, delete: 0 });
        assert.equal(summary.rolloutSeconds, null, "nothing rolled");
        assert.deepEqual(summary.changedResources, [
            { op: "update", type: "kubernetes:apps/v1:Deployment", name: "torchserve-deployment" },
            { op: "replace", type: "kubernetes:core/v1:ConfigMap", name: "torchserve-config" },
        ]);
        assert.deepEqual(summary.warnings, [MEMORY_WARNING, "archiveKeep 2 takes effect at the next model deploy"]);
        assert.equal(summary.outputs.deploymentName, null, "a value the preview cannot know is null");
        assert.equal(summary.outputs.configSecretName, null);
        assert.deepEqual(summary.outputs.release, { version: "v3", history: [null] });
        assert.equal(summary.durationSeconds, 4.568);
        assert.deepEqual(closingLines(summary), [
            `warning: ${MEMORY_WARNING}`,
            "warning: archiveKeep 2 takes effect at the next model deploy",
            "preview: would deploy demo v3 (deployed now: v2), loaded v3, v2; 2 to update, 1 to replace",
        ]);
    });

    it("reads the version deployed now from the stack when the program never read its own outputs", () => {
        const events = previewEvents().filter(
            (e) => e.resOutputsEvent?.metadata.type !== "pulumi:pulumi:StackReference",
        );
        const summary = summarizeRun(engineRun(events, { preview: true }));
        assert.equal(summary.previousModelVersion, "v2");
        assert.equal(summary.modelVersion, "v3");
        const noPlan = summarizeRun(engineRun([], { preview: true }));
        assert.equal(noPlan.modelVersion, "v2", "no outputs from the program: what is deployed now");
        const nothing = summarizeRun({ ...engineRun([], { preview: true }), outputs: {} });
        assert.deepEqual(closingLines(nothing), [
            "preview: would deploy (no model) (no version) (deployed now: none), loaded (none); no changes",
        ]);
    });

    it("keeps a secret output secret", () => {
        const secret = {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            plaintext: '"s3cr3t"',
        };
        const events = [event({ resOutputsEvent: step(STACK_URN, "update", { modelName: "demo", token: secret }) })];
        const summary = summarizeRun(engineRun(events, { preview: true }));
        assert.equal(summary.outputs.token, "[secret]");
        assert.doesNotMatch(JSON.stringify(summary), /s3cr3t/);
    });

    it("says what serves after a failed preview, not what the program planned", () => {
        const summary = summarizeRun(
            engineRun(previewEvents(), { preview: true, failure: { kind: "bad-input", message: "bad" } }),
        );
        assert.equal(summary.modelVersion, "v2");
        assert.equal(summary.exitCode, 2);
        assert.deepEqual(summary.warnings.length, 2, "the warnings of a failed run too");
    });

    it("reports an up: what it deployed, the version before, the rollout's time", () => {
        let clock = 10;
        const report = new RunReport(() => clock);
        report.onEvent(event({ resOutputsEvent: step(SELF, "read", { outputs: { modelVersion: "v2" } }) }));
        report.onEvent(event({ resourcePreEvent: step(DEPLOYMENT, "update") }));
        clock = 22.25;
        report.onEvent(event({ resOutputsEvent: step(DEPLOYMENT, "update") }));
        const summary = summarizeRun({
            ...engineRun([], { preview: false }),
            outputs: { modelName: "demo", modelVersion: "v3", loadedVersions: ["v3", "v2"] },
            previousOutputs: report.previousOutputs,
            rolloutSeconds: report.rolloutSeconds,
            changedResources: report.changedResources,
        });
        assert.deepEqual(
            [summary.operation, summary.modelVersion, summary.previousModelVersion, summary.rolloutSeconds],
            ["up", "v3", "v2", 12.25],
        );
        assert.deepEqual([summary.exitCode, summary.result], [0, "succeeded"]);
        assert.deepEqual(closingLines(summary), ["done: demo v3 (was v2), loaded v3, v2"]);
        const first = summarizeRun({ ...engineRun([], { preview: false }), previousOutputs: {} });
        assert.deepEqual(closingLines(first), ["done: demo v2 (was none), loaded v2"]);
    });

    it("tells what still serves after a failed rollout and how to roll back; exit 4", () => {
        const summary = summarizeRun(
            engineRun([], { preview: false, failure: { kind: "rollout", message: "pod x: not ready" } }),
        );
        assert.equal(summary.exitCode, 4);
        assert.equal(summary.modelVersion, "v2", "still serving v2");
        assert.match(summary.failure!.message, /^pod x: not ready\nThe rollout stopped; the previous release v2 keeps/);
        assert.match(summary.failure!.message, /roll back with --model-version v2\.$/);
        assert.match(closingLines(summary)[0], /^FAILED \(rollout, exit 4\): pod x: not ready/);
        const first = summarizeRun({
            ...engineRun([], { preview: false, failure: { kind: "rollout", message: "pod x: not ready" } }),
            outputs: {},
        });
        assert.match(first.failure!.message, /previous release \(none\).*--model-version <version>\.$/s);
    });

    it("gives the CLI's own last lines when the engine reported no error (a locked stack)", () => {
        const stderr = `${Array.from({ length: 12 }, (_, i) => `line ${i}`).join("\n")}\nerror: the stack is locked\n`;
        const summary = summarizeRun(
            engineRun([], { preview: false, failure: { kind: "other", message: NO_ENGINE_ERROR }, cliStderr: stderr }),
        );
        assert.equal(summary.exitCode, 1);
        assert.equal(summary.failure!.message.split("\n").length, 8);
        assert.match(summary.failure!.message, /error: the stack is locked$/);
        const silent = summarizeRun(
            engineRun([], { preview: false, failure: { kind: "other", message: NO_ENGINE_ERROR }, cliStderr: " " }),
        );
        assert.equal(silent.failure!.message, NO_ENGINE_ERROR);
        const said = summarizeRun(
            engineRun([], { preview: false, failure: { kind: "archive", message: "out of disk" }, cliStderr: stderr }),
        );
        assert.equal(said.failure!.message, "out of disk", "the engine's words when it had some");
    });
});
