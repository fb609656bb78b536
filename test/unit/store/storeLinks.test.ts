/**
 * Links in the model store are never entries, so nothing outside the store is
 * linked, copied or served: a link's target is never read through the store.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
    MANIFEST_PATH,
    bringIntoPart,
    findArchive,
    isEntry,
    listEntries,
    refuseNonEntry,
    storeLayout,
} from "../../../components/store";
import { tempDir } from "../../support/tempDir";

const SECRET = "bytes outside the store";

/** A store, and outside it a file and a model directory that links in the store point to. */
function setup(): { root: string; outside: string; part: string } {
    const work = tempDir("store-links-");
    const root = path.join(work, "store");
    const outside = path.join(work, "outside");
    fs.mkdirSync(path.join(outside, "model", "MAR-INF"), { recursive: true });
    fs.writeFileSync(path.join(outside, "secret"), SECRET);
    fs.writeFileSync(path.join(outside, "model", MANIFEST_PATH), "{}");
    const part = storeLayout(root, "ml-prod/torchserve").part;
    fs.mkdirSync(path.join(part, "backup"), { recursive: true });
    return { root, outside, part };
}

/** Every file under `dir` whose bytes are the secret's, found without following links. */
function copiesOfSecret(dir: string): string[] {
    return fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((name) => {
            const file = path.join(dir, name);
            return fs.lstatSync(file).isFile() && fs.readFileSync(file, "utf8") === SECRET;
        });
}

describe("links in the model store", () => {
    it("are not entries: a linked .mar, a linked directory, a directory whose manifest is a link", () => {
        const { outside, part } = setup();
        fs.symlinkSync(path.join(outside, "secret"), path.join(part, "demo.v5.mar"));
        fs.symlinkSync(path.join(outside, "model"), path.join(part, "demo.v6"));
        fs.mkdirSync(path.join(part, "demo.v7", "MAR-INF"), { recursive: true });
        fs.symlinkSync(path.join(outside, "model", MANIFEST_PATH), path.join(part, "demo.v7", MANIFEST_PATH));
        fs.writeFileSync(path.join(part, "demo.v8.mar"), "a real archive");
        assert.equal(isEntry(path.join(part, "demo.v5.mar"), "mar"), false);
        assert.equal(isEntry(path.join(part, "demo.v6"), "dir"), false);
        assert.equal(isEntry(path.join(part, "demo.v7"), "dir"), false);
        assert.deepEqual(
            listEntries(part, "demo").map((entry) => entry.name),
            ["demo.v8.mar"],
        );
    });

    it("are never linked or copied into the part from the old flat layout", () => {
        const { root, outside, part } = setup();
        fs.symlinkSync(path.join(outside, "secret"), path.join(root, "demo.v0.mar"));
        const layout = storeLayout(root, "ml-prod/torchserve");
        assert.equal(findArchive(layout, "demo", "v0"), undefined, "a link is no archive of the old layout");
        assert.equal(bringIntoPart(layout, "demo", "v0"), undefined);
        assert.equal(fs.existsSync(path.join(part, "demo.v0.mar")), false);
        assert.throws(() => fs.lstatSync(path.join(part, "demo.v0.mar")), /ENOENT/, "not even a link");
        assert.deepEqual(copiesOfSecret(root), []);
        // A real archive of the old layout is still linked in.
        fs.rmSync(path.join(root, "demo.v0.mar"));
        fs.writeFileSync(path.join(root, "demo.v0.mar"), "flat layout");
        assert.equal(bringIntoPart(layout, "demo", "v0")?.where, "legacy");
        assert.equal(fs.readFileSync(path.join(part, "demo.v0.mar"), "utf8"), "flat layout");
    });

    it("are never replaced: an entry's name held by a link is refused, and the link stays", () => {
        const { root, outside, part } = setup();
        const layout = storeLayout(root, "ml-prod/torchserve");
        fs.writeFileSync(path.join(part, "backup", "demo.v3.mar"), "archive v3");
        fs.symlinkSync(path.join(outside, "secret"), path.join(part, "demo.v3.mar"));
        assert.throws(
            () => bringIntoPart(layout, "demo", "v3"),
            /demo\.v3\.mar has the name of the version's entry but is no entry \(a link.*move it away and run again$/,
        );
        assert.ok(fs.lstatSync(path.join(part, "demo.v3.mar")).isSymbolicLink());
        assert.equal(fs.readFileSync(path.join(part, "backup", "demo.v3.mar"), "utf8"), "archive v3");
        assert.doesNotThrow(() => refuseNonEntry(path.join(part, "demo.v9.mar")), "a free name is fine");
    });
});
