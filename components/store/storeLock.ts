/**
 * One step at a time per part of the store. Two deploys of one stack (two
 * machines on a file backend that does not lock, a retried pipeline) must not
 * archive or rotate at once. The lock is a directory holding its holder's
 * record (lockLease.ts: who, a unique token, a lease the holder renews while
 * its step runs); a holder that is gone is taken over.
 *
 * Only atomic operations decide who holds it, so exactly one of two steps
 * that both find it stale takes it, and a release never removes another's:
 * - taking: `mkdir` of the lock (fails when a lock is there), then its
 *   record, written whole (a rename); the taker reads its token back. A lock
 *   seen without a record is being taken, or its taker died within those
 *   milliseconds: it is taken over once it is older than a lease (as is one
 *   whose `mkdir` NFS retransmitted and reported as failed);
 * - ending a lock (a release, or a take-over of a stale one): first `mkdir`
 *   of `ending` inside it, which one process wins; the winner reads the
 *   record again and, only if it is still the one it judged (its own, or the
 *   same stale one), renames the lock aside and removes it. An `ending` older
 *   than the lease was left by a process that died in those few
 *   milliseconds, and is claimed one level down.
 * On NFS `mkdir` and `rename` are done by the server, so they stay atomic
 * across hosts; reads may be cached (attributes up to 60 s by default), which
 * is why renewals come every quarter of a two-minute lease. Hosts' clocks
 * must agree to well within the lease (NTP does).
 *
 * The holder renews from a worker thread (lockHeartbeat.ts), so a step busy
 * with synchronous work (a multi-GB copy) keeps its lease. What a lease
 * cannot do: a holder stalled for longer than its lease (a frozen VM, a hung
 * mount) loses the lock while it lives. Its heartbeat then
 * finds another token, stops renewing and reports it; its release removes
 * nothing.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { DEFAULT_LEASE_MS, LockHolder, holderGone } from "./lockLease";
import { Heartbeat, IDLE, RECORD, readHolder, renewOnce, stopHeartbeat, writeRecord } from "./lockRecord";

export interface LockOptions {
    /** How long to wait for another holder before failing. Default 10 minutes. */
    readonly waitMs?: number;
    /** The lease this holder renews every quarter of (and assumed for records that name none). Default 2 minutes. */
    readonly leaseMs?: number;
    /** Poll interval. Default 1 s. */
    readonly pollMs?: number;
    /** Told once when the lock is busy. */
    readonly onWait?: (holder: LockHolder | undefined) => void;
    /** Told when a gone holder's lock is taken over, with why it is judged gone. */
    readonly onTakeOver?: (holder: LockHolder | undefined, why: string) => void;
    /** Told when this holder finds its lock taken over (it stalled for longer than its lease). */
    readonly onLost?: (holder: LockHolder | undefined) => void;
}

const ENDING = "ending";

/** Takes the lock at `lockDir`, waiting for another holder; returns the function that releases it. */
export async function acquireLock(lockDir: string, step: string, options: LockOptions = {}): Promise<() => void> {
    const waitMs = options.waitMs ?? 10 * 60_000;
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const pollMs = options.pollMs ?? 1000;
    const deadline = Date.now() + waitMs;
    const me = { host: os.hostname(), pid: process.pid, step, token: crypto.randomUUID(), leaseMs };
    fs.mkdirSync(path.dirname(lockDir), { recursive: true });
    let told = false;
    for (;;) {
        const taken = install(lockDir, me);
        if (taken) {
            return holdLease(lockDir, taken, options);
        }
        const holder = readHolder(lockDir);
        if (fs.existsSync(lockDir)) {
            const why = holderGone(holder, {
                now: Date.now(),
                host: me.host,
                alive: processAlive,
                lockAgeMs: Date.now() - mtimeMs(lockDir),
                leaseMs,
            });
            if (why && takeOver(lockDir, holder, leaseMs)) {
                options.onTakeOver?.(holder, why);
                continue;
            }
        }
        if (Date.now() >= deadline) {
            throw new Error(lockedMessage(lockDir, holder));
        }
        if (!told) {
            options.onWait?.(holder);
            told = true;
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
}

/** The error of a wait that timed out: who holds the lock, and how to clear it by hand once that is gone. */
function lockedMessage(lockDir: string, holder: LockHolder | undefined): string {
    if (!holder) {
        return (
            `the model store part is locked (${lockDir} has no readable ${RECORD}): another deploy of this stack ` +
            `may be taking it. If no deploy of this stack is running, remove the lock by hand: rm -r ${lockDir}`
        );
    }
    const renewed = Math.round((Date.now() - Date.parse(holder.renewed)) / 1000);
    const lease = holder.token ? `, lease renewed ${renewed} s ago` : "";
    return (
        `the model store part is locked by ${holder.step} on ${holder.host} (pid ${holder.pid}) since ` +
        `${holder.since}${lease}: another deploy of this stack is running. Wait for it. If it is gone ` +
        `(a deploy pod's host name is its pod name: \`kubectl get pod ${holder.host}\` in the pipeline's ` +
        `namespace finds none, or \`ps -p ${holder.pid}\` on ${holder.host} shows no process), ` +
        `remove the lock by hand: rm -r ${lockDir}`
    );
}

/** Takes the lock at `lockDir` for `me` if no one has it; its record when it is there and `me`'s. */
function install(lockDir: string, me: Omit<LockHolder, "since" | "renewed">): LockHolder | undefined {
    try {
        fs.mkdirSync(lockDir);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
            throw error;
        }
        return undefined;
    }
    const now = new Date().toISOString();
    const holder: LockHolder = { ...me, since: now, renewed: now };
    try {
        writeRecord(lockDir, holder);
    } catch (error) {
        // Just made, with no record: no one else judges it gone for a lease, so it is still only this one's.
        fs.rmSync(lockDir, { recursive: true, force: true });
        throw error;
    }
    return readHolder(lockDir)?.token === me.token ? holder : undefined;
}

/**
 * Ends the stale lock of `stale` (the record read when it was judged gone): only
 * if this process wins the lock's `ending` and the record is still that one.
 */
function takeOver(lockDir: string, stale: LockHolder | undefined, leaseMs: number): boolean {
    const marker = claimEnding(lockDir, leaseMs);
    if (!marker) {
        return false;
    }
    const current = readHolder(lockDir);
    // Still the same taking, not renewed since (a renewal means it is live after all).
    if (current?.token !== stale?.token || current?.renewed !== stale?.renewed) {
        fs.rmdirSync(marker);
        return false;
    }
    endLock(lockDir);
    return true;
}

/** The one right to end the lock at `lockDir`: the `ending` directory this call made, or undefined. */
function claimEnding(lockDir: string, leaseMs: number): string | undefined {
    let dir = lockDir;
    for (let depth = 0; depth < 8; depth++) {
        const marker = path.join(dir, ENDING);
        try {
            fs.mkdirSync(marker);
            return marker;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
                return undefined; // ENOENT: the lock is gone
            }
        }
        if (Date.now() - mtimeMs(marker) <= leaseMs) {
            return undefined; // someone is ending it right now
        }
        dir = marker;
    }
    return undefined;
}

/** Removes the lock whose `ending` this process holds: renamed aside (atomic), then deleted. */
function endLock(lockDir: string): void {
    const aside = `${lockDir}.ended-${crypto.randomUUID()}`;
    fs.renameSync(lockDir, aside);
    fs.rmSync(aside, { recursive: true, force: true });
}

/** Renews `me`'s lease until released; returns the release, which removes the lock only while it is `me`'s. */
function holdLease(lockDir: string, me: LockHolder, options: LockOptions): () => void {
    const beat: Heartbeat = { lockDir, holder: me, state: new Int32Array(new SharedArrayBuffer(4)) };
    Atomics.store(beat.state, 0, IDLE);
    const intervalMs = Math.max(10, Math.floor(me.leaseMs / 4));
    let lost = false;
    const onLost = () => {
        lost = true;
        options.onLost?.(readHolder(lockDir));
    };
    // In a thread of its own, so the step's synchronous work never starves it; where no worker can
    // start, on this thread.
    let stopThread: () => void;
    try {
        const worker = new Worker(path.join(__dirname, "lockHeartbeat.js"), { workerData: { ...beat, intervalMs } });
        worker.on("message", onLost);
        worker.on("error", () => undefined);
        // A step that forgets to release still exits; the lock is then taken over as its process is gone.
        worker.unref();
        stopThread = () => void worker.terminate();
    } catch {
        const timer = setInterval(() => {
            const outcome = renewOnce(beat);
            if (outcome !== "renewed") {
                clearInterval(timer);
                if (outcome === "lost") {
                    onLost();
                }
            }
        }, intervalMs);
        timer.unref();
        stopThread = () => clearInterval(timer);
    }
    let released = false;
    return () => {
        if (released) {
            return;
        }
        released = true;
        stopHeartbeat(beat.state);
        stopThread();
        if (!lost) {
            releaseLock(lockDir, me.token, me.leaseMs);
        }
    };
}

/** Ends the lock if it is still `token`'s; when another process holds its `ending`, waits a little for it. */
function releaseLock(lockDir: string, token: string, leaseMs: number): void {
    for (let attempt = 0; attempt < 100; attempt++) {
        if (readHolder(lockDir)?.token !== token) {
            return; // taken over, or gone
        }
        const marker = claimEnding(lockDir, leaseMs);
        if (marker) {
            if (readHolder(lockDir)?.token === token) {
                endLock(lockDir);
            } else {
                fs.rmdirSync(marker);
            }
            return;
        }
        // Synchronous (a release also runs in signal handlers): someone is judging this lock; 10 ms.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
}

function mtimeMs(file: string): number {
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
