/**
 * The benchmark's model store: every size in every format, three versions
 * each, published once (as three deploys would), and the serve cases that
 * load one or three of them. One store directory, one model name per size and
 * format (`m1024-dir`, `m100-zip`, ...), so the pods share one claim.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FileChecks, Settings, TorchServeStackArgs, resolveSettings } from "../../components/config";
import { realFiles } from "../../test/support/fixtures";
import { BenchArchiveSpec, ServeFormat, publishVersion, storeEntry, treeBytes, treeFiles } from "./formats";
import { HANDLER, ModelFiles, ModelSize, makeModelFiles } from "./models";

export const FORMAT_KEYS: Record<ServeFormat, string> = { "zip-store": "zip", default: "deflate", dir: "dir" };

/** Versions of every model, in deploy order; a pod of the last one loads the newest `count`. */
export const VERSIONS = ["v1", "v2", "v3"];

/** One way of serving: a size, a format, and how many versions each pod loads. */
export interface ServeCase {
    /** The model name in the store (and the case's id). */
    readonly model: string;
    readonly size: ModelSize;
    readonly format: ServeFormat;
    readonly count: number;
    /** Loaded versions, the deployed (default) one first. */
    readonly versions: readonly string[];
    /** What each loaded version answers to [1, 2, 3, 4]. */
    readonly checks: Readonly<Record<string, readonly number[]>>;
    /** The loaded versions' files in the store (evicted from the page cache before each run). */
    readonly files: readonly string[];
    /** model.pt bytes of one version. */
    readonly modelBytes: number;
    /** Bytes one version takes in the store. */
    readonly entryBytes: number;
}

export class BenchStore {
    readonly store: string;
    private readonly models: string;
    private readonly made = new Map<string, ModelFiles>();

    constructor(
        readonly work: string,
        private readonly venv: string,
    ) {
        this.store = path.join(work, "store");
        this.models = path.join(work, "models");
        fs.mkdirSync(this.store, { recursive: true });
        // The pods (uid 1000) read the store through a hostPath volume.
        for (let dir = this.store; dir !== path.dirname(dir); dir = path.dirname(dir)) {
            if (dir.startsWith("/tmp/") || dir.startsWith(work)) {
                fs.chmodSync(dir, fs.statSync(dir).mode | 0o755);
            }
        }
    }

    /** Version `version` (v1, v2, ...) of a size's model; its answers scale with the version number. */
    files(size: ModelSize, version: string): ModelFiles {
        const key = `${size.key}/${version}`;
        if (!this.made.has(key)) {
            const scale = Number(version.slice(1));
            this.made.set(key, makeModelFiles(this.venv, path.join(this.models, size.key, version), size, scale));
        }
        return this.made.get(key)!;
    }

    modelName(size: ModelSize, format: ServeFormat): string {
        return `${size.key}-${FORMAT_KEYS[format]}`;
    }

    archiveSpec(
        size: ModelSize,
        format: ServeFormat,
        version: string,
        files = this.files(size, version),
    ): BenchArchiveSpec {
        return {
            store: this.store,
            model: this.modelName(size, format),
            version,
            archiver: path.join(this.venv, "bin", "torch-model-archiver"),
            serializedFile: files.serializedFile,
            handler: HANDLER,
            extraFiles: [files.labels],
            archiveFormat: format === "dir" ? "no-archive" : format,
        };
    }

    /** The case of `count` loaded versions (publishes the versions it needs, once). */
    async serveCase(size: ModelSize, format: ServeFormat, count: number): Promise<ServeCase> {
        const model = this.modelName(size, format);
        const checks: Record<string, readonly number[]> = {};
        const files: string[] = [];
        let entryBytes = 0;
        let modelBytes = 0;
        for (const version of VERSIONS) {
            const made = this.files(size, version);
            const entry = path.join(this.store, storeEntry(format, model, version));
            if (!fs.existsSync(entry)) {
                await publishVersion(format, this.archiveSpec(size, format, version, made));
            }
            checks[version] = made.check;
            modelBytes = made.bytes;
            entryBytes = treeBytes(entry);
        }
        const versions = VERSIONS.slice(-count).reverse();
        for (const version of versions) {
            files.push(...treeFiles(path.join(this.store, storeEntry(format, model, version))));
        }
        return { model, size, format, count, versions, checks, files, modelBytes, entryBytes };
    }

    /** The model.pt of a size's newest version in the store (its directory entry), for the floor. */
    async floorFile(size: ModelSize): Promise<string> {
        await this.serveCase(size, "dir", 1);
        return path.join(
            this.store,
            storeEntry("dir", this.modelName(size, "dir"), VERSIONS[VERSIONS.length - 1]),
            "model.pt",
        );
    }

    /** The stack settings of a case's pods (defaults except the model and the store). */
    settings(c: Pick<ServeCase, "model" | "count">, extra: Partial<TorchServeStackArgs> = {}): Settings {
        return resolveSettings(
            {
                namespace: "tsbench",
                modelName: c.model,
                // Any existing file passes validation; the store already holds the versions.
                serializedFile: HANDLER,
                handler: HANDLER,
                modelStorePath: this.store,
                modelStoreHostPath: this.store,
                modelStoreProtect: false,
                archiveKeep: c.count,
                // BENCH_POD_SETTINGS: stack config overrides for every pod, e.g. {"cpuLimit":"2","cpuRequest":"2"}.
                ...(JSON.parse(process.env.BENCH_POD_SETTINGS ?? "{}") as Partial<TorchServeStackArgs>),
                ...extra,
            },
            realFiles as FileChecks,
        );
    }
}

/** Kubernetes quantities: `4Gi`, `512Mi`, `1G` (bytes) or `1`, `250m` (CPUs). */
export function quantity(q: string): number {
    const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/.exec(q);
    if (!m) {
        throw new Error(`unknown quantity ${q}`);
    }
    const factor: Record<string, number> = {
        Ki: 2 ** 10,
        Mi: 2 ** 20,
        Gi: 2 ** 30,
        Ti: 2 ** 40,
        k: 1e3,
        M: 1e6,
        G: 1e9,
        T: 1e12,
        m: 1e-3,
    };
    return Number(m[1]) * (m[2] ? factor[m[2]] : 1);
}
