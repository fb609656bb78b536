/**
 * Model-store naming and rotation planning. Pure: the archive step, the
 * rotation step and the program (to render `load_models` at preview time)
 * all call these, so the three always agree on which archives stay.
 */
import { isLabelValue, isModelName } from "../config/validators";

/** Archives live flat in the store as `<model>.<version>.mar`; older ones in `backup/`. */
export const BACKUP_DIR = "backup";

/** File name of one archived version. Model names have no dots, so the name splits back. */
export function archiveFileName(model: string, version: string): string {
    return `${model}.${version}.mar`;
}

/** The model and version of an archive file name, or undefined when it is not one of ours. */
export function parseArchiveFileName(file: string): { model: string; version: string } | undefined {
    if (!file.endsWith(".mar") || file.includes("/")) {
        return undefined;
    }
    const stem = file.slice(0, -".mar".length);
    const dot = stem.indexOf(".");
    if (dot <= 0) {
        return undefined;
    }
    const model = stem.slice(0, dot);
    const version = stem.slice(dot + 1);
    return isModelName(model) && isLabelValue(version) && version !== "" ? { model, version } : undefined;
}

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
