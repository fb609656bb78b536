/**
 * The `extraProperties` stack config key: more entries for TorchServe's
 * `config.properties`. The keys TorchServe 0.12 reads (ConfigManager.java) are
 * split into those this program renders itself (refused here, with the stack
 * config key to set instead) and those a user may add; of those, the ones
 * that undo the hardening need an explicit opt-in.
 */
import { ProblemList, didYouMean, setPathCommand } from "./errors";
import { closestMatch } from "./validators";

/** Keys the program renders, with the stack config key that controls each. */
export const MANAGED_PROPERTY_KEYS: Readonly<Record<string, string>> = {
    inference_address: "inferencePort",
    management_address: "managementPort",
    metrics_address: "metricsPort",
    model_store: "modelStoreSubdir",
    load_models: "servedVersions",
    models: "minWorkers / maxWorkers / batchSize / maxBatchDelayMs / responseTimeoutSeconds",
    job_queue_size: "jobQueueSize",
    install_py_dep_per_model: "installPyDepPerModel",
    metrics_mode: "metricsMode",
    disable_token_authorization: "tokenAuth",
    enable_model_api: "enableModelApi",
    default_startup_timeout: "startupTimeoutSeconds",
    // Snapshots would override the rendered file on restart; the server runs with --ncs.
    model_snapshot: "(none: config snapshots are disabled with --ncs)",
};

/** Other keys TorchServe 0.12 understands; allowed in `extraProperties`. */
export const EXTRA_PROPERTY_KEYS: readonly string[] = [
    "allowed_urls",
    "async_logging",
    "blacklist_env_vars",
    "certificate_file",
    "cors_allowed_headers",
    "cors_allowed_methods",
    "cors_allowed_origin",
    "cpp_log_config",
    "cpu_launcher_args",
    "cpu_launcher_enable",
    "debug",
    "decode_input_request",
    "default_response_timeout",
    "default_service_handler",
    "default_workers_per_model",
    "disable_system_metrics",
    "enable_envvars_config",
    "enable_grpc_ssl",
    "enable_metrics_api",
    "grpc_inference_address",
    "grpc_inference_max_connection_age_grace_ms",
    "grpc_inference_max_connection_age_ms",
    "grpc_inference_port",
    "grpc_management_address",
    "grpc_management_max_connection_age_grace_ms",
    "grpc_management_max_connection_age_ms",
    "grpc_management_port",
    "initial_distribution_port",
    "initial_worker_port",
    "io_ratio",
    "ipex_enable",
    "ipex_gpu_enable",
    "keystore",
    "keystore_pass",
    "keystore_type",
    "limit_max_image_pixels",
    "max_request_size",
    "max_response_size",
    "metric_time_interval",
    "metrics_config",
    "model_metrics_auto_detect",
    "netty_client_threads",
    "number_of_gpu",
    "number_of_netty_threads",
    "prefer_direct_buffer",
    "private_key_file",
    "service_envelope",
    "system_metrics_cmd",
    "token_expiration_min",
    "ts_header_key_sequence_end",
    "ts_header_key_sequence_id",
    "ts_header_key_sequence_start",
    "ts_open_inference_protocol",
    "unregister_model_timeout",
    "use_env_allowed_urls",
    "use_native_io",
    "workflow_store",
];

/**
 * Keys a user may set that undo the hardening, each with why, and the values
 * that are safe anyway (if any). Accepted only with `allowUnsafeExtraProperties`.
 */
export const UNSAFE_PROPERTY_KEYS: Readonly<Record<string, { readonly why: string; readonly safe?: RegExp }>> = {
    enable_envvars_config: {
        why: "lets TS_* environment variables override the rendered config.properties (model API, addresses, auth)",
        safe: /^false$/i,
    },
    system_metrics_cmd: { why: "makes the server run a command of your choice, periodically, in every pod" },
    cpu_launcher_args: { why: "passes arbitrary arguments to the command line that starts every worker" },
    allowed_urls: { why: "sets where the server may load model archives from (over the network too)" },
    use_env_allowed_urls: {
        why: "takes allowed_urls from an environment variable instead of the file",
        safe: /^false$/i,
    },
    grpc_management_address: {
        why: "binds the gRPC management API (set default version, scale workers) beyond the pod's loopback",
        safe: /^(127\.0\.0\.1|localhost)$/,
    },
};

/**
 * Adds a problem for every entry that is not a TorchServe key a user may set,
 * whose value the two config.properties parsers would read differently, or
 * that undoes the hardening without `allowUnsafeExtraProperties`.
 */
export function validateExtraProperties(
    extra: Readonly<Record<string, string>>,
    problems: ProblemList,
    allowUnsafe = false,
): void {
    if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
        problems.add({
            key: "extraProperties",
            value: extra,
            problem: "must be a map of config.properties keys to values",
            fix: "pulumi config set --path 'extraProperties.max_request_size' 104857600",
        });
        return;
    }
    for (const [name, value] of Object.entries(extra)) {
        const key = `extraProperties.${name}`;
        const fixFor = (v: string) => setPathCommand(key, v);
        // First: a name TorchServe reads as another key (` enable_envvars_config`, `enable\_envvars_config`)
        // would otherwise pass for an unknown key only as long as the allowlist below stays exact.
        const asRead = propertyKeyAsRead(`${name}=`);
        if (asRead !== name) {
            problems.add({
                key,
                value,
                problem:
                    asRead === undefined
                        ? "makes its line a comment or a blank line in config.properties, so TorchServe never reads it"
                        : `is read by TorchServe (Java's Properties.load) as the key ${JSON.stringify(asRead)}: ` +
                          "blanks, ':', '=', '\\', '#', '!' and line breaks in a key change what it reads",
                fix:
                    `pulumi config rm --path '${key}'` +
                    (asRead && /^[a-z0-9_]+$/.test(asRead)
                        ? `; to set ${asRead}, name it exactly: ${setPathCommand(`extraProperties.${asRead}`, "VALUE")}`
                        : ""),
            });
            continue;
        }
        if (Object.hasOwn(MANAGED_PROPERTY_KEYS, name)) {
            problems.add({
                key,
                value,
                problem: `${name} is rendered by this program`,
                fix: `set ${MANAGED_PROPERTY_KEYS[name]} instead, and remove it: pulumi config rm --path '${key}'`,
            });
            continue;
        }
        if (!EXTRA_PROPERTY_KEYS.includes(name)) {
            const hint = closestMatch(name, EXTRA_PROPERTY_KEYS);
            problems.add({
                key,
                value,
                problem: `${name} is not a TorchServe 0.12 config.properties key${didYouMean(hint)}`,
                fix: hint
                    ? `pulumi config rm --path '${key}' and set extraProperties.${hint}`
                    : `pulumi config rm --path '${key}'`,
            });
            continue;
        }
        if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
            problems.add({ key, value, problem: "must be a single string, number or boolean", fix: fixFor("VALUE") });
            continue;
        }
        const text = String(value);
        // One line, printable ASCII, no escapes: both Java Properties.load and TorchServe's
        // naive Python parser must read it the same way.
        if (!/^[\x20-\x7e]*$/.test(text) || text.includes("\\")) {
            problems.add({
                key,
                value,
                problem:
                    "must be one line of printable ASCII without backslashes (Java and Python parse " +
                    "config.properties differently otherwise)",
                fix: fixFor("VALUE"),
            });
        } else if (text !== text.trim()) {
            problems.add({
                key,
                value,
                problem: "has leading or trailing spaces, which config.properties parsers treat differently",
                fix: fixFor(problems.isSecret(key) ? "--secret VALUE" : JSON.stringify(text.trim())),
            });
        } else if (text.includes("$$")) {
            problems.add({
                key,
                value,
                problem:
                    "contains $$, which TorchServe expands from environment variables and fails to start on when unset",
                fix: fixFor("VALUE"),
            });
        }
        const unsafe = Object.hasOwn(UNSAFE_PROPERTY_KEYS, name) ? UNSAFE_PROPERTY_KEYS[name] : undefined;
        if (unsafe && !allowUnsafe && !unsafe.safe?.test(text)) {
            problems.add({
                key,
                value,
                problem: `${name} ${unsafe.why}, which undoes the stack's hardening`,
                fix:
                    `remove it (pulumi config rm --path '${key}'), or accept it explicitly: ` +
                    "pulumi config set allowUnsafeExtraProperties true",
            });
        }
    }
}

/**
 * The key `java.util.Properties.load` (TorchServe's frontend) reads from a rendered line
 * (`<name>=<value>`): leading blanks skipped, the key ended by the first unescaped `=`, `:` or blank,
 * escapes resolved (a backslash and `uXXXX`, `t`, `n`, `r`, `f`, or any other character, which stands
 * for itself); undefined when the line is blank or a comment (`#`, `!`). Only the first line counts: a
 * line break starts another entry.
 */
export function propertyKeyAsRead(line: string): string | undefined {
    const first = line.split(/\r\n|\r|\n/, 1)[0].replace(/^[ \t\f]+/, "");
    if (first === "" || first.startsWith("#") || first.startsWith("!")) {
        return undefined;
    }
    let key = "";
    for (let i = 0; i < first.length; i++) {
        const c = first[i];
        if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") {
            break;
        }
        if (c !== "\\") {
            key += c;
        } else if (first[i + 1] === "u" && /^[0-9a-fA-F]{4}$/.test(first.slice(i + 2, i + 6))) {
            key += String.fromCharCode(parseInt(first.slice(i + 2, i + 6), 16));
            i += 5;
        } else if (i + 1 < first.length) {
            key += ({ t: "\t", n: "\n", r: "\r", f: "\f" } as Record<string, string>)[first[i + 1]] ?? first[i + 1];
            i++;
        }
    }
    return key;
}
