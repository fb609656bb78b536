/** Paths and tools of the pipelines suite (scripts/test.sh pipelines installs the tools). */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root (this file runs from bin/test/pipelines/support/). */
export const REPO = path.resolve(__dirname, "..", "..", "..", "..");

export function repoFile(...parts: string[]): string {
    return path.join(REPO, ...parts);
}

export function readRepoFile(...parts: string[]): string {
    return fs.readFileSync(repoFile(...parts), "utf8");
}

/** The kfp venv of scripts/kfp-env.sh; fails when it has not been built. */
export function kfpVenv(): string {
    const venv = execFileSync("bash", [repoFile("scripts", "kfp-env.sh"), "--print"], { encoding: "utf8" }).trim();
    if (!fs.existsSync(path.join(venv, ".torchserve-stack-complete"))) {
        throw new Error(`no kfp venv at ${venv}: run scripts/kfp-env.sh (scripts/test.sh pipelines does)`);
    }
    return venv;
}

/** The actionlint binary: built by scripts/tools.sh, or an accepted one already on PATH. */
export function actionlint(): string {
    const dir = execFileSync("bash", [repoFile("scripts", "tools.sh"), "--path", "actionlint"], {
        encoding: "utf8",
    }).trim();
    if (dir) return path.join(dir, "actionlint");
    return execFileSync("bash", ["-c", "command -v actionlint"], { encoding: "utf8" }).trim();
}

/** The Pulumi CLI of scripts/tools.sh (or an accepted one already on PATH). */
export function pulumiCli(): string {
    const dir = execFileSync("bash", [repoFile("scripts", "tools.sh"), "--path", "pulumi"], {
        encoding: "utf8",
    }).trim();
    if (dir) return path.join(dir, "pulumi");
    return execFileSync("bash", ["-c", "command -v pulumi"], { encoding: "utf8" }).trim();
}

/** A value pinned in scripts/tools.sh, e.g. toolsPin("PULUMI_VERSION") = "v3.259.0". */
export function toolsPin(name: string): string {
    const m = new RegExp(`^${name}=([^\\s#]+)`, "m").exec(readRepoFile("scripts", "tools.sh"));
    if (!m) throw new Error(`scripts/tools.sh pins no ${name}`);
    return m[1];
}

/** An exact pin NAME==VERSION in a requirements file. */
export function requirementPin(file: string, name: string): string {
    const m = new RegExp(`^${name.replace(/[-_]/g, "[-_]")}==([^\\s#;]+)`, "mi").exec(readRepoFile(file));
    if (!m) throw new Error(`${file} pins no ${name}`);
    return m[1];
}

export function packageJson(): {
    engines: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    scripts: Record<string, string>;
} {
    return JSON.parse(readRepoFile("package.json"));
}

/** The stacks whose Pulumi.<stack>.yaml is committed. */
export function committedStacks(): string[] {
    return fs
        .readdirSync(REPO)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}
