import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tempDir } from "../../support/tempDir";
import { describe, it } from "node:test";
import {
    FileHashCache,
    archiveSettingsOf,
    artifactsOf,
    defaultHashCacheFile,
    fingerprintArtifacts,
    sha256OfFile,
    versionFromFingerprint,
} from "../../../components/store";
import { resolveSettings } from "../../../components/config";
import { makeModelDir, realFiles } from "../../support/fixtures";

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

    it("closes every file it hashes", () => {
        const file = tempFile("weights");
        const open = () => fs.readdirSync("/proc/self/fd").length;
        const before = open();
        for (let i = 0; i < 50; i++) {
            sha256OfFile(file);
        }
        assert.equal(open(), before);
        assert.throws(() => sha256OfFile(path.dirname(file)), /EISDIR/);
        assert.equal(open(), before, "closed when reading fails too");
    });

    it("gives a 12-character version that is a valid label value", () => {
        assert.equal(versionFromFingerprint("a".repeat(64)), "aaaaaaaaaaaa");
        // Real fingerprints of many artifact sets: README promises "the first 12 hex digits", and the
        // version becomes the app.kubernetes.io/version label (at most 63 characters, alphanumeric ends).
        const cache = new FileHashCache();
        const dir = tempDir("label-");
        const versions = new Set<string>();
        for (let i = 0; i < 64; i++) {
            const file = path.join(dir, `model-${i}.pt`);
            fs.writeFileSync(file, crypto.randomBytes(16 + i));
            const fingerprint = fingerprintArtifacts([{ role: "serialized-file", file }], [`n=${i}`], cache);
            const version = versionFromFingerprint(fingerprint);
            assert.match(version, /^[0-9a-f]{12}$/, `from ${fingerprint}`);
            assert.match(version, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
            assert.ok(fingerprint.startsWith(version), "a prefix of the full fingerprint");
            versions.add(version);
        }
        assert.equal(versions.size, 64, "different artifacts, different versions");
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
        // A whole-second mtime, so it can be set back exactly (utimes takes no nanoseconds).
        const mtime = 1_700_000_000;
        fs.utimesSync(file, mtime, mtime);
        const first = new FileHashCache(cacheFile);
        const hash = first.hashFile(file);
        first.save();
        assert.equal(first.reads, 1);
        const cached = fs.statSync(file, { bigint: true });
        const second = new FileHashCache(cacheFile);
        assert.equal(second.hashFile(file), hash);
        assert.equal(second.reads, 0, "an unchanged file is answered from the cache");
        // Same size, mtime and inode, new content: only the ctime moves, so the file must be read again.
        fs.writeFileSync(file, "WEIGHTS");
        fs.utimesSync(file, mtime, mtime);
        let changed = fs.statSync(file, { bigint: true });
        // The file system's clock may be coarse (a tick of the kernel's, or whole seconds or two on some
        // file systems, or a loaded machine): touch it again until its ctime has moved on, bounded by
        // wall-clock time rather than by a count of tries.
        const deadline = Date.now() + 10_000;
        while (changed.ctimeNs === cached.ctimeNs && Date.now() < deadline) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
            fs.utimesSync(file, mtime, mtime);
            changed = fs.statSync(file, { bigint: true });
        }
        assert.deepEqual(
            [changed.size, changed.mtimeNs, changed.ino],
            [cached.size, cached.mtimeNs, cached.ino],
            "the premise: size, mtime and inode as cached",
        );
        assert.notEqual(changed.ctimeNs, cached.ctimeNs, "the premise: the ctime moved");
        const third = new FileHashCache(cacheFile);
        assert.notEqual(third.hashFile(file), hash);
        assert.equal(third.reads, 1);
    });

    it("hashes every archive input with its role, and the settings that change the archive", () => {
        const fixture = makeModelDir();
        const requirementsFile = path.join(fixture.dir, "requirements.txt");
        const model = resolveSettings({ ...fixture.args, requirementsFile }, realFiles).model;
        assert.deepEqual(artifactsOf(model.artifacts!), [
            { role: "serialized-file", file: fixture.args.serializedFile },
            { role: "handler", file: fixture.args.handler },
            { role: "extra-file", file: fixture.args.extraFiles![0] },
            { role: "requirements-file", file: requirementsFile },
        ]);
        assert.deepEqual(archiveSettingsOf(model, model.artifacts!), ["model=demo", "format=directory"]);
        // A built-in handler is no file: it is a setting.
        const builtIn = resolveSettings(
            { ...fixture.args, handler: "image_classifier", extraFiles: [] },
            realFiles,
        ).model;
        assert.deepEqual(artifactsOf(builtIn.artifacts!), [
            { role: "serialized-file", file: fixture.args.serializedFile },
        ]);
        assert.deepEqual(archiveSettingsOf(builtIn, builtIn.artifacts!), [
            "model=demo",
            "format=directory",
            "handler=image_classifier",
        ]);
        // So a changed requirements file is a new version.
        const cache = new FileHashCache();
        const hash = () =>
            fingerprintArtifacts(artifactsOf(model.artifacts!), archiveSettingsOf(model, model.artifacts!), cache);
        const before = hash();
        fs.writeFileSync(requirementsFile, "numpy==2.0.0\n");
        assert.notEqual(hash(), before);
    });

    it("keeps the hash cache under TS_STACK_CACHE when set", () => {
        const saved = process.env.TS_STACK_CACHE;
        try {
            process.env.TS_STACK_CACHE = "/some/cache";
            assert.equal(defaultHashCacheFile(), "/some/cache/file-hashes.json");
            delete process.env.TS_STACK_CACHE;
            assert.equal(
                defaultHashCacheFile(),
                path.join(os.homedir(), ".cache", "torchserve-stack", "file-hashes.json"),
            );
        } finally {
            if (saved === undefined) {
                delete process.env.TS_STACK_CACHE;
            } else {
                process.env.TS_STACK_CACHE = saved;
            }
        }
    });
});
