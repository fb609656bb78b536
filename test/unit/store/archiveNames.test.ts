import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { archiveFileName, parseArchiveFileName } from "../../../components/store";

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
});
