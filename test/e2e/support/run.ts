/** Runs a command asynchronously and collects its output (tests poll the cluster while it runs). */
import { spawn } from "node:child_process";

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    readonly cwd?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly input?: string;
    /** Kill the command after this many milliseconds. */
    readonly timeoutMs?: number;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGTERM"), options.timeoutMs) : undefined;
        child.on("error", reject);
        child.on("close", (code) => {
            if (timer) clearTimeout(timer);
            resolve({ code: code ?? -1, stdout, stderr });
        });
        child.stdin.end(options.input ?? "");
    });
}

/** Like {@link run}, but throws with the output when the command fails. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const result = await run(command, args, options);
    if (result.code !== 0) {
        throw new Error(
            `${command} ${args.join(" ")} exited ${result.code}\n--- stdout\n${result.stdout.slice(-6000)}\n--- stderr\n${result.stderr.slice(-6000)}`,
        );
    }
    return result;
}
