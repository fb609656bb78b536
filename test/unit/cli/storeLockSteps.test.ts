/**
 * The archive and rotation steps take the store lock: with the lock held by a
 * live process (a real child that renews its lease), each step waits, then
 * fails naming the holder, and the part is byte for byte as it was. Once the
 * holder releases, the same step changes the part (so "unchanged" was the lock's doing).
 */
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ArchiveSpec, RotateSpec } from "../../../components/cli";
import { publishArchive } from "../../../components/cli/archive";
import { rotateStore } from "../../../components/cli/rotate";
import { storeLayout } from "../../../components/store";
import { holdLock } from "../../support/lockHolder";
import { tempDir } from "../../support/tempDir";

const owner = { stack: "organization/torchserve-stack/prod", namespace: "ml-prod", appName: "torchserve" };
const subdir = "ml-prod/torchserve";
const wait = { waitMs: 1500, pollMs: 50 };

/** Every path under `dir` with a hash of its bytes (or `dir/`), except the lock (its holder renews it). */
function snapshot(dir: string, lockDir: string): string[] {
    return fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((name) => !path.join(dir, name).startsWith(lockDir))
        .sort()
        .map((name) => {
            const file = path.join(dir, name);
            return fs.lstatSync(file).isDirectory()
                ? `${name}/`
                : `${name} ${crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")}`;
        });
}

/** A store whose part has three versions, one in backup/, and a dead build's staging: work for both steps. */
function setup(): { root: string; part: string; lockDir: string; work: string } {
    const work = tempDir("lock-steps-");
    const root = path.join(work, "store");
    const layout = storeLayout(root, subdir);
    fs.mkdirSync(path.join(layout.part, "backup"), { recursive: true });
    for (const version of ["v1", "v2", "v3"]) {
        fs.writeFileSync(path.join(layout.part, `demo.${version}.mar`), `archive ${version}`);
    }
    fs.writeFileSync(path.join(layout.part, "backup", "demo.v0.mar"), "archive v0");
    fs.mkdirSync(path.join(layout.part, `.staging-demo.v4-~${os.hostname()}~999999~abcdef`));
    fs.writeFileSync(path.join(work, "model.pt"), "weights-4");
    const archiver = path.join(work, "archiver.sh");
    fs.writeFileSync(
        archiver,
        [
            "#!/bin/sh",
            'while [ $# -gt 0 ]; do case "$1" in',
            "  --model-name) m=$2; shift ;; --serialized-file) s=$2; shift ;; --export-path) e=$2; shift ;;",
            "esac; shift; done",
            'cat "$s" > "$e/$m.mar"',
        ].join("\n"),
        { mode: 0o755 },
    );
    return { root, part: layout.part, lockDir: layout.lockDir, work };
}

describe("the steps wait for the store lock of a live holder", () => {
    it("archive: fails with 'locked by' and leaves the part unchanged; archives once the holder is gone", async () => {
        const { root, part, lockDir, work } = setup();
        const spec: ArchiveSpec = {
            store: root,
            subdir,
            owner,
            model: "demo",
            version: "v4",
            fingerprint: "f4".repeat(32),
            bytes: 9,
            served: ["v4", "v0"],
            directories: [],
            build: {
                archiver: path.join(work, "archiver.sh"),
                archiveFormat: "zip-store",
                serializedFile: path.join(work, "model.pt"),
                handler: "handler.py",
                extraFiles: [],
            },
        };
        const holder = await holdLock(lockDir);
        try {
            const before = snapshot(part, lockDir);
            await assert.rejects(
                publishArchive(spec, wait),
                new RegExp(`locked by archive on ${os.hostname()} \\(pid ${holder.child.pid}\\)`),
            );
            assert.deepEqual(snapshot(part, lockDir), before, "the part is as it was");
            await holder.release();
            await publishArchive(spec, wait);
            const after = snapshot(part, lockDir);
            assert.ok(
                after.some((line) => line.startsWith("demo.v4.mar ")),
                "built once the lock was free",
            );
            assert.ok(
                after.some((line) => line.startsWith("demo.v0.mar ")),
                "restored from backup/",
            );
        } finally {
            holder.child.kill("SIGKILL");
        }
    });

    it("rotate: fails with 'locked by' and leaves the part unchanged; rotates once the holder is gone", async () => {
        const { root, part, lockDir } = setup();
        const spec: RotateSpec = { store: root, subdir, owner, model: "demo", keep: ["v3"] };
        const holder = await holdLock(lockDir);
        try {
            const before = snapshot(part, lockDir);
            await assert.rejects(
                rotateStore(spec, wait),
                new RegExp(`locked by archive on ${os.hostname()} \\(pid ${holder.child.pid}\\)`),
            );
            assert.deepEqual(snapshot(part, lockDir), before, "the part is as it was");
            await holder.release();
            assert.deepEqual((await rotateStore(spec, wait)).moveToBackup, ["v1", "v2"]);
            assert.notDeepEqual(snapshot(part, lockDir), before, "rotated once the lock was free");
        } finally {
            holder.child.kill("SIGKILL");
        }
    });
});
