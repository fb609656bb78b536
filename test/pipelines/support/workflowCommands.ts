/**
 * The commands a GitHub Actions workflow of this repository runs, read from
 * the workflow file itself, so that tests run the very same commands.
 *
 * - `run:` steps: the script, its shell and its environment (workflow, job and
 *   step `env:` merged, `${{ }}` expressions evaluated against a context the
 *   caller gives: matrix, inputs, secrets, vars, github).
 * - `pulumi/actions` steps: the Pulumi CLI commands the action runs for its
 *   inputs. The translation follows the pinned release's source, pulumi/actions
 *   v7.0.0 (src/config.ts, src/main.ts, src/login.ts), which drives the CLI
 *   through the Automation API of the @pulumi/pulumi it bundles, 3.206.0
 *   (automation/stack.js `preview`/`up`/`runPulumiCmd`, automation/cmd.js
 *   `run`, localWorkspace.js `selectStack`/`createStack`). Only `preview` and
 *   `up`/`update` are translated (the commands the workflows use); anything
 *   else, or an input whose effect is not translated, is an error rather than a
 *   silently different command.
 * - Other `uses:` steps (checkout, setup-node) are returned as they are: they
 *   set up a machine and have no command to repeat.
 *
 * Repeating a preview step in a test (checkout = the project directory):
 *
 *     const wf = readWorkflow(path.join(REPO, ".github/workflows/preview.yml"));
 *     const steps = jobSteps(wf, "preview", { matrix: { stack: "a" }, secrets: { PULUMI_BACKEND_URL: "file:///state" } },
 *                            { workspace: checkout, eventLog: path.join(tmp, "events.json") });
 *     const { env, pulumi } = stepsOfKind(steps, "pulumi")[0];
 *     for (const argv of [pulumi.login, pulumi.selectStack, pulumi.operation])
 *         spawnSync("pulumi", argv, { cwd: pulumi.workDir, env: { ...process.env, ...env, ...pulumi.operationEnv } });
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** The pulumi/actions release the workflows pin, and what this file translates. */
export const PULUMI_ACTION = "pulumi/actions";
export const PULUMI_ACTION_VERSION = "v7.0.0";
export const PULUMI_ACTION_SHA = "8e5e406f4007fca908480587cb9893c07090f58d";
/** config.ts: `userAgent: 'pulumi/actions@v6'` (unchanged in v7.0.0), passed as --exec-agent. */
const PULUMI_ACTION_USER_AGENT = "pulumi/actions@v6";

/** action.yml of v7.0.0: every input and its default (undefined = none). */
const PULUMI_ACTION_INPUTS: Readonly<Record<string, string | undefined>> = {
    command: undefined,
    "stack-name": undefined,
    "pulumi-version": undefined,
    "pulumi-version-file": undefined,
    "work-dir": "./",
    "comment-on-pr": "false",
    "comment-on-pr-number": undefined,
    "comment-on-summary": "false",
    "github-token": "${{ github.token }}",
    "cloud-url": undefined,
    "secrets-provider": undefined,
    parallel: undefined,
    message: undefined,
    "config-map": undefined,
    "expect-no-changes": "false",
    diff: "false",
    replace: undefined,
    exclude: undefined,
    "exclude-dependents": "false",
    target: undefined,
    "target-dependents": "false",
    policyPacks: undefined,
    policyPackConfigs: undefined,
    refresh: "false",
    upsert: "false",
    remove: "false",
    "edit-pr-comment": "true",
    color: "auto",
    "exclude-protected": "false",
    plan: undefined,
    "suppress-outputs": "false",
    "suppress-progress": "false",
    "always-include-summary": "false",
    "continue-on-error": "false",
    "log-verbosity": undefined,
    "log-flow": "false",
    debug: "false",
};

/** Values for `${{ }}` expressions. Unset secrets and vars are "", as on GitHub. */
export interface ExpressionContext {
    readonly github?: Record<string, unknown>;
    readonly matrix?: Record<string, unknown>;
    readonly inputs?: Record<string, unknown>;
    readonly secrets?: Record<string, string>;
    readonly vars?: Record<string, string>;
}

/** GitHub's default `run:` shell where bash exists (non-Windows): the script file is appended. */
export const DEFAULT_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"];

export interface RunStep {
    readonly kind: "run";
    readonly name: string;
    /** The script with its `${{ }}` expressions evaluated. */
    readonly script: string;
    /** argv before the script's file name. */
    readonly shell: readonly string[];
    /** workflow + job + step `env:`, evaluated. */
    readonly env: Record<string, string>;
    readonly workingDirectory?: string;
    /** The step's `if:` as written (not evaluated). */
    readonly if?: string;
}

export interface PulumiStep {
    readonly kind: "pulumi";
    readonly name: string;
    readonly env: Record<string, string>;
    readonly pulumi: PulumiActionCommands;
}

/** pulumi/actions without `command`: it only installs the CLI. */
export interface PulumiInstallStep {
    readonly kind: "pulumi-install";
    readonly name: string;
    readonly pulumiVersion: string;
}

export interface UsesStep {
    readonly kind: "uses";
    readonly name: string;
    readonly uses: string;
    readonly with: Record<string, string>;
}

export type WorkflowStep = RunStep | PulumiStep | PulumiInstallStep | UsesStep;

/** The CLI commands one pulumi/actions step runs, in order (argv after `pulumi`). */
export interface PulumiActionCommands {
    readonly command: "preview" | "up";
    readonly stack: string;
    /** `pulumi-version` (the action installs that CLI; default range ^3). */
    readonly pulumiVersion: string;
    /**
     * `work-dir`, resolved against `workspace` when given (as main.ts does with GITHUB_WORKSPACE):
     * every command runs there.
     */
    readonly workDir: string;
    /** login.ts: `pulumi --non-interactive --cwd <workDir> login [cloud-url]`. */
    readonly login: readonly string[];
    /** LocalWorkspace.selectStack. */
    readonly selectStack: readonly string[];
    /** With `upsert`, run when selecting fails with "no stack named": LocalWorkspace.createStack. */
    readonly createStack?: readonly string[];
    /** Stack.preview / Stack.up, including what runPulumiCmd appends. */
    readonly operation: readonly string[];
    /** Environment the Automation API adds to the operation. */
    readonly operationEnv: Record<string, string>;
    readonly commentOnPr: boolean;
}

export interface Workflow {
    readonly file: string;
    readonly name: string;
    readonly on: Record<string, unknown>;
    readonly env: Record<string, string>;
    readonly jobs: Record<string, RawJob>;
}

export interface RawJob {
    readonly name?: string;
    readonly if?: string;
    readonly "runs-on": string | string[];
    readonly environment?: string;
    readonly env?: Record<string, string>;
    readonly strategy?: { matrix?: Record<string, unknown> };
    readonly steps: RawStep[];
}

interface RawStep {
    readonly name?: string;
    readonly id?: string;
    readonly if?: string;
    readonly uses?: string;
    readonly run?: string;
    readonly shell?: string;
    readonly "working-directory"?: string;
    readonly with?: Record<string, unknown>;
    readonly env?: Record<string, unknown>;
}

export function readWorkflow(file: string): Workflow {
    const doc = parse(fs.readFileSync(file, "utf8"));
    if (!doc || typeof doc !== "object" || !doc.jobs) {
        throw new Error(`${file}: not a workflow (no jobs)`);
    }
    const on =
        typeof doc.on === "string"
            ? { [doc.on]: null }
            : Array.isArray(doc.on)
              ? Object.fromEntries(doc.on.map((e: string) => [e, null]))
              : doc.on;
    return { file, name: doc.name ?? path.basename(file), on, env: stringMap(doc.env), jobs: doc.jobs };
}

/** The values of a job's `strategy.matrix.<key>` list. */
export function matrixValues(workflow: Workflow, jobId: string, key: string): unknown[] {
    const values = job(workflow, jobId).strategy?.matrix?.[key];
    if (!Array.isArray(values)) {
        throw new Error(`${workflow.file}: job ${jobId} has no matrix list '${key}'`);
    }
    return values;
}

/** Where and how pulumi/actions steps would run: see pulumiActionCommands. */
export interface TranslateOptions {
    /** GITHUB_WORKSPACE, the checkout: `work-dir` is resolved against it (else left relative). */
    readonly workspace?: string;
    /** Keep preview's `--event-log` flag, pointing at this file (else the flag is left out). */
    readonly eventLog?: string;
}

/** Every step of a job, as commands to repeat. */
export function jobSteps(
    workflow: Workflow,
    jobId: string,
    ctx: ExpressionContext = {},
    opts: TranslateOptions = {},
): WorkflowStep[] {
    const j = job(workflow, jobId);
    const outerEnv = evaluateEnv({ ...workflow.env, ...stringMap(j.env) }, ctx);
    return j.steps.map((step, i) => {
        const name = step.name ?? step.id ?? step.run?.split("\n")[0] ?? step.uses ?? `step ${i + 1}`;
        const env = { ...outerEnv, ...evaluateEnv(stringMap(step.env), ctx) };
        if (step.run !== undefined) {
            const shell = step.shell === undefined || step.shell === "bash" ? DEFAULT_SHELL : shellArgv(step.shell);
            return {
                kind: "run",
                name,
                script: evaluate(step.run, ctx),
                shell,
                env,
                ...(step["working-directory"] ? { workingDirectory: evaluate(step["working-directory"], ctx) } : {}),
                ...(step.if ? { if: step.if } : {}),
            } satisfies RunStep;
        }
        if (!step.uses) {
            throw new Error(`${workflow.file}: job ${jobId} step ${i + 1} has neither run nor uses`);
        }
        const withInputs = Object.fromEntries(
            Object.entries(stringMap(step.with)).map(([k, v]) => [k, evaluate(v, ctx)]),
        );
        const [action] = step.uses.split("@");
        if (action === PULUMI_ACTION) {
            if (withInputs.command === undefined || withInputs.command === "") {
                return {
                    kind: "pulumi-install",
                    name,
                    pulumiVersion: withInputs["pulumi-version"] ?? "^3",
                } satisfies PulumiInstallStep;
            }
            return { kind: "pulumi", name, env, pulumi: pulumiActionCommands(withInputs, opts) } satisfies PulumiStep;
        }
        return { kind: "uses", name, uses: step.uses, with: withInputs } satisfies UsesStep;
    });
}

/** The steps of a job of one kind (e.g. all `run:` steps). */
export function stepsOfKind<K extends WorkflowStep["kind"]>(
    steps: WorkflowStep[],
    kind: K,
): Extract<WorkflowStep, { kind: K }>[] {
    return steps.filter((s): s is Extract<WorkflowStep, { kind: K }> => s.kind === kind);
}

/**
 * The CLI commands pulumi/actions v7.0.0 runs for these (already evaluated)
 * inputs. `eventLog`: the Automation API always passes `--event-log` to
 * preview (a tcp:// address of its own events server with CLI > 3.205); give a
 * file path to keep the flag, or leave it out and the flag is omitted.
 * `workspace`: the checkout, against which `work-dir` is resolved.
 */
export function pulumiActionCommands(
    withInputs: Record<string, string>,
    opts: TranslateOptions = {},
): PulumiActionCommands {
    for (const key of Object.keys(withInputs)) {
        if (!(key in PULUMI_ACTION_INPUTS)) {
            throw new Error(`pulumi/actions ${PULUMI_ACTION_VERSION} has no input '${key}'`);
        }
    }
    const input = (name: string): string => {
        const v = withInputs[name] ?? PULUMI_ACTION_INPUTS[name] ?? "";
        return v.trim(); // @actions/core getInput trims
    };
    const bool = (name: string): boolean => {
        // @actions/core getBooleanInput: YAML 1.2 core schema booleans only.
        const v = input(name);
        if (["true", "True", "TRUE"].includes(v)) return true;
        if (["false", "False", "FALSE"].includes(v)) return false;
        throw new TypeError(
            `pulumi/actions input '${name}': '${v}' is not a boolean (true | True | TRUE | false | False | FALSE)`,
        );
    };
    const number = (name: string): number | undefined => {
        const v = input(name);
        if (!v) return undefined;
        const n = Number(v);
        if (Number.isNaN(n)) throw new TypeError(`pulumi/actions input '${name}': '${v}' is not a number`);
        return n;
    };
    const list = (name: string): string[] => {
        // getMultilineInput + parseSemicolorToArray: lines, then commas, trimmed, empties dropped.
        const lines = (withInputs[name] ?? "").split("\n").filter((l) => l !== "");
        return lines
            .flatMap((l) => l.split(","))
            .filter((x) => x !== "")
            .map((x) => x.trim());
    };

    const raw = input("command");
    const commands = ["up", "update", "refresh", "destroy", "preview", "output"];
    if (!commands.includes(raw)) {
        throw new Error(`pulumi/actions input 'command': '${raw}' is not one of ${commands.join(", ")}`);
    }
    if (raw !== "preview" && raw !== "up" && raw !== "update") {
        throw new Error(`pulumi/actions command '${raw}' is not translated (only preview and up/update)`);
    }
    const command = raw === "preview" ? "preview" : "up";
    const stack = input("stack-name");
    if (!stack) throw new Error("pulumi/actions input 'stack-name' is required");
    if (input("config-map"))
        throw new Error("pulumi/actions input 'config-map' (pulumi config set-all) is not translated");
    if (input("pulumi-version") && input("pulumi-version-file")) {
        throw new Error("pulumi/actions: only one of 'pulumi-version' or 'pulumi-version-file' should be provided");
    }
    if (input("pulumi-version-file"))
        throw new Error("pulumi/actions input 'pulumi-version-file' is not translated; use pulumi-version");
    const workDir = opts.workspace ? path.resolve(opts.workspace, input("work-dir")) : input("work-dir");
    const cloudUrl = input("cloud-url");
    const secretsProvider = input("secrets-provider");

    // Stack.preview / Stack.up, options in the order the Automation API adds them.
    const args: string[] = command === "up" ? ["up", "--yes", "--skip-preview"] : ["preview"];
    const message = input("message");
    if (message) args.push("--message", message);
    if (bool("expect-no-changes")) args.push("--expect-no-changes");
    if (bool("refresh")) args.push("--refresh");
    if (bool("diff")) args.push("--diff");
    for (const urn of list("replace")) args.push("--replace", urn);
    for (const urn of list("exclude")) args.push("--exclude", urn);
    for (const urn of list("target")) args.push("--target", urn);
    for (const pack of list("policyPacks")) args.push("--policy-pack", pack);
    for (const config of list("policyPackConfigs")) args.push("--policy-pack-config", config);
    if (bool("exclude-dependents")) args.push("--exclude-dependents");
    if (bool("target-dependents")) args.push("--target-dependents");
    const parallel = number("parallel");
    if (parallel) args.push("--parallel", String(parallel));
    args.push("--exec-agent", PULUMI_ACTION_USER_AGENT);
    const plan = input("plan");
    if (plan) args.push(command === "up" ? "--plan" : "--save-plan", plan);
    if (command === "up" && bool("continue-on-error")) args.push("--continue-on-error");
    // applyGlobalOpts
    const color = input("color");
    if (color) {
        if (!["always", "never", "raw", "auto"].includes(color)) {
            throw new Error(`pulumi/actions input 'color': '${color}' is not one of always, never, raw, auto`);
        }
        args.push("--color", color);
    }
    if (bool("log-flow")) args.push("--logflow");
    const verbosity = number("log-verbosity");
    if (verbosity) args.push("--verbose", String(verbosity));
    if (input("log-verbosity")) args.push("--logtostderr");
    if (bool("debug")) args.push("--debug");
    if (bool("suppress-outputs")) args.push("--suppress-outputs");
    if (bool("suppress-progress")) args.push("--suppress-progress");
    // A local (not inline) program; preview always tails an event log, up only with onEvent (not passed).
    args.push("--exec-kind", "auto.local");
    if (command === "preview" && opts.eventLog) args.push("--event-log", opts.eventLog);
    // runPulumiCmd, then PulumiCommand.run.
    args.push("--stack", stack, "--non-interactive");

    bool("comment-on-pr");
    bool("upsert");
    bool("remove");
    bool("edit-pr-comment"); // validated like the action does
    return {
        command,
        stack,
        pulumiVersion: input("pulumi-version") || "^3",
        workDir,
        login: ["--non-interactive", "--cwd", workDir, "login", ...(cloudUrl ? [cloudUrl] : [])],
        selectStack: ["stack", "select", "--stack", stack, "--non-interactive"],
        ...(bool("upsert")
            ? {
                  createStack: [
                      "stack",
                      "init",
                      stack,
                      ...(secretsProvider ? ["--secrets-provider", secretsProvider] : []),
                      "--non-interactive",
                  ],
              }
            : {}),
        operation: args,
        operationEnv: { PULUMI_DEBUG_COMMANDS: "true", PULUMI_AUTOMATION_API: "true" },
        commentOnPr: bool("comment-on-pr"),
    };
}

/** Evaluates every `${{ expr }}` in `text`. Supported: context paths and `a || b` of paths and 'strings'. */
export function evaluate(text: string, ctx: ExpressionContext): string {
    return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
        const value = evaluateExpression(expr, ctx);
        return value === undefined || value === null ? "" : String(value);
    });
}

function evaluateExpression(expr: string, ctx: ExpressionContext): unknown {
    const alternatives = expr.split("||").map((s) => s.trim());
    let value: unknown = "";
    for (const alt of alternatives) {
        value = evaluateOperand(alt, ctx, expr);
        if (value !== "" && value !== undefined && value !== null && value !== false && value !== 0) {
            return value;
        }
    }
    return value;
}

function evaluateOperand(operand: string, ctx: ExpressionContext, expr: string): unknown {
    const literal = /^'((?:[^']|'')*)'$/.exec(operand);
    if (literal) return literal[1].replace(/''/g, "'");
    if (!/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*|\['[^']*'\])*$/.test(operand)) {
        throw new Error(`unsupported expression '\${{ ${expr} }}' (only context paths, 'strings' and ||)`);
    }
    const parts = [...operand.matchAll(/([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]/g)].map((m) => m[1] ?? m[2]);
    const [root, ...rest] = parts;
    const contexts: Record<string, unknown> = { ...ctx };
    if (!["github", "matrix", "inputs", "secrets", "vars"].includes(root)) {
        throw new Error(`unsupported context '${root}' in '\${{ ${expr} }}'`);
    }
    let value: unknown = contexts[root];
    for (const key of rest) {
        if (value !== null && typeof value === "object" && key in (value as object)) {
            value = (value as Record<string, unknown>)[key];
        } else if (root === "secrets" || root === "vars") {
            return ""; // unset secrets and variables evaluate to ""
        } else {
            throw new Error(`'\${{ ${expr} }}': ${root} has no '${rest.join(".")}' in the given context`);
        }
    }
    return value;
}

function evaluateEnv(env: Record<string, string>, ctx: ExpressionContext): Record<string, string> {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, evaluate(v, ctx)]));
}

function stringMap(value: unknown): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value))
        throw new Error(`expected a map, got ${JSON.stringify(value)}`);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

function shellArgv(shell: string): string[] {
    // `shell: sh` etc.: GitHub's templates; a custom "cmd {0}" keeps its words before {0}.
    const known: Record<string, string[]> = { sh: ["sh", "-e"], python: ["python"] };
    if (known[shell]) return known[shell];
    if (!shell.includes("{0}")) throw new Error(`unsupported shell '${shell}'`);
    return shell.split("{0}")[0].trim().split(/\s+/);
}

function job(workflow: Workflow, jobId: string): RawJob {
    const j = workflow.jobs[jobId];
    if (!j) throw new Error(`${workflow.file}: no job '${jobId}' (jobs: ${Object.keys(workflow.jobs).join(", ")})`);
    return j;
}
