/**
 * The archive step on real directories, with a stand-in archiver (a shell
 * script that writes `<export>/<model>.mar` from the serialized file): what a
 * step leaves in the store. The real torch-model-archiver runs in the e2e and
 * serve suites.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ArchiveSpec, archiveCommand, scriptPath } from "../../../components/cli";
import { publishArchive } from "../../../components/cli/archive";
import { readArchiveRecord, storeLayout } from "../../../components/store";
import { tempDir } from "../../support/tempDir";
import { writeStoredZip } from "../../support/zip";
import { venv } from "../../e2e/support/environment";
import { HANDLER } from "../../e2e/support/models";

const owner = { stack: "organization/torchserve-stack/prod", namespace: "ml-prod", appName: "torchserve" };
const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..", "..");

/**
 * An archiver stand-in: copies the serialized file into `<export>/<model>.mar`, after `delay` seconds
 * spent in a child of its own (a `sleep`); writes its pid, then that child's, to `<dir>/archiver.pids`.
 */
function fakeArchiver(dir: string, delay = 0): string {
    const file = path.join(dir, "fake-archiver.sh");
    const pids = JSON.stringify(path.join(dir, "archiver.pids"));
    fs.writeFileSync(
        file,
        [
            "#!/bin/sh",
            'while [ $# -gt 0 ]; do case "$1" in',
            "  --model-name) m=$2; shift ;; --serialized-file) s=$2; shift ;; --export-path) e=$2; shift ;;",
            "esac; shift; done",
            `echo $$ > ${pids}`,
            `sleep ${delay} & echo $! >> ${pids}; wait $!`,
            'cat "$s" > "$e/$m.mar"',
        ].join("\n"),
        { mode: 0o755 },
    );
    return file;
}

function setup(): { root: string; work: string; spec: (over?: Partial<ArchiveSpec>) => ArchiveSpec } {
    const work = tempDir("archive-step-");
    const root = path.join(work, "store");
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(work, "model.pt"), "weights-1");
    const build = {
        archiver: fakeArchiver(work),
        archiveFormat: "zip-store",
        serializedFile: path.join(work, "model.pt"),
        handler: "handler.py",
        extraFiles: [],
    };
    const spec = (over: Partial<ArchiveSpec> = {}): ArchiveSpec => ({
        store: root,
        subdir: "ml-prod/torchserve",
        owner,
        model: "demo",
        version: "v1",
        fingerprint: "f1".repeat(32),
        bytes: 9,
        served: [over.version ?? "v1"],
        directories: [],
        build,
        ...over,
    });
    return { root, work, spec };
}

const part = (root: string) => path.join(root, "ml-prod", "torchserve");
const list = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe("archive step", () => {
    it("builds a new version into the stack's part, records what it was built from, and claims the part", async () => {
        const { root, spec } = setup();
        const target = await publishArchive(spec());
        assert.equal(target, path.join(part(root), "demo.v1.mar"));
        assert.equal(fs.readFileSync(target, "utf8"), "weights-1");
        assert.deepEqual(readArchiveRecord(storeLayout(root, "ml-prod/torchserve"), "demo", "v1"), {
            version: "v1",
            fingerprint: "f1".repeat(32),
            bytes: 9,
        });
        assert.deepEqual(list(part(root)), [".torchserve-stack", "demo.v1.mar"], "no staging leftovers");
        assert.deepEqual(list(root), ["ml-prod"], "nothing outside the part");
    });

    it("reuses an archive whose record matches the files, without running the archiver", async () => {
        const { root, spec } = setup();
        await publishArchive(spec());
        const before = fs.statSync(path.join(part(root), "demo.v1.mar"));
        await publishArchive(spec({ build: { ...spec().build!, archiver: "/bin/false" } }));
        const after = fs.statSync(path.join(part(root), "demo.v1.mar"));
        assert.equal(after.ino, before.ino, "the same file");
        assert.equal(after.mtimeMs, before.mtimeMs, "not touched either");
    });

    it("refuses to reuse a version for other files, leaving the archive as it was", async () => {
        const { root, spec } = setup();
        await publishArchive(spec());
        await assert.rejects(
            publishArchive(spec({ fingerprint: "f2".repeat(32) })),
            /modelVersion v1 already names other model files \(archived from fingerprint f1f1f1f1f1f1, these files are f2f2f2f2f2f2\)/,
        );
        assert.equal(fs.readFileSync(path.join(part(root), "demo.v1.mar"), "utf8"), "weights-1");
    });

    it("switches to an archived version: restores it from backup/ without rebuilding", async () => {
        const { root, spec } = setup();
        fs.mkdirSync(path.join(part(root), "backup"), { recursive: true });
        fs.writeFileSync(path.join(part(root), "backup", "demo.v0.mar"), "old build");
        await publishArchive(spec({ version: "v0", fingerprint: "", bytes: 0, build: undefined }));
        assert.equal(fs.readFileSync(path.join(part(root), "demo.v0.mar"), "utf8"), "old build");
        assert.deepEqual(list(path.join(part(root), "backup")), []);
    });

    it("links an archive of the old flat layout into the part and leaves the original in place", async () => {
        const { root, spec } = setup();
        fs.writeFileSync(path.join(root, "demo.v0.mar"), "flat layout");
        await publishArchive(spec({ version: "v0", fingerprint: "", bytes: 0, build: undefined }));
        assert.equal(fs.readFileSync(path.join(part(root), "demo.v0.mar"), "utf8"), "flat layout");
        assert.ok(fs.existsSync(path.join(root, "demo.v0.mar")), "the original stays");
    });

    it("never follows a link in the store root: switching to it fails, and nothing is linked or copied", async () => {
        const { root, work, spec } = setup();
        fs.writeFileSync(path.join(work, "secret"), "bytes outside the store");
        fs.symlinkSync(path.join(work, "secret"), path.join(root, "demo.v0.mar"));
        await assert.rejects(
            publishArchive(spec({ version: "v0", fingerprint: "", bytes: 0, build: undefined })),
            /modelVersion v0 has no archive/,
        );
        assert.deepEqual(list(part(root)), [".torchserve-stack"]);
    });

    it("reuses an old flat layout archive for new files only when its entries match them (an upgrade)", async () => {
        const { root, work, spec } = setup();
        // As the archiver packs them: each input under its base name.
        writeStoredZip(path.join(root, "demo.v1.mar"), { "model.pt": "weights-1", "MAR-INF/MANIFEST.json": "{}" });
        const builtIn = (s: ArchiveSpec): ArchiveSpec => ({
            ...s,
            build: { ...s.build!, handler: "image_classifier" },
        });
        await publishArchive(builtIn(spec()));
        assert.equal(
            fs.statSync(path.join(part(root), "demo.v1.mar")).ino,
            fs.statSync(path.join(root, "demo.v1.mar")).ino,
        );
        assert.equal(
            readArchiveRecord(storeLayout(root, "ml-prod/torchserve"), "demo", "v1")!.fingerprint,
            "f1".repeat(32),
        );

        const other = setup();
        writeStoredZip(path.join(other.root, "demo.v1.mar"), { "model.pt": "weights-0" });
        await assert.rejects(
            publishArchive(builtIn(other.spec())),
            /built from other files \(model\.pt differs from the archive's copy\)/,
        );
        void work;
    });

    it("fails a switch to a version the store does not have, naming what to do", async () => {
        const { spec } = setup();
        await assert.rejects(
            publishArchive(spec({ version: "v9", fingerprint: "", build: undefined })),
            /modelVersion v9 has no archive .* deploy its files/,
        );
    });

    it("brings every served version into the part, and fails when one is gone", async () => {
        const { root, spec } = setup();
        fs.mkdirSync(path.join(part(root), "backup"), { recursive: true });
        fs.writeFileSync(path.join(part(root), "backup", "demo.v0.mar"), "v0");
        await publishArchive(spec({ served: ["v1", "v0"] }));
        assert.deepEqual(
            list(part(root)).filter((f) => f.endsWith(".mar")),
            ["demo.v0.mar", "demo.v1.mar"],
        );
        await assert.rejects(
            publishArchive(spec({ served: ["v1", "v7"] })),
            /demo\.v7\.mar, which the pods are to load/,
        );
    });

    it("refuses a part of the store that another stack owns", async () => {
        const { spec } = setup();
        await publishArchive(spec());
        await assert.rejects(
            publishArchive(spec({ owner: { ...owner, stack: "organization/torchserve-stack/staging" } })),
            /belongs to stack organization\/torchserve-stack\/prod .* not to organization\/torchserve-stack\/staging/,
        );
    });

    it("refuses a part inside or around another stack's part, before it creates any directory or record", async () => {
        const { root, spec } = setup();
        await publishArchive(spec());
        const staging = { ...owner, stack: "organization/torchserve-stack/staging" };
        const everything = () => fs.readdirSync(root, { recursive: true, encoding: "utf8" }).sort();
        const before = everything();
        await assert.rejects(
            publishArchive(spec({ owner: staging, subdir: "ml-prod/torchserve/backup/staging" })),
            /modelStoreSubdir ml-prod\/torchserve\/backup\/staging lies inside ml-prod\/torchserve, the part of the model store that belongs to stack organization\/torchserve-stack\/prod .*Fix: .*pulumi config set modelStoreSubdir/,
        );
        await assert.rejects(
            publishArchive(spec({ owner: staging, subdir: "ml-prod" })),
            /modelStoreSubdir ml-prod contains ml-prod\/torchserve, the part .* organization\/torchserve-stack\/prod/,
        );
        assert.deepEqual(everything(), before, "nothing written for the refused stacks");
    });

    it("leaves the store unchanged when the archiver fails, and names the setting when it is missing", async () => {
        const { root, spec } = setup();
        await assert.rejects(
            publishArchive(spec({ build: { ...spec().build!, archiver: "/bin/false" } })),
            /failed with exit code 1; the store and the running Deployment are unchanged/,
        );
        assert.deepEqual(
            list(part(root)).filter((f) => !f.startsWith(".torchserve")),
            [],
        );
        await assert.rejects(
            publishArchive(spec({ build: { ...spec().build!, archiver: "/no/such/archiver" } })),
            /archiverCommand/,
        );
    });

    it("refuses a store path that is not there (the volume is not mounted)", async () => {
        const { work, spec } = setup();
        await assert.rejects(
            publishArchive(spec({ store: path.join(work, "not-mounted") })),
            /does not exist on this machine/,
        );
        assert.equal(fs.existsSync(path.join(work, "not-mounted")), false, "not created on the local disk");
    });

    it("sweeps only its own staging names: deletes a dead build's here, moves another host's aside, keeps the rest", async () => {
        const { root, spec } = setup();
        fs.mkdirSync(part(root), { recursive: true });
        const at = (name: string) => path.join(part(root), name);
        const dead = spawnSync("true").pid!;
        const here = os.hostname();
        const names = {
            dead: `.staging-demo.v0-~${here}~${dead}~abcdef`,
            alive: `.staging-demo.v0-~${here}~${process.pid}~abcdef`,
            gone: ".staging-demo.v0-~other-host~42~Xy12Zq",
            recent: ".staging-demo.v0-~other-host~43~Xy12Zq",
            otherModel: `.staging-other.v0-~${here}~${dead}~abcdef`,
            loose: `.staging-demo.v0-~${here}~${dead}~abcdef-mine`,
            file: `.staging-demo.v1-~${here}~${dead}~abcdeg`,
            link: `.staging-demo.v1-~${here}~${dead}~abcdeh`,
        };
        for (const name of [names.dead, names.alive, names.gone, names.recent, names.otherModel, names.loose]) {
            fs.mkdirSync(at(name));
            fs.writeFileSync(path.join(at(name), "demo.mar"), "half-written");
        }
        fs.writeFileSync(at(".staging-notes"), "the user's notes");
        fs.writeFileSync(at(names.file), "a file with a staging name");
        fs.symlinkSync(at(names.alive), at(names.link));
        // Two days old, all but one: age alone never deletes.
        const old = Date.now() / 1000 - 2 * 86400;
        for (const name of [...Object.values(names), ".staging-notes"].filter((n) => n !== names.recent)) {
            fs.lutimesSync(at(name), old, old);
        }
        await publishArchive(spec());
        assert.equal(fs.existsSync(at(names.dead)), false, "a dead build's staging on this host is deleted");
        const orphans = path.join(part(root), "backup", ".staging-orphans");
        assert.deepEqual(list(orphans), [names.gone], "another host's, quiet for a lease, is moved aside");
        assert.equal(fs.readFileSync(path.join(orphans, names.gone, "demo.mar"), "utf8"), "half-written");
        assert.equal(fs.readFileSync(at(".staging-notes"), "utf8"), "the user's notes");
        for (const name of [names.alive, names.recent, names.otherModel, names.loose, names.file, names.link]) {
            assert.ok(fs.lstatSync(at(name)), `${name} untouched`);
        }
        assert.equal(fs.readFileSync(at(names.file), "utf8"), "a file with a staging name");
        assert.ok(fs.lstatSync(at(names.link)).isSymbolicLink());
    });

    it("stops the archiver and cleans up when the step is interrupted", async () => {
        const { root, work, spec } = setup();
        const slow = spec({ build: { ...spec().build!, archiver: fakeArchiver(path.join(work), 30) } });
        const command = archiveCommand(scriptPath(PROJECT_DIR, "archive"), slow);
        const step = spawn("sh", ["-c", `exec ${command}`], { cwd: PROJECT_DIR, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        step.stdout.on("data", (chunk) => (output += chunk));
        step.stderr.on("data", (chunk) => (output += chunk));
        // Wait until the archiver runs.
        for (let i = 0; i < 100 && !output.includes("running"); i++) {
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.match(output, /running/);
        const exited = new Promise<number | null>((resolve) => step.on("exit", (code) => resolve(code)));
        step.kill("SIGTERM");
        assert.equal(await exited, 143);
        assert.match(output, /interrupted by SIGTERM; cleaned up/);
        await new Promise((r) => setTimeout(r, 300));
        const leftovers = list(part(root)).filter((f) => f.startsWith(".staging-"));
        assert.deepEqual(leftovers, [], "no staging directory left");
        assert.equal(fs.existsSync(path.join(part(root), ".torchserve-stack", "lock")), false, "the lock is released");
        // The archiver and the child it started (its sleep) are gone: the step killed the archiver's group.
        const [archiver, ...children] = fs.readFileSync(path.join(work, "archiver.pids"), "utf8").trim().split("\n");
        assert.equal(children.length, 1, "the fake archiver started its child");
        const survivors = () =>
            livePids().filter((p) => p.pid === archiver || children.includes(p.pid) || p.group === archiver);
        for (let i = 0; i < 50 && survivors().length > 0; i++) {
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(survivors(), [], "no process of the archiver's group survives");
    });
});

/** Processes on this machine that are not zombies, with their process group. */
function livePids(): { pid: string; group: string }[] {
    const found: { pid: string; group: string }[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            // pid (comm) state ppid pgrp ...: the fields after the last ")".
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (state !== "Z") {
                found.push({ pid, group });
            }
        } catch {
            // gone meanwhile
        }
    }
    return found;
}

describe("archive step: model directories, with the real torch-model-archiver", () => {
    const archiver = path.join(venv(), "bin", "torch-model-archiver");

    /** A store and a model's files (bytes the archiver copies as they are), and a spec naming v1 a directory. */
    function dirSetup(): { root: string; work: string; spec: (over?: Partial<ArchiveSpec>) => ArchiveSpec } {
        const work = tempDir("archive-dir-");
        const root = path.join(work, "store");
        fs.mkdirSync(root);
        fs.writeFileSync(path.join(work, "model.pt"), "weights-1");
        fs.writeFileSync(path.join(work, "labels.json"), "[]", { mode: 0o600 });
        const spec = (over: Partial<ArchiveSpec> = {}): ArchiveSpec => ({
            store: root,
            subdir: "ml-prod/torchserve",
            owner,
            model: "demo",
            version: "v1",
            fingerprint: "d1".repeat(32),
            bytes: 9,
            served: [over.version ?? "v1"],
            directories: [over.version ?? "v1"],
            build: {
                archiver,
                archiveFormat: "directory",
                serializedFile: path.join(work, "model.pt"),
                handler: HANDLER,
                extraFiles: [path.join(work, "labels.json")],
            },
            ...over,
        });
        return { root, work, spec };
    }

    /** Every path under `dir` with its mode, sorted. */
    function modes(dir: string): string[] {
        return fs
            .readdirSync(dir, { recursive: true })
            .map(String)
            .sort()
            .map((f) => `${f} ${(fs.statSync(path.join(dir, f)).mode & 0o777).toString(8)}`);
    }

    it("builds <model>.<version>/ (the archiver's no-archive output) readable by the pods' user, with its record", async () => {
        const { root, spec } = dirSetup();
        const target = await publishArchive(spec());
        assert.equal(target, path.join(part(root), "demo.v1"));
        assert.deepEqual(modes(target), [
            "MAR-INF 755",
            "MAR-INF/MANIFEST.json 644",
            "handler.py 644",
            "labels.json 644",
            "model.pt 644",
        ]);
        assert.equal((fs.statSync(target).mode & 0o777).toString(8), "755");
        const manifest = JSON.parse(fs.readFileSync(path.join(target, "MAR-INF", "MANIFEST.json"), "utf8"));
        assert.deepEqual([manifest.model.modelName, manifest.model.modelVersion], ["demo", "v1"]);
        assert.equal(fs.readFileSync(path.join(target, "model.pt"), "utf8"), "weights-1");
        assert.deepEqual(readArchiveRecord(storeLayout(root, "ml-prod/torchserve"), "demo", "v1"), {
            version: "v1",
            fingerprint: "d1".repeat(32),
            bytes: 9,
        });
        assert.deepEqual(list(part(root)), [".torchserve-stack", "demo.v1"], "no .mar, no staging leftovers");
    });

    it("copies the weights itself (the archiver gets an empty stand-in) and publishes the archiver's own output", async () => {
        const { root, work, spec } = dirSetup();
        // A wrapper that records the size of the serialized file the archiver is given, then runs it.
        const seen = path.join(work, "seen.txt");
        const wrapper = path.join(work, "archiver.sh");
        fs.writeFileSync(
            wrapper,
            [
                "#!/bin/sh",
                'for a in "$@"; do [ -n "$next" ] && wc -c < "$a" > ' +
                    JSON.stringify(seen) +
                    "; next=; " +
                    '[ "$a" = --serialized-file ] && next=1; done',
                `exec ${JSON.stringify(archiver)} "$@"`,
            ].join("\n"),
            { mode: 0o755 },
        );
        const base = spec();
        const target = await publishArchive({ ...base, build: { ...base.build!, archiver: wrapper } });
        assert.equal(fs.readFileSync(seen, "utf8").trim(), "0", "the archiver read an empty stand-in");
        // What the archiver itself publishes for the same inputs, with the real weights.
        const reference = path.join(work, "reference");
        fs.mkdirSync(reference);
        const build = base.build!;
        await new Promise<void>((resolve, reject) =>
            spawn(
                archiver,
                [
                    ...["--model-name", "demo", "--version", "v1", "--serialized-file", build.serializedFile],
                    ...["--handler", build.handler, "--extra-files", build.extraFiles.join(",")],
                    ...["--export-path", reference, "--archive-format", "no-archive", "--force"],
                ],
                { stdio: "inherit" },
            ).on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`archiver exit ${code}`)))),
        );
        const files = (dir: string) =>
            fs
                .readdirSync(dir, { recursive: true })
                .map(String)
                .filter((f) => fs.statSync(path.join(dir, f)).isFile())
                .sort()
                .map((f) => {
                    // The manifest's one difference between two runs: its creation time, to the second.
                    const bytes = fs.readFileSync(path.join(dir, f), "utf8");
                    return f === "MAR-INF/MANIFEST.json"
                        ? `${f} ${JSON.stringify({ ...JSON.parse(bytes), createdOn: undefined })}`
                        : `${f} ${Buffer.from(bytes).toString("base64")}`;
                });
        assert.deepEqual(files(target), files(path.join(reference, "demo")));
        assert.equal(fs.readFileSync(path.join(target, "model.pt"), "utf8"), "weights-1");
        assert.deepEqual(list(part(root)), [".torchserve-stack", "demo.v1"], "no partial copy left behind");
    });

    it("reuses the directory whose record matches, and refuses other files under its version", async () => {
        const { root, work, spec } = dirSetup();
        await publishArchive(spec());
        const before = fs.statSync(path.join(part(root), "demo.v1", "model.pt"));
        await publishArchive(spec({ build: { ...spec().build!, archiver: "/bin/false" } }));
        assert.equal(fs.statSync(path.join(part(root), "demo.v1", "model.pt")).mtimeMs, before.mtimeMs);
        // Without a record (as if it came from elsewhere), its files are compared with the inputs.
        fs.rmSync(path.join(part(root), ".torchserve-stack", "archives"), { recursive: true });
        fs.writeFileSync(path.join(work, "model.pt"), "weights-2");
        await assert.rejects(
            publishArchive(spec({ fingerprint: "d2".repeat(32) })),
            /already names an archive \(.*demo\.v1\) built from other files \(model\.pt differs from the directory's copy\)/,
        );
        assert.equal(fs.readFileSync(path.join(part(root), "demo.v1", "model.pt"), "utf8"), "weights-1");
    });

    it("publishes one entry per version: a .mar of the version fails a config that names a directory", async () => {
        const { root, spec } = dirSetup();
        fs.writeFileSync(path.join(root, "demo.v1.mar"), "a .mar of the old flat layout");
        await assert.rejects(
            publishArchive(spec()),
            /the pods are to load demo\.v1 \(a directory, .*\), but the store holds it as .*demo\.v1\.mar \(a \.mar file\)/,
        );
        assert.deepEqual(list(part(root)), [".torchserve-stack"], "no directory added next to the .mar");
        // Named as a .mar (what the program renders when it sees the store), the .mar is linked in and reused.
        await publishArchive(spec({ directories: [], fingerprint: "", bytes: 0, build: undefined }));
        assert.deepEqual(list(part(root)), [".torchserve-stack", "demo.v1.mar"]);
    });

    it("serves a directory next to a .mar: restores each kind from backup/, and checks each kind", async () => {
        const { root, spec } = dirSetup();
        await publishArchive(spec({ version: "v2" }));
        fs.mkdirSync(path.join(part(root), "backup"), { recursive: true });
        fs.writeFileSync(path.join(part(root), "backup", "demo.v1.mar"), "v1 as a .mar");
        fs.renameSync(path.join(part(root), "demo.v2"), path.join(part(root), "backup", "demo.v2"));
        await publishArchive(spec({ version: "v2", served: ["v2", "v1"], directories: ["v2"], build: undefined }));
        assert.deepEqual(list(part(root)), [".torchserve-stack", "backup", "demo.v1.mar", "demo.v2"]);
        assert.deepEqual(list(path.join(part(root), "backup")), []);
        await assert.rejects(
            publishArchive(spec({ version: "v2", served: ["v2", "v1"], directories: ["v2", "v1"], build: undefined })),
            /the pods are to load demo\.v1 \(a directory/,
        );
    });
});
