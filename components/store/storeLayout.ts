/**
 * Where things are in the model store. Each stack owns one part of the volume
 * (`modelStoreSubdir`, by default `<namespace>/<appName>`): its archives, its
 * `backup/`, and a hidden state directory with its owner, its lock and a
 * record of what each archive was built from. The pods mount only that part.
 * Archives of the flat layout used before (`<store>/<model>.<version>.mar`)
 * are read, never moved: a deploy that needs one links it into its part. That
 * layout predates model directories, so only `.mar` files are looked for there.
 */
import * as path from "node:path";
import { isLabelValue } from "../config";
import { BACKUP_DIR, EntryKind, archiveFileName, entryName } from "./archiveNames";

/** The hidden directory in each stack's part: owner, lock and archive records. */
export const STATE_DIR = ".torchserve-stack";

/** Paths of one stack's part of the store, on the machine that runs a deploy. */
export interface StoreLayout {
    /** The volume's mount point (`modelStorePath`). */
    readonly root: string;
    /** The stack's part (`<root>/<modelStoreSubdir>`). */
    readonly part: string;
    readonly backup: string;
    readonly stateDir: string;
    /** Who owns this part (a stack of a project). */
    readonly ownerFile: string;
    /** Held while a step changes this part. */
    readonly lockDir: string;
    /** What each archive was built from (fingerprint, bytes), one JSON file per archive. */
    readonly recordsDir: string;
}

export function storeLayout(root: string, subdir: string): StoreLayout {
    const part = path.join(root, subdir);
    const stateDir = path.join(part, STATE_DIR);
    return {
        root,
        part,
        backup: path.join(part, BACKUP_DIR),
        stateDir,
        ownerFile: path.join(stateDir, "owner.json"),
        lockDir: path.join(stateDir, "lock"),
        recordsDir: path.join(stateDir, "archives"),
    };
}

/**
 * Where a version's entry may be, in the order a deploy looks: its part, its
 * backup (a `.mar` file or a directory in each), the old flat layout (`.mar` only).
 */
export function archiveLocations(layout: StoreLayout, model: string, version: string): ArchiveLocation[] {
    const mar = archiveFileName(model, version);
    const dir = entryName(model, version, "dir");
    return [
        { where: "store", kind: "mar", file: path.join(layout.part, mar) },
        { where: "store", kind: "dir", file: path.join(layout.part, dir) },
        { where: "backup", kind: "mar", file: path.join(layout.backup, mar) },
        { where: "backup", kind: "dir", file: path.join(layout.backup, dir) },
        { where: "legacy", kind: "mar", file: path.join(layout.root, mar) },
        { where: "legacy", kind: "mar", file: path.join(layout.root, BACKUP_DIR, mar) },
    ];
}

export interface ArchiveLocation {
    readonly where: "store" | "backup" | "legacy";
    readonly kind: EntryKind;
    /** The entry's path: the `.mar` file, or the model directory. */
    readonly file: string;
}

/** The record file of one version's entry (named after the `.mar` for either kind: records predate directories). */
export function archiveRecordFile(layout: StoreLayout, model: string, version: string): string {
    return path.join(layout.recordsDir, `${archiveFileName(model, version)}.json`);
}

/** Prefix of the staging directories a build writes into before it renames its archive into place. */
export function stagingPrefix(model: string, version: string): string {
    return `.staging-${model}.${version}-`;
}

/** Who made a staging directory, read back from its name (see {@link parseStagingName}). */
export interface StagingName {
    readonly version: string;
    readonly host: string;
    readonly pid: number;
}

/**
 * The version, host and pid in the name of a staging directory this model's archive step made
 * (`<stagingPrefix>~<host>~<pid>~<6 characters of mkdtemp>`), or undefined for any other name.
 */
export function parseStagingName(name: string, model: string): StagingName | undefined {
    const head = `.staging-${model}.`;
    if (!name.startsWith(head)) {
        return undefined;
    }
    const parts = name.slice(head.length).split("~");
    if (parts.length !== 4) {
        return undefined;
    }
    const [prefixed, host, pid, suffix] = parts;
    const version = prefixed.endsWith("-") ? prefixed.slice(0, -1) : "";
    const ok =
        version !== "" &&
        isLabelValue(version) &&
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(host) &&
        /^[1-9][0-9]*$/.test(pid) &&
        /^[A-Za-z0-9]{6}$/.test(suffix);
    return ok ? { version, host, pid: Number(pid) } : undefined;
}

/** Where the archive step moves staging directories of other hosts' builds that are gone (never deleted). */
export function stagingOrphansDir(layout: StoreLayout): string {
    return path.join(layout.backup, ".staging-orphans");
}
