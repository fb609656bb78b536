// The SDK's errors module alone: config/ stays free of the rest of the SDK (loading it takes most of a second).
import { RunError } from "@pulumi/pulumi/errors";

/**
 * One problem with the stack configuration: which key, what value, what is
 * wrong and how to fix it. Errors are values so that every problem in a
 * config is reported at once, at preview time, before anything is deployed.
 */
export interface ConfigProblem {
    /** The stack config key (e.g. `torchserve-stack:archiveKeep`) or argument path. */
    readonly key: string;
    /** The offending value as the user wrote it (undefined when missing). */
    readonly value?: unknown;
    /** What is wrong, in one sentence. */
    readonly problem: string;
    /** What to do about it, e.g. the exact `pulumi config set` command. */
    readonly fix: string;
}

/**
 * Thrown by the program when the configuration has one or more problems. A
 * Pulumi `RunError`: an expected error, so the Pulumi runtime prints only the
 * message (no stack trace, no dump of the error object).
 */
export class ConfigValidationError extends RunError {
    readonly problems: readonly ConfigProblem[];

    constructor(problems: readonly ConfigProblem[]) {
        super(formatProblems(problems));
        this.name = "ConfigValidationError";
        this.problems = problems;
        // The runtime prints only the message, but it also formats the error for its trace span; a real
        // stack there (from the program's async function) costs the Node.js runtime about 45 s of
        // source-map work and garbage collection per failed preview (measured: 50 s against 4 s).
        this.stack = this.message;
    }
}

/** Renders problems as a numbered list a person can act on. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
    const lines = problems.map((p, i) => {
        const shown = p.value === undefined ? "(not set)" : JSON.stringify(p.value);
        return `  ${i + 1}. ${p.key} = ${shown}: ${p.problem}\n     Fix: ${p.fix}`;
    });
    const noun = problems.length === 1 ? "problem" : "problems";
    const summary = `torchserve-stack configuration has ${problems.length} ${noun}; nothing was deployed or deleted:`;
    return `${summary}\n${lines.join("\n")}`;
}

/** The fix that sets one stack config key: `pulumi config set <key> <value>`. */
export function setCommand(key: string, value: string): string {
    return `pulumi config set ${key} ${value}`;
}

/** The fix that sets one entry of a list or map key: `pulumi config set --path '<path>' <value>`. */
export function setPathCommand(path: string, value: string): string {
    return `pulumi config set --path '${path}' ${value}`;
}

/** The " (did you mean X?)" tail of an unknown-key problem; empty without a close match. */
export function didYouMean(hint: string | undefined): string {
    return hint ? ` (did you mean ${hint}?)` : "";
}

/** Collects problems while a builder validates its input. */
export class ProblemList {
    private readonly items: ConfigProblem[] = [];

    add(problem: ConfigProblem): void {
        this.items.push(problem);
    }

    /** Throws a {@link ConfigValidationError} when any problem was added. */
    throwIfAny(): void {
        if (this.items.length > 0) {
            throw new ConfigValidationError(this.items);
        }
    }
}
