/** A live process holding the store lock (test/support/lockWorker.ts), for tests of who waits for it. */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as path from "node:path";

/** A worker process holding a lock. */
export interface LockHolderProcess {
    readonly child: ChildProcessWithoutNullStreams;
    readonly token: string;
    /** Everything it printed so far. */
    output(): string;
    /** Asks it to release the lock; resolves once it has exited. */
    release(): Promise<void>;
}

export const LOCK_WORKER = path.join(__dirname, "lockWorker.js");

/** Starts a process that takes the lock at `lockDir` (renewing a lease of `leaseMs`) and holds it. */
export async function holdLock(lockDir: string, leaseMs = 60_000): Promise<LockHolderProcess> {
    const child = spawn(process.execPath, [LOCK_WORKER, "hold", lockDir, String(leaseMs)], { stdio: "pipe" });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const deadline = Date.now() + 30_000;
    while (!/held (\S+)/.test(output)) {
        if (Date.now() > deadline || child.exitCode !== null) {
            child.kill("SIGKILL");
            throw new Error(`the lock worker did not take ${lockDir}: ${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const token = /held (\S+)/.exec(output)![1];
    return {
        child,
        token,
        output: () => output,
        release: async () => {
            if (child.exitCode === null) {
                child.stdin.write("release\n");
            }
            await exited;
        },
    };
}
