import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { fileCrc32, marMismatches, readZipEntries } from "../../../components/store";
import { tempDir } from "../../support/tempDir";
import { writeStoredZip } from "../../support/zip";

describe("what a .mar holds", () => {
    it("reads names, sizes and CRC-32s from the central directory, and matches files to entries by name", () => {
        const dir = tempDir("mar-");
        const weights = crypto.randomBytes(100_000);
        fs.writeFileSync(path.join(dir, "model.pt"), weights);
        fs.writeFileSync(path.join(dir, "labels.json"), "[1]");
        const archive = path.join(dir, "demo.v1.mar");
        writeStoredZip(archive, { "model.pt": weights, "labels.json": "[1]", "MAR-INF/MANIFEST.json": "{}" });
        assert.deepEqual(
            readZipEntries(archive).map((e) => [e.name, e.size]),
            [
                ["model.pt", 100_000],
                ["labels.json", 3],
                ["MAR-INF/MANIFEST.json", 2],
            ],
        );
        assert.equal(readZipEntries(archive)[0].crc32, fileCrc32(path.join(dir, "model.pt")));
        assert.deepEqual(marMismatches(archive, [path.join(dir, "model.pt"), path.join(dir, "labels.json")]), []);
        fs.writeFileSync(path.join(dir, "labels.json"), "[2]");
        fs.writeFileSync(path.join(dir, "extra.txt"), "x");
        assert.deepEqual(marMismatches(archive, [path.join(dir, "labels.json"), path.join(dir, "extra.txt")]), [
            "labels.json differs from the archive's copy",
            "extra.txt is not in the archive",
        ]);
    });

    it("reads a deflated zip as Python's zipfile (what torch-model-archiver uses) writes it", () => {
        const dir = tempDir("mar-");
        const archive = path.join(dir, "a.mar");
        const script =
            "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED); z.writestr('m.pt', b'ab'*5000); z.close()";
        const python = spawnSync("python3", ["-c", script, archive]);
        assert.equal(python.status, 0, String(python.stderr));
        assert.deepEqual(
            readZipEntries(archive).map((e) => [e.name, e.size]),
            [["m.pt", 10_000]],
        );
        fs.writeFileSync(path.join(dir, "m.pt"), "ab".repeat(5000));
        assert.deepEqual(marMismatches(archive, [path.join(dir, "m.pt")]), []);
    });

    it("refuses a file that is not a zip archive", () => {
        const file = path.join(tempDir("mar-"), "x.mar");
        fs.writeFileSync(file, "not a zip");
        assert.throws(() => readZipEntries(file), /is not a zip archive/);
    });
});
