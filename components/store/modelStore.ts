/**
 * Reads and arranges the model store through its local mount. Only this
 * model's entries (`<model>.<version>.mar` files and `<model>.<version>`
 * directories holding a manifest, that parse back to exactly this model) are
 * ever touched, so other models' files and anything else a user put there
 * stay as they are.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { escape, globSync } from "glob";
import { isStoreFile } from "./files";
import { EntryKind, MANIFEST_PATH, parseEntryName } from "./archiveNames";
import { ArchiveLocation, StoreLayout, archiveLocations, storeLayout } from "./storeLayout";

/** One version's entry in a directory of the store. */
export interface StoreEntry {
    readonly version: string;
    readonly kind: EntryKind;
    /** The entry's name in its directory. */
    readonly name: string;
}

/**
 * True when `entry` is a version's entry of `kind`: a regular file, or a directory with the archiver's
 * manifest (a regular file). Links are never entries, so none is followed out of the store.
 */
export function isEntry(entry: string, kind: EntryKind): boolean {
    if (kind === "mar") {
        return isStoreFile(entry);
    }
    try {
        return fs.lstatSync(entry).isDirectory() && isStoreFile(path.join(entry, MANIFEST_PATH));
    } catch {
        return false;
    }
}

/**
 * This model's entries directly in `dir` (not in backup/), sorted by version. Empty when `dir` does
 * not exist. Found with glob: `<model>.*.mar` files and `<model>.*` directories holding the
 * archiver's manifest, each kept only when its name parses back to exactly this model.
 */
export function listEntries(dir: string, model: string): StoreEntry[] {
    if (!fs.existsSync(dir)) {
        return [];
    }
    const prefix = escape(model);
    const marFiles = globSync(`${prefix}.*.mar`, { cwd: dir, nodir: true, dot: false });
    const manifests = globSync(`${prefix}.*/${MANIFEST_PATH}`, { cwd: dir, nodir: true, dot: false });
    const candidates: [string, EntryKind][] = [
        ...marFiles.map((name): [string, EntryKind] => [name, "mar"]),
        ...manifests.map((manifest): [string, EntryKind] => [manifest.split("/")[0], "dir"]),
    ];
    const entries: StoreEntry[] = [];
    for (const [name, kind] of candidates) {
        const parsed = parseEntryName(name, kind);
        if (parsed?.model === model && isEntry(path.join(dir, name), kind)) {
            entries.push({ version: parsed.version, kind, name });
        }
    }
    return entries.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

/** The versions of this model's entries (files or directories) directly in `dir` (not in backup/). */
export function listArchiveVersions(dir: string, model: string): string[] {
    return [...new Set(listEntries(dir, model).map((entry) => entry.version))];
}

/** The first place that holds the version's entry (the stack's part, its backup, the old flat layout). */
export function findArchive(layout: StoreLayout, model: string, version: string): ArchiveLocation | undefined {
    return archiveLocations(layout, model, version).find((location) => isEntry(location.file, location.kind));
}

/**
 * Makes sure the version's entry is in the stack's part: restores it from
 * backup/ (a rename, for a file or a directory alike), or links a `.mar` of
 * the old flat layout into the part (a hard link, or a copy where the volume
 * cannot link; the original stays). Returns where it was found, or undefined
 * when the store has none.
 */
export function bringIntoPart(layout: StoreLayout, model: string, version: string): ArchiveLocation | undefined {
    const location = findArchive(layout, model, version);
    if (!location || location.where === "store") {
        return location;
    }
    const target = archiveLocations(layout, model, version).find(
        (l) => l.where === "store" && l.kind === location.kind,
    )!.file;
    refuseNonEntry(target);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (location.where === "backup") {
        fs.renameSync(location.file, target);
        return location;
    }
    const temp = `${target}.linking-${process.pid}`;
    try {
        fs.linkSync(location.file, temp);
    } catch {
        fs.copyFileSync(location.file, temp);
    }
    fs.renameSync(temp, target);
    return location;
}

/**
 * Fails when something that is no entry (a link, or a file or directory of
 * the wrong shape) has the name the version's entry is to get: it is a
 * user's, and is never replaced, nor followed.
 */
export function refuseNonEntry(target: string): void {
    try {
        fs.lstatSync(target);
    } catch {
        return;
    }
    throw new Error(
        `${target} has the name of the version's entry but is no entry (a link, or not a regular file or a ` +
            `directory with ${MANIFEST_PATH}): entries are never links, and it is not replaced; move it away ` +
            "and run again",
    );
}

/**
 * The kind of the version's entry in the store, when this machine sees the
 * store (`root` exists: a run where the volume is mounted) and it holds one;
 * undefined otherwise. Lets a run that brings a version render the name the
 * store already holds for it (e.g. a `.mar` of the old flat layout).
 */
export function storedEntryKind(
    root: string | undefined,
    subdir: string,
    model: string,
    version: string,
): EntryKind | undefined {
    if (root === undefined || !fs.existsSync(root)) {
        return undefined;
    }
    return findArchive(storeLayout(root, subdir), model, version)?.kind;
}
