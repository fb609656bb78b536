/**
 * The store lock's record on disk, shared by the lock (storeLock.ts) and its
 * heartbeat thread (lockHeartbeat.ts): read, written whole, and renewed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LockHolder, parseHolder } from "./lockLease";

/** The record's file in the lock directory. */
export const RECORD = "holder.json";

/** The lock's record, or undefined when there is none or it cannot be read. */
export function readHolder(lockDir: string): LockHolder | undefined {
    try {
        return parseHolder(fs.readFileSync(path.join(lockDir, RECORD), "utf8"));
    } catch {
        return undefined;
    }
}

/** Writes the lock's record whole (a reader sees the old one or the new one, never half of one). */
export function writeRecord(lockDir: string, holder: LockHolder): void {
    const temp = path.join(lockDir, `${RECORD}.${holder.token}`);
    fs.writeFileSync(temp, JSON.stringify(holder));
    fs.renameSync(temp, path.join(lockDir, RECORD));
}

/** The heartbeat's states, in a shared Int32Array: the release waits for a renewal in progress. */
export const IDLE = 0;
export const RENEWING = 1;
export const STOPPED = 2;

/** What one heartbeat needs: the lock, its holder, and the state it shares with the holder's thread. */
export interface Heartbeat {
    readonly lockDir: string;
    readonly holder: LockHolder;
    readonly state: Int32Array;
}

/**
 * One renewal of the holder's lease: "lost" when the lock is gone or another's (it stalled
 * for longer than its lease), "stopped" once released, else "renewed" (a failed write is
 * tried again next time: the lease has slack).
 */
export function renewOnce(beat: Heartbeat): "renewed" | "lost" | "stopped" {
    if (Atomics.compareExchange(beat.state, 0, IDLE, RENEWING) !== IDLE) {
        return "stopped";
    }
    try {
        const current = readHolder(beat.lockDir);
        if (!fs.existsSync(beat.lockDir) || (current && current.token !== beat.holder.token)) {
            return "lost";
        }
        if (current) {
            writeRecord(beat.lockDir, { ...beat.holder, renewed: new Date().toISOString() });
        }
        return "renewed";
    } catch {
        return "renewed";
    } finally {
        Atomics.compareExchange(beat.state, 0, RENEWING, IDLE);
        Atomics.notify(beat.state, 0);
    }
}

/** Stops the heartbeat: after this returns, no renewal is under way and none starts. */
export function stopHeartbeat(state: Int32Array): void {
    for (;;) {
        const was = Atomics.compareExchange(state, 0, IDLE, STOPPED);
        if (was !== RENEWING) {
            return;
        }
        Atomics.wait(state, 0, RENEWING, 1000);
    }
}
