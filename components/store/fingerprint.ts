/**
 * Content hashes of the model artifacts. The default version is a short hash
 * of them, so re-running with unchanged inputs changes nothing. File hashes
 * are cached by (path, size, mtime, inode, ctime): an unchanged multi-GB model
 * is not read again.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ArchiveFormat, ModelArtifacts, isHandlerFile } from "../config";

/** One input of the archive, with the role it plays (renaming a role's file changes the hash). */
export interface Artifact {
    readonly role: string;
    readonly file: string;
}

interface CacheEntry {
    readonly size: number;
    readonly mtimeNs: string;
    readonly ctimeNs: string;
    readonly ino: number;
    readonly sha256: string;
}

/** Default location of the hash cache, outside the repository. */
export function defaultHashCacheFile(): string {
    const root = process.env.TS_STACK_CACHE ?? path.join(os.homedir(), ".cache", "torchserve-stack");
    return path.join(root, "file-hashes.json");
}

/** A persistent (path, stat) -> sha256 cache. */
export class FileHashCache {
    private entries: Record<string, CacheEntry> = {};
    private dirty = false;
    /** Files actually read (cache misses) by this instance. */
    public reads = 0;

    constructor(private readonly cacheFile?: string) {
        if (cacheFile) {
            try {
                this.entries = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as Record<string, CacheEntry>;
            } catch {
                this.entries = {};
            }
        }
    }

    /** sha256 of a file's content; read only when its stat differs from the cached one. */
    hashFile(file: string): string {
        const absolute = path.resolve(file);
        const stat = fs.statSync(absolute, { bigint: true });
        const key = {
            size: Number(stat.size),
            mtimeNs: String(stat.mtimeNs),
            ctimeNs: String(stat.ctimeNs),
            ino: Number(stat.ino),
        };
        const cached = this.entries[absolute];
        if (
            cached &&
            cached.size === key.size &&
            cached.mtimeNs === key.mtimeNs &&
            cached.ctimeNs === key.ctimeNs &&
            cached.ino === key.ino
        ) {
            return cached.sha256;
        }
        const sha256 = sha256OfFile(absolute);
        this.reads++;
        this.entries[absolute] = { ...key, sha256 };
        this.dirty = true;
        return sha256;
    }

    /** Writes the cache atomically; a failure to write only costs a re-read next time. */
    save(): void {
        if (!this.cacheFile || !this.dirty) {
            return;
        }
        try {
            fs.mkdirSync(path.dirname(this.cacheFile), { recursive: true });
            const temp = `${this.cacheFile}.${process.pid}.tmp`;
            fs.writeFileSync(temp, JSON.stringify(this.entries));
            fs.renameSync(temp, this.cacheFile);
            this.dirty = false;
        } catch {
            // The cache is an optimisation only.
        }
    }
}

/** Streams a file through sha256 in 8 MiB chunks (synchronous: the component is built synchronously). */
export function sha256OfFile(file: string): string {
    const hash = crypto.createHash("sha256");
    const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
    const fd = fs.openSync(file, "r");
    try {
        for (;;) {
            const read = fs.readSync(fd, buffer, 0, buffer.length, null);
            if (read === 0) {
                break;
            }
            hash.update(buffer.subarray(0, read));
        }
    } finally {
        fs.closeSync(fd);
    }
    return hash.digest("hex");
}

/**
 * One hash over every artifact (role, file name, content) and the settings
 * that change the archive's bytes. Order-independent within a role list.
 */
export function fingerprintArtifacts(
    artifacts: readonly Artifact[],
    settings: readonly string[],
    cache: FileHashCache,
): string {
    const hash = crypto.createHash("sha256");
    const lines = artifacts.map((a) => `${a.role}\t${path.basename(a.file)}\t${cache.hashFile(a.file)}`).sort();
    for (const line of [...lines, ...settings.map((s) => `setting\t${s}`)]) {
        hash.update(line).update("\n");
    }
    return hash.digest("hex");
}

/** The version used when none is configured: the first 12 hex digits of the fingerprint. */
export function versionFromFingerprint(fingerprint: string): string {
    return fingerprint.slice(0, 12);
}

/** The archive's input files, each with its role. */
export function artifactsOf(artifacts: ModelArtifacts): Artifact[] {
    const list: Artifact[] = [{ role: "serialized-file", file: artifacts.serializedFile }];
    if (isHandlerFile(artifacts.handler)) {
        list.push({ role: "handler", file: artifacts.handler });
    }
    artifacts.extraFiles.forEach((file) => list.push({ role: "extra-file", file }));
    if (artifacts.requirementsFile) {
        list.push({ role: "requirements-file", file: artifacts.requirementsFile });
    }
    return list;
}

/** Settings that change the archive's bytes besides the files. */
export function archiveSettingsOf(
    model: { readonly name: string; readonly archiveFormat: ArchiveFormat },
    artifacts: ModelArtifacts,
): string[] {
    return [
        `model=${model.name}`,
        `format=${model.archiveFormat}`,
        ...(isHandlerFile(artifacts.handler) ? [] : [`handler=${artifacts.handler}`]),
    ];
}

/** Bytes of the archive's input files: about the size of a zip-store archive, and of what a pod unpacks. */
export function artifactBytes(artifacts: readonly Artifact[]): number {
    return artifacts.reduce((sum, a) => sum + fs.statSync(a.file).size, 0);
}
