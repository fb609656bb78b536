/**
 * What the archive step does, holding the store lock, with staging
 * directories that interrupted builds of this model left in the part. Only
 * names the step itself makes are looked at (`parseStagingName`: its model,
 * a version, `~host~pid~` and mkdtemp's suffix), and only directories (never
 * a link): a user's `.staging-notes` or any other file is never touched.
 *
 * - This host, process gone: a dead build's. Deleted.
 * - This host, process running: left (a build in progress, or a reused pid).
 * - Another host: is it provably dead because this step holds the lock? A
 *   live build holds the lock from before its staging exists until after it
 *   is renamed away, and a lock is only taken over from a holder that is
 *   gone, so, while the lock is held here, another host's staging is
 *   normally a dead build's. Not provably: a holder stalled for longer than
 *   its lease (a frozen VM, a hung mount) loses the lock while it lives, and
 *   may write on when it wakes. So such a directory is moved, never deleted,
 *   into backup/.staging-orphans/ (a stalled build that wakes finds its
 *   staging gone and fails, leaving the store as it was), and only once
 *   nothing has been added to it for a lease. The user removes them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEFAULT_LEASE_MS, StoreLayout, parseStagingName, processAlive, stagingOrphansDir } from "../store";

/** What the sweep did with one entry of the part. */
export interface SweepAction {
    readonly entry: string;
    readonly action: "removed" | "moved";
}

/** Sweeps this model's staging directories of interrupted builds in the part; returns what it did. */
export function sweepStaging(layout: StoreLayout, model: string, leaseMs = DEFAULT_LEASE_MS): SweepAction[] {
    const actions: SweepAction[] = [];
    for (const entry of fs.readdirSync(layout.part)) {
        const made = parseStagingName(entry, model);
        if (!made) {
            continue;
        }
        const dir = path.join(layout.part, entry);
        const stat = fs.lstatSync(dir);
        if (!stat.isDirectory()) {
            continue;
        }
        if (made.host === os.hostname()) {
            if (!processAlive(made.pid)) {
                fs.rmSync(dir, { recursive: true, force: true });
                actions.push({ entry, action: "removed" });
            }
        } else if (Date.now() - stat.mtimeMs > leaseMs) {
            const orphans = stagingOrphansDir(layout);
            fs.mkdirSync(orphans, { recursive: true });
            if (!fs.existsSync(path.join(orphans, entry))) {
                fs.renameSync(dir, path.join(orphans, entry));
                actions.push({ entry, action: "moved" });
            }
        }
    }
    return actions;
}
