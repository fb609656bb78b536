/**
 * Evaluates N TorchServeStack components (N stacks' worth of models, each
 * with its own model file) under Pulumi mocks, in one process, and prints how
 * long the program took. Usage: node evalHarness.js '<json: {dir, count}>'
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

async function main(): Promise<void> {
    const { dir, count } = JSON.parse(process.argv[2]) as { dir: string; count: number };
    const start = performance.now();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({
                id: `${args.name}-id`,
                state: {
                    ...args.inputs,
                    metadata: { ...args.inputs.metadata, name: args.inputs.metadata?.name ?? `${args.name}-x` },
                },
            }),
            call: () => ({}),
        },
        "torchserve-stack",
        "bench",
        true,
    );
    const { TorchServeStack } = await import("../components/torchServeStack");
    for (let i = 0; i < count; i++) {
        const model = path.join(dir, `model-${i}`);
        new TorchServeStack(`ts${i}`, {
            namespace: `ns-${i}`,
            appName: "torchserve",
            modelName: `model${i}`,
            serializedFile: path.join(model, "model.pt"),
            handler: path.join(model, "handler.py"),
            modelStorePath: path.join(model, "store"),
        });
    }
    await pulumi.runtime.disconnect();
    process.stdout.write(`\n@@SECONDS@@${(performance.now() - start) / 1000}\n`);
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
