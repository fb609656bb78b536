/**
 * What a deploy run did, read from the engine's own event stream (not from
 * its printed text): which step failed, when the Deployment's rollout started
 * and ended, the change counts and the changed resources, the warnings, and
 * the stack's outputs as the engine computed them (a preview's plan).
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

/** The engine's stand-in for a value it cannot know yet (a preview's computed value). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One resource the run changes (or, in a preview, would change). */
export interface ChangedResource {
    /** The engine's operation: create, update, replace, delete, ... */
    readonly op: string;
    readonly type: string;
    readonly name: string;
}

/** Collects what the summary needs while the engine runs. */
export class RunReport {
    private readonly started = new Map<string, number>();
    private readonly failedUrns: string[] = [];
    private readonly errors: { urn?: string; message: string }[] = [];
    private readonly changed = new Map<string, ChangedResource>();
    private readonly warningSet = new Set<string>();
    /** Seconds the Deployment took from its update's start to Available, when it rolled. */
    rolloutSeconds?: number;
    /** Change counts by operation, from the engine's summary. */
    changes: Record<string, number> = {};
    /** The stack's outputs before this run, as the program read them (its reference to itself). */
    previousOutputs?: Record<string, unknown>;
    /**
     * The stack's outputs as the program registered them in this run: in a preview, what it would
     * deploy. Values the engine cannot know yet are null; secrets are `[secret]`.
     */
    programOutputs?: Record<string, unknown>;

    constructor(private readonly now: () => number = () => performance.now() / 1000) {}

    /** Feed every engine event here (Automation API `onEvent`). */
    readonly onEvent = (event: EngineEvent): void => {
        const pre = event.resourcePreEvent?.metadata;
        if (pre && pre.op !== "same" && pre.op !== "read") {
            if (!event.resourcePreEvent?.planning) {
                this.started.set(pre.urn, this.now());
            }
            // The stack itself and the default providers are not what a pipeline deploys.
            if (pre.type !== "pulumi:pulumi:Stack" && !pre.type.startsWith("pulumi:providers:")) {
                // A replacement comes as several steps (create-replacement, replace, delete-replaced): one replace.
                const op = pre.op.includes("replace") ? "replace" : pre.op;
                this.changed.set(pre.urn, { op, type: pre.type, name: urnName(pre.urn) });
            }
        }
        const done = event.resOutputsEvent?.metadata;
        if (done && !event.resOutputsEvent?.planning && isDeployment(done.type) && this.started.has(done.urn)) {
            this.rolloutSeconds = this.now() - this.started.get(done.urn)!;
        }
        if (done && done.type === "pulumi:pulumi:StackReference") {
            const read = (done.new?.outputs as { outputs?: Record<string, unknown> } | undefined)?.outputs;
            this.previousOutputs = read ?? {};
        }
        if (done && done.type === "pulumi:pulumi:Stack" && done.new?.outputs) {
            this.programOutputs = knownValues(done.new.outputs) as Record<string, unknown>;
        }
        const failed = event.resOpFailedEvent?.metadata;
        if (failed) {
            this.failedUrns.push(failed.urn);
        }
        const diagnostic = event.diagnosticEvent;
        if (diagnostic && diagnostic.severity === "error") {
            this.errors.push({ urn: diagnostic.urn, message: diagnostic.message.trim() });
        }
        // Warnings only: info diagnostics are the steps' progress lines, streamed already. Each warning
        // once (a program run can raise the same one for each of several resources).
        if (diagnostic && diagnostic.severity === "warning" && !diagnostic.ephemeral && diagnostic.message.trim()) {
            this.warningSet.add(diagnostic.message.trim());
        }
        if (event.summaryEvent) {
            this.changes = { ...event.summaryEvent.resourceChanges } as Record<string, number>;
        }
    };

    /** Every warning the engine reported (the program's, the providers'), each once, in order. */
    get warnings(): string[] {
        return [...this.warningSet];
    }

    /** The resources the run changed (a preview: would change), in the engine's order, the stack itself left out. */
    get changedResources(): ChangedResource[] {
        return [...this.changed.values()];
    }

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

/** The key that marks a serialized secret (Pulumi's property serialization). */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

/** `value` with the engine's unknowns as null (a preview's computed values) and any secret as `[secret]`. */
function knownValues(value: unknown): unknown {
    if (value === UNKNOWN_VALUE) {
        return null;
    }
    if (value !== null && typeof value === "object" && SECRET_SIGNATURE in value) {
        return "[secret]";
    }
    if (Array.isArray(value)) {
        return value.map(knownValues);
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, knownValues(inner)]));
    }
    return value;
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
