/**
 * Models of real sizes, made at bench time (never committed): the tiny
 * fixture (test/fixtures/model/make_model.py) and TorchScript MLPs of about
 * 100 MiB and 1 GiB of float32 weights (make_sized_model.py), each in several
 * versions that answer differently, with the answer to [1, 2, 3, 4] that a
 * server must give.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "../../test/e2e/support/environment";

const FIXTURES = path.join(REPO, "test", "fixtures", "model");
export const HANDLER = path.join(FIXTURES, "handler.py");

/** A model size: the fixture (hidden 0) or an MLP of hidden width H, (H*H + 8H + 2) float32 weights. */
export interface ModelSize {
    /** `fixture`, `100MiB`, `1GiB`, ... */
    readonly label: string;
    /** Used in model names (letters and digits). */
    readonly key: string;
    readonly hidden: number;
}

/** BENCH_SIZES: a comma list of `fixture` and sizes in MiB (default `fixture,100,1024`). */
export function parseSizes(spec = process.env.BENCH_SIZES ?? "fixture,100,1024"): ModelSize[] {
    return spec.split(",").map((word) => {
        if (word === "fixture") {
            return { label: "fixture", key: "fixture", hidden: 0 };
        }
        const mib = Number(word);
        if (!Number.isFinite(mib) || mib <= 0) {
            throw new Error(`BENCH_SIZES: '${word}' is neither 'fixture' nor a size in MiB`);
        }
        // Weights of H*H + 8H + 2 floats: H = sqrt(MiB * 2^20 / 4) gives the size within 0.1%.
        const hidden = Math.round(Math.sqrt((mib * 2 ** 20) / 4));
        return { label: mib % 1024 === 0 ? `${mib / 1024}GiB` : `${mib}MiB`, key: `m${mib}`, hidden };
    });
}

/** One version's files. */
export interface ModelFiles {
    readonly serializedFile: string;
    readonly labels: string;
    /** Size of model.pt. */
    readonly bytes: number;
    /** What the model answers to [1, 2, 3, 4]. */
    readonly check: readonly number[];
}

/** Makes version `scale` of a model into `dir` (reuses it when it is already there). */
export function makeModelFiles(venv: string, dir: string, size: ModelSize, scale: number): ModelFiles {
    const done = path.join(dir, "made.json");
    if (!fs.existsSync(done)) {
        const script = size.hidden > 0 ? "make_sized_model.py" : "make_model.py";
        const args = [path.join(FIXTURES, script), dir, "--scale", String(scale)];
        if (size.hidden > 0) {
            args.push("--hidden", String(size.hidden));
        }
        const out = execFileSync(path.join(venv, "bin", "python"), args, { encoding: "utf8" });
        fs.writeFileSync(done, out.trim().split("\n").pop()!);
    }
    const report = JSON.parse(fs.readFileSync(done, "utf8"));
    const serializedFile = path.join(dir, "model.pt");
    return {
        serializedFile,
        labels: path.join(dir, "labels.json"),
        bytes: fs.statSync(serializedFile).size,
        check: report.check_output,
    };
}

/** True when two answers agree (float32 round-off allowed). */
export function sameAnswer(a: readonly number[], b: readonly number[]): boolean {
    return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])));
}

/** Bytes in MiB or GiB, for tables. */
export function formatBytes(bytes: number): string {
    const mib = bytes / 2 ** 20;
    if (!Number.isFinite(bytes)) {
        return "–";
    }
    return mib >= 1024
        ? `${(mib / 1024).toFixed(2)} GiB`
        : mib >= 1
          ? `${mib.toFixed(0)} MiB`
          : `${(bytes / 1024).toFixed(0)} KiB`;
}
