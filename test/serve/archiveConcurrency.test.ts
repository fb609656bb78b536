/**
 * Two archive steps of the same model at once, as two stacks (say staging and
 * a team namespace) deploying from one pipeline machine would run them: the
 * real archive command line and the real torch-model-archiver, which stages
 * its inputs in $TMPDIR/<model name>. One publishes a `.mar`, the other a
 * model directory (the default): both stage their inputs there.
 */
import assert from "node:assert/strict";
import { exec } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { ArchiveSpec, archiveCommand, scriptPath } from "../../components/cli";
import { venv } from "../e2e/support/environment";
import { HANDLER } from "../e2e/support/models";
import { runOk } from "../e2e/support/run";
import { tempDir } from "../support/tempDir";

const run = promisify(exec);
const PROJECT_DIR = path.resolve(__dirname, "..", "..", "..");
// Large enough that the copy-and-zip phases of archivers started together overlap.
const MODEL_MIB = 256;

/** sha256 of one entry of a zip archive, read with Python's zipfile. */
async function entrySha256(pythonEnv: string, archive: string, entry: string): Promise<string> {
    const script =
        "import hashlib,sys,zipfile; print(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2])).hexdigest())";
    return (await runOk(path.join(pythonEnv, "bin", "python"), ["-c", script, archive, entry])).stdout.trim();
}

/** The archive step's private TMPDIRs that exist now. */
function scratchDirs(): string[] {
    return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("torchserve-stack-archiver-"));
}

describe("archive steps running at once", () => {
    it("two stacks archiving the same model name at the same time both get intact archives", async () => {
        const pythonEnv = venv();
        const scratchBefore = scratchDirs();
        const work = tempDir("archive-concurrency-");
        // Each step's archiver is a stand-in that waits until both steps have reached their archiver, then
        // runs the real one: the two archivers run at the same time by construction, whatever the load.
        const barrier = path.join(work, "barrier");
        fs.mkdirSync(barrier);
        const jobs = [1, 2].map((n) => {
            const model = path.join(work, `model-${n}.pt`);
            fs.writeFileSync(model, crypto.randomBytes(MODEL_MIB * 2 ** 20));
            const archiver = path.join(work, `archiver-${n}`);
            const times = path.join(work, `times-${n}`);
            fs.writeFileSync(
                archiver,
                [
                    "#!/bin/sh",
                    `touch ${barrier}/${n}`,
                    "i=0",
                    `while [ "$(ls ${barrier} | wc -l)" -lt 2 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done`,
                    `date +%s%N > ${times}`,
                    `${path.join(pythonEnv, "bin", "torch-model-archiver")} "$@"`,
                    "status=$?",
                    `date +%s%N >> ${times}`,
                    "exit $status",
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            const store = path.join(work, `store-${n}`);
            fs.mkdirSync(store);
            const spec: ArchiveSpec = {
                store,
                subdir: `stack-${n}/torchserve`,
                owner: {
                    stack: `organization/torchserve-stack/stack-${n}`,
                    namespace: `stack-${n}`,
                    appName: "torchserve",
                },
                model: "demo",
                version: `v${n}`,
                fingerprint: `f${n}`,
                bytes: MODEL_MIB * 2 ** 20,
                served: [`v${n}`],
                directories: n === 2 ? [`v${n}`] : [],
                build: {
                    archiver,
                    serializedFile: model,
                    handler: HANDLER,
                    extraFiles: [],
                    archiveFormat: n === 2 ? "directory" : "zip-store",
                },
            };
            return {
                spec,
                times,
                expected: crypto.createHash("sha256").update(fs.readFileSync(model)).digest("hex"),
            };
        });

        const results = await Promise.allSettled(
            jobs.map(({ spec }) => run(archiveCommand(scriptPath(PROJECT_DIR, "archive"), spec), { cwd: PROJECT_DIR })),
        );

        const [first, second] = jobs.map(({ times }) => fs.readFileSync(times, "utf8").trim().split("\n").map(BigInt));
        assert.ok(
            first[0] < second[1] && second[0] < first[1],
            `the two archivers ran at the same time: ${first.join("-")} and ${second.join("-")} (ns)`,
        );
        results.forEach((result, i) => {
            assert.equal(
                result.status,
                "fulfilled",
                `archive step ${i + 1}: ${(result as PromiseRejectedResult).reason}`,
            );
        });
        for (const { spec, expected } of jobs) {
            const entry = `model-${spec.version.slice(1)}.pt`;
            const archive = path.join(spec.store, spec.subdir, `demo.${spec.version}.mar`);
            const directory = path.join(spec.store, spec.subdir, `demo.${spec.version}`);
            const actual =
                spec.directories.length > 0
                    ? crypto
                          .createHash("sha256")
                          .update(fs.readFileSync(path.join(directory, entry)))
                          .digest("hex")
                    : await entrySha256(pythonEnv, archive, entry);
            assert.equal(actual, expected, `${spec.version}'s entry holds its own model`);
        }
        assert.ok(fs.existsSync(path.join(jobs[1].spec.store, jobs[1].spec.subdir, "demo.v2", "MAR-INF")));
        const scratchAfter = scratchDirs();
        assert.deepEqual(
            scratchAfter.filter((dir) => !scratchBefore.includes(dir)),
            [],
            "no scratch directory left behind",
        );
    });
});
