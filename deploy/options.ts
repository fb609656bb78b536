/**
 * The deploy command's flags: what a pipeline step passes instead of editing
 * stack files. Pure: parsing and validation only, paths made absolute against
 * the caller's working directory.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";

/** Stack config keys a run may set for itself (the model it brings and where it finds the store). */
export interface RunConfig {
    readonly modelVersion?: string;
    readonly serializedFile?: string;
    readonly handler?: string;
    readonly extraFiles?: readonly string[];
    readonly requirementsFile?: string;
    readonly modelStorePath?: string;
    readonly archiverCommand?: string;
}

/** Everything the deploy command was asked to do. */
export interface DeployOptions {
    /** The stack (one per namespace), e.g. `prod`, or qualified: `org/prod`, `org/project/prod`. */
    readonly stack: string;
    /** The Pulumi project directory (holds Pulumi.yaml and the stack files). */
    readonly projectDir: string;
    /** Preview the same inputs instead of deploying. */
    readonly preview: boolean;
    /** Also write the JSON summary to this file. */
    readonly summaryFile?: string;
    /** Config for this run only, on top of the committed stack file. */
    readonly runConfig: RunConfig;
}

/** A problem with the command line (exit code 2, like a bad stack config). */
export class UsageError extends Error {
    constructor(message: string, options?: ErrorOptions) {
        super(message, options);
        this.name = "UsageError";
    }
}

export const USAGE = `usage: npm run deploy -- --stack NAME [options]
  --stack NAME               the stack to deploy (one per namespace): NAME, ORG/NAME or ORG/PROJECT/NAME
  --serialized-file PATH     the new model file; omit to switch to an archived --model-version
  --handler PATH|NAME        handler .py file or built-in handler name
  --extra-file PATH          extra file packed into the archive (repeatable)
  --requirements-file PATH   Python requirements packed into the archive
  --model-version V          version label; with files and no version: a content hash
  --model-store-path PATH    where the model-store volume is mounted here
  --archiver-command CMD     the torch-model-archiver executable
  --project-dir DIR          the Pulumi project (default: this program's)
  --preview                  preview the same inputs; change nothing
  --summary-file PATH        also write the JSON summary there
exit codes: 0 done, 2 bad input, 3 archive step failed, 4 rollout failed, 1 other failure`;

const BUILTIN_HANDLER = /^[a-z_]+$/;

/** One part of a stack name, as Pulumi allows it (letters, digits, `-`, `_`, `.`). */
const STACK_NAME_PART = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * The stack's own name: the last part of `stack`, `org/project/prod` -> `prod`. Pulumi names the
 * stack's file after it (`Pulumi.prod.yaml`), whatever the organization and project.
 */
export function stackNamePart(stack: string): string {
    return stack.split("/").pop()!;
}

/** The stack's config file name, as Pulumi looks it up in the project directory. */
export function stackFileName(stack: string): string {
    return `Pulumi.${stackNamePart(stack)}.yaml`;
}

/** Checks a `--stack` value: NAME, ORG/NAME or ORG/PROJECT/NAME, each part a Pulumi name. */
function checkStackName(stack: string): void {
    const parts = stack.split("/");
    const bad = parts.length > 3 || parts.some((part) => !STACK_NAME_PART.test(part) || /^\.+$/.test(part));
    if (bad) {
        throw new UsageError(
            `--stack ${JSON.stringify(stack)} is not a stack name: give NAME, ORG/NAME or ORG/PROJECT/NAME, ` +
                "each part letters, digits, '-', '_' or '.' (e.g. --stack prod or --stack acme/prod)",
        );
    }
}

/** Parses `argv` (without node and the script); relative paths start at `cwd`. */
export function parseDeployArgs(argv: readonly string[], cwd: string, defaultProjectDir: string): DeployOptions {
    let values: Record<string, string | string[] | boolean | undefined>;
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                stack: { type: "string" },
                "project-dir": { type: "string" },
                "serialized-file": { type: "string" },
                handler: { type: "string" },
                "extra-file": { type: "string", multiple: true },
                "requirements-file": { type: "string" },
                "model-version": { type: "string" },
                "model-store-path": { type: "string" },
                "archiver-command": { type: "string" },
                preview: { type: "boolean" },
                "summary-file": { type: "string" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (error) {
        throw new UsageError(`${(error as Error).message}\n${USAGE}`);
    }
    const text = (name: string): string | undefined => {
        const value = values[name];
        if (value === undefined) {
            return undefined;
        }
        if (typeof value !== "string" || value.trim() === "") {
            throw new UsageError(`--${name} needs a value\n${USAGE}`);
        }
        return value;
    };
    const stack = text("stack");
    if (!stack) {
        throw new UsageError(`--stack is required\n${USAGE}`);
    }
    checkStackName(stack);
    const absolute = (file: string | undefined) => (file === undefined ? undefined : path.resolve(cwd, file));
    const handler = text("handler");
    const extraFiles = values["extra-file"] as string[] | undefined;
    const archiver = text("archiver-command");
    const runConfig: RunConfig = dropUndefined({
        modelVersion: text("model-version"),
        serializedFile: absolute(text("serialized-file")),
        // A built-in handler is a name, not a path.
        handler: handler === undefined || BUILTIN_HANDLER.test(handler) ? handler : path.resolve(cwd, handler),
        extraFiles: extraFiles?.map((file) => path.resolve(cwd, file)),
        requirementsFile: absolute(text("requirements-file")),
        modelStorePath: absolute(text("model-store-path")),
        // A bare name is looked up on PATH; only a path is made absolute.
        archiverCommand: archiver?.includes("/") ? path.resolve(cwd, archiver) : archiver,
    });
    if (runConfig.serializedFile === undefined) {
        for (const flag of ["handler", "extra-file", "requirements-file"]) {
            if (values[flag] !== undefined) {
                throw new UsageError(
                    `--${flag} belongs to a new model: give --serialized-file too, ` +
                        "or drop it to switch to an archived --model-version",
                );
            }
        }
    }
    return {
        stack,
        projectDir: path.resolve(cwd, text("project-dir") ?? defaultProjectDir),
        preview: values.preview === true,
        summaryFile: absolute(text("summary-file")),
        runConfig,
    };
}

function dropUndefined<T extends object>(record: T): T {
    return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
