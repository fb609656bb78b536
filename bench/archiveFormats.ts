/**
 * archive-formats: the archive step of a real model (make_sized_model.py's
 * TorchScript file) per format the store could keep, against `cp` of the
 * same file, and where the archiver's time goes.
 *
 * Cases (each into a fresh directory on the same file system, `sync` before
 * each, so one case's dirty pages do not slow the next; inputs warm in the
 * page cache as after a training run wrote them), timed as the step runs
 * (no fsync: the data may still be in the page cache) and until a `sync`
 * after it returned (the data is on disk):
 * - `cp` of model.pt (the floor);
 * - the program's archive step (`publishArchive`: the archiver into a staging
 *   directory in the store, rename into place) with `zip-store`, and with
 *   `default` (deflate);
 * - a per-version directory published the same way (`no-archive`, then the
 *   rename; see support/formats.ts);
 * - the `.mar` and the directory again with the archiver's TMPDIR on a tmpfs
 *   (/dev/shm: the archive step takes its scratch directory from os.tmpdir(),
 *   so a pipeline can set TMPDIR), so its copy of the inputs never hits the disk;
 * - the same directory with the weights copied by the step instead of the
 *   archiver: the archiver runs with an empty placeholder of the same name as
 *   --serialized-file (so handler, extra files and MANIFEST.json are the
 *   archiver's own, and the manifest is identical), then model.pt is copied
 *   over the placeholder (copy_file_range, like `cp`) before the rename.
 * - the same, with the weights copied while the archiver runs (then renamed
 *   over the placeholder), so the step takes about the longer of the two.
 * Then the archiver's phases (its own code, timed by support/archiver_phases.py).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { REPO } from "../test/e2e/support/environment";
import { run } from "../test/e2e/support/run";
import { BenchStore } from "./support/cases";
import {
    BenchArchiveSpec,
    benchArchiverArgv,
    publishBenchArchive,
    publishVersion,
    treeBytes,
    treeFiles,
} from "./support/formats";
import { loadAverage } from "./support/host";
import { ModelSize, formatBytes } from "./support/models";
import { median, row, sh } from "./measure";

/** Short keys of the cases (for the rollout model). */
const ARCHIVE_KEYS: Record<string, string> = {
    "`cp` model.pt (floor)": "cp",
    "archive step, `.mar` zip-store": "zip-store",
    "archive step, `.mar` zip-store, TMPDIR on tmpfs": "zip-store-shm",
    "archive step, `.mar` deflate": "default",
    "directory: archiver `no-archive` + rename": "dir",
    "directory: archiver `no-archive` + rename, TMPDIR on tmpfs": "dir-shm",
    "directory: archiver for the small files, weights by copy + rename": "dir-copy",
    "directory: as above, weights copied while the archiver runs": "dir-copy-parallel",
    "archive step, directory (the default: weights copied while the archiver runs)": "dir-step",
};

/** A tmpfs (RAM) for the archiver's copy of its inputs. */
const SHM = "/dev/shm";

/** Runs `fn` with TMPDIR set (the archive step takes its scratch directory from os.tmpdir()). */
async function withTmpdir<T>(dir: string, fn: () => T | Promise<T>): Promise<T> {
    const before = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
        return await fn();
    } finally {
        if (before === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = before;
    }
}

const PHASES_SCRIPT = path.join(REPO, "bench", "support", "archiver_phases.py");

/** The `dir` format with the weights copied by the step: archiver for the small files, then a copy. */
export function publishDirectoryCopyingWeights(spec: BenchArchiveSpec): string {
    const target = path.join(spec.store, `${spec.model}.${spec.version}`);
    const staging = fs.mkdtempSync(path.join(spec.store, `.staging-${spec.model}.${spec.version}-`));
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tsbench-archiver-"));
    try {
        const placeholder = path.join(scratch, "in", path.basename(spec.serializedFile));
        fs.mkdirSync(path.dirname(placeholder));
        fs.writeFileSync(placeholder, "");
        const argv = benchArchiverArgv({ ...spec, serializedFile: placeholder, archiveFormat: "no-archive" }, staging);
        const result = spawnSync(spec.archiver, argv, {
            encoding: "utf8",
            env: { ...process.env, TMPDIR: scratch, TEMP: scratch, TMP: scratch },
        });
        if (result.status !== 0) {
            throw new Error(`${spec.archiver} failed: ${result.stderr}`);
        }
        fs.copyFileSync(spec.serializedFile, path.join(staging, spec.model, path.basename(spec.serializedFile)));
        fs.renameSync(path.join(staging, spec.model), target);
        return target;
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/**
 * As {@link publishDirectoryCopyingWeights}, with the weights copied while the archiver runs (the copy
 * runs in libuv's thread pool, the archiver in its own process), then renamed over the placeholder: the
 * step takes about as long as the slower of the two.
 */
export async function publishDirectoryCopyingWeightsInParallel(spec: BenchArchiveSpec): Promise<string> {
    const target = path.join(spec.store, `${spec.model}.${spec.version}`);
    const staging = fs.mkdtempSync(path.join(spec.store, `.staging-${spec.model}.${spec.version}-`));
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tsbench-archiver-"));
    try {
        const placeholder = path.join(scratch, "in", path.basename(spec.serializedFile));
        fs.mkdirSync(path.dirname(placeholder));
        fs.writeFileSync(placeholder, "");
        const weights = path.join(staging, "weights.partial");
        const copy = fs.promises.copyFile(spec.serializedFile, weights);
        const argv = benchArchiverArgv({ ...spec, serializedFile: placeholder, archiveFormat: "no-archive" }, staging);
        const archived = await run(spec.archiver, argv, {
            env: { ...process.env, TMPDIR: scratch, TEMP: scratch, TMP: scratch },
        });
        await copy;
        if (archived.code !== 0) {
            throw new Error(`${spec.archiver} failed: ${archived.stderr}`);
        }
        fs.renameSync(weights, path.join(staging, spec.model, path.basename(spec.serializedFile)));
        fs.renameSync(path.join(staging, spec.model), target);
        return target;
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

/** Every file's path and sha256 under a directory, MANIFEST.json without its createdOn and version. */
function treeDigest(dir: string): string {
    return treeFiles(dir)
        .sort()
        .map((file) => {
            const rel = path.relative(dir, file);
            if (rel === path.join("MAR-INF", "MANIFEST.json")) {
                const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
                delete manifest.createdOn;
                delete manifest.model.modelVersion;
                return `${rel} ${JSON.stringify(manifest)}`;
            }
            return `${rel} ${crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")}`;
        })
        .join("\n");
}

export async function benchArchiveFormats(
    bench: BenchStore,
    sizes: readonly ModelSize[],
    runs: number,
    log: (line: string) => void,
): Promise<{ lines: string[]; medians: Map<string, Record<string, number>> }> {
    const lines: string[] = [];
    const medians = new Map<string, Record<string, number>>();
    const out = path.join(bench.work, "archive-out");
    for (const size of sizes.filter((s) => s.hidden > 0)) {
        const files = bench.files(size, "v1");
        let serial = 0;
        const spec = (format: string): BenchArchiveSpec => ({
            ...bench.archiveSpec(size, "dir", "v1", files),
            store: out,
            model: "bench",
            version: `r${++serial}`,
            archiveFormat: format,
        });
        const cases: Record<string, () => string | Promise<string>> = {
            "`cp` model.pt (floor)": () => {
                const target = path.join(out, "model.pt");
                sh("cp", [files.serializedFile, target]);
                return target;
            },
            "archive step, `.mar` zip-store": () => publishBenchArchive(spec("zip-store")),
            "archive step, `.mar` zip-store, TMPDIR on tmpfs": () =>
                withTmpdir(SHM, () => publishBenchArchive(spec("zip-store"))),
            "archive step, `.mar` deflate": () => publishBenchArchive(spec("default")),
            "archive step, directory (the default: weights copied while the archiver runs)": () =>
                publishBenchArchive(spec("directory")),
            "directory: archiver `no-archive` + rename": () => publishVersion("dir", spec("no-archive")),
            "directory: archiver `no-archive` + rename, TMPDIR on tmpfs": () =>
                withTmpdir(SHM, () => publishVersion("dir", spec("no-archive"))),
            "directory: archiver for the small files, weights by copy + rename": () =>
                publishDirectoryCopyingWeights(spec("no-archive")),
            "directory: as above, weights copied while the archiver runs": () =>
                publishDirectoryCopyingWeightsInParallel(spec("no-archive")),
        };
        // The variants must publish exactly what the archiver's no-archive publishes.
        const check = path.join(bench.work, "archive-check");
        fs.rmSync(check, { recursive: true, force: true });
        fs.mkdirSync(check, { recursive: true });
        const same = { ...spec("no-archive"), store: check };
        const reference = treeDigest(await publishVersion("dir", { ...same, version: "a" }));
        const copied = treeDigest(publishDirectoryCopyingWeights({ ...same, version: "b" }));
        const parallel = treeDigest(await publishDirectoryCopyingWeightsInParallel({ ...same, version: "c" }));
        fs.rmSync(check, { recursive: true, force: true });
        const identical = copied === reference && parallel === reference;
        log(`${size.label}: the copying variants publish the archiver's files: ${identical}`);
        if (!identical) {
            throw new Error(`variant output differs:\n${reference}\n${copied}\n${parallel}`);
        }

        const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
        const durable: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
        const bytes: Record<string, number> = {};
        const loads: number[] = [];
        for (let round = 0; round < runs; round++) {
            for (const [name, fn] of Object.entries(cases)) {
                fs.rmSync(out, { recursive: true, force: true });
                fs.mkdirSync(out, { recursive: true });
                spawnSync("sync");
                loads.push(loadAverage());
                const start = performance.now();
                const made = await fn();
                const seconds = (performance.now() - start) / 1000;
                spawnSync("sync");
                samples[name].push(seconds);
                durable[name].push((performance.now() - start) / 1000);
                bytes[name] = treeBytes(made);
                log(`${size.label} ${name}: ${seconds.toFixed(2)} s (load ${loads[loads.length - 1].toFixed(2)})`);
            }
        }
        // Where the archiver's time goes (its own code, phases timed), zip-store and no-archive.
        const phases: Record<string, Record<string, number[]>> = {};
        for (let round = 0; round < runs; round++) {
            for (const format of ["zip-store", "no-archive"]) {
                fs.rmSync(out, { recursive: true, force: true });
                fs.mkdirSync(out, { recursive: true });
                spawnSync("sync");
                const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tsbench-archiver-"));
                try {
                    const python = path.join(path.dirname(bench.archiveSpec(size, "dir", "v1").archiver), "python");
                    const json = sh(python, [PHASES_SCRIPT, ...benchArchiverArgv(spec(format), out)], {
                        env: { ...process.env, TMPDIR: scratch, TEMP: scratch, TMP: scratch },
                    });
                    const p = JSON.parse(json.trim().split("\n").pop()!) as Record<string, number>;
                    phases[format] ??= {};
                    for (const [k, v] of Object.entries(p)) (phases[format][k] ??= []).push(v);
                } finally {
                    fs.rmSync(scratch, { recursive: true, force: true });
                }
            }
        }
        fs.rmSync(out, { recursive: true, force: true });

        medians.set(
            size.key,
            Object.fromEntries(Object.entries(samples).map(([name, xs]) => [ARCHIVE_KEYS[name], median(xs)])),
        );
        const floor = median(samples["`cp` model.pt (floor)"]);
        lines.push(
            `**Archive step, ${size.label} model** (${formatBytes(files.bytes)} TorchScript file; medians of ${runs}; ` +
                `load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}):`,
            "",
            "| step | median s | min-max s | × `cp` | until on disk (+ `sync`) s | × `cp` + `sync` | bytes written |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            ...Object.entries(samples).map(([name, xs]) =>
                row([
                    name,
                    median(xs),
                    `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`,
                    median(xs) / floor,
                    median(durable[name]),
                    median(durable[name]) / median(durable["`cp` model.pt (floor)"]),
                    formatBytes(bytes[name]),
                ]),
            ),
            "",
            `**Inside the archiver, ${size.label}** (support/archiver_phases.py; medians s):`,
            "",
            "| format | imports | copy inputs to $TMPDIR | write the archive from the copy | remove the copy | total in Python |",
            "| --- | --- | --- | --- | --- | --- |",
            ...Object.entries(phases).map(([format, p]) =>
                row([
                    format,
                    median(p.imports),
                    median(p.copy_artifacts),
                    median(p.archive),
                    median(p.remove_copy ?? [0]),
                    median(p.total),
                ]),
            ),
            "",
        );
    }
    return { lines, medians };
}
