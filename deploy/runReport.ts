/**
 * What a deploy run did, read from the engine's own event stream (not from
 * its printed text): which step failed, when the Deployment's rollout started
 * and ended, and the change counts.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";

/** Why a run failed; each kind has its own exit code. */
export type FailureKind = "bad-input" | "archive" | "rollout" | "other";

export const EXIT_CODES: Readonly<Record<FailureKind | "ok", number>> = {
    ok: 0,
    other: 1,
    "bad-input": 2,
    archive: 3,
    rollout: 4,
};

/** What {@link RunReport.errorMessage} says when the engine reported no error (the CLI failed before it ran). */
export const NO_ENGINE_ERROR = "the engine reported a failure";

/** The message every stack-config error of the program starts with (components' ConfigValidationError). */
export const CONFIG_ERROR_PREFIX = "torchserve-stack configuration has";

/** Collects what the summary needs while the engine runs. */
export class RunReport {
    private readonly started = new Map<string, number>();
    private readonly failedUrns: string[] = [];
    private readonly errors: { urn?: string; message: string }[] = [];
    /** Seconds the Deployment took from its update's start to Available, when it rolled. */
    rolloutSeconds?: number;
    /** Change counts by operation, from the engine's summary. */
    changes: Record<string, number> = {};
    /** The stack's outputs before this run, as the program read them (its reference to itself). */
    previousOutputs?: Record<string, unknown>;

    constructor(private readonly now: () => number = () => performance.now() / 1000) {}

    /** Feed every engine event here (Automation API `onEvent`). */
    readonly onEvent = (event: EngineEvent): void => {
        const pre = event.resourcePreEvent?.metadata;
        if (pre && !event.resourcePreEvent?.planning && pre.op !== "same" && pre.op !== "read") {
            this.started.set(pre.urn, this.now());
        }
        const done = event.resOutputsEvent?.metadata;
        if (done && !event.resOutputsEvent?.planning && isDeployment(done.type) && this.started.has(done.urn)) {
            this.rolloutSeconds = this.now() - this.started.get(done.urn)!;
        }
        if (done && done.type === "pulumi:pulumi:StackReference") {
            const read = (done.new?.outputs as { outputs?: Record<string, unknown> } | undefined)?.outputs;
            this.previousOutputs = read ?? {};
        }
        const failed = event.resOpFailedEvent?.metadata;
        if (failed) {
            this.failedUrns.push(failed.urn);
        }
        const diagnostic = event.diagnosticEvent;
        if (diagnostic && diagnostic.severity === "error") {
            this.errors.push({ urn: diagnostic.urn, message: diagnostic.message.trim() });
        }
        if (event.summaryEvent) {
            this.changes = { ...event.summaryEvent.resourceChanges } as Record<string, number>;
        }
    };

    /** Why the run failed, from what the engine reported. */
    classify(): { kind: FailureKind; message: string } {
        const failedTypes = [...this.failedUrns, ...this.errors.map((e) => e.urn ?? "")];
        const message = this.errorMessage();
        if (this.errors.some((e) => e.message.includes(CONFIG_ERROR_PREFIX))) {
            return { kind: "bad-input", message };
        }
        if (failedTypes.some((urn) => urnType(urn) === "command:local:Command" && urnName(urn).endsWith("-archive"))) {
            return { kind: "archive", message };
        }
        const isRolloutReport = (urn: string) =>
            urnType(urn) === "command:local:Command" && urnName(urn).endsWith("-rollout-report");
        if (failedTypes.some((urn) => isDeployment(urnType(urn)) || isRolloutReport(urn))) {
            return { kind: "rollout", message };
        }
        return { kind: "other", message };
    }

    /**
     * The errors the engine reported, most specific first (resource errors before the generic "update
     * failed"), without the Command provider's `exit status N: running "node …":` wrapper and the steps'
     * line prefixes: what the step said.
     */
    errorMessage(): string {
        const specific = this.errors.filter((e) => !/^update failed$|^preview failed$/.test(e.message));
        const text = (specific.length > 0 ? specific : this.errors).map((e) => e.message).join("\n");
        const cleaned = text
            .split("\n")
            .filter((line) => !/^exit status \d+: running ".*":?$/.test(line.trim()))
            .map((line) => line.replace(/^\[torchserve-stack [a-z-]+\] /, ""))
            .join("\n")
            .trim();
        return cleaned || NO_ENGINE_ERROR;
    }
}

function isDeployment(type: string): boolean {
    return type === "kubernetes:apps/v1:Deployment";
}

/** `urn:pulumi:stack::project::parent$type::name` -> type. */
export function urnType(urn: string): string {
    const parts = urn.split("::");
    return parts.length >= 4 ? parts[2].split("$").pop()! : "";
}

/** `urn:pulumi:stack::project::type::name` -> name. */
export function urnName(urn: string): string {
    const parts = urn.split("::");
    return parts.length >= 4 ? parts.slice(3).join("::") : "";
}
