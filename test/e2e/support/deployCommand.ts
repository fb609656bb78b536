/** The deploy command (`npm run deploy`) as a pipeline step runs it, for the suites that drive it. */
import * as path from "node:path";
import { run } from "./run";

/** One run of the deploy command: its exit code, the JSON summary (its last stdout line) and what it printed. */
export interface DeployRun {
    readonly code: number;
    /** The JSON summary, or undefined when the last line is not one. */
    readonly summary: any;
    readonly stderr: string;
    readonly seconds: number;
}

/** Runs `bin/deploy/main.js` of the built project at `projectDir` with `args`. */
export async function runDeployCommand(
    projectDir: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<DeployRun> {
    const started = Date.now();
    const result = await run(process.execPath, [path.join(projectDir, "bin", "deploy", "main.js"), ...args], options);
    const last = result.stdout.trim().split("\n").pop() ?? "";
    return {
        code: result.code,
        summary: last.startsWith("{") ? JSON.parse(last) : undefined,
        stderr: result.stderr,
        seconds: (Date.now() - started) / 1000,
    };
}

/** The flags of a training run's deploy: the stack, the version and the model's files, built by the venv's archiver. */
export function trainingRunFlags(
    stack: string,
    version: string,
    model: { readonly serializedFile: string; readonly labels: string },
    handler: string,
    pythonEnv: string,
): string[] {
    return [
        "--stack",
        stack,
        "--model-version",
        version,
        "--serialized-file",
        model.serializedFile,
        "--handler",
        handler,
        "--extra-file",
        model.labels,
        "--archiver-command",
        path.join(pythonEnv, "bin", "torch-model-archiver"),
    ];
}
