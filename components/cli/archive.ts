/**
 * The archive step, run by `pulumi up` (never by preview), in the stack's part
 * of the model store, holding its lock. A version names one set of bytes
 * forever, and is one entry: a `.mar` file or a model directory, as the
 * rendered config.properties names it (the release records each version's
 * kind). An existing entry is reused only when its record matches the files
 * (or when the run switches to it without files), one in backup/ is
 * restored, a `.mar` of the old flat layout is linked in, and only a new
 * version is built, by the real torch-model-archiver, into a staging directory
 * and then renamed into place, so a failed or interrupted build leaves the
 * store as it was. Every other version the pods will load is brought into the
 * part too. An entry of the other kind than the config names is an error, not
 * a second entry: the pods could not load the version.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    ArchiveLocation,
    EntryKind,
    LockOptions,
    MANIFEST_PATH,
    StoreLayout,
    acquireLock,
    bringIntoPart,
    entryMismatches,
    entryName,
    findArchive,
    claimOwnership,
    refusePartConflicts,
    readArchiveRecord,
    refuseNonEntry,
    stagingOrphansDir,
    stagingPrefix,
    storeLayout,
    writeArchiveRecord,
} from "../store";
import { isHandlerFile } from "../config";
import { ArchiveBuild, ArchiveSpec, archiverArgv, archiverFormat, parseArchiveArgs } from "./commands";
import { sweepStaging } from "./stagingSweep";
import { lockLogging, onInterrupt, runStep, stepLogger } from "./step";

const log = stepLogger("archive");

/**
 * Publishes (builds, reuses, restores or links) the entry of `spec.version`
 * and brings in the other served versions; returns the entry's path. `lock`
 * tunes the wait for the store lock (the step uses the defaults).
 */
export async function publishArchive(spec: ArchiveSpec, lock: LockOptions = {}): Promise<string> {
    if (!fs.existsSync(spec.store)) {
        throw new Error(
            `modelStorePath ${spec.store} does not exist on this machine: mount the model-store volume there ` +
                "(the pipeline's deploy step mounts the claim), or create the directory for a first deploy",
        );
    }
    const layout = storeLayout(spec.store, spec.subdir);
    // Before the part's directory is made: a part inside another stack's gets nothing written into it.
    // Checked again under the lock, when the owner is recorded.
    refusePartConflicts(layout, spec.owner);
    fs.mkdirSync(layout.part, { recursive: true });
    const unlock = await acquireLock(layout.lockDir, "archive", { ...lockLogging(log), ...lock });
    const forget = onInterrupt(unlock);
    try {
        claimOwnership(layout, spec.owner);
        for (const { entry, action } of sweepStaging(layout, spec.model)) {
            const orphans = path.relative(layout.part, stagingOrphansDir(layout));
            const done = action === "removed" ? `removed ${entry}` : `moved ${entry} to ${orphans}/`;
            log(`${done}, left by an interrupted build`);
        }
        const target = await publishVersion(layout, spec);
        for (const version of spec.served.slice(1)) {
            const kind = kindOf(spec, version);
            const name = entryName(spec.model, version, kind);
            const existing = findArchive(layout, spec.model, version);
            if (!existing) {
                throw new Error(
                    `${name}, which the pods are to load next to ${spec.version}, is in neither ${layout.part}, ` +
                        "its backup/ nor the old flat layout; lower servedVersions or deploy that version again",
                );
            }
            checkKind(spec, version, existing);
            const found = bringIntoPart(layout, spec.model, version)!;
            if (found.where !== "store") {
                log(`${found.where === "backup" ? "restored" : "linked"} ${name} from ${found.file}`);
            }
        }
        return target;
    } finally {
        forget();
        unlock();
    }
}

/** The kind of entry config.properties names for a served version. */
function kindOf(spec: ArchiveSpec, version: string): EntryKind {
    return spec.directories.includes(version) ? "dir" : "mar";
}

/** Fails when the store holds a version as the other kind of entry than the config names. */
function checkKind(spec: ArchiveSpec, version: string, found: ArchiveLocation): void {
    const kind = kindOf(spec, version);
    if (found.kind === kind) {
        return;
    }
    const describe = (k: EntryKind) => (k === "dir" ? "a directory" : "a .mar file");
    throw new Error(
        `the pods are to load ${entryName(spec.model, version, kind)} (${describe(kind)}, as config.properties ` +
            `names version ${version}), but the store holds it as ${found.file} (${describe(found.kind)}); ` +
            "a version is one entry, so no second one is added and the pods are not rolled: put the version's " +
            "entry back as it was published, or deploy its files under a new modelVersion",
    );
}

async function publishVersion(layout: StoreLayout, spec: ArchiveSpec): Promise<string> {
    const kind = kindOf(spec, spec.version);
    const file = entryName(spec.model, spec.version, kind);
    const target = path.join(layout.part, file);
    const existing = findArchive(layout, spec.model, spec.version);
    if (existing) {
        checkKind(spec, spec.version, existing);
    }
    const record = readArchiveRecord(layout, spec.model, spec.version);
    if (spec.build && record && record.fingerprint !== "" && record.fingerprint !== spec.fingerprint) {
        throw new Error(
            `modelVersion ${spec.version} already names other model files (archived from fingerprint ` +
                `${record.fingerprint.slice(0, 12)}, these files are ${spec.fingerprint.slice(0, 12)}); ` +
                "a version names one set of bytes: deploy these files under a new modelVersion, " +
                `or drop --serialized-file to switch back to ${spec.version} as archived`,
        );
    }
    if (spec.build && (!record || record.fingerprint === "")) {
        // An entry with no record of its inputs (the old flat layout): check the files against its files.
        const mismatches = existing ? entryMismatches(existing.file, existing.kind, inputFiles(spec.build)) : [];
        if (mismatches.length > 0) {
            throw new Error(
                `modelVersion ${spec.version} already names an archive (${existing!.file}) built from other files ` +
                    `(${mismatches.join("; ")}); a version names one set of bytes: deploy these files under a new ` +
                    `modelVersion, or drop --serialized-file to switch to ${spec.version} as archived`,
            );
        }
    }
    const found = bringIntoPart(layout, spec.model, spec.version);
    if (found) {
        const how = { store: "reusing", backup: "restored from backup/", legacy: "linked from the old flat layout" };
        log(`${file}: ${how[found.where]} (${found.file})`);
        if (!record || record.fingerprint === "") {
            // With files, they were just checked against the archive's entries: record them as its inputs.
            const fingerprint = spec.build ? spec.fingerprint : "";
            writeArchiveRecord(layout, spec.model, {
                version: spec.version,
                fingerprint,
                bytes: kind === "mar" ? fs.statSync(target).size : spec.bytes,
            });
        }
        return target;
    }
    if (!spec.build) {
        throw new Error(
            `modelVersion ${spec.version} has no archive in ${layout.part}, its backup/ or the old flat layout, ` +
                "so there is nothing to switch to: deploy its files (npm run deploy -- --serialized-file ...), " +
                "or pick a version the store has",
        );
    }
    refuseNonEntry(target);
    await buildArchive(layout, spec, kind, target);
    writeArchiveRecord(layout, spec.model, { version: spec.version, fingerprint: spec.fingerprint, bytes: spec.bytes });
    log(`archived ${file}${kind === "mar" ? ` (${fs.statSync(target).size} bytes)` : " (a directory)"}`);
    return target;
}

async function buildArchive(layout: StoreLayout, spec: ArchiveSpec, kind: EntryKind, target: string): Promise<void> {
    const build = { ...spec.build!, archiveFormat: archiverFormat(kind, spec.build!.archiveFormat) };
    // Host and pid in the name let the next run tell a dead build's leftovers from a running one's.
    const staging = fs.mkdtempSync(
        path.join(layout.part, `${stagingPrefix(spec.model, spec.version)}~${os.hostname()}~${process.pid}~`),
    );
    // torch-model-archiver copies the inputs into $TMPDIR/<model name>, deleting whatever is there
    // first: two archive steps of one model at once (two stacks on one machine) would destroy each
    // other's copy. A private TMPDIR on the local disk (not the store's volume) keeps them apart.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "torchserve-stack-archiver-"));
    const removeTemporaries = () => {
        fs.rmSync(staging, { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    };
    try {
        // A directory's weights are copied by the step, once, while the archiver runs on an empty stand-in
        // (it would copy them twice through Python: into $TMPDIR, then into the export directory); the
        // published directory is the same, byte for byte (README, Performance: the archive step).
        const weights = kind === "dir" ? copyWeightsAside(build.serializedFile, scratch, staging) : undefined;
        const argv = archiverArgv(
            spec.model,
            spec.version,
            weights ? { ...build, serializedFile: weights.standIn } : build,
            staging,
        );
        const meanwhile = weights ? ` (copying ${build.serializedFile} meanwhile)` : "";
        log(`running ${build.archiver} ${argv.join(" ")}${meanwhile}`);
        await runArchiver(
            build.archiver,
            argv,
            { ...process.env, TMPDIR: scratch, TEMP: scratch, TMP: scratch },
            removeTemporaries,
        );
        // `no-archive` writes the directory `<export>/<model>/`, the others `<export>/<model>.mar`.
        const output = kind === "dir" ? spec.model : `${spec.model}.mar`;
        const built = path.join(staging, output);
        if (kind === "dir" ? !fs.existsSync(path.join(built, MANIFEST_PATH)) : !fs.existsSync(built)) {
            throw new Error(`${build.archiver} succeeded but wrote no ${output} into ${staging}`);
        }
        if (weights) {
            await weights.copied;
            fs.renameSync(weights.copy, path.join(built, path.basename(build.serializedFile)));
        }
        if (kind === "dir") {
            // The pods run as uid 1000 (the store is mounted read-only): everything readable, directories listable.
            makeReadable(built);
        }
        fs.renameSync(built, target);
    } finally {
        removeTemporaries();
    }
}

/**
 * Starts copying the weights into the staging directory and makes an empty stand-in with their
 * name for the archiver (in the step's private scratch directory).
 */
function copyWeightsAside(
    serializedFile: string,
    scratch: string,
    staging: string,
): { standIn: string; copy: string; copied: Promise<void> } {
    const standIn = path.join(scratch, "weights", path.basename(serializedFile));
    fs.mkdirSync(path.dirname(standIn));
    fs.writeFileSync(standIn, "");
    const copy = path.join(staging, ".weights.partial");
    const copied = fs.promises.copyFile(serializedFile, copy);
    // Awaited after the archiver; a failure before that is reported there, not as an unhandled rejection.
    copied.catch(() => undefined);
    return { standIn, copy, copied };
}

/**
 * Runs the archiver as a child that dies with the step: an interrupted step
 * leaves no orphan writing into the store.
 */
function runArchiver(archiver: string, argv: string[], env: NodeJS.ProcessEnv, cleanup: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
        // In a process group of its own, so an interrupt stops whatever it started too.
        const child = spawn(archiver, argv, { stdio: "inherit", env, detached: true });
        const forget = onInterrupt(() => {
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                child.kill("SIGKILL");
            }
            cleanup();
        });
        child.on("error", (error) => {
            forget();
            reject(
                new Error(
                    `could not run ${archiver}: ${error.message} ` +
                        "(set archiverCommand to the torch-model-archiver executable)",
                ),
            );
        });
        child.on("exit", (code, signal) => {
            forget();
            if (code === 0) {
                resolve();
            } else {
                const how = signal ? `was killed by ${signal}` : `failed with exit code ${code}`;
                reject(new Error(`${archiver} ${how}; the store and the running Deployment are unchanged`));
            }
        });
    });
}

/** Directories 0755 and files 0644 throughout `dir` (the archiver copies its inputs' modes, and umask applies). */
function makeReadable(dir: string): void {
    fs.chmodSync(dir, 0o755);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const child = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            makeReadable(child);
        } else if (entry.isFile()) {
            fs.chmodSync(child, 0o644);
        }
    }
}

/** The input files of a build that the archiver packs as entries (a built-in handler is a name, not a file). */
function inputFiles(build: ArchiveBuild): string[] {
    const files = [build.serializedFile, ...build.extraFiles];
    if (isHandlerFile(build.handler)) {
        files.push(build.handler);
    }
    if (build.requirementsFile) {
        files.push(build.requirementsFile);
    }
    return files;
}

if (require.main === module) {
    runStep("archive", () => publishArchive(parseArchiveArgs(process.argv.slice(2))));
}
