/** The staging sweep on real directories: what it reports, and an orphan's name already taken in the quarantine. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { sweepStaging } from "../../../components/cli/stagingSweep";
import { stagingOrphansDir, storeLayout } from "../../../components/store";
import { tempDir } from "../../support/tempDir";

describe("the staging sweep", () => {
    it("reports each entry it removed or moved, and leaves an orphan whose name the quarantine already has", () => {
        const layout = storeLayout(tempDir("sweep-"), "ml-prod/torchserve");
        fs.mkdirSync(layout.part, { recursive: true });
        const dead = `.staging-demo.v1-~${os.hostname()}~${spawnSync("true").pid}~abcdef`;
        const gone = ".staging-demo.v1-~other-host~42~Xy12Zq";
        const taken = ".staging-demo.v2-~other-host~43~Xy12Zq";
        for (const name of [dead, gone, taken]) {
            fs.mkdirSync(path.join(layout.part, name));
            fs.writeFileSync(path.join(layout.part, name, "demo.mar"), name);
        }
        fs.mkdirSync(path.join(stagingOrphansDir(layout), taken), { recursive: true });
        fs.writeFileSync(path.join(stagingOrphansDir(layout), taken, "demo.mar"), "moved before");
        const old = Date.now() / 1000 - 3600;
        for (const name of [gone, taken]) {
            fs.utimesSync(path.join(layout.part, name), old, old);
        }
        assert.deepEqual(
            sweepStaging(layout, "demo", 60_000).sort((a, b) => a.entry.localeCompare(b.entry)),
            [
                { entry: gone, action: "moved" },
                { entry: dead, action: "removed" },
            ].sort((a, b) => a.entry.localeCompare(b.entry)),
        );
        assert.equal(fs.readFileSync(path.join(layout.part, taken, "demo.mar"), "utf8"), taken, "left in place");
        const quarantined = path.join(stagingOrphansDir(layout), taken, "demo.mar");
        assert.equal(fs.readFileSync(quarantined, "utf8"), "moved before");
        assert.deepEqual(sweepStaging(layout, "demo", 60_000), [], "nothing more to do");
        // A lease longer than its quiet time keeps another host's staging where it is.
        assert.deepEqual(sweepStaging(layout, "demo", 2 * 3600_000), []);
    });
});
