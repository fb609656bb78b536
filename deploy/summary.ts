/**
 * The machine-readable result of a deploy run: one JSON object a pipeline can
 * parse (the last line the command prints, and optionally a file), and the
 * closing lines a person reads. Pure: main.ts runs the engine and gathers what
 * it reported; everything decided from that (the exit code, the version a
 * preview would deploy, the words of a failure) is decided here.
 */
import { ChangedResource, EXIT_CODES, FailureKind, NO_ENGINE_ERROR } from "./runReport";
import { UsageError } from "./options";

/** Why a run failed, in words. */
export interface Failure {
    readonly kind: FailureKind;
    readonly message: string;
}

export interface DeploySummary {
    readonly stack: string;
    readonly operation: "up" | "preview";
    readonly result: "succeeded" | "failed";
    readonly exitCode: number;
    readonly failure: Failure | null;
    readonly modelName: string | null;
    /**
     * The version deployed now (after a failed run: still the previous one); in a preview, the
     * version it would deploy.
     */
    readonly modelVersion: string | null;
    /** The version deployed before this run (in a preview: the one deployed now). */
    readonly previousModelVersion: string | null;
    readonly loadedVersions: readonly string[];
    readonly predictionUrl: string | null;
    /** Seconds the Deployment took to roll out (null when it did not roll). */
    readonly rolloutSeconds: number | null;
    readonly durationSeconds: number;
    /** Resources by operation (a preview: what it would do), as the engine counts them. */
    readonly changes: Readonly<Record<string, number>>;
    /** The resources the run changed (a preview: would change), providers left out. */
    readonly changedResources: readonly ChangedResource[];
    /** Every warning the program and the providers raised (the engine's diagnostics of severity warning). */
    readonly warnings: readonly string[];
    readonly outputs: Readonly<Record<string, unknown>>;
}

/** Plain values of the stack outputs (the Automation API wraps each as {value, secret}). */
export function plainOutputs(
    outputs: Readonly<Record<string, { value: unknown; secret: boolean }>>,
): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(outputs).map(([key, output]) => [key, output.secret ? "[secret]" : output.value]),
    );
}

/** Reads the fields a pipeline needs from the stack outputs, tolerating a stack that has none yet. */
export function modelFields(
    outputs: Readonly<Record<string, unknown>>,
): Pick<DeploySummary, "modelName" | "modelVersion" | "loadedVersions" | "predictionUrl"> {
    const text = (key: string) => (typeof outputs[key] === "string" ? (outputs[key] as string) : null);
    const loaded = outputs.loadedVersions;
    return {
        modelName: text("modelName"),
        modelVersion: text("modelVersion"),
        loadedVersions: Array.isArray(loaded) ? loaded.map(String) : [],
        predictionUrl: text("predictionUrl"),
    };
}

/** What one engine run left behind, as main.ts gathered it. */
export interface EngineRun {
    readonly stack: string;
    readonly preview: boolean;
    /** How the engine's events classify the failure (RunReport.classify) when the operation threw; else null. */
    readonly failure: Failure | null;
    /** The CLI's stderr when the operation threw: its own words when the engine reported no error. */
    readonly cliStderr?: string;
    /** After a successful `up`: its outputs. Otherwise: the stack's outputs as they are now (what serves). */
    readonly outputs: Readonly<Record<string, unknown>>;
    /** The stack's outputs before the run, as the program read them (undefined: it did not get that far). */
    readonly previousOutputs?: Readonly<Record<string, unknown>>;
    /** The outputs the program registered in this run (a preview's plan), from the engine's events. */
    readonly programOutputs?: Readonly<Record<string, unknown>>;
    readonly rolloutSeconds?: number;
    readonly durationSeconds: number;
    readonly changes: Readonly<Record<string, number>>;
    readonly changedResources: readonly ChangedResource[];
    readonly warnings: readonly string[];
}

/**
 * The summary of an engine run: its exit code from the failure's kind, a failure's words (the
 * CLI's own when the engine said nothing; a failed rollout's with what still serves and how to roll
 * back), and for a preview that went through, what it would deploy.
 */
export function summarizeRun(run: EngineRun): DeploySummary {
    let failure = run.failure;
    if (failure && failure.message === NO_ENGINE_ERROR && run.cliStderr?.trim()) {
        // The CLI failed before the engine reported anything (a locked stack, a bad backend).
        failure = { kind: failure.kind, message: run.cliStderr.trim().split("\n").slice(-8).join("\n") };
    }
    const serving = modelFields(run.outputs).modelVersion;
    if (failure?.kind === "rollout") {
        failure = {
            kind: "rollout",
            message:
                `${failure.message}\nThe rollout stopped; the previous release ${serving ?? "(none)"} keeps ` +
                "serving: its pods stay until new ones are ready, and nothing was recorded. " +
                `Fix forward with a new version, or roll back with --model-version ${serving ?? "<version>"}.`,
        };
    }
    // A preview deploys nothing: what it would deploy is what the program registered, and what
    // serves now is the version before it.
    const planned = run.preview && !failure && run.programOutputs !== undefined;
    const outputs = planned ? run.programOutputs! : run.outputs;
    const previous = run.previousOutputs ?? (run.preview ? run.outputs : {});
    return {
        stack: run.stack,
        operation: run.preview ? "preview" : "up",
        result: failure ? "failed" : "succeeded",
        exitCode: EXIT_CODES[failure?.kind ?? "ok"],
        failure,
        ...modelFields(outputs),
        previousModelVersion: modelFields(previous).modelVersion,
        rolloutSeconds: run.rolloutSeconds === undefined ? null : round(run.rolloutSeconds),
        durationSeconds: round(run.durationSeconds),
        changes: run.changes,
        changedResources: run.changedResources,
        warnings: run.warnings,
        outputs,
    };
}

/** The failure kind of an error thrown before or around the engine: a bad flag or stack file is bad input. */
export function failureKindOf(error: unknown): FailureKind {
    return error instanceof UsageError ? "bad-input" : "other";
}

/** The summary of a run that failed before the engine ran (bad flags, an unknown stack, an unreadable stack file). */
export function failedBeforeRunning(stack: string, preview: boolean, error: unknown): DeploySummary {
    const kind = failureKindOf(error);
    return {
        stack,
        operation: preview ? "preview" : "up",
        result: "failed",
        exitCode: EXIT_CODES[kind],
        failure: { kind, message: error instanceof Error ? error.message : String(error) },
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
    };
}

/** The lines the command ends with on stderr: every warning (again: the engine's output scrolls), then the outcome. */
export function closingLines(summary: DeploySummary): string[] {
    const lines = summary.warnings.map((warning) => `warning: ${warning}`);
    const model = `${summary.modelName ?? "(no model)"} ${summary.modelVersion ?? "(no version)"}`;
    const was = summary.previousModelVersion ?? "none";
    const loaded = summary.loadedVersions.length > 0 ? summary.loadedVersions.join(", ") : "(none)";
    if (summary.failure) {
        lines.push(`FAILED (${summary.failure.kind}, exit ${summary.exitCode}): ${summary.failure.message}`);
    } else if (summary.operation === "preview") {
        const changes = Object.entries(summary.changes)
            .filter(([op, count]) => op !== "same" && count > 0)
            .map(([op, count]) => `${count} to ${op}`);
        lines.push(
            `preview: would deploy ${model} (deployed now: ${was}), loaded ${loaded}; ` +
                `${changes.length > 0 ? changes.join(", ") : "no changes"}`,
        );
    } else {
        lines.push(`done: ${model} (was ${was}), loaded ${loaded}`);
    }
    return lines;
}

function round(seconds: number): number {
    return Math.round(seconds * 1000) / 1000;
}
