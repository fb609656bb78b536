/**
 * One step at a time per part of the store. Two deploys of one stack (two
 * machines on a file backend that does not lock, a retried pipeline) must not
 * archive or rotate at once. The lock is a directory (`mkdir` is atomic on
 * local file systems and NFS) holding who took it; a holder that is gone (its
 * process died on this host, or it is older than the stale age) is taken over.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Who holds a lock. */
export interface LockHolder {
    readonly host: string;
    readonly pid: number;
    readonly step: string;
    /** ISO time the lock was taken. */
    readonly since: string;
}

export interface LockOptions {
    /** How long to wait for another holder before failing. Default 10 minutes. */
    readonly waitMs?: number;
    /** A holder older than this is presumed dead (another host's process cannot be checked). Default 2 hours. */
    readonly staleMs?: number;
    /** Poll interval. Default 1 s. */
    readonly pollMs?: number;
    /** Told once when the lock is busy. */
    readonly onWait?: (holder: LockHolder | undefined) => void;
}

/** Takes the lock at `lockDir`, waiting for another holder; returns the function that releases it. */
export async function acquireLock(lockDir: string, step: string, options: LockOptions = {}): Promise<() => void> {
    const waitMs = options.waitMs ?? 10 * 60_000;
    const staleMs = options.staleMs ?? 2 * 60 * 60_000;
    const pollMs = options.pollMs ?? 1000;
    const deadline = Date.now() + waitMs;
    const me: LockHolder = { host: os.hostname(), pid: process.pid, step, since: new Date().toISOString() };
    fs.mkdirSync(path.dirname(lockDir), { recursive: true });
    let told = false;
    for (;;) {
        try {
            fs.mkdirSync(lockDir);
            fs.writeFileSync(path.join(lockDir, "holder.json"), JSON.stringify(me));
            return () => fs.rmSync(lockDir, { recursive: true, force: true });
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
                throw error;
            }
        }
        const holder = readHolder(lockDir);
        if (isStale(holder, lockDir, staleMs)) {
            fs.rmSync(lockDir, { recursive: true, force: true });
            continue;
        }
        if (Date.now() >= deadline) {
            const who = holder
                ? `${holder.step} on ${holder.host} (pid ${holder.pid}) since ${holder.since}`
                : "someone";
            throw new Error(
                `the model store part is locked by ${who}: another deploy of this stack is running. ` +
                    `Wait for it, or remove ${lockDir} if that deploy is gone`,
            );
        }
        if (!told) {
            options.onWait?.(holder);
            told = true;
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
}

function readHolder(lockDir: string): LockHolder | undefined {
    try {
        return JSON.parse(fs.readFileSync(path.join(lockDir, "holder.json"), "utf8")) as LockHolder;
    } catch {
        return undefined;
    }
}

function isStale(holder: LockHolder | undefined, lockDir: string, staleMs: number): boolean {
    if (!holder) {
        // Taken a moment ago (holder.json not written yet), or left half-made by a crash.
        const age = Date.now() - safeMtime(lockDir);
        return age > 60_000;
    }
    if (holder.host === os.hostname() && !processAlive(holder.pid)) {
        return true;
    }
    return Date.now() - Date.parse(holder.since) > staleMs;
}

function safeMtime(file: string): number {
    try {
        return fs.statSync(file).mtimeMs;
    } catch {
        return Date.now();
    }
}

/** True while a process with this pid exists on this host. */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}
