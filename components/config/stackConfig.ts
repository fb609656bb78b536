/**
 * Reads a stack's config (the raw `project:key -> string` map Pulumi gives a
 * program) into {@link TorchServeStackArgs}: typed, with unknown keys and
 * wrong types reported by key, together, before anything is built.
 */
import { TorchServeStackArgs } from "./stackArgs";
import { ConfigProblem, ConfigValidationError, didYouMean, hideSecretValue, setPathCommand } from "./errors";
import { SECRET_CAPABLE_KEYS, plainTextSecretProblem } from "./secrets";
import { shellQuote } from "./shellQuote";
import { closestMatch } from "./validators";

type Kind =
    "string" | "optionalString" | "integer" | "intOrPercent" | "boolean" | "autoBoolean" | "stringList" | "stringMap";

/**
 * Every config key and how its string value is read. `optionalString` and
 * `autoBoolean` keys are declared in Pulumi.yaml with a default of "" or
 * "auto", which mean "not set" (Pulumi requires a default for optional keys).
 */
export const CONFIG_KEYS: Readonly<Record<keyof TorchServeStackArgs, Kind>> = {
    namespace: "optionalString",
    createNamespace: "boolean",
    appName: "string",
    modelName: "string",
    modelVersion: "optionalString",
    serializedFile: "optionalString",
    handler: "optionalString",
    extraFiles: "stringList",
    requirementsFile: "optionalString",
    archiveFormat: "string",
    archiveKeep: "integer",
    servedVersions: "integer",
    archiverCommand: "string",
    modelStorePath: "optionalString",
    modelStoreSubdir: "optionalString",
    modelStoreClaimName: "optionalString",
    modelStoreSize: "string",
    modelStoreStorageClass: "optionalString",
    modelStoreAccessModes: "stringList",
    modelStoreHostPath: "optionalString",
    modelStoreProtect: "boolean",
    image: "optionalString",
    gpus: "integer",
    replicas: "integer",
    maxSurge: "intOrPercent",
    maxUnavailable: "intOrPercent",
    cpuRequest: "string",
    cpuLimit: "string",
    memoryRequest: "string",
    memoryLimit: "string",
    inferencePort: "integer",
    managementPort: "integer",
    metricsPort: "integer",
    minWorkers: "integer",
    maxWorkers: "integer",
    batchSize: "integer",
    maxBatchDelayMs: "integer",
    responseTimeoutSeconds: "integer",
    jobQueueSize: "integer",
    installPyDepPerModel: "autoBoolean",
    tokenAuth: "boolean",
    enableModelApi: "boolean",
    metricsMode: "string",
    extraProperties: "stringMap",
    allowUnsafeExtraProperties: "boolean",
    startupTimeoutSeconds: "integer",
    podStartMarginSeconds: "integer",
    rolloutTimeoutMinutes: "integer",
    readOnlyRootFilesystem: "boolean",
    ephemeralStorageBase: "string",
    ephemeralStorageLimit: "optionalString",
    spreadReplicas: "string",
    podDisruptionBudget: "boolean",
    autoscaleMaxReplicas: "integer",
    autoscaleCpuPercent: "integer",
    serviceType: "string",
    exposeManagement: "boolean",
    exposeMetrics: "boolean",
    networkPolicy: "boolean",
    inferenceFromNamespaces: "stringList",
    metricsScraperNamespace: "string",
    restrictEgress: "boolean",
    egressAllowedTo: "stringList",
};

/**
 * Parses the project's keys of `raw` (other namespaces such as `kubernetes:`
 * are left to their providers). The namespace defaults to the stack name.
 * `secretKeys` (bare keys, as `pulumi config set --secret` marked them): a
 * problem about one never shows its value, and one whose value would end up
 * in plain text is refused (see {@link SECRET_CAPABLE_KEYS}).
 */
export function parseStackConfig(
    raw: Readonly<Record<string, string>>,
    project: string,
    stack: string,
    secretKeys: readonly string[] = [],
): TorchServeStackArgs {
    const problems: ConfigProblem[] = [];
    const values: Record<string, unknown> = {};
    const known = Object.keys(CONFIG_KEYS);
    const prefix = `${project}:`;
    for (const [fullKey, text] of Object.entries(raw)) {
        if (!fullKey.startsWith(prefix)) {
            continue;
        }
        const key = fullKey.slice(prefix.length);
        const secret = secretKeys.includes(key);
        const report = (problem: ConfigProblem) => problems.push(secret ? hideSecretValue(problem) : problem);
        // Own keys only: `constructor` or `__proto__` must be unknown keys, not Object's members.
        const kind = Object.hasOwn(CONFIG_KEYS, key) ? CONFIG_KEYS[key as keyof TorchServeStackArgs] : undefined;
        if (!kind) {
            const hint = closestMatch(key, known);
            // Set as a secret: the fix names the key to set, not the value.
            const setHint = secret ? setSecretCommand : (k: string) => `pulumi config set ${k} ${shellQuote(text)}`;
            report({
                key,
                value: text,
                problem: `is not a torchserve-stack config key${didYouMean(hint)}`,
                fix: hint
                    ? `pulumi config rm ${key} && ${setHint(hint)}`
                    : `pulumi config rm ${key} (README.md lists every key)`,
            });
            continue;
        }
        if (secret && !SECRET_CAPABLE_KEYS.includes(key)) {
            problems.push(plainTextSecretProblem(key));
            continue;
        }
        const parsed = parseValue(key, kind, text);
        if ("problem" in parsed) {
            report(parsed.problem);
        } else if (parsed.value !== undefined) {
            values[key] = parsed.value;
        }
    }
    if (problems.length > 0) {
        throw new ConfigValidationError(problems);
    }
    if (values.namespace === undefined) {
        values.namespace = stack;
    }
    return values as unknown as TorchServeStackArgs;
}

/** The command that sets `key` again without quoting a secret value: VALUE is for the user to fill in. */
function setSecretCommand(key: string): string {
    const kind = CONFIG_KEYS[key as keyof TorchServeStackArgs];
    const secret = SECRET_CAPABLE_KEYS.includes(key) ? "--secret " : "";
    return kind === "stringMap"
        ? `pulumi config set ${secret}--path '${key}.NAME' VALUE`
        : kind === "stringList"
          ? `pulumi config set ${secret}--path '${key}[0]' VALUE`
          : `pulumi config set ${secret}${key} VALUE`;
}

type Parsed = { value: unknown } | { problem: ConfigProblem };

function parseValue(key: string, kind: Kind, text: string): Parsed {
    const bad = (problem: string, example: string): Parsed => ({
        problem: { key, value: text, problem, fix: `pulumi config set ${key} ${example}` },
    });
    switch (kind) {
        case "string":
            return { value: text };
        case "optionalString":
            return { value: text === "" ? undefined : text };
        case "integer":
            return /^-?[0-9]+$/.test(text.trim()) ? { value: Number(text) } : bad("must be a whole number", "3");
        case "intOrPercent":
            return /^[0-9]+$/.test(text.trim()) ? { value: Number(text) } : { value: text };
        case "boolean":
            return text === "true" || text === "false"
                ? { value: text === "true" }
                : bad("must be true or false", "true");
        case "autoBoolean":
            return text === "auto"
                ? { value: undefined }
                : text === "true" || text === "false"
                  ? { value: text === "true" }
                  : bad("must be auto, true or false", "auto");
        case "stringList": {
            const list = parseJson(text);
            return Array.isArray(list) && list.every((item) => typeof item === "string")
                ? { value: list }
                : {
                      problem: {
                          key,
                          value: text,
                          problem: "must be a list of strings",
                          fix: setPathCommand(`${key}[0]`, "VALUE"),
                      },
                  };
        }
        case "stringMap": {
            const map = parseJson(text);
            return typeof map === "object" && map !== null && !Array.isArray(map)
                ? { value: map }
                : {
                      problem: {
                          key,
                          value: text,
                          problem: "must be a map of keys to values",
                          fix: setPathCommand(`${key}.NAME`, "VALUE"),
                      },
                  };
        }
    }
}

function parseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}
