/**
 * The program itself (index.ts), in its own process as the engine runs it,
 * under mocks: it reads the stack config and builds the component. The
 * component's behaviour is tested in-process (torchServeStack.test.ts).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { makeModelDir } from "../support/fixtures";
import { Recorded } from "../support/mocks";
import { ESCAPED_SECRET, PLAIN_SECRET, assertNoSecret } from "../support/secrets";

const projectDir = path.resolve(__dirname, "..", "..", "..");
const harness = path.join(__dirname, "..", "support", "mockProgram.js");
const fixture = makeModelDir("tsstack-program-");

function configOf(values: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`torchserve-stack:${k}`, v]));
}

type Run = {
    config: Record<string, string>;
    stack: string;
    stackOutputs?: Record<string, unknown>;
    /** Keys (without the project prefix) set as secrets. */
    secretKeys?: string[];
};
type RunResult = { resources?: Recorded[]; outputs?: Record<string, any>; error?: string };

/** Runs index.ts once per given run, in a fresh process: each run's result, and all the process printed. */
function runProgramsPrinting(runs: Run[]): { results: RunResult[]; printed: string } {
    const withKeys = runs.map((run) => ({ ...run, secretKeys: run.secretKeys?.map((k) => `torchserve-stack:${k}`) }));
    const result = spawnSync(process.execPath, [harness, JSON.stringify(withKeys)], {
        cwd: projectDir,
        encoding: "utf8",
        env: { ...process.env, TS_STACK_CACHE: fixture.dir },
    });
    assert.equal(result.status, 0, result.stderr);
    const marker = result.stdout.lastIndexOf("@@RESULT@@");
    assert.ok(marker >= 0, `no result from the program: ${result.stdout}${result.stderr}`);
    return {
        results: JSON.parse(result.stdout.slice(marker + "@@RESULT@@".length)),
        printed: result.stdout.slice(0, marker) + result.stderr,
    };
}

/** Runs index.ts once per given run, in a fresh process, and returns each run's result. */
function runPrograms(runs: Run[]): RunResult[] {
    return runProgramsPrinting(runs).results;
}

const deploymentOf = (resources: Recorded[]) => resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;

describe("the program (index.ts) under mocks, in its own process", () => {
    const infra = { modelName: "demo", appName: "ts" };
    const good = configOf({
        ...infra,
        modelVersion: "v1",
        serializedFile: fixture.args.serializedFile!,
        handler: fixture.args.handler!,
        modelStorePath: fixture.store,
    });
    const bad = configOf({ ...infra, modelVersion: "v1", modelVerson: "v1", archiveKeep: "0" });

    it("builds one TorchServeStack from the stack config, exports the release, and prints only the message for bad config", () => {
        const [built, failed] = runPrograms([
            { config: good, stack: "staging" },
            { config: bad, stack: "staging" },
        ]);
        assert.equal(built.error, undefined);
        const component = built.resources!.filter((r) => r.type === "torchserve:index:TorchServeStack");
        assert.deepEqual(
            component.map((r) => r.name),
            ["ts"],
            "named after appName",
        );
        assert.equal(deploymentOf(built.resources!).inputs.metadata.namespace, "staging", "namespace: the stack name");
        assert.equal(built.outputs!.modelVersion, "v1");
        assert.equal(built.outputs!.release.version, "v1");
        assert.deepEqual(built.outputs!.release.served, ["v1"]);

        assert.equal(failed.resources, undefined);
        assert.match(
            failed.error!,
            /^torchserve-stack configuration has 1 problem; nothing was deployed or deleted:\n {2}1\. modelVerson = "v1": is not a torchserve-stack config key \(did you mean modelVersion\?\)\n {5}Fix: pulumi config rm modelVerson && pulumi config set modelVersion v1$/,
        );
        assert.doesNotMatch(failed.error!, /^\s+at /m, "a RunError: the runtime prints no stack trace");
    });

    it("keeps the release it reads from its own last outputs when a run brings no model (a pull request)", () => {
        const [built] = runPrograms([{ config: good, stack: "staging" }]);
        const [kept, nothingDeployed, unreadable, redeployed] = runPrograms([
            { config: configOf(infra), stack: "staging", stackOutputs: built.outputs },
            { config: configOf(infra), stack: "staging", stackOutputs: {} },
            { config: configOf(infra), stack: "staging", stackOutputs: { release: { schema: 99 } } },
            { config: good, stack: "staging", stackOutputs: { release: { schema: 99 } } },
        ]);
        assert.equal(redeployed.error, undefined, "a deploy that brings a model gets past an unreadable record");
        assert.equal(redeployed.outputs!.release.version, "v1");
        assert.equal(kept.error, undefined);
        assert.deepEqual(kept.resources, built.resources, "the same inputs for every resource: nothing to change");
        assert.match(
            nothingDeployed.error!,
            /serializedFile = \(not set\): is required: stack staging has no model deployed yet/,
        );
        assert.doesNotMatch(nothingDeployed.error!, /^\s+at /m);
        assert.match(
            unreadable.error!,
            /serializedFile = \(not set\): is required: the stack's recorded release is not one this program can read \(schema 99/,
        );
        assert.doesNotMatch(unreadable.error!, /^\s+at /m);
    });

    it("keeps secret config out of its outputs, its log and its errors: only the Secret's data holds it", () => {
        const secretExtra = (entries: Record<string, unknown>) => ({
            ...good,
            "torchserve-stack:extraProperties": JSON.stringify(entries),
        });
        const { results, printed } = runProgramsPrinting([
            { config: secretExtra({ keystore_pass: PLAIN_SECRET }), stack: "staging", secretKeys: ["extraProperties"] },
            // Errors: a mistyped secret key, a secret entry TorchServe cannot read, a key that cannot be secret.
            {
                config: {
                    ...good,
                    "torchserve-stack:extraPropertes": JSON.stringify({ keystore_pass: ESCAPED_SECRET }),
                },
                stack: "staging",
                secretKeys: ["extraPropertes"],
            },
            {
                config: secretExtra({ keystore_pass: ESCAPED_SECRET }),
                stack: "staging",
                secretKeys: ["extraProperties"],
            },
            {
                config: { ...good, "torchserve-stack:modelVersion": ESCAPED_SECRET },
                stack: "staging",
                secretKeys: ["modelVersion"],
            },
        ]);
        const [built, ...failed] = results;
        assert.equal(built.error, undefined);
        const secrets = built.resources!.filter((r) => r.type === "kubernetes:core/v1:Secret");
        assert.equal(secrets.length, 1);
        assert.match(secrets[0].inputs.stringData.value["config.properties"], /^keystore_pass=Zq7J"vKwY'pQx$/m);
        assertNoSecret(JSON.stringify(built.outputs), PLAIN_SECRET, "the stack outputs");
        const others = built.resources!.filter((r) => r !== secrets[0]);
        assertNoSecret(JSON.stringify(others), PLAIN_SECRET, "the other resources");
        assert.deepEqual(
            failed.map((f) => f.resources),
            [undefined, undefined, undefined],
        );
        for (const [i, { error }] of failed.entries()) {
            assert.match(error!, /^torchserve-stack configuration has 1 problem/);
            assert.match(error!, / = \[secret\]: /);
            assertNoSecret(error!, ESCAPED_SECRET, `error ${i + 1}`);
        }
        assertNoSecret(printed, PLAIN_SECRET, "what the program printed");
        assertNoSecret(printed, ESCAPED_SECRET, "what the program printed");
    });
});
