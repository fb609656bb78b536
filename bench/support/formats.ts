/**
 * The formats a model store could keep versions in, published the way the
 * program would publish them, and the config.properties that loads them.
 *
 * - `zip-store`, `default`: `<model>.<version>.mar` by the program's own
 *   archive step (`publishArchive`, components/cli/archive.ts).
 * - `dir`: the archiver's `--archive-format no-archive` output (a directory
 *   holding model.pt, handler.py, the extra files and MAR-INF/MANIFEST.json)
 *   published as `<model>.<version>/`. Built here as the bench measured it
 *   before the program's archive step could (the real archiver with
 *   `archiverArgv` into a staging directory in the store, a private TMPDIR,
 *   then a rename into place; the step, `archiveFormat: directory`, now does the
 *   same plus its lock, record and permissions), and its config is the
 *   program's rendered text with the directory named (`directories`) in
 *   `load_models` and `marName` (TorchServe 0.12 loads a directory named in
 *   `load_models` in place: it links it from its temp dir, see README, Performance).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ArchiveSpec, archiverArgv } from "../../components/cli";
import { publishArchive } from "../../components/cli/archive";
import { StoreOwner } from "../../components/store";
import { entryName } from "../../components/store";
import { ConfigInput, buildConfigProperties, renderConfigProperties } from "../../components/torchserve";

export type ServeFormat = "zip-store" | "default" | "dir";

export const FORMAT_LABELS: Record<ServeFormat, string> = {
    "zip-store": "`.mar` zip-store",
    default: "`.mar` deflate",
    dir: "directory (no-archive)",
};

/** What `load_models` names for a version: the archive file or the directory. */
export function storeEntry(format: ServeFormat, model: string, version: string): string {
    return entryName(model, version, format === "dir" ? "dir" : "mar");
}

/** One version's archive inputs, as the bench names them (the store is the pods' whole volume). */
export interface BenchArchiveSpec {
    readonly store: string;
    readonly model: string;
    readonly version: string;
    /** The `torch-model-archiver` executable. */
    readonly archiver: string;
    readonly serializedFile: string;
    readonly handler: string;
    readonly extraFiles: readonly string[];
    readonly requirementsFile?: string;
    /** `zip-store`, `default` or `no-archive`. */
    readonly archiveFormat: string;
}

const BENCH_OWNER: StoreOwner = {
    stack: "organization/torchserve-stack/tsbench",
    namespace: "tsbench",
    appName: "tsbench",
};

/** The archiver's arguments for a bench spec (the program's own `archiverArgv`). */
export function benchArchiverArgv(spec: BenchArchiveSpec, exportPath: string): string[] {
    return archiverArgv(spec.model, spec.version, spec, exportPath);
}

/**
 * The program's archive step spec for a bench spec: the store's root is the stack's part
 * (`subdir` "."), so the archives land where the bench's pods mount them.
 */
export function programArchiveSpec(spec: BenchArchiveSpec): ArchiveSpec {
    return {
        store: spec.store,
        subdir: ".",
        owner: BENCH_OWNER,
        model: spec.model,
        version: spec.version,
        fingerprint: `bench-${spec.model}-${spec.version}`,
        bytes: 0,
        served: [spec.version],
        directories: spec.archiveFormat === "directory" ? [spec.version] : [],
        build: {
            archiver: spec.archiver,
            archiveFormat: spec.archiveFormat,
            serializedFile: spec.serializedFile,
            handler: spec.handler,
            extraFiles: spec.extraFiles,
            requirementsFile: spec.requirementsFile,
        },
    };
}

/** The program's archive step (`publishArchive`) for a bench spec. */
export function publishBenchArchive(spec: BenchArchiveSpec): Promise<string> {
    fs.mkdirSync(spec.store, { recursive: true });
    return publishArchive(programArchiveSpec(spec));
}

/** Publishes one version into `spec.store` in `format`; returns its path there. */
export async function publishVersion(format: ServeFormat, spec: BenchArchiveSpec): Promise<string> {
    if (format !== "dir") {
        return publishBenchArchive({ ...spec, archiveFormat: format });
    }
    const target = path.join(spec.store, storeEntry(format, spec.model, spec.version));
    if (fs.existsSync(target)) {
        return target;
    }
    fs.mkdirSync(spec.store, { recursive: true });
    const staging = fs.mkdtempSync(path.join(spec.store, `.staging-${spec.model}.${spec.version}-`));
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tsbench-archiver-"));
    try {
        const result = spawnSync(spec.archiver, benchArchiverArgv({ ...spec, archiveFormat: "no-archive" }, staging), {
            encoding: "utf8",
            env: { ...process.env, TMPDIR: scratch, TEMP: scratch, TMP: scratch },
        });
        if (result.status !== 0) {
            throw new Error(`${spec.archiver} no-archive failed: ${result.stderr}`);
        }
        fs.renameSync(path.join(staging, spec.model), target);
        // The pods run as uid 1000 and read the store.
        fs.chmodSync(target, 0o755);
        return target;
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** Bytes of a file, or of every file under a directory. */
export function treeBytes(p: string): number {
    const stat = fs.lstatSync(p);
    if (!stat.isDirectory()) {
        return stat.isFile() ? stat.size : 0;
    }
    return fs.readdirSync(p).reduce((sum, name) => sum + treeBytes(path.join(p, name)), 0);
}

/** Every regular file under a path (for page-cache eviction). */
export function treeFiles(p: string): string[] {
    const stat = fs.lstatSync(p);
    if (!stat.isDirectory()) {
        return stat.isFile() ? [p] : [];
    }
    return fs.readdirSync(p).flatMap((name) => treeFiles(path.join(p, name)));
}

/** The program's config.properties for `input`, with every version named as a directory for `dir`. */
export function renderFormatConfig(format: ServeFormat, input: ConfigInput): string {
    return renderConfigProperties(format === "dir" ? { ...input, directories: input.versions } : input);
}

/**
 * The program's config.properties without any model (no `load_models`, no
 * `models`): the frontend-start floor. Same `key=value` lines otherwise.
 */
export function renderNoModelConfig(input: ConfigInput): string {
    const properties = buildConfigProperties(input);
    delete properties.load_models;
    delete properties.models;
    return `${Object.entries(properties)
        .map(([key, value]) => `${key}=${value}`)
        .join("\n")}\n`;
}
