import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { RunReport, urnName, urnType } from "../../../deploy/runReport";

const STACK = "urn:pulumi:prod::torchserve-stack::pulumi:pulumi:Stack::torchserve-stack-prod";
const ARCHIVE =
    "urn:pulumi:prod::torchserve-stack::torchserve:index:TorchServeStack$command:local:Command::torchserve-archive";
const DEPLOYMENT =
    "urn:pulumi:prod::torchserve-stack::torchserve:index:TorchServeStack$kubernetes:apps/v1:Deployment::torchserve-deployment";

let sequence = 0;
function event(fields: Partial<EngineEvent>): EngineEvent {
    return { sequence: sequence++, timestamp: 0, ...fields } as EngineEvent;
}
const meta = (urn: string, op: string) => ({ metadata: { urn, op, type: urnType(urn), provider: "" } as any });
const error = (urn: string, message: string) =>
    event({ diagnosticEvent: { urn, message, color: "never", severity: "error" } });

describe("reading a run from the engine's events", () => {
    it("parses types and names out of URNs, parent types included", () => {
        assert.equal(urnType(ARCHIVE), "command:local:Command");
        assert.equal(urnName(ARCHIVE), "torchserve-archive");
        assert.equal(urnType(STACK), "pulumi:pulumi:Stack");
    });

    it("times the Deployment from its update's start to its outputs, ignoring the planning pass", () => {
        let clock = 100;
        const report = new RunReport(() => clock);
        report.onEvent(event({ resourcePreEvent: { ...meta(DEPLOYMENT, "update"), planning: true } }));
        clock = 101;
        report.onEvent(event({ resourcePreEvent: meta(DEPLOYMENT, "update") }));
        clock = 113.5;
        report.onEvent(event({ resOutputsEvent: meta(DEPLOYMENT, "update") }));
        report.onEvent(
            event({
                summaryEvent: {
                    maybeCorrupt: false,
                    durationSeconds: 15,
                    resourceChanges: { update: 2, same: 8 } as any,
                    policyPacks: {},
                },
            }),
        );
        assert.equal(report.rolloutSeconds, 12.5);
        assert.deepEqual(report.changes, { update: 2, same: 8 });
    });

    it("reads the stack's previous outputs from the program's reference to itself", () => {
        const report = new RunReport();
        const self =
            "urn:pulumi:prod::torchserve-stack::pulumi:pulumi:StackReference::organization/torchserve-stack/prod";
        const read = { ...meta(self, "read").metadata, new: { outputs: { outputs: { modelVersion: "v3" } } } };
        report.onEvent(event({ resOutputsEvent: { metadata: read } as any }));
        assert.deepEqual(report.previousOutputs, { modelVersion: "v3" });
    });

    it("does not report a rollout when the Deployment stayed the same", () => {
        const report = new RunReport(() => 1);
        report.onEvent(event({ resourcePreEvent: meta(DEPLOYMENT, "same") }));
        report.onEvent(event({ resOutputsEvent: meta(DEPLOYMENT, "same") }));
        assert.equal(report.rolloutSeconds, undefined);
    });

    it("tells bad input, a failed archive step and a failed rollout apart", () => {
        const config = new RunReport();
        config.onEvent(
            error(
                STACK,
                "torchserve-stack configuration has 1 problem; nothing was deployed or deleted:\n  1. archiveKeep = 0: ...",
            ),
        );
        assert.equal(config.classify().kind, "bad-input");
        assert.match(config.classify().message, /archiveKeep = 0/);

        const archive = new RunReport();
        archive.onEvent(
            error(ARCHIVE, 'exit status 2: running "node ...":\n[torchserve-stack archive] error: it failed'),
        );
        archive.onEvent(event({ resOpFailedEvent: { ...meta(ARCHIVE, "create"), status: 1, steps: 1 } }));
        archive.onEvent(error(STACK, "update failed"));
        assert.equal(archive.classify().kind, "archive");
        assert.equal(
            archive.classify().message,
            "error: it failed",
            "what the step said: not 'update failed', not the provider's wrapper",
        );

        const rollout = new RunReport();
        rollout.onEvent(
            error(DEPLOYMENT, 'the Kubernetes API server reported that "prod/torchserve" failed to fully initialize'),
        );
        rollout.onEvent(event({ resOpFailedEvent: { ...meta(DEPLOYMENT, "update"), status: 1, steps: 1 } }));
        assert.equal(rollout.classify().kind, "rollout");

        const report = new RunReport();
        const reportUrn = ARCHIVE.replace("torchserve-archive", "torchserve-rollout-report");
        report.onEvent(
            error(
                reportUrn,
                'exit status 1: running "node rolloutReport.js":\n[torchserve-stack rollout] pod x: not ready',
            ),
        );
        report.onEvent(event({ resOpFailedEvent: { ...meta(reportUrn, "create"), status: 1, steps: 1 } }));
        assert.equal(report.classify().kind, "rollout", "the report of a failed rollout fails the run as a rollout");
        assert.equal(report.classify().message, "pod x: not ready", "what the step said, without the wrapper");

        const other = new RunReport();
        other.onEvent(error(STACK, "Error: something unexpected"));
        assert.equal(other.classify().kind, "other");
    });
});
