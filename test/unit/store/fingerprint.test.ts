import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "../../support/tempDir";
import { describe, it } from "node:test";
import { FileHashCache, fingerprintArtifacts, sha256OfFile, versionFromFingerprint } from "../../../components/store";

function tempFile(content: string): string {
    const file = path.join(tempDir("hash-"), "model.pt");
    fs.writeFileSync(file, content);
    return file;
}

describe("content hashing", () => {
    it("hashes file content like sha256sum", () => {
        const file = tempFile("hello");
        assert.equal(sha256OfFile(file), crypto.createHash("sha256").update("hello").digest("hex"));
    });

    it("gives a 12-character version that is a valid label value", () => {
        assert.equal(versionFromFingerprint("a".repeat(64)), "aaaaaaaaaaaa");
    });

    it("changes with content, role or settings, not with file order", () => {
        const cache = new FileHashCache();
        const a = tempFile("A");
        const b = tempFile("B");
        const base = fingerprintArtifacts(
            [
                { role: "serialized-file", file: a },
                { role: "extra-file", file: b },
            ],
            ["format=zip-store"],
            cache,
        );
        assert.equal(
            fingerprintArtifacts(
                [
                    { role: "extra-file", file: b },
                    { role: "serialized-file", file: a },
                ],
                ["format=zip-store"],
                cache,
            ),
            base,
        );
        assert.notEqual(
            fingerprintArtifacts(
                [
                    { role: "serialized-file", file: b },
                    { role: "extra-file", file: a },
                ],
                ["format=zip-store"],
                cache,
            ),
            base,
        );
        assert.notEqual(
            fingerprintArtifacts(
                [
                    { role: "serialized-file", file: a },
                    { role: "extra-file", file: b },
                ],
                ["format=default"],
                cache,
            ),
            base,
        );
        fs.writeFileSync(a, "A2");
        assert.notEqual(
            fingerprintArtifacts(
                [
                    { role: "serialized-file", file: a },
                    { role: "extra-file", file: b },
                ],
                ["format=zip-store"],
                cache,
            ),
            base,
        );
    });

    it("does not re-read an unchanged file, and re-reads a changed one, across cache instances", () => {
        const cacheFile = path.join(tempDir("cache-"), "hashes.json");
        const file = tempFile("weights");
        const first = new FileHashCache(cacheFile);
        const hash = first.hashFile(file);
        first.save();
        assert.equal(first.reads, 1);
        const stat = fs.statSync(file);
        const second = new FileHashCache(cacheFile);
        assert.equal(second.hashFile(file), hash);
        assert.equal(second.reads, 0, "an unchanged file is answered from the cache");
        // Same size and mtime, new content: ctime still moves, so the file is read again.
        fs.writeFileSync(file, "WEIGHTS");
        fs.utimesSync(file, stat.atime, stat.mtime);
        const third = new FileHashCache(cacheFile);
        assert.notEqual(third.hashFile(file), hash);
        assert.equal(third.reads, 1);
    });
});
