import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    ArchiveSpec,
    RotateSpec,
    archiveCommand,
    archiveSpec,
    archiverArgv,
    archiverFormat,
    parseArchiveArgs,
    parseRotateArgs,
    rotateCommand,
    scriptPath,
} from "../../../components/cli";
import { resolveSettings, shellQuote } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

const owner = { stack: "organization/torchserve-stack/prod", namespace: "ml-prod", appName: "torchserve" };

const spec: ArchiveSpec = {
    store: "/mnt/model store",
    subdir: "ml-prod/torchserve",
    owner,
    model: "demo",
    version: "v2",
    fingerprint: "ab".repeat(32),
    bytes: 1234,
    served: ["v2", "v1"],
    directories: ["v2"],
    build: {
        archiver: "torch-model-archiver",
        archiveFormat: "zip-store",
        serializedFile: "models/model.pt",
        handler: "handler.py",
        extraFiles: ["labels.json", "index's.bin"],
        requirementsFile: "requirements.txt",
    },
};

/** What sh really passes to a program for a command line. */
function wordsAsShellSees(commandLine: string): string[] {
    const out = execFileSync("sh", ["-c", `set -- ${commandLine}; for w in "$@"; do printf '%s\\0' "$w"; done`], {
        encoding: "utf8",
    });
    return out.split("\0").slice(0, -1);
}

describe("command lines", () => {
    it("quotes words so sh passes them through unchanged", () => {
        const words = ["plain", "with space", "it's", "$HOME", "a;b", "`x`", "*", ""];
        assert.deepEqual(wordsAsShellSees(words.map(shellQuote).join(" ")), words);
    });

    it("passes every flag of the original archive step, plus the format, to torch-model-archiver", () => {
        assert.deepEqual(archiverArgv("demo", "v2", spec.build!, "/stage"), [
            "--model-name",
            "demo",
            "--version",
            "v2",
            "--serialized-file",
            "models/model.pt",
            "--handler",
            "handler.py",
            "--extra-files",
            "labels.json,index's.bin",
            "--requirements-file",
            "requirements.txt",
            "--export-path",
            "/stage",
            "--archive-format",
            "zip-store",
            "--force",
        ]);
    });

    it("omits optional archiver flags that are not set", () => {
        const argv = archiverArgv("demo", "v2", { ...spec.build!, extraFiles: [], requirementsFile: undefined }, "/s");
        assert.ok(!argv.includes("--extra-files") && !argv.includes("--requirements-file"));
    });

    it("gives the archive step exactly the spec the program built, through the shell (new files)", () => {
        const words = wordsAsShellSees(archiveCommand("components/cli/archive.js", spec));
        assert.deepEqual(words.slice(0, 2), ["node", "components/cli/archive.js"]);
        assert.deepEqual(parseArchiveArgs(words.slice(2)), spec);
    });

    it("reads a command line from before directories (no --directories) as every served version a .mar", () => {
        const marOnly: ArchiveSpec = { ...spec, directories: [] };
        const words = wordsAsShellSees(archiveCommand("a.js", marOnly));
        assert.ok(!words.includes("--directories"), "no flag when nothing is a directory");
        assert.deepEqual(parseArchiveArgs(words.slice(2)), marOnly);
    });

    it("runs the archiver with no-archive for a directory, and a .mar's format otherwise", () => {
        assert.equal(archiverFormat("dir", "zip-store"), "no-archive");
        assert.equal(archiverFormat("dir", "directory"), "no-archive");
        assert.equal(archiverFormat("mar", "default"), "default");
        assert.equal(archiverFormat("mar", "directory"), "zip-store", "a version the release names as a .mar");
    });

    it("gives the archive step a switch to an archived version (no files, fingerprint unknown)", () => {
        const switchSpec: ArchiveSpec = {
            ...spec,
            fingerprint: "",
            bytes: 0,
            served: ["v1"],
            directories: [],
            build: undefined,
        };
        const words = wordsAsShellSees(archiveCommand("a.js", switchSpec));
        assert.ok(!words.includes("--serialized-file") && !words.includes("--archiver"));
        assert.deepEqual(parseArchiveArgs(words.slice(2)), switchSpec);
    });

    it("gives the rotation step the versions to keep, in order, through the shell", () => {
        const rotate: RotateSpec = { store: "/s p", subdir: "ns/app", owner, model: "demo", keep: ["v5", "v3", "v4"] };
        const words = wordsAsShellSees(rotateCommand("r.js", rotate));
        assert.deepEqual(parseRotateArgs(words.slice(2)), rotate);
    });

    it("refuses step arguments with a flag missing or unknown", () => {
        const words = wordsAsShellSees(archiveCommand("a.js", spec)).slice(2);
        const withoutServed = words.filter((w, i) => w !== "--served" && words[i - 1] !== "--served");
        assert.throws(() => parseArchiveArgs(withoutServed), /missing --served/);
        assert.throws(() => parseRotateArgs(["--store", "/s", "--keepp", "v1"]), /Unknown option '--keepp'/);
    });

    it("takes the archive step's parameters from the model settings and the planned release", () => {
        const fixture = makeModelDir();
        const requirementsFile = path.join(fixture.dir, "requirements.txt");
        const model = resolveSettings({ ...fixture.args, requirementsFile, archiveFormat: "default" }, realFiles).model;
        const release = {
            version: "v9",
            fingerprint: "f".repeat(64),
            bytes: 42,
            served: ["v9", "v8"],
            directories: ["v9"],
        };
        assert.deepEqual(archiveSpec(model, owner, release), {
            store: fixture.store,
            subdir: "ml-dev/torchserve",
            owner,
            model: "demo",
            ...release,
            build: {
                archiver: "torch-model-archiver",
                archiveFormat: "default",
                serializedFile: fixture.args.serializedFile,
                handler: fixture.args.handler,
                extraFiles: fixture.args.extraFiles,
                requirementsFile,
            },
        });
        const switching = resolveSettings(
            { ...fixture.args, serializedFile: undefined, modelVersion: "v8" },
            realFiles,
        );
        assert.equal(archiveSpec(switching.model, owner, release).build, undefined, "no files: no build");
        assert.throws(() => archiveSpec({ ...model, storePath: undefined }, owner, release), /modelStorePath/);
    });

    it("refers to the scripts relative to the project directory", () => {
        const projectDir = path.resolve(__dirname, "..", "..", "..", "..");
        assert.equal(scriptPath(projectDir, "archive"), path.join("bin", "components", "cli", "archive.js"));
        assert.ok(fs.existsSync(path.join(projectDir, scriptPath(projectDir, "rotate"))));
    });
});
