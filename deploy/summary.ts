/**
 * The machine-readable result of a deploy run: one JSON object a pipeline can
 * parse (the last line the command prints, and optionally a file).
 */
import { FailureKind } from "./runReport";

export interface DeploySummary {
    readonly stack: string;
    readonly operation: "up" | "preview";
    readonly result: "succeeded" | "failed";
    readonly exitCode: number;
    readonly failure: { readonly kind: FailureKind; readonly message: string } | null;
    readonly modelName: string | null;
    /** The version deployed now (after a failed run: still the previous one). */
    readonly modelVersion: string | null;
    readonly previousModelVersion: string | null;
    readonly loadedVersions: readonly string[];
    readonly predictionUrl: string | null;
    /** Seconds the Deployment took to roll out (null when it did not roll). */
    readonly rolloutSeconds: number | null;
    readonly durationSeconds: number;
    readonly changes: Readonly<Record<string, number>>;
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
