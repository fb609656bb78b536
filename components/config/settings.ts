/**
 * Typed stack config ({@link TorchServeStackArgs}) to validated settings, split
 * by area (model, store, server, service), with every default applied. Every
 * problem is reported at once, at preview time, before anything is deployed.
 */
import { AvailabilitySettings, resolveAvailability } from "./availabilitySettings";
import { DEFAULTS } from "./defaults";
import { ConfigValidationError, ProblemList, setCommand as set } from "./errors";
import { FileChecks, ModelSettings, resolveModel } from "./modelSettings";
import { SECRET_CAPABLE_KEYS, plainTextSecretProblem } from "./secrets";
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
    readonly availability: AvailabilitySettings;
    /**
     * config.properties holds a value set as a secret (`pulumi config set --secret`): it goes into a
     * Secret, not a ConfigMap, and stays secret in the state.
     */
    readonly secretConfig: boolean;
}

/**
 * Applies defaults to `args` and validates all of them, reporting every
 * problem at once. `secretKeys` are the stack config keys set as secrets: a
 * problem about one never shows its value, and a key that may not be one is
 * refused before anything else is checked (other checks quote other keys'
 * values). Throws {@link ConfigValidationError}; never touches the cluster.
 */
export function resolveSettings(
    args: TorchServeStackArgs,
    files: FileChecks,
    secretKeys: readonly string[] = [],
): Settings {
    const plainText = secretKeys.filter((key) => !SECRET_CAPABLE_KEYS.includes(key)).map(plainTextSecretProblem);
    if (plainText.length > 0) {
        throw new ConfigValidationError(plainText);
    }
    const problems = new ProblemList(secretKeys);

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
    const availability = resolveAvailability(args, server.replicas, problems);
    checkExposure(server, service, availability, problems);
    checkEgress(server, service, problems);

    problems.throwIfAny();
    return {
        namespace,
        createNamespace: args.createNamespace ?? DEFAULTS.createNamespace,
        appName,
        model,
        store,
        server,
        service,
        availability,
        secretConfig: secretKeys.includes("extraProperties") && Object.keys(server.extraProperties).length > 0,
    };
}

/** pip in the pod (`installPyDepPerModel`) needs a package index the restricted egress admits. */
function checkEgress(server: ServerSettings, service: ServiceSettings, problems: ProblemList): void {
    if (service.restrictEgress && server.installPyDepPerModel && service.egressAllowedTo.length === 0) {
        problems.add({
            key: "egressAllowedTo",
            value: [],
            problem:
                "admits nothing but DNS with restrictEgress, so pip (installPyDepPerModel) cannot reach a package " +
                "index and every pod would fail to load the model",
            fix:
                "add the address of your package index or proxy: pulumi config set --path " +
                "'egressAllowedTo[0]' 10.0.0.5/32:3128; or pulumi config set installPyDepPerModel false",
        });
    }
}

/** Rules across areas: who can reach the management API, and what token authorization can do. */
function checkExposure(
    server: ServerSettings,
    service: ServiceSettings,
    availability: AvailabilitySettings,
    problems: ProblemList,
): void {
    if (service.exposeManagement && service.type !== "ClusterIP" && !server.tokenAuth) {
        problems.add({
            key: "exposeManagement",
            value: true,
            problem:
                `would put the management API (set the default version, scale workers to 0) on a ${service.type} ` +
                "Service without token authorization, open to everyone who reaches it",
            fix:
                `${set("serviceType", "ClusterIP")}, or pulumi config rm exposeManagement, ` +
                `or ${set("tokenAuth", "true")}`,
        });
    }
    const pods = Math.max(server.replicas, availability.autoscale?.maxReplicas ?? 0);
    if (server.tokenAuth && pods > 1) {
        problems.add({
            key: "tokenAuth",
            value: true,
            problem:
                `with ${pods} pods: each pod generates its own keys (key_file.json, renewed every ` +
                "token_expiration_min), so no client behind the Service holds a key every pod accepts",
            fix:
                "pulumi config rm tokenAuth and limit who reaches the pods with the NetworkPolicy " +
                "(inferenceFromNamespaces) or an authenticating proxy in front; or run one pod: " +
                `${set("replicas", "1")} (and no autoscaler)`,
        });
    }
}
