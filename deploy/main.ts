/**
 * The pipeline's deploy command (`npm run deploy -- --stack prod --serialized-file ...`):
 * one real engine run through Pulumi's Automation API with this run's model
 * given as flags, the engine's progress streamed to stderr, and a JSON summary
 * as the last line on stdout. Exit codes: 0 done, 2 bad input, 3 archive step
 * failed, 4 rollout failed, 1 anything else.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { inClusterKubeconfig } from "./inCluster";
import { checkPermissions } from "./permissions";
import { DeployOptions, UsageError, parseDeployArgs } from "./options";
import { EXIT_CODES, FailureKind, NO_ENGINE_ERROR, RunReport } from "./runReport";
import { runConfigFileText } from "./runConfigFile";
import { DeploySummary, modelFields, plainOutputs } from "./summary";

/** This program's project directory: bin/deploy/main.js -> the repository root. */
const PROGRAM_DIR = path.resolve(__dirname, "..", "..");

const progress = (line: string) => process.stderr.write(`[deploy ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function deploy(options: DeployOptions): Promise<DeploySummary> {
    const started = performance.now();
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "torchserve-deploy-"));
    try {
        const envVars: Record<string, string> = { PULUMI_SKIP_UPDATE_CHECK: "true" };
        const inCluster = inClusterKubeconfig(process.env);
        if (inCluster) {
            const kubeconfig = path.join(scratch, "kubeconfig");
            fs.writeFileSync(kubeconfig, inCluster, { mode: 0o600 });
            envVars.KUBECONFIG = kubeconfig;
            progress("using the pod's service account (in-cluster credentials)");
        }
        // Every CLI call costs a CLI start and a state read: no version check (the program pins the CLI it is
        // tested with), no stack listing, and the previous outputs come from the run's own events.
        const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
        const workspace = await LocalWorkspace.create({ workDir: options.projectDir, envVars, pulumiCommand });
        const project = (await workspace.projectSettings()).name;
        const stack = await selectStack(options.stack, workspace);
        const configFile = path.join(scratch, `Pulumi.${options.stack}.yaml`);
        const committed = path.join(options.projectDir, `Pulumi.${options.stack.split("/").pop()}.yaml`);
        fs.writeFileSync(
            configFile,
            runConfigFileText(
                fs.existsSync(committed) ? fs.readFileSync(committed, "utf8") : undefined,
                project,
                options.runConfig,
            ),
        );
        const preflight = { pulumi: pulumiCommand.command, projectDir: options.projectDir, project, configFile };
        await checkPermissions({ ...preflight, stack: options.stack, envVars, preview: options.preview, progress });

        const report = new RunReport();
        const common = {
            configFile,
            color: "never" as const,
            onOutput: (text: string) => process.stderr.write(text),
            onEvent: report.onEvent,
        };
        progress(`${options.preview ? "previewing" : "deploying"} stack ${options.stack} (${describeRun(options)})`);
        let failure: { readonly kind: FailureKind; readonly message: string } | null = null;
        let outputs: Record<string, unknown> | undefined;
        try {
            if (options.preview) {
                await stack.preview({ ...common, diff: true });
            } else {
                outputs = plainOutputs((await stack.up(common)).outputs);
            }
        } catch (error) {
            failure = report.classify();
            if (failure.message === NO_ENGINE_ERROR) {
                // The CLI failed before the engine reported anything (a locked stack, a bad backend): its own words.
                const stderr = String(
                    (error as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? error,
                );
                failure = { kind: failure.kind, message: stderr.trim().split("\n").slice(-8).join("\n") };
            }
        }
        const previous = report.previousOutputs ?? {};
        outputs ??= failure || options.preview ? plainOutputs(await stack.outputs()) : {};
        if (failure?.kind === "rollout") {
            const serving = modelFields(outputs).modelVersion;
            failure = {
                kind: "rollout",
                message:
                    `${failure.message}\nThe rollout stopped; the previous release ${serving ?? "(none)"} keeps ` +
                    "serving: its pods stay until new ones are ready, and nothing was recorded. " +
                    `Fix forward with a new version, or roll back with --model-version ${serving ?? "<version>"}.`,
            };
        }
        return {
            stack: options.stack,
            operation: options.preview ? "preview" : "up",
            result: failure ? "failed" : "succeeded",
            exitCode: EXIT_CODES[failure?.kind ?? "ok"],
            failure,
            ...modelFields(outputs),
            previousModelVersion: modelFields(previous).modelVersion,
            rolloutSeconds: report.rolloutSeconds === undefined ? null : round(report.rolloutSeconds),
            durationSeconds: round((performance.now() - started) / 1000),
            changes: report.changes,
            outputs,
        };
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

async function selectStack(name: string, workspace: LocalWorkspace): Promise<Stack> {
    try {
        return await Stack.select(name, workspace);
    } catch (error) {
        if (!/no stack named/i.test(String((error as Error).message))) {
            throw error;
        }
        const backend = process.env.PULUMI_BACKEND_URL ?? "the Pulumi Cloud";
        throw new UsageError(
            `stack ${name} does not exist in this state backend (${backend}); ` +
                `create it once with: pulumi stack init ${name}`,
            { cause: error },
        );
    }
}

function describeRun(options: DeployOptions): string {
    const run = options.runConfig;
    if (run.serializedFile) {
        return `new model ${run.serializedFile}${run.modelVersion ? ` as version ${run.modelVersion}` : ""}`;
    }
    return run.modelVersion ? `switch to archived version ${run.modelVersion}` : "keep the deployed model";
}

function round(seconds: number): number {
    return Math.round(seconds * 1000) / 1000;
}

function failedBeforeRunning(stack: string, preview: boolean, kind: FailureKind, message: string): DeploySummary {
    return {
        stack,
        operation: preview ? "preview" : "up",
        result: "failed",
        exitCode: EXIT_CODES[kind],
        failure: { kind, message },
        modelName: null,
        modelVersion: null,
        previousModelVersion: null,
        loadedVersions: [],
        predictionUrl: null,
        rolloutSeconds: null,
        durationSeconds: 0,
        changes: {},
        outputs: {},
    };
}

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    let options: DeployOptions | undefined;
    let summary: DeploySummary;
    try {
        options = parseDeployArgs(argv, process.cwd(), PROGRAM_DIR);
        summary = await deploy(options);
    } catch (error) {
        const kind: FailureKind = error instanceof UsageError ? "bad-input" : "other";
        summary = failedBeforeRunning(
            options?.stack ?? "",
            options?.preview ?? argv.includes("--preview"),
            kind,
            (error as Error).message,
        );
    }
    if (summary.failure) {
        progress(`FAILED (${summary.failure.kind}, exit ${summary.exitCode}): ${summary.failure.message}`);
    } else {
        const was = summary.previousModelVersion ?? "none";
        const loaded = summary.loadedVersions.join(", ");
        progress(`done: ${summary.modelName} ${summary.modelVersion} (was ${was}), loaded ${loaded}`);
    }
    const json = JSON.stringify(summary);
    if (options?.summaryFile) {
        fs.writeFileSync(options.summaryFile, `${json}\n`);
    }
    process.stdout.write(`${json}\n`);
    return summary.exitCode;
}

main().then(
    (code) => process.exit(code),
    (error) => {
        process.stderr.write(`${(error as Error).stack ?? error}\n`);
        process.exit(1);
    },
);
