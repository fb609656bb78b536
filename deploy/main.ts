/**
 * The pipeline's deploy command (`npm run deploy -- --stack prod --serialized-file ...`):
 * one real engine run through Pulumi's Automation API with this run's model
 * given as flags, the engine's progress streamed to stderr, and a JSON summary
 * as the last line on stdout. Exit codes: 0 done, 2 bad input, 3 archive step
 * failed, 4 rollout failed, 1 anything else. This file is the I/O (the CLI,
 * files, streams); what the run's result means is decided in summary.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { inClusterKubeconfig } from "./inCluster";
import { DeployOptions, UsageError, parseDeployArgs, stackFileName } from "./options";
import { checkPermissions } from "./permissions";
import { RunReport } from "./runReport";
import { runConfigFileText } from "./runConfigFile";
import { DeploySummary, closingLines, failedBeforeRunning, plainOutputs, summarizeRun } from "./summary";

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
        // Named after the stack's own name (`org/prod` -> Pulumi.prod.yaml), as Pulumi names the committed one.
        const configFile = path.join(scratch, stackFileName(options.stack));
        const committed = path.join(options.projectDir, stackFileName(options.stack));
        fs.writeFileSync(
            configFile,
            runConfigFileText(
                fs.existsSync(committed) ? fs.readFileSync(committed, "utf8") : undefined,
                project,
                options.runConfig,
                committed,
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
        let failed: { error: unknown } | undefined;
        let outputs: Record<string, unknown> | undefined;
        try {
            if (options.preview) {
                await stack.preview({ ...common, diff: true });
            } else {
                outputs = plainOutputs((await stack.up(common)).outputs);
            }
        } catch (error) {
            failed = { error };
        }
        return summarizeRun({
            stack: options.stack,
            preview: options.preview,
            failure: failed ? report.classify() : null,
            cliStderr: failed
                ? String(
                      (failed.error as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? failed.error,
                  )
                : undefined,
            outputs: outputs ?? plainOutputs(await stack.outputs()),
            previousOutputs: report.previousOutputs,
            programOutputs: report.programOutputs,
            rolloutSeconds: report.rolloutSeconds,
            durationSeconds: (performance.now() - started) / 1000,
            changes: report.changes,
            changedResources: report.changedResources,
            warnings: report.warnings,
        });
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

async function selectStack(name: string, workspace: LocalWorkspace): Promise<Stack> {
    try {
        return await Stack.select(name, workspace);
    } catch (error) {
        const backend = process.env.PULUMI_BACKEND_URL ?? "the Pulumi Cloud";
        // The backend's own rules for names (a self-managed one takes only the organization `organization`).
        const refused = /^error: (.*(?:organization|project|stack) name\b.*)$/im.exec(String((error as Error).message));
        if (refused) {
            throw new UsageError(`--stack ${name}: ${refused[1]} (state backend ${backend})`, { cause: error });
        }
        if (!/no stack named/i.test(String((error as Error).message))) {
            throw error;
        }
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

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    let options: DeployOptions | undefined;
    let summary: DeploySummary;
    try {
        options = parseDeployArgs(argv, process.cwd(), PROGRAM_DIR);
        summary = await deploy(options);
    } catch (error) {
        summary = failedBeforeRunning(options?.stack ?? "", options?.preview ?? argv.includes("--preview"), error);
    }
    closingLines(summary).forEach(progress);
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
