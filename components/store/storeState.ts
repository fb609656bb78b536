/**
 * What a stack keeps in its part of the store besides archives: who owns the
 * part (so two stacks configured onto one directory are stopped, not mixed)
 * and a record of what each archive was built from (so a version is never
 * reused for other bytes).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { StoreLayout, archiveRecordFile } from "./storeLayout";

/** The stack that owns a part of the store. */
export interface StoreOwner {
    /** `<organization>/<project>/<stack>`: unique per state backend. */
    readonly stack: string;
    /** Namespace and app name, for messages. */
    readonly namespace: string;
    readonly appName: string;
}

/** Records `owner` on a part nobody owns yet; refuses a part another stack owns. */
export function claimOwnership(layout: StoreLayout, owner: StoreOwner): void {
    fs.mkdirSync(layout.stateDir, { recursive: true });
    const existing = readJson<StoreOwner>(layout.ownerFile);
    if (!existing) {
        writeJsonAtomically(layout.ownerFile, owner);
        return;
    }
    if (existing.stack !== owner.stack) {
        throw new Error(
            `${layout.part} belongs to stack ${existing.stack} (namespace ${existing.namespace}, app ` +
                `${existing.appName}), not to ${owner.stack}: two stacks must not share a part of the model store. ` +
                "Give this stack its own part: pulumi config set modelStoreSubdir <namespace>/<appName>",
        );
    }
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
