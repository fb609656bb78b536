/**
 * test/serve/torchserve_smoke.py, the harness behind test/fixtures/model/FINDINGS.md (its TorchServe
 * class starts every server of study_torchserve.py), run as FINDINGS.md says to reproduce it: the
 * fixture archived in three versions by the real archiver, served by the real TorchServe 0.12.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { REPO, venv } from "../e2e/support/environment";
import { run } from "../e2e/support/run";

describe("the TorchServe smoke script behind FINDINGS.md", () => {
    it("passes its eight checks with the venv's TorchServe", async () => {
        const pythonEnv = venv();
        const result = await run(
            path.join(pythonEnv, "bin", "python"),
            [path.join(REPO, "test/serve/torchserve_smoke.py")],
            {
                cwd: REPO,
                timeoutMs: 10 * 60_000,
            },
        );
        const output = `${result.stdout}\n${result.stderr}`;
        assert.equal(result.code, 0, output);
        const checks = result.stdout.split("\n").filter((line) => /^(PASS|FAIL) /.test(line));
        assert.deepEqual(
            checks.map((line) => line.split(" ").slice(0, 2).join(" ")),
            [
                "PASS ready",
                "PASS default",
                "PASS version",
                "PASS version",
                "PASS version",
                "PASS management",
                "PASS register",
                "PASS prometheus",
            ],
            output,
        );
    });
});
