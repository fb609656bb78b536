// The SDK's errors module alone: config/ stays free of the rest of the SDK (loading it takes most of a second).
import { RunError } from "@pulumi/pulumi/errors";
import { shellQuote } from "./shellQuote";

/**
 * One problem with the stack configuration: which key, what value, what is
 * wrong and how to fix it. Errors are values so that every problem in a
 * config is reported at once, at preview time, before anything is deployed.
 */
export interface ConfigProblem {
    /** The stack config key (e.g. `torchserve-stack:archiveKeep`) or argument path. */
    readonly key: string;
    /** The offending value as the user wrote it (undefined when missing, and when {@link secret}). */
    readonly value?: unknown;
    /** The key was set as a secret: the message shows `[secret]`, and nothing in it derives from the value. */
    readonly secret?: boolean;
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

/** What a message shows instead of a secret value. */
export const SECRET_SHOWN = "[secret]";

/**
 * Copies shorter than this are left in the text: "true" is a word of many messages, and a secret that
 * short is no secret. Problems about secret keys are written not to quote their value at all; this is
 * the net under that rule.
 */
const MIN_SCRUBBED = 4;

/** The stack config key a problem's key belongs to: `extraProperties.keystore_pass` -> `extraProperties`. */
export function rootKey(key: string): string {
    return key.split(/[.[]/, 1)[0];
}

/**
 * The problem as it may be shown for a key set as a secret: no value, and no copy of it left in the text.
 * The Pulumi CLI masks only the exact plaintext in what it prints, so a JSON-escaped, trimmed or
 * shell-quoted copy would reach the preview's output, the deploy's JSON summary and the pull request's
 * comment.
 */
export function hideSecretValue(problem: ConfigProblem): ConfigProblem {
    const copies = secretCopies(problem.value);
    const scrub = (text: string) => copies.reduce((result, copy) => result.split(copy).join(SECRET_SHOWN), text);
    return { key: problem.key, secret: true, problem: scrub(problem.problem), fix: scrub(problem.fix) };
}

/**
 * The forms a value can take in a message, longest first (so a quoted copy goes with its quotes): as
 * written, trimmed, JSON-quoted, JSON-escaped, shell-quoted; for a map, each entry's too.
 */
function secretCopies(value: unknown): string[] {
    const texts: string[] = [];
    const collect = (item: unknown) => {
        // true/false hide nothing, and scrubbing them would garble fixes such as "... true".
        if ((typeof item === "string" || typeof item === "number") && !/^\s*(true|false)\s*$/i.test(String(item))) {
            for (const text of [String(item), String(item).trim()]) {
                const json = JSON.stringify(text);
                texts.push(text, json, json.slice(1, -1), shellQuote(text));
            }
        } else if (typeof item === "object" && item !== null) {
            texts.push(JSON.stringify(item));
            Object.values(item).forEach(collect);
        }
    };
    collect(value);
    return [...new Set(texts)].filter((text) => text.length >= MIN_SCRUBBED).sort((a, b) => b.length - a.length);
}

/** Renders problems as a numbered list a person can act on. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
    const lines = problems.map((p, i) => {
        const shown = p.secret ? SECRET_SHOWN : p.value === undefined ? "(not set)" : JSON.stringify(p.value);
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

/**
 * Collects problems while a builder validates its input. A problem about a key set as a secret (or an
 * entry of one, `extraProperties.NAME`) is kept without its value: see {@link hideSecretValue}.
 */
export class ProblemList {
    private readonly items: ConfigProblem[] = [];

    /** @param secretKeys The stack config keys set as secrets. */
    constructor(private readonly secretKeys: readonly string[] = []) {}

    /** Whether `key` (a config key or a path in one) was set as a secret: its problems must not quote it. */
    isSecret(key: string): boolean {
        return this.secretKeys.includes(rootKey(key));
    }

    add(problem: ConfigProblem): void {
        this.items.push(this.isSecret(problem.key) ? hideSecretValue(problem) : problem);
    }

    /** Throws a {@link ConfigValidationError} when any problem was added. */
    throwIfAny(): void {
        if (this.items.length > 0) {
            throw new ConfigValidationError(this.items);
        }
    }
}
