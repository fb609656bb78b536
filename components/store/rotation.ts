/**
 * Rotation planning. Pure: the rotation step and the program (to render
 * `load_models` at preview time) both call it, so they always agree on which
 * archives stay.
 */

/** An archive found in the store. */
export interface StoredArchive {
    readonly version: string;
    /** Last time it was deployed (the archive step touches the deployed archive). */
    readonly mtimeMs: number;
}

/** What the store should hold after a deploy of `current`. */
export interface RotationPlan {
    /** Versions that stay in the store, the deployed one first, then newest deployed first. */
    readonly keep: readonly string[];
    /** Versions to move to `backup/`. */
    readonly moveToBackup: readonly string[];
}

/**
 * Keeps the deployed version plus the most recently deployed others, `keep`
 * in all; everything older moves to backup. Archives of other models never
 * appear here: callers pass only this model's archives.
 */
export function planRotation(archives: readonly StoredArchive[], current: string, keep: number): RotationPlan {
    if (!Number.isInteger(keep) || keep < 1) {
        throw new Error(`keep must be a whole number >= 1, got ${keep}`);
    }
    const others = archives
        .filter((a) => a.version !== current)
        .slice()
        .sort((a, b) => b.mtimeMs - a.mtimeMs || (a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
    const ordered = [current, ...others.map((a) => a.version)];
    return { keep: ordered.slice(0, keep), moveToBackup: ordered.slice(keep) };
}

/** A backup file name that does not overwrite anything already in backup. */
export function backupFileName(file: string, taken: ReadonlySet<string>): string {
    if (!taken.has(file)) {
        return file;
    }
    for (let n = 1; ; n++) {
        const candidate = `${file}.${n}`;
        if (!taken.has(candidate)) {
            return candidate;
        }
    }
}
