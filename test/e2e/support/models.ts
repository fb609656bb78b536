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

/** model.modelName and model.modelVersion from an archive's MAR-INF/MANIFEST.json. */
export async function readManifest(
    venv: string,
    archive: string,
): Promise<{ modelName: string; modelVersion: string }> {
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

/** sha256 of a file's bytes. */
export function sha256(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Each file of a directory with its modification time in nanoseconds, sorted: what a step that ran would change. */
export function mtimes(dir: string): string[] {
    return listDir(dir).map((name) => `${name} ${fs.statSync(path.join(dir, name), { bigint: true }).mtimeNs}`);
}
