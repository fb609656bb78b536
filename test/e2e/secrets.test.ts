/**
 * End to end, with the real Pulumi CLI (no cluster: the program refuses the
 * config before it creates anything): a value set with
 * `pulumi config set --secret` appears nowhere in what a refused preview
 * prints, nor in the deploy command's output and JSON summary, whatever the
 * problem (a mistyped secret key, a key that cannot be secret, a secret entry
 * TorchServe cannot read). The CLI masks only the exact plaintext; the values
 * here have a backslash, quotes and a line break, whose JSON-escaped copies it
 * would not recognise.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { ESCAPED_SECRET, assertNoSecret } from "../support/secrets";
import { tempDir } from "../support/tempDir";
import { testEnv } from "./support/environment";
import { PulumiProject } from "./support/project";
import { run, runOk } from "./support/run";

const STACK = "secrets";

describe("secret config in what a refused run prints", () => {
    let project: PulumiProject;
    let env: NodeJS.ProcessEnv;
    const work = tempDir("e2e-secrets-");

    /** `pulumi config set --secret` as a user types it (with --path for a map entry). */
    async function setSecret(key: string, value: string): Promise<void> {
        const pathFlag = key.includes(".") ? ["--path"] : [];
        await runOk(
            "pulumi",
            ["config", "set", "--secret", ...pathFlag, key, value, "--stack", STACK, "--non-interactive"],
            {
                cwd: project.dir,
                env,
            },
        );
    }

    /** The deploy command's preview, as a pipeline step runs it: exit code, JSON summary, everything printed. */
    async function deployPreview(): Promise<{ code: number; summary: any; printed: string }> {
        const result = await run(
            process.execPath,
            [path.join(project.dir, "bin", "deploy", "main.js"), "--stack", STACK, "--preview"],
            {
                cwd: work,
                env,
                timeoutMs: 5 * 60_000,
            },
        );
        const last = result.stdout.trim().split("\n").pop() ?? "";
        return { code: result.code, summary: JSON.parse(last), printed: result.stdout + result.stderr };
    }

    before(async () => {
        // No cluster: nothing reaches it. The kubeconfig names none.
        env = testEnv(path.join(work, "no-kubeconfig"), path.dirname(process.execPath));
        project = new PulumiProject(env);
        await project.initStack(STACK, { modelName: "demo", modelStoreHostPath: "/data/model-store" });
    });

    it("keeps a mistyped secret key's value and a secret modelVersion out of pulumi preview and the deploy", async () => {
        await setSecret("extraPropertes.keystore_pass", ESCAPED_SECRET);
        await setSecret("modelVersion", ESCAPED_SECRET);
        const preview = await project.preview(STACK);
        const printed = preview.stdout + preview.stderr;
        assert.notEqual(preview.code, 0);
        assert.match(printed, /torchserve-stack configuration has 2 problems/, printed);
        assert.match(
            printed,
            /extraPropertes = \[secret\]: is not a torchserve-stack config key \(did you mean extraProperties\?\)/,
        );
        assert.match(printed, /modelVersion = \[secret\]: is set as a secret, but its value ends up in plain text/);
        assertNoSecret(printed, ESCAPED_SECRET, "pulumi preview's output");

        const deploy = await deployPreview();
        assert.equal(deploy.code, 2, deploy.printed);
        assert.equal(deploy.summary.exitCode, 2);
        assert.match(deploy.summary.failure.message, /extraPropertes = \[secret\]/);
        assertNoSecret(deploy.printed, ESCAPED_SECRET, "the deploy command's output and JSON summary");
    });

    it("keeps a secret entry TorchServe cannot read out of pulumi preview and the deploy", async () => {
        await runOk("pulumi", ["config", "rm", "extraPropertes", "--stack", STACK, "--non-interactive"], {
            cwd: project.dir,
            env,
        });
        await runOk("pulumi", ["config", "rm", "modelVersion", "--stack", STACK, "--non-interactive"], {
            cwd: project.dir,
            env,
        });
        await setSecret("extraProperties.keystore_pass", ESCAPED_SECRET);
        const preview = await project.preview(STACK);
        const printed = preview.stdout + preview.stderr;
        assert.notEqual(preview.code, 0);
        assert.match(
            printed,
            /extraProperties\.keystore_pass = \[secret\]: must be one line of printable ASCII/,
            printed,
        );
        assertNoSecret(printed, ESCAPED_SECRET, "pulumi preview's output");

        const deploy = await deployPreview();
        assert.equal(deploy.code, 2, deploy.printed);
        assert.match(deploy.summary.failure.message, /extraProperties\.keystore_pass = \[secret\]/);
        assertNoSecret(deploy.printed, ESCAPED_SECRET, "the deploy command's output and JSON summary");
    });
});
