import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { archiveFileName, entryName, parseArchiveFileName, parseEntryName } from "../../../components/store";

describe("archive names", () => {
    it("round-trips model and version, including dotted versions", () => {
        for (const [model, version] of [
            ["demo", "v1"],
            ["res-net_50", "1.2.0"],
            ["m", "3f2a9c1b7d0e"],
        ]) {
            assert.deepEqual(parseArchiveFileName(archiveFileName(model, version)), { model, version });
        }
    });

    it("rejects files that are not our archives", () => {
        for (const file of [
            "demo.mar",
            "demo_v1.mar",
            "demo.v1.tar.gz",
            ".demo.v1.mar",
            "demo..mar",
            "backup/demo.v1.mar",
            "demo.v1/x.mar",
            // A valid model name with a version that is no label value, and the other way round.
            "demo.has space.mar",
            "demo.-v1.mar",
            "de mo.v1.mar",
            "demo!.v1.mar",
        ]) {
            assert.equal(parseArchiveFileName(file), undefined, file);
        }
    });

    it("names a version's directory without .mar, and parses each kind back", () => {
        assert.equal(entryName("demo", "v1", "dir"), "demo.v1");
        assert.equal(entryName("demo", "v1", "mar"), archiveFileName("demo", "v1"));
        assert.deepEqual(parseEntryName("demo.1.2.0", "dir"), { model: "demo", version: "1.2.0" });
        assert.deepEqual(parseEntryName("demo.v1.mar", "mar"), { model: "demo", version: "v1" });
        for (const name of ["demo", "demo.", ".demo.v1", "demo.v1.mar", "demo.v1~1", "demo.has space", "x/demo.v1"]) {
            assert.equal(parseEntryName(name, "dir"), undefined, name);
        }
    });
});
