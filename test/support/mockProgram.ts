/**
 * Runs the real program (bin/index.js) under Pulumi mocks in its own process,
 * as the engine would, once per given stack config, and prints what each run
 * registered as JSON. An error is printed the way the Pulumi Node.js runtime
 * prints it: only the message for a RunError (an expected error), the stack
 * trace as well for anything else.
 *
 * Usage: node mockProgram.js '<json: [{config, stack, stackOutputs?, secretKeys?}, ...]>'
 * (stackOutputs: the stack's last outputs, which the program reads through a
 * StackReference to itself; secretKeys: the full config keys set as secrets).
 */
import * as pulumi from "@pulumi/pulumi";
import { MockRun, Recorded } from "./mocks";

async function runProgram(
    config: Record<string, string>,
    stack: string,
    stackOutputs: Record<string, unknown> = {},
    secretKeys: string[] = [],
): Promise<{ resources?: Recorded[]; outputs?: Record<string, unknown>; error?: string }> {
    const run = await MockRun.start(stack, config, true, stackOutputs, { secretKeys });
    const program = require.resolve("../../index");
    delete require.cache[program];
    let outputs: Record<string, unknown> | undefined;
    try {
        // As the engine does: load the module; a function it exports is the program, its result the outputs.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const main = require(program);
        if (typeof main === "function") {
            const exported = (await main()) as Record<string, unknown>;
            outputs = (await new Promise((resolve) => pulumi.output(exported).apply(resolve))) as Record<
                string,
                unknown
            >;
        }
    } catch (error) {
        await run.finish();
        return {
            error: pulumi.RunError.isInstance(error)
                ? (error as Error).message
                : String((error as Error)?.stack ?? error),
        };
    }
    return { resources: await run.finish(), outputs };
}

async function main(): Promise<void> {
    const runs = JSON.parse(process.argv[2]) as {
        config: Record<string, string>;
        stack: string;
        stackOutputs?: Record<string, unknown>;
        secretKeys?: string[];
    }[];
    const results = [];
    for (const { config, stack, stackOutputs, secretKeys } of runs) {
        results.push(await runProgram(config, stack, stackOutputs, secretKeys));
    }
    process.stdout.write("\n@@RESULT@@" + JSON.stringify(results));
}

main().catch((error) => {
    process.stdout.write("\n@@RESULT@@" + JSON.stringify([{ error: String(error?.stack ?? error) }]));
});
