/**
 * Rotation planning. Pure: which of this model's archives in the stack's part
 * of the store move to `backup/` after a rollout. The versions to keep come
 * from the release plan (the history of successful deploys), never from file
 * times, so a version that failed to roll out is rotated out like any other.
 */

/** What the stack's part of the store should hold after a deploy. */
export interface RotationPlan {
    /** Versions that stay, the deployed one first. */
    readonly keep: readonly string[];
    /** Versions to move to `backup/`. */
    readonly moveToBackup: readonly string[];
}

/**
 * Keeps `keep` (the deployed version first) and moves every other entry of
 * this model found in the store part to backup. Archives of other models never
 * appear here: callers pass only this model's versions.
 */
export function planRotation(present: readonly string[], keep: readonly string[]): RotationPlan {
    if (keep.length === 0) {
        throw new Error("at least the deployed version must be kept");
    }
    const kept = new Set(keep);
    return { keep, moveToBackup: [...new Set(present)].filter((v) => !kept.has(v)).sort() };
}

/**
 * A backup name that does not overwrite anything already in backup: the
 * entry's own name, else with a number. A directory's number follows a `~`,
 * which no version holds: `demo.v1.1` would be version `v1.1`'s directory, and
 * a switch to v1.1 would restore v1's bytes (`demo.v1.mar.1` is no `.mar`).
 */
export function backupFileName(file: string, taken: ReadonlySet<string>, kind: "mar" | "dir" = "mar"): string {
    if (!taken.has(file)) {
        return file;
    }
    const separator = kind === "dir" ? "~" : ".";
    for (let n = 1; ; n++) {
        const candidate = `${file}${separator}${n}`;
        if (!taken.has(candidate)) {
            return candidate;
        }
    }
}
