import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseStagingName, stagingOrphansDir, stagingPrefix, storeLayout } from "../../../components/store";

describe("staging directory names", () => {
    it("reads back the version, host and pid of a name the archive step makes, for its model only", () => {
        const name = `${stagingPrefix("demo", "v1.2_3")}~pod-7.ns~1234~aZ09bY`;
        assert.deepEqual(parseStagingName(name, "demo"), { version: "v1.2_3", host: "pod-7.ns", pid: 1234 });
        assert.equal(parseStagingName(name, "dem"), undefined, "another model's");
        assert.equal(parseStagingName(name, "demo2"), undefined);
    });

    it("refuses every other name: a user's file, a partial pattern, a wrong suffix, pid or host", () => {
        for (const name of [
            ".staging-notes",
            ".staging-demo.v1-",
            ".staging-demo.v1-~h~12~abcdef~x",
            ".staging-demo.v1-~h~12~abcde",
            ".staging-demo.v1-~h~12~abcdefg",
            ".staging-demo.v1-~h~12~abc-ef",
            ".staging-demo.v1-~h~012~abcdef",
            ".staging-demo.v1-~h~x12~abcdef",
            ".staging-demo.v1-~h~12x~abcdef",
            ".staging-demo.v1-~h~~abcdef",
            ".staging-demo.v1-~~12~abcdef",
            ".staging-demo.v1-~-h~12~abcdef",
            ".staging-demo.v1-~h/x~12~abcdef",
            ".staging-demo.v1~h~12~abcdef",
            ".staging-demo.-~h~12~abcdef",
            ".staging-demo.v 1-~h~12~abcdef",
            "x.staging-demo.v1-~h~12~abcdef",
        ]) {
            assert.equal(parseStagingName(name, "demo"), undefined, name);
        }
        assert.ok(parseStagingName(".staging-demo.v1-~h~12~abcdef", "demo"), "the same shape, well formed");
    });

    it("moves orphans into the part's backup/", () => {
        const layout = storeLayout("/store", "ml-prod/torchserve");
        assert.equal(
            stagingOrphansDir(layout),
            path.join("/store", "ml-prod/torchserve", "backup", ".staging-orphans"),
        );
    });
});
