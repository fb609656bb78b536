/**
 * What a stack keeps in its part of the store besides archives: who owns the
 * part (so two stacks configured onto one directory, or one inside the
 * other's, are stopped, not mixed) and a record of what each archive was
 * built from (so a version is never reused for other bytes).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { StoreOwner, partConflictProblem, partConflicts } from "./partOwners";
import { StoreLayout, archiveRecordFile } from "./storeLayout";

/**
 * Records `owner` on a part nobody owns yet; refuses a part another stack
 * owns, or one that lies inside or around another stack's part.
 */
export function claimOwnership(layout: StoreLayout, owner: StoreOwner): void {
    refusePartConflicts(layout, owner);
    fs.mkdirSync(layout.stateDir, { recursive: true });
    // A record here is this stack's own: the check above refuses another's (and the part's lock keeps
    // another stack's claim of this very part from running meanwhile).
    if (!readJson<StoreOwner>(layout.ownerFile)) {
        writeJsonAtomically(layout.ownerFile, owner);
        // Checked again once written: of two stacks claiming nested parts at the same moment, at least one
        // sees the other's record (both may refuse; neither goes through unseen). The refused one's record goes.
        try {
            refusePartConflicts(layout, owner);
        } catch (error) {
            fs.rmSync(layout.ownerFile, { force: true });
            throw error;
        }
    }
}

/**
 * Throws when another stack owns this part, a part around it or one inside
 * it (see partOwners.ts). Creates nothing: the archive step calls it before
 * it makes the part's directory.
 */
export function refusePartConflicts(layout: StoreLayout, owner: StoreOwner): void {
    const subdir = path.relative(layout.root, layout.part);
    const conflict = partConflicts(layout.root, subdir, owner)[0];
    if (!conflict) {
        return;
    }
    if (conflict.relation === "same") {
        throw sharedPartError(layout, conflict.owner, owner);
    }
    const { problem, fix } = partConflictProblem(subdir, conflict);
    throw new Error(`${layout.part}: modelStoreSubdir ${subdir} ${problem}. Fix: ${fix}`);
}

function sharedPartError(layout: StoreLayout, existing: StoreOwner, owner: StoreOwner): Error {
    return new Error(
        `${layout.part} belongs to stack ${existing.stack} (namespace ${existing.namespace}, app ` +
            `${existing.appName}), not to ${owner.stack}: two stacks must not share a part of the model store. ` +
            "Give this stack its own part: pulumi config set modelStoreSubdir <namespace>/<appName>",
    );
}

/** What an archive was built from. */
export interface ArchiveRecord {
    readonly version: string;
    /** Content hash of the archive's inputs ("" when it came from before records were kept). */
    readonly fingerprint: string;
    /** Bytes of the inputs. */
    readonly bytes: number;
}

export function readArchiveRecord(layout: StoreLayout, model: string, version: string): ArchiveRecord | undefined {
    return readJson<ArchiveRecord>(archiveRecordFile(layout, model, version));
}

export function writeArchiveRecord(layout: StoreLayout, model: string, record: ArchiveRecord): void {
    writeJsonAtomically(archiveRecordFile(layout, model, record.version), record);
}

function readJson<T>(file: string): T | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            return undefined;
        }
        throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
}

function writeJsonAtomically(file: string, value: unknown): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
    fs.renameSync(temp, file);
}
