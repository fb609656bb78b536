import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    archiveFileName,
    backupFileName,
    bringIntoPart,
    findArchive,
    listArchiveVersions,
    listEntries,
    planRotation,
    storeLayout,
    storedEntryKind,
} from "../../../components/store";
import { rotateStore } from "../../../components/cli/rotate";
import { tempDir } from "../../support/tempDir";

const owner = { stack: "organization/torchserve-stack/prod", namespace: "ml-prod", appName: "torchserve" };

describe("planRotation", () => {
    it("keeps the versions of the release plan and moves every other archive of the model", () => {
        assert.deepEqual(planRotation(["v1", "v2", "v3", "v4", "v5"], ["v5", "v3", "v4"]), {
            keep: ["v5", "v3", "v4"],
            moveToBackup: ["v1", "v2"],
        });
    });

    it("moves a version that is newer but failed (not in the plan's keep list)", () => {
        assert.deepEqual(planRotation(["v3", "v4-bad", "v5"], ["v5", "v3"]).moveToBackup, ["v4-bad"]);
    });

    it("keeps everything while the part holds fewer, and needs at least the deployed version", () => {
        assert.deepEqual(planRotation(["v1"], ["v2", "v1"]).moveToBackup, []);
        assert.throws(() => planRotation(["v1"], []), /at least the deployed version/);
    });
});

describe("backupFileName", () => {
    it("never overwrites an existing backup", () => {
        assert.equal(backupFileName("m.v1.mar", new Set()), "m.v1.mar");
        assert.equal(backupFileName("m.v1.mar", new Set(["m.v1.mar", "m.v1.mar.1"])), "m.v1.mar.2");
        assert.equal(backupFileName("m.v1", new Set(), "dir"), "m.v1");
        // Not m.v1.1: that is version v1.1's directory name, and a switch to v1.1 would restore v1's bytes.
        assert.equal(backupFileName("m.v1", new Set(["m.v1", "m.v1~1"]), "dir"), "m.v1~2");
    });
});

/** A store whose part `ml-prod/torchserve` holds `versions` of `model`, and `others` (paths in the part). */
function makeStore(model: string, versions: string[], others: string[] = []): { root: string; part: string } {
    const root = tempDir("store-");
    const part = path.join(root, "ml-prod", "torchserve");
    fs.mkdirSync(part, { recursive: true });
    for (const version of versions) {
        fs.writeFileSync(path.join(part, archiveFileName(model, version)), `${model}:${version}`);
    }
    for (const other of others) {
        fs.mkdirSync(path.dirname(path.join(part, other)), { recursive: true });
        fs.writeFileSync(path.join(part, other), "not ours");
    }
    return { root, part };
}

describe("model store on disk", () => {
    it("takes a directory as a version's entry only with the archiver's manifest in it", () => {
        const root = tempDir("store-kind-");
        const part = path.join(root, "ml-prod", "torchserve");
        fs.mkdirSync(path.join(part, "demo.v1", "MAR-INF"), { recursive: true });
        fs.writeFileSync(path.join(part, "demo.v1", "MAR-INF", "MANIFEST.json"), "{}");
        fs.mkdirSync(path.join(part, "demo.v2"), { recursive: true });
        fs.writeFileSync(path.join(part, "demo.v2", "model.pt"), "not published by the archiver");
        fs.writeFileSync(path.join(part, "demo.v3.mar"), "zip");
        assert.deepEqual(
            listEntries(part, "demo").map((e) => `${e.version} ${e.kind}`),
            ["v1 dir", "v3 mar"],
        );
        assert.equal(storedEntryKind(root, "ml-prod/torchserve", "demo", "v1"), "dir");
        assert.equal(storedEntryKind(root, "ml-prod/torchserve", "demo", "v2"), undefined);
        assert.equal(storedEntryKind(root, "ml-prod/torchserve", "demo", "v3"), "mar");
        // The old flat layout's .mar counts; a store this machine does not see says nothing.
        fs.writeFileSync(path.join(root, "demo.v0.mar"), "zip");
        assert.equal(storedEntryKind(root, "ml-prod/torchserve", "demo", "v0"), "mar");
        assert.equal(storedEntryKind(undefined, "ml-prod/torchserve", "demo", "v1"), undefined);
        assert.equal(storedEntryKind(path.join(root, "missing"), "ml-prod/torchserve", "demo", "v1"), undefined);
    });

    it("lists only this model's archives, not similarly named models or other files", () => {
        const { part } = makeStore(
            "demo",
            ["v1", "v2"],
            [
                "demo_v0.mar",
                "demo2.v1.mar",
                "demo-x.v1.mar",
                "notes.txt",
                "backup/demo.v0.mar",
                "demo.v3.mar.partial",
                // Match demo.*.mar but are no archive names of ours.
                "demo.has space.mar",
                "demo..mar",
            ],
        );
        assert.deepEqual(listArchiveVersions(part, "demo"), ["v1", "v2"]);
        assert.deepEqual(listArchiveVersions(path.join(os.tmpdir(), "no-such-store-xyz"), "demo"), []);
    });

    it("does not list a directory named like an archive", () => {
        const { part } = makeStore("demo", ["v1"], []);
        fs.mkdirSync(path.join(part, "demo.v2.mar"));
        assert.deepEqual(listArchiveVersions(part, "demo"), ["v1"]);
    });

    it("rotates into backup/ without touching other files, other parts or existing backups", async () => {
        const others = ["demo2.v1.mar", "other.v1.mar", "README.txt", "backup/demo.v1.mar"];
        const { root, part } = makeStore("demo", ["v1", "v2", "v3", "v4", "v5"], others);
        fs.mkdirSync(path.join(root, "ml-staging", "torchserve"), { recursive: true });
        fs.writeFileSync(path.join(root, "ml-staging", "torchserve", "demo.v1.mar"), "staging's");
        fs.writeFileSync(path.join(root, "demo.v0.mar"), "old flat layout");
        const plan = await rotateStore({
            store: root,
            subdir: "ml-prod/torchserve",
            owner,
            model: "demo",
            keep: ["v5", "v4", "v2"],
        });
        assert.deepEqual(plan.moveToBackup, ["v1", "v3"]);
        assert.deepEqual(
            fs
                .readdirSync(part)
                .filter((f) => f.startsWith("demo."))
                .sort(),
            ["demo.v2.mar", "demo.v4.mar", "demo.v5.mar"],
        );
        assert.deepEqual(fs.readdirSync(path.join(part, "backup")).sort(), [
            "demo.v1.mar",
            "demo.v1.mar.1",
            "demo.v3.mar",
        ]);
        assert.equal(
            fs.readFileSync(path.join(part, "backup", "demo.v1.mar"), "utf8"),
            "not ours",
            "the older backup survives",
        );
        assert.equal(fs.readFileSync(path.join(part, "backup", "demo.v1.mar.1"), "utf8"), "demo:v1");
        for (const other of others.filter((o) => !o.startsWith("backup/"))) {
            assert.ok(fs.existsSync(path.join(part, other)), `${other} untouched`);
        }
        assert.equal(fs.readFileSync(path.join(root, "ml-staging", "torchserve", "demo.v1.mar"), "utf8"), "staging's");
        assert.ok(fs.existsSync(path.join(root, "demo.v0.mar")), "the old flat layout is never rotated");
    });

    it("refuses to rotate when the deployed archive is missing, or the part is another stack's", async () => {
        const { root, part } = makeStore("demo", ["v1", "v2"]);
        const spec = { store: root, subdir: "ml-prod/torchserve", owner, model: "demo", keep: ["v9"] };
        await assert.rejects(rotateStore(spec), /the deployed version v9 has no entry .* refusing to rotate/);
        await rotateStore({ ...spec, keep: ["v2", "v1"] });
        await assert.rejects(
            rotateStore({ ...spec, keep: ["v2"], owner: { ...owner, stack: "organization/torchserve-stack/staging" } }),
            /belongs to stack organization\/torchserve-stack\/prod/,
        );
        assert.deepEqual(
            fs
                .readdirSync(part)
                .filter((f) => f.endsWith(".mar"))
                .sort(),
            ["demo.v1.mar", "demo.v2.mar"],
            "nothing moved",
        );
    });

    it("lists model directories (with the archiver's manifest) next to .mar files, and nothing else", () => {
        const { part } = makeStore("demo", ["v1"], ["demo.v4/model.pt", "demo.v5.tmp/MAR-INF/MANIFEST.json"]);
        modelDir(part, "demo.v2");
        modelDir(part, "demo2.v3");
        modelDir(part, "demo.v6.mar");
        assert.deepEqual(listEntries(part, "demo"), [
            { version: "v1", kind: "mar", name: "demo.v1.mar" },
            { version: "v2", kind: "dir", name: "demo.v2" },
            { version: "v5.tmp", kind: "dir", name: "demo.v5.tmp" },
        ]);
        assert.deepEqual(listArchiveVersions(part, "demo"), ["v1", "v2", "v5.tmp"], "no manifest (v4): not a version");
    });

    it("rotates directories into backup/ like files (a rename, never over an existing backup), and restores them", async () => {
        const { root, part } = makeStore("demo", ["v1", "v3"]);
        modelDir(part, "demo.v2");
        modelDir(part, "demo.v4");
        modelDir(path.join(part, "backup"), "demo.v2");
        const inode = fs.statSync(path.join(part, "demo.v2")).ino;
        const plan = await rotateStore({
            store: root,
            subdir: "ml-prod/torchserve",
            owner,
            model: "demo",
            keep: ["v4", "v3"],
        });
        assert.deepEqual(plan.moveToBackup, ["v1", "v2"]);
        assert.deepEqual(
            listEntries(part, "demo").map((e) => e.name),
            ["demo.v3.mar", "demo.v4"],
        );
        assert.deepEqual(fs.readdirSync(path.join(part, "backup")).sort(), ["demo.v1.mar", "demo.v2", "demo.v2~1"]);
        assert.equal(fs.statSync(path.join(part, "backup", "demo.v2~1")).ino, inode, "moved whole, not copied");
        assert.equal(
            fs.readFileSync(path.join(part, "backup", "demo.v2~1", "model.pt"), "utf8"),
            "demo.v2",
            "with its files",
        );
        // A switch back finds the directory in backup/ (the first one); demo.v2~1 is no version's name
        // (demo.v2.1 would be version v2.1's).
        const layout = storeLayout(root, "ml-prod/torchserve");
        assert.equal(findArchive(layout, "demo", "v2")?.kind, "dir");
        assert.equal(findArchive(layout, "demo", "v2.1"), undefined);
        assert.equal(bringIntoPart(layout, "demo", "v2")?.where, "backup");
        assert.ok(fs.existsSync(path.join(part, "demo.v2", "MAR-INF", "MANIFEST.json")));
        assert.equal(bringIntoPart(layout, "demo", "v1")?.kind, "mar");
        assert.deepEqual(fs.readdirSync(path.join(part, "backup")), ["demo.v2~1"]);
    });

    it("looks for a version's .mar in the old flat layout, never for a directory there", () => {
        const { root } = makeStore("demo", []);
        fs.writeFileSync(path.join(root, "demo.v1.mar"), "flat");
        modelDir(root, "demo.v2");
        const layout = storeLayout(root, "ml-prod/torchserve");
        assert.deepEqual(findArchive(layout, "demo", "v1"), {
            where: "legacy",
            kind: "mar",
            file: path.join(root, "demo.v1.mar"),
        });
        assert.equal(findArchive(layout, "demo", "v2"), undefined);
    });
});

/** A model directory as the archiver's no-archive writes it: model.pt and MAR-INF/MANIFEST.json. */
function modelDir(parent: string, name: string): void {
    fs.mkdirSync(path.join(parent, name, "MAR-INF"), { recursive: true });
    fs.writeFileSync(path.join(parent, name, "model.pt"), name);
    fs.writeFileSync(path.join(parent, name, "MAR-INF", "MANIFEST.json"), "{}");
}
