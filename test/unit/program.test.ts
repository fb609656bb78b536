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

const projectDir = path.resolve(__dirname, "..", "..", "..");
const harness = path.join(__dirname, "..", "support", "mockProgram.js");
const fixture = makeModelDir("tsstack-program-");

function configOf(values: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`torchserve-stack:${k}`, v]));
}

describe("the program (index.ts) under mocks, in its own process", () => {
    it("builds one TorchServeStack from the stack config, and prints only the message for bad config", () => {
        const good = configOf({
            modelName: "demo",
            modelVersion: "v1",
            serializedFile: fixture.args.serializedFile,
            handler: fixture.args.handler,
            modelStorePath: fixture.store,
            appName: "ts",
        });
        const bad = configOf({
            ...Object.fromEntries(Object.entries(good).map(([k, v]) => [k.split(":")[1], v])),
            modelVerson: "v1",
            archiveKeep: "0",
        });
        const result = spawnSync(
            process.execPath,
            [
                harness,
                JSON.stringify([
                    { config: good, stack: "staging" },
                    { config: bad, stack: "staging" },
                ]),
            ],
            {
                cwd: projectDir,
                encoding: "utf8",
                env: { ...process.env, TS_STACK_CACHE: fixture.dir },
            },
        );
        assert.equal(result.status, 0, result.stderr);
        const marker = result.stdout.lastIndexOf("@@RESULT@@");
        assert.ok(marker >= 0, `no result from the program: ${result.stdout}${result.stderr}`);
        const [built, failed] = JSON.parse(result.stdout.slice(marker + "@@RESULT@@".length)) as {
            resources?: Recorded[];
            error?: string;
        }[];

        assert.equal(built.error, undefined);
        const component = built.resources!.filter((r) => r.type === "torchserve:index:TorchServeStack");
        assert.deepEqual(
            component.map((r) => r.name),
            ["ts"],
            "named after appName",
        );
        assert.equal(
            built.resources!.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.metadata.namespace,
            "staging",
            "namespace: the stack name",
        );

        assert.equal(failed.resources, undefined);
        assert.match(
            failed.error!,
            /^torchserve-stack configuration has 1 problem; nothing was deployed or deleted:\n {2}1\. modelVerson = "v1": is not a torchserve-stack config key \(did you mean modelVersion\?\)\n {5}Fix: pulumi config rm modelVerson && pulumi config set modelVersion v1$/,
        );
        assert.doesNotMatch(failed.error!, /^\s+at /m, "a RunError: the runtime prints no stack trace");
    });
});
