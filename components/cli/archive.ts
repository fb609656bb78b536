/**
 * The archive step, run by `pulumi up` (never by preview). A version names
 * one archive forever: an existing archive is reused, one in backup/ is
 * restored, and only a new version is built, by the real torch-model-archiver,
 * into a staging directory and then renamed into place, so a failed build
 * leaves the store as it was. The deployed archive is touched: its mtime
 * records when it was last deployed, which rotation orders by.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ArchiveSpec, archiverArgv } from "./commands";
import { BACKUP_DIR, archiveFileName, locateArchive } from "../store";
import { runStep, stepLogger } from "./step";

const log = stepLogger("archive");

function parseSpec(argv: string[]): ArchiveSpec {
    const { values } = parseArgs({
        args: argv,
        options: {
            store: { type: "string" },
            model: { type: "string" },
            version: { type: "string" },
            archiver: { type: "string" },
            "serialized-file": { type: "string" },
            handler: { type: "string" },
            "extra-file": { type: "string", multiple: true },
            "requirements-file": { type: "string" },
            "archive-format": { type: "string" },
        },
        strict: true,
    });
    const required = ["store", "model", "version", "archiver", "serialized-file", "handler", "archive-format"] as const;
    for (const name of required) {
        if (!values[name]) {
            throw new Error(`missing --${name}`);
        }
    }
    return {
        store: values.store!,
        model: values.model!,
        version: values.version!,
        archiver: values.archiver!,
        serializedFile: values["serialized-file"]!,
        handler: values.handler!,
        extraFiles: values["extra-file"] ?? [],
        requirementsFile: values["requirements-file"],
        archiveFormat: values["archive-format"]!,
    };
}

/** Builds (or reuses, or restores) the archive of `spec.version`; returns its path. */
export function publishArchive(spec: ArchiveSpec): string {
    const file = archiveFileName(spec.model, spec.version);
    const target = path.join(spec.store, file);
    fs.mkdirSync(spec.store, { recursive: true });
    const where = locateArchive(spec.store, spec.model, spec.version);
    if (where === "store") {
        log(
            `${file} already exists; reusing it ` +
                "(a version is never rebuilt: set a new modelVersion to publish new files)",
        );
    } else if (where === "backup") {
        fs.renameSync(path.join(spec.store, BACKUP_DIR, file), target);
        log(`restored ${file} from ${BACKUP_DIR}/`);
    } else {
        buildArchive(spec, target);
        log(`archived ${file} (${fs.statSync(target).size} bytes)`);
    }
    const now = new Date();
    fs.utimesSync(target, now, now);
    return target;
}

function buildArchive(spec: ArchiveSpec, target: string): void {
    const staging = fs.mkdtempSync(path.join(spec.store, `.staging-${spec.model}.${spec.version}-`));
    // torch-model-archiver copies the inputs into $TMPDIR/<model name>, deleting whatever is there
    // first: two archive steps of one model at once (two stacks on one machine) would destroy each
    // other's copy. A private TMPDIR on the local disk (not the store's volume) keeps them apart.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "torchserve-stack-archiver-"));
    try {
        const argv = archiverArgv(spec, staging);
        log(`running ${spec.archiver} ${argv.join(" ")}`);
        const result = spawnSync(spec.archiver, argv, {
            stdio: "inherit",
            env: { ...process.env, TMPDIR: scratch, TEMP: scratch, TMP: scratch },
        });
        if (result.error) {
            throw new Error(
                `could not run ${spec.archiver}: ${result.error.message} ` +
                    "(set archiverCommand to the torch-model-archiver executable)",
            );
        }
        if (result.status !== 0) {
            throw new Error(
                `${spec.archiver} failed with exit code ${result.status}; ` +
                    "the store and the running Deployment are unchanged",
            );
        }
        const built = path.join(staging, `${spec.model}.mar`);
        if (!fs.existsSync(built)) {
            throw new Error(`${spec.archiver} succeeded but wrote no ${spec.model}.mar into ${staging}`);
        }
        fs.renameSync(built, target);
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

if (require.main === module) {
    runStep("archive", () => publishArchive(parseSpec(process.argv.slice(2))));
}
