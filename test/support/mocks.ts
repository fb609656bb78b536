/**
 * Pulumi mocks that record every registered resource: type, name, parent,
 * inputs, protection and dependencies. Auto-naming is emulated the way the
 * Kubernetes provider behaves for our purposes: a name derived from the
 * inputs, so unchanged inputs keep their name and changed ones get a new one.
 * Used in-process by the unit tests and by the harness that runs index.ts.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
    type: string;
    name: string;
    /** The parent's name, if any. */
    parent?: string;
    inputs: any;
    /** Names of the resources it depends on, sorted. */
    dependencies: string[];
    protect: boolean;
    retainOnDelete: boolean;
    /** Input property paths the program marked secret (e.g. `stringData`), sorted. */
    secretPaths: string[];
    /** Input paths the engine is told to ignore changes of. */
    ignoreChanges: string[];
}

type Options = Pick<
    Recorded,
    "parent" | "dependencies" | "protect" | "retainOnDelete" | "secretPaths" | "ignoreChanges"
>;

/** What else a run's mocks are told. */
export interface MockRunOptions {
    /** Stack config keys set as secrets (as `pulumi config set --secret` marks them). */
    readonly secretKeys?: string[];
    /** The status the Deployment reports after its update (default: none, as in a preview). */
    readonly deploymentStatus?: Record<string, unknown>;
    /**
     * Names of resources whose creation fails, as a step whose command exits non-zero does: the
     * engine gets an error instead of their state, so their outputs never resolve.
     */
    readonly failingResources?: readonly string[];
}

/** The SDK's marker of a secret value in serialized properties. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Paths of the secret values in serialized properties. */
function secretPathsOf(value: unknown, at = ""): string[] {
    if (typeof value !== "object" || value === null) {
        return [];
    }
    if ((value as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === SECRET_SIG) {
        return [at];
    }
    return Object.entries(value).flatMap(([key, inner]) => secretPathsOf(inner, at ? `${at}.${key}` : key));
}

/** One program run under mocks: start it, build resources, then finish it to read what was registered. */
export class MockRun {
    private readonly registered: { type: string; name: string; inputs: any }[] = [];
    private readonly options = new Map<string, Options>();
    /** What each component registered as its outputs (`registerOutputs`), serialized, by name. */
    readonly componentOutputs = new Map<string, unknown>();
    /** The errors the run ended with (see {@link MockRunOptions.failingResources}). */
    readonly failures: Error[] = [];
    private restoreListeners?: () => void;

    private constructor() {}

    /**
     * Starts a fresh run for `stack` with this stack config (the whole config map, replaced).
     * `stackOutputs` are what a StackReference to the stack itself reads: its last outputs.
     */
    static async start(
        stack: string,
        config: Record<string, string>,
        preview = true,
        stackOutputs: Record<string, unknown> = {},
        options: MockRunOptions = {},
    ): Promise<MockRun> {
        const run = new MockRun();
        await pulumi.runtime.setMocks(
            {
                newResource(args) {
                    const inputs = args.inputs;
                    const state = { ...inputs };
                    if (args.type.startsWith("kubernetes:") && inputs.metadata && !inputs.metadata.name) {
                        const suffix = crypto
                            .createHash("sha256")
                            .update(JSON.stringify(inputs))
                            .digest("hex")
                            .slice(0, 8);
                        state.metadata = { ...inputs.metadata, name: `${args.name}-${suffix}` };
                    }
                    if (args.type === "kubernetes:apps/v1:Deployment" && options.deploymentStatus) {
                        state.metadata = { ...state.metadata, generation: 2 };
                        state.status = { observedGeneration: 2, ...options.deploymentStatus };
                    }
                    if (args.type === "command:local:Command") {
                        Object.assign(state, { stdout: "", stderr: "" });
                    }
                    if (args.type === "pulumi:pulumi:StackReference") {
                        Object.assign(state, { outputs: stackOutputs, secretOutputNames: [] });
                    }
                    run.registered.push({ type: args.type, name: args.name, inputs });
                    if (options.failingResources?.includes(args.name)) {
                        throw new Error(`${args.name} failed (mocked)`);
                    }
                    return { id: `${args.name}-id`, state };
                },
                call: () => ({}),
            },
            "torchserve-stack",
            stack,
            preview,
            "organization",
        );

        // The registration requests carry what the mocks are not told: parent, options, dependencies.
        const monitor = pulumi.runtime.getMonitor() as any;
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            const nameOf = (urn: string) => urn.split("::").pop()!;
            run.options.set(`${req.getType()}::${req.getName()}`, {
                parent: req.getParent() ? nameOf(req.getParent()) : undefined,
                dependencies: req.getDependenciesList().map(nameOf).sort(),
                protect: req.getProtect() === true,
                retainOnDelete: req.getRetainondelete() === true,
                secretPaths: secretPathsOf(req.getObject()?.toJavaScript()).sort(),
                ignoreChanges: req.getIgnorechangesList(),
            });
            return register(req, callback);
        };
        const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
        monitor.registerResourceOutputs = (req: any, callback: any) => {
            run.componentOutputs.set(req.getUrn().split("::").pop()!, req.getOutputs()?.toJavaScript());
            return registerOutputs(req, callback);
        };
        pulumi.runtime.setAllConfig(config, options.secretKeys);
        if (options.failingResources?.length) {
            run.collectFailures();
        }
        return run;
    }

    /**
     * A failed resource ends a real run: the SDK rethrows its error as an unhandled rejection, on
     * purpose, and the language host fails the program with it. Here the run collects those errors
     * instead (the test runner would count them against whatever test runs at that moment), until
     * {@link finish}.
     */
    private collectFailures(): void {
        const previous = process.listeners("unhandledRejection");
        process.removeAllListeners("unhandledRejection");
        const collect = (reason: unknown) => this.failures.push(reason as Error);
        process.on("unhandledRejection", collect);
        this.restoreListeners = () => {
            process.off("unhandledRejection", collect);
            previous.forEach((listener) => process.on("unhandledRejection", listener));
        };
    }

    /** Waits until every registration has been answered; returns the resources in registration order. */
    async finish(): Promise<Recorded[]> {
        await pulumi.runtime.disconnect();
        if (this.restoreListeners) {
            // A failure reaches the rejection handler some turns after the last registration was answered.
            await new Promise((resolve) => setTimeout(resolve, 50));
            this.restoreListeners();
        }
        return this.registered.map((r) => ({ ...r, ...this.options.get(`${r.type}::${r.name}`)! }));
    }
}
