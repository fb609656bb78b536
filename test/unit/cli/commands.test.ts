import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../../support/tempDir";
import { describe, it } from "node:test";
import {
    ArchiveSpec,
    archiveCommand,
    archiveSpec,
    archiverArgv,
    rotateCommand,
    scriptPath,
} from "../../../components/cli";
import { resolveSettings, shellQuote } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";
import { publishArchive } from "../../../components/cli/archive";

const spec: ArchiveSpec = {
    store: "/mnt/model store",
    model: "demo",
    version: "v2",
    archiver: "torch-model-archiver",
    serializedFile: "models/model.pt",
    handler: "handler.py",
    extraFiles: ["labels.json", "index's.bin"],
    requirementsFile: "requirements.txt",
    archiveFormat: "zip-store",
};

/** What sh really passes to a program for a command line. */
function wordsAsShellSees(commandLine: string): string[] {
    const out = execFileSync(
        "sh",
        [
            "-c",
            `for w in ${commandLine}; do printf '%s\\0' "$w"; done`
                .replace("for w in", "set --")
                .replace("; do printf '%s\\0' \"$w\"; done", '; for w in "$@"; do printf \'%s\\0\' "$w"; done'),
        ],
        { encoding: "utf8" },
    );
    return out.split("\0").slice(0, -1);
}

describe("command lines", () => {
    it("quotes words so sh passes them through unchanged", () => {
        const words = ["plain", "with space", "it's", "$HOME", "a;b", "`x`", "*", ""];
        assert.deepEqual(wordsAsShellSees(words.map(shellQuote).join(" ")), words);
    });

    it("passes every flag of the original archive step, plus the format, to torch-model-archiver", () => {
        assert.deepEqual(archiverArgv(spec, "/stage"), [
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

    it("omits optional flags that are not set", () => {
        const argv = archiverArgv({ ...spec, extraFiles: [], requirementsFile: undefined }, "/stage");
        assert.ok(!argv.includes("--extra-files") && !argv.includes("--requirements-file"));
    });

    it("builds archive and rotate commands whose words survive the shell", () => {
        const words = wordsAsShellSees(archiveCommand("bin/components/cli/archive.js", spec));
        assert.deepEqual(words.slice(0, 4), ["node", "bin/components/cli/archive.js", "--store", "/mnt/model store"]);
        assert.ok(words.includes("index's.bin"));
        assert.deepEqual(
            wordsAsShellSees(rotateCommand("r.js", { store: "/s", model: "demo", current: "v2", keep: 3 })),
            ["node", "r.js", "--store", "/s", "--model", "demo", "--current", "v2", "--keep", "3"],
        );
    });

    it("gives the archive step every parameter as its flags (what cli/archive.ts parses)", () => {
        assert.deepEqual(wordsAsShellSees(archiveCommand("a.js", spec)), [
            "node",
            "a.js",
            "--store",
            "/mnt/model store",
            "--model",
            "demo",
            "--version",
            "v2",
            "--archiver",
            "torch-model-archiver",
            "--serialized-file",
            "models/model.pt",
            "--handler",
            "handler.py",
            "--extra-file",
            "labels.json",
            "--extra-file",
            "index's.bin",
            "--requirements-file",
            "requirements.txt",
            "--archive-format",
            "zip-store",
        ]);
        const bare = wordsAsShellSees(archiveCommand("a.js", { ...spec, extraFiles: [], requirementsFile: undefined }));
        assert.deepEqual(bare.slice(10), [
            "--serialized-file",
            "models/model.pt",
            "--handler",
            "handler.py",
            "--archive-format",
            "zip-store",
        ]);
    });

    it("takes the archive step's parameters from the model settings and the version", () => {
        const fixture = makeModelDir();
        const requirementsFile = path.join(fixture.dir, "requirements.txt");
        const model = resolveSettings({ ...fixture.args, requirementsFile, archiveFormat: "default" }, realFiles).model;
        assert.deepEqual(archiveSpec(model, "v9"), {
            store: fixture.store,
            model: "demo",
            version: "v9",
            archiver: "torch-model-archiver",
            serializedFile: fixture.args.serializedFile,
            handler: fixture.args.handler,
            extraFiles: fixture.args.extraFiles,
            requirementsFile,
            archiveFormat: "default",
        });
    });

    it("refers to the scripts relative to the project directory", () => {
        const projectDir = path.resolve(__dirname, "..", "..", "..", "..");
        assert.equal(scriptPath(projectDir, "archive"), path.join("bin", "components", "cli", "archive.js"));
        assert.ok(fs.existsSync(path.join(projectDir, scriptPath(projectDir, "rotate"))));
    });
});

describe("archive step", () => {
    function store(): string {
        return tempDir("archive-store-");
    }

    it("reuses an existing archive of the version without running the archiver", () => {
        const dir = store();
        fs.writeFileSync(path.join(dir, "demo.v2.mar"), "built earlier");
        fs.utimesSync(path.join(dir, "demo.v2.mar"), 1, 1);
        publishArchive({ ...spec, store: dir, archiver: "false" });
        assert.equal(fs.readFileSync(path.join(dir, "demo.v2.mar"), "utf8"), "built earlier");
        assert.ok(fs.statSync(path.join(dir, "demo.v2.mar")).mtimeMs > 1_000, "touched: it is now the newest deployed");
    });

    it("restores an archive from backup/ (rollback) without rebuilding it", () => {
        const dir = store();
        fs.mkdirSync(path.join(dir, "backup"));
        fs.writeFileSync(path.join(dir, "backup", "demo.v2.mar"), "old build");
        publishArchive({ ...spec, store: dir, archiver: "false" });
        assert.equal(fs.readFileSync(path.join(dir, "demo.v2.mar"), "utf8"), "old build");
        assert.deepEqual(fs.readdirSync(path.join(dir, "backup")), []);
    });

    it("fails with the archiver's exit code and leaves the store unchanged", () => {
        const dir = store();
        fs.writeFileSync(path.join(dir, "demo.v1.mar"), "v1");
        assert.throws(
            () => publishArchive({ ...spec, store: dir, archiver: "false" }),
            /failed with exit code 1; the store and the running Deployment are unchanged/,
        );
        assert.deepEqual(fs.readdirSync(dir), ["demo.v1.mar"], "no staging leftovers, no partial archive");
    });

    it("names the setting when the archiver cannot be found", () => {
        assert.throws(
            () => publishArchive({ ...spec, store: store(), archiver: "/no/such/archiver" }),
            /archiverCommand/,
        );
    });
});
