/**
 * When a holder of the store lock is gone: the lease's rules, pure. A holder
 * renews its lease (the `renewed` time of its record) every quarter of its
 * `leaseMs` while its step runs; a record not renewed for `leaseMs` belongs to
 * a holder that is dead or stalled, whatever its host (a deploy pod that was
 * OOM-killed, evicted, or replaced by the pipeline's retry under a new name).
 * One on this host whose process is gone is dead at once.
 *
 * The rules need only a record with a unique token and a renewal time, and a
 * compare-and-swap on it, so they carry over to an object store: acquire =
 * put if absent (S3 `If-None-Match: *`), renew and take over = put if the
 * object is still the one read (`If-Match: <ETag>`), release = delete if it
 * is still ours. The file system emulates the swap with atomic `mkdir` and
 * `rename` (see storeLock.ts).
 */

/** Who holds a lock: the record in the lock. */
export interface LockHolder {
    readonly host: string;
    readonly pid: number;
    readonly step: string;
    /** ISO time the lock was taken. */
    readonly since: string;
    /** Unique to this taking of the lock: a release or take-over ends only the lock it read. */
    readonly token: string;
    /** ISO time the holder last renewed its lease. */
    readonly renewed: string;
    /** The lease the holder promised to renew within, in ms. */
    readonly leaseMs: number;
}

/** How long a lease lasts without renewal. Two minutes: a pod's restart costs little more; see storeLock.ts for NFS. */
export const DEFAULT_LEASE_MS = 120_000;

/** A record written before leases (no token, never renewed) is judged by its age, as it was then. */
export const LEGACY_STALE_MS = 2 * 60 * 60_000;

/** What judging a lock needs to know about this host and this moment. */
export interface LeaseContext {
    readonly now: number;
    readonly host: string;
    /** True while a process with this pid exists on this host. */
    readonly alive: (pid: number) => boolean;
    /** Age of the lock directory (for a lock with no readable record). */
    readonly lockAgeMs: number;
    /** The lease assumed when the record names none. */
    readonly leaseMs: number;
}

/** Why the lock's holder is gone, or undefined while it is live. */
export function holderGone(holder: LockHolder | undefined, context: LeaseContext): string | undefined {
    const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
    if (!holder) {
        // A record is written before the lock appears, so only an older version's crash leaves none.
        return context.lockAgeMs > context.leaseMs
            ? `it has had no holder record for ${seconds(context.lockAgeMs)}`
            : undefined;
    }
    if (holder.host === context.host && !context.alive(holder.pid)) {
        return `its process ${holder.pid} on this host is gone`;
    }
    const since = Date.parse(holder.since);
    if (!holder.token) {
        const age = context.now - since;
        return age > LEGACY_STALE_MS ? `it was taken ${seconds(age)} ago, before leases` : undefined;
    }
    const lease = holder.leaseMs > 0 ? holder.leaseMs : context.leaseMs;
    const renewed = Date.parse(holder.renewed);
    const quiet = context.now - (Number.isNaN(renewed) ? since : renewed);
    return quiet > lease ? `its lease was last renewed ${seconds(quiet)} ago (it lasts ${seconds(lease)})` : undefined;
}

/** A record read from the lock, when it has the shape of one (older versions' records lack the lease fields). */
export function parseHolder(text: string): LockHolder | undefined {
    try {
        const record = JSON.parse(text) as Partial<LockHolder>;
        if (typeof record.host !== "string" || typeof record.pid !== "number" || typeof record.since !== "string") {
            return undefined;
        }
        return {
            host: record.host,
            pid: record.pid,
            step: String(record.step ?? "?"),
            since: record.since,
            token: typeof record.token === "string" ? record.token : "",
            renewed: typeof record.renewed === "string" ? record.renewed : record.since,
            leaseMs: typeof record.leaseMs === "number" ? record.leaseMs : 0,
        };
    } catch {
        return undefined;
    }
}
