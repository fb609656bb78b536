/**
 * Typed stack config ({@link TorchServeStackArgs}) to validated settings, split
 * by area (model, store, server, service), with every default applied. Every
 * problem is reported at once, at preview time, before anything is deployed.
 */
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set } from "./errors";
import { FileChecks, ModelSettings, resolveModel } from "./modelSettings";
import { ServerSettings, resolveServer } from "./serverSettings";
import { ServiceSettings, resolveService } from "./serviceSettings";
import { TorchServeStackArgs } from "./stackArgs";
import { StoreSettings, resolveStore } from "./storeSettings";
import { isDns1035Label, isDnsLabel } from "./validators";

/** Every setting of a stack, defaults applied and validated. */
export interface Settings {
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly appName: string;
    readonly model: ModelSettings;
    readonly store: StoreSettings;
    readonly server: ServerSettings;
    readonly service: ServiceSettings;
}

/**
 * Applies defaults to `args` and validates all of them, reporting every
 * problem at once. Throws {@link ConfigValidationError}; never touches the cluster.
 */
export function resolveSettings(args: TorchServeStackArgs, files: FileChecks): Settings {
    const problems = new ProblemList();

    const namespace = args.namespace;
    if (!isDnsLabel(namespace ?? "")) {
        problems.add({
            key: "namespace",
            value: namespace,
            problem:
                "is not a valid Kubernetes namespace (lowercase letters, digits and '-', at most 63, starting and " +
                "ending alphanumeric)",
            fix: set("namespace", "ml-staging"),
        });
    }
    const appName = args.appName ?? DEFAULTS.appName;
    // The longest derived name is `<appName>-model-store`; Service names must be RFC 1035 labels.
    if (!isDns1035Label(appName) || appName.length > 40) {
        problems.add({
            key: "appName",
            value: appName,
            problem:
                "must start with a letter, use lowercase letters, digits and '-', and be at most 40 characters (it " +
                "prefixes Service and claim names)",
            fix: set("appName", DEFAULTS.appName),
        });
    }

    const model = resolveModel(args, files, problems, `${namespace}/${appName}`);
    const store = resolveStore(args, problems);
    const server = resolveServer(args, problems);
    const service = resolveService(args, problems);

    problems.throwIfAny();
    return {
        namespace,
        createNamespace: args.createNamespace ?? DEFAULTS.createNamespace,
        appName,
        model,
        store,
        server,
        service,
    };
}
