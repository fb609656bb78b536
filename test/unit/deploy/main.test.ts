/**
 * The deploy command as a pipeline step runs it (`node bin/deploy/main.js`),
 * where it fails before needing the engine: its exit code, the JSON summary
 * as its last stdout line, and the closing line on stderr.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";

const MAIN = path.resolve(__dirname, "..", "..", "..", "deploy", "main.js");

function runDeploy(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        // No Pulumi CLI on PATH: nothing here may reach the engine.
        execFile(process.execPath, [MAIN, ...args], { env: { PATH: "/nonexistent" } }, (error, stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
    });
}

describe("the deploy command's entry point", () => {
    it("exits 2 for a bad flag or stack name, with the summary as its last line and the reason on stderr", async () => {
        for (const [args, reason] of [
            [["--stack", "prod", "--modle-version", "v1"], /modle-version/],
            [["--stack", "a/b/c/d", "--preview"], /--stack "a\/b\/c\/d" is not a stack name/],
        ] as const) {
            const { code, stdout, stderr } = await runDeploy([...args]);
            assert.equal(code, 2, stderr);
            const summary = JSON.parse(stdout.trim().split("\n").pop()!);
            assert.equal(summary.exitCode, 2);
            assert.equal(summary.failure.kind, "bad-input");
            assert.match(summary.failure.message, reason);
            assert.equal(summary.operation, (args as readonly string[]).includes("--preview") ? "preview" : "up");
            assert.deepEqual(summary.warnings, []);
            assert.match(stderr, /\] FAILED \(bad-input, exit 2\): /);
        }
    });
});
