/**
 * Runs the real program (bin/index.js) once under Pulumi mocks, in its own
 * process, and prints every registered resource as JSON: type, name, inputs
 * and dependencies. Auto-naming is emulated the way the Kubernetes provider
 * behaves for our purposes: a name derived from the inputs, so unchanged
 * inputs keep their name and changed ones get a new one.
 *
 * Usage: node mockProgram.js '<json: {config, stack, preview}>'
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

interface Recorded {
    type: string;
    name: string;
    inputs: any;
    dependencies: string[];
}

async function main(): Promise<void> {
    const { config, stack, preview } = JSON.parse(process.argv[2]) as { config: Record<string, string>; stack: string; preview: boolean };
    const recorded: Recorded[] = [];
    const dependencies = new Map<string, string[]>();

    await pulumi.runtime.setMocks({
        newResource(args) {
            const inputs = args.inputs;
            const state = { ...inputs };
            if (args.type.startsWith("kubernetes:") && inputs.metadata && !inputs.metadata.name) {
                const suffix = crypto.createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 8);
                state.metadata = { ...inputs.metadata, name: `${args.name}-${suffix}` };
            }
            if (args.type === "command:local:Command") {
                Object.assign(state, { stdout: "", stderr: "" });
            }
            recorded.push({ type: args.type, name: args.name, inputs, dependencies: [] });
            return { id: `${args.name}-id`, state };
        },
        call: () => ({}),
    }, "torchserve-stack", stack, preview);

    // Record each registration's dependencies from the mock monitor's requests.
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        dependencies.set(req.getName(), req.getDependenciesList().map((urn: string) => urn.split("::").pop()!));
        return register(req, callback);
    };

    pulumi.runtime.setAllConfig(config);
    try {
        require("../../index");
        await pulumi.runtime.disconnect();
    } catch (error) {
        process.stdout.write("\n@@RESULT@@" + JSON.stringify({ error: (error as Error).message }));
        return;
    }
    for (const r of recorded) {
        r.dependencies = (dependencies.get(r.name) ?? []).sort();
    }
    process.stdout.write("\n@@RESULT@@" + JSON.stringify({ resources: recorded }));
}

main().catch((error) => {
    process.stdout.write("\n@@RESULT@@" + JSON.stringify({ error: String(error?.stack ?? error) }));
});
