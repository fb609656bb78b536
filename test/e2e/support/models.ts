/** Real model artifacts for the end-to-end tests, made by the fixture's make_model.py with torch. */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./environment";
import { runOk } from "./run";

export const HANDLER = path.join(REPO, "test", "fixtures", "model", "handler.py");

/** Writes model.pt and labels.json for one "training run" into `dir`; `scale` makes its answers differ. */
export async function makeModel(
    venv: string,
    dir: string,
    scale: number,
): Promise<{ serializedFile: string; labels: string }> {
    await runOk(path.join(venv, "bin", "python"), [
        path.join(REPO, "test", "fixtures", "model", "make_model.py"),
        dir,
        "--scale",
        String(scale),
    ]);
    return { serializedFile: path.join(dir, "model.pt"), labels: path.join(dir, "labels.json") };
}

/** model.modelName and model.modelVersion from an archive's (or a model directory's) MAR-INF/MANIFEST.json. */
export async function readManifest(
    venv: string,
    archive: string,
): Promise<{ modelName: string; modelVersion: string }> {
    if (fs.statSync(archive).isDirectory()) {
        return JSON.parse(fs.readFileSync(path.join(archive, "MAR-INF", "MANIFEST.json"), "utf8")).model;
    }
    const script =
        "import json,sys,zipfile; print(json.dumps(json.loads(zipfile.ZipFile(sys.argv[1]).read('MAR-INF/MANIFEST.json'))['model']))";
    const result = await runOk(path.join(venv, "bin", "python"), ["-c", script, archive]);
    return JSON.parse(result.stdout);
}

/** Sorted file names in a directory ([] when it does not exist), without the store's hidden state directory. */
export function listDir(dir: string): string[] {
    return fs.existsSync(dir)
        ? fs
              .readdirSync(dir)
              .filter((name) => name !== ".torchserve-stack")
              .sort()
        : [];
}

/** sha256 over every file under a directory: its relative path and its bytes, in sorted order. */
export function treeSha256(dir: string): string {
    const hash = crypto.createHash("sha256");
    const files = fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort();
    for (const file of files) {
        hash.update(`${file}\n`).update(fs.readFileSync(path.join(dir, file)));
    }
    return hash.digest("hex");
}

/** Each file of a directory with its modification time in nanoseconds, sorted: what a step that ran would change. */
export function mtimes(dir: string): string[] {
    return listDir(dir).map((name) => `${name} ${fs.statSync(path.join(dir, name), { bigint: true }).mtimeNs}`);
}
