/**
 * Runs the real program (bin/index.js) under Pulumi mocks in its own process,
 * as the engine would, once per given stack config, and prints what each run
 * registered as JSON. An error is printed the way the Pulumi Node.js runtime
 * prints it: only the message for a RunError (an expected error), the stack
 * trace as well for anything else.
 *
 * Usage: node mockProgram.js '<json: [{config, stack}, ...]>'
 */
import * as pulumi from "@pulumi/pulumi";
import { MockRun, Recorded } from "./mocks";

async function runProgram(
    config: Record<string, string>,
    stack: string,
): Promise<{ resources?: Recorded[]; error?: string }> {
    const run = await MockRun.start(stack, config);
    const program = require.resolve("../../index");
    delete require.cache[program];
    try {
        // The program runs on load, as the engine loads it; a fresh load per run.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(program);
    } catch (error) {
        await run.finish();
        return {
            error: pulumi.RunError.isInstance(error)
                ? (error as Error).message
                : String((error as Error)?.stack ?? error),
        };
    }
    return { resources: await run.finish() };
}

async function main(): Promise<void> {
    const runs = JSON.parse(process.argv[2]) as { config: Record<string, string>; stack: string }[];
    const results = [];
    for (const { config, stack } of runs) {
        results.push(await runProgram(config, stack));
    }
    process.stdout.write("\n@@RESULT@@" + JSON.stringify(results));
}

main().catch((error) => {
    process.stdout.write("\n@@RESULT@@" + JSON.stringify([{ error: String(error?.stack ?? error) }]));
});
