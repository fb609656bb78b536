import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tempDir } from "../../support/tempDir";
import { describe, it } from "node:test";
import { archiveFileName, backupFileName, listArchives, locateArchive, planRotation } from "../../../components/store";
import { rotateStore } from "../../../components/cli/rotate";

const at = (version: string, mtimeMs: number) => ({ version, mtimeMs });

describe("planRotation", () => {
    it("keeps the deployed version and the most recently deployed others", () => {
        const plan = planRotation([at("v1", 1), at("v2", 2), at("v3", 3)], "v4", 3);
        assert.deepEqual(plan, { keep: ["v4", "v3", "v2"], moveToBackup: ["v1"] });
    });

    it("keeps everything while the store holds fewer than keep", () => {
        assert.deepEqual(planRotation([at("v1", 1)], "v2", 3), { keep: ["v2", "v1"], moveToBackup: [] });
        assert.deepEqual(planRotation([], "v1", 3), { keep: ["v1"], moveToBackup: [] });
    });

    it("never moves the deployed version, even when it is the oldest (rollback)", () => {
        const plan = planRotation([at("v1", 1), at("v2", 2), at("v3", 3), at("v4", 4)], "v1", 2);
        assert.deepEqual(plan, { keep: ["v1", "v4"], moveToBackup: ["v3", "v2"] });
    });

    it("with keep = 1 keeps only the deployed version", () => {
        assert.deepEqual(planRotation([at("a", 5), at("b", 9)], "b", 1), { keep: ["b"], moveToBackup: ["a"] });
    });

    it("orders equal times by version so every caller gets the same plan", () => {
        const archives = [at("b", 7), at("a", 7), at("c", 7)];
        assert.deepEqual(planRotation(archives, "x", 2), planRotation([...archives].reverse(), "x", 2));
        // Whatever order the store lists them in: the highest version counts as the most recent.
        for (const order of [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ]) {
            assert.deepEqual(
                planRotation(
                    order.map((i) => archives[i]),
                    "x",
                    2,
                ),
                { keep: ["x", "c"], moveToBackup: ["b", "a"] },
                JSON.stringify(order),
            );
        }
    });

    it("rejects keep < 1", () => {
        assert.throws(() => planRotation([], "v1", 0), /keep/);
    });
});

describe("backupFileName", () => {
    it("never overwrites an existing backup", () => {
        assert.equal(backupFileName("m.v1.mar", new Set()), "m.v1.mar");
        assert.equal(backupFileName("m.v1.mar", new Set(["m.v1.mar", "m.v1.mar.1"])), "m.v1.mar.2");
    });
});

/** A real store directory with archives whose mtimes follow their order in `versions`. */
function makeStore(model: string, versions: string[], others: string[] = []): string {
    const store = tempDir("store-");
    versions.forEach((version, i) => {
        const file = path.join(store, archiveFileName(model, version));
        fs.writeFileSync(file, `${model}:${version}`);
        fs.utimesSync(file, 1_000 + i, 1_000 + i);
    });
    for (const other of others) {
        fs.mkdirSync(path.dirname(path.join(store, other)), { recursive: true });
        fs.writeFileSync(path.join(store, other), "not ours");
    }
    return store;
}

describe("model store on disk", () => {
    it("lists only this model's archives, not similarly named models or other files", () => {
        const store = makeStore(
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
        assert.deepEqual(
            listArchives(store, "demo")
                .map((a) => a.version)
                .sort(),
            ["v1", "v2"],
        );
        assert.equal(locateArchive(store, "demo", "v0"), "backup");
        assert.equal(locateArchive(store, "demo", "v2"), "store");
        assert.equal(locateArchive(store, "demo", "v9"), "absent");
    });

    it("does not list a directory named like an archive", () => {
        const store = makeStore("demo", ["v1"], []);
        fs.mkdirSync(path.join(store, "demo.v2.mar"));
        assert.deepEqual(
            listArchives(store, "demo").map((a) => a.version),
            ["v1"],
        );
    });

    it("treats a store that does not exist yet as empty", () => {
        assert.deepEqual(listArchives(path.join(os.tmpdir(), "no-such-store-xyz"), "demo"), []);
    });

    it("rotates into backup/ without touching other files or overwriting backups", () => {
        const others = ["demo2.v1.mar", "other.v1.mar", "README.txt", "backup/demo.v1.mar"];
        const store = makeStore("demo", ["v1", "v2", "v3", "v4", "v5"], others);
        const plan = rotateStore({ store, model: "demo", current: "v5", keep: 3 });
        assert.deepEqual(plan.keep, ["v5", "v4", "v3"]);
        assert.deepEqual(
            fs
                .readdirSync(store)
                .filter((f) => f.startsWith("demo."))
                .sort(),
            ["demo.v3.mar", "demo.v4.mar", "demo.v5.mar"],
        );
        assert.deepEqual(fs.readdirSync(path.join(store, "backup")).sort(), [
            "demo.v1.mar",
            "demo.v1.mar.1",
            "demo.v2.mar",
        ]);
        assert.equal(
            fs.readFileSync(path.join(store, "backup", "demo.v1.mar"), "utf8"),
            "not ours",
            "the older backup survives",
        );
        assert.equal(fs.readFileSync(path.join(store, "backup", "demo.v1.mar.1"), "utf8"), "demo:v1");
        for (const other of others.filter((o) => !o.startsWith("backup/"))) {
            assert.ok(fs.existsSync(path.join(store, other)), `${other} untouched`);
        }
    });

    it("refuses to rotate when the deployed archive is missing", () => {
        const store = makeStore("demo", ["v1", "v2"]);
        assert.throws(() => rotateStore({ store, model: "demo", current: "v9", keep: 1 }), /missing/);
        assert.equal(fs.readdirSync(store).length, 2, "nothing moved");
    });
});
