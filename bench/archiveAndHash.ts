/**
 * Archive and hash costs of a large serialized model against their floors:
 * each torch-model-archiver format against `cp` of the file, and the
 * version hash against `sha256sum`, plus the unchanged re-run.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { publishArchive } from "../components/cli/archive";
import { FileHashCache, sha256OfFile } from "../components/store";
import { row, sh, sideBySide, time } from "./measure";

/** Writes `mib` MiB of random bytes (weights compress about as badly). */
export function makeModelFile(file: string, mib: number): void {
    const chunk = Buffer.alloc(1024 * 1024);
    const fd = fs.openSync(file, "w");
    try {
        for (let i = 0; i < mib; i++) {
            crypto.randomFillSync(chunk);
            fs.writeSync(fd, chunk);
        }
    } finally {
        fs.closeSync(fd);
    }
}

export async function benchArchive(
    work: string,
    model: string,
    handler: string,
    archiver: string,
    runs: number,
): Promise<string[]> {
    const out = path.join(work, "out");
    const fresh = () => {
        fs.rmSync(out, { recursive: true, force: true });
        fs.mkdirSync(out);
    };
    const archive = (format: string) => () => {
        fresh();
        sh(archiver, [
            "--model-name",
            "bench",
            "--version",
            "1",
            "--serialized-file",
            model,
            "--handler",
            handler,
            "--export-path",
            out,
            "--archive-format",
            format,
            "-f",
        ]);
    };
    let version = 0;
    const storeRoot = () => {
        const root = path.join(work, "store");
        fs.mkdirSync(root, { recursive: true });
        return root;
    };
    const medians = await sideBySide(
        {
            "cp (floor)": () => {
                fresh();
                sh("cp", [model, path.join(out, "model.pt")]);
            },
            "archiver zip-store": archive("zip-store"),
            "archiver default (deflate)": archive("default"),
            "archiver tgz": archive("tgz"),
            "archiver no-archive": archive("no-archive"),
            // The product's archive step: archiver (zip-store) + rename into the store + touch.
            "archive step (zip-store)": () =>
                publishArchive({
                    store: storeRoot(),
                    subdir: "bench/torchserve",
                    owner: { stack: "organization/torchserve-stack/bench", namespace: "bench", appName: "torchserve" },
                    model: "bench",
                    version: `v${++version}`,
                    fingerprint: `bench-${version}`,
                    bytes: 0,
                    served: [`v${version}`],
                    directories: [],
                    build: { archiver, serializedFile: model, handler, extraFiles: [], archiveFormat: "zip-store" },
                }),
        },
        runs,
    );
    fs.rmSync(path.join(work, "store"), { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
    const floor = medians["cp (floor)"];
    return [
        "| archiving | median s | × cp |",
        "| --- | --- | --- |",
        ...Object.entries(medians).map(([name, seconds]) => row([name, seconds, seconds / floor])),
    ];
}

export async function benchHash(work: string, model: string, runs: number): Promise<string[]> {
    const cacheFile = path.join(work, "hashes.json");
    const warm = new FileHashCache(cacheFile);
    warm.hashFile(model);
    warm.save();
    let rereads = 0;
    const medians = await sideBySide(
        {
            "sha256sum (floor)": () => sh("sha256sum", [model]),
            "full hash (sha256OfFile)": () => sha256OfFile(model),
            "unchanged re-run (cached)": () => {
                const cache = new FileHashCache(cacheFile);
                cache.hashFile(model);
                rereads += cache.reads;
            },
        },
        runs,
    );
    const floor = medians["sha256sum (floor)"];
    const full = medians["full hash (sha256OfFile)"];
    return [
        "| version hashing | median s | × sha256sum | % of a full hash |",
        "| --- | --- | --- | --- |",
        ...Object.entries(medians).map(([name, seconds]) =>
            row([name, seconds, seconds / floor, `${((seconds / full) * 100).toFixed(3)}%`]),
        ),
        "",
        `Unchanged re-runs read the file ${rereads} times in ${runs} runs.`,
    ];
}

export { time };
