/**
 * A minimal client of the Kubernetes API for the rollout report (GET) and the
 * deploy command's permission check (POST of access reviews), with the
 * credentials the Kubernetes provider uses (the `kubernetes:kubeconfig`
 * stack config passed in, else KUBECONFIG, else ~/.kube/config; the context
 * given, else the current one): client certificates, bearer tokens (inline or
 * from a file) and exec credential plugins (EKS, GKE, AKS). Nothing else of the
 * project talks to the cluster directly; the provider does.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

/** An exec credential plugin (client.authentication.k8s.io). */
interface ExecConfig {
    readonly command: string;
    readonly args?: string[];
    readonly env?: { name: string; value: string }[];
    readonly apiVersion?: string;
}

/** The parts of a kubeconfig file this reader uses. */
interface KubeconfigFile {
    readonly "current-context"?: string;
    readonly clusters?: readonly { name: string; cluster?: Record<string, string | boolean> }[];
    readonly users?: readonly { name: string; user?: Record<string, string> & { exec?: ExecConfig } }[];
    readonly contexts?: readonly { name: string; context?: { cluster: string; user: string } }[];
}

/** Where and how to reach the API server. */
export interface KubeAccess {
    readonly server: string;
    readonly ca?: Buffer;
    readonly insecure: boolean;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly token?: string;
}

/** Reads the kubeconfig files (or `content`) and resolves `context` (default: the current one). */
export function loadKubeAccess(
    options: { content?: string; context?: string; env?: NodeJS.ProcessEnv } = {},
): KubeAccess {
    const env = options.env ?? process.env;
    const documents: { config: KubeconfigFile; dir: string }[] = [];
    if (options.content) {
        const looksLikePath = !options.content.includes("\n") && !options.content.trimStart().startsWith("{");
        documents.push(
            looksLikePath
                ? { config: parse(fs.readFileSync(options.content, "utf8")), dir: path.dirname(options.content) }
                : { config: parse(options.content), dir: process.cwd() },
        );
    } else {
        const files = (env.KUBECONFIG ?? path.join(os.homedir(), ".kube", "config"))
            .split(path.delimiter)
            .filter((file) => file && fs.existsSync(file));
        for (const file of files) {
            documents.push({ config: parse(fs.readFileSync(file, "utf8")) ?? {}, dir: path.dirname(file) });
        }
    }
    if (documents.length === 0) {
        throw new Error("no kubeconfig found (KUBECONFIG, ~/.kube/config or the kubernetes:kubeconfig stack config)");
    }
    const first = <T extends { name: string }>(pick: (c: KubeconfigFile) => readonly T[] | undefined, name: string) => {
        for (const { config, dir } of documents) {
            const found = pick(config)?.find((item) => item.name === name);
            if (found) {
                return { found, dir };
            }
        }
        throw new Error(`the kubeconfig has no entry named ${JSON.stringify(name)}`);
    };
    const contextName =
        options.context ?? documents.find((d) => d.config["current-context"])?.config["current-context"];
    if (!contextName) {
        throw new Error("the kubeconfig has no current context");
    }
    const context = first((c) => c.contexts, contextName).found.context!;
    const { found: clusterEntry, dir: clusterDir } = first((c) => c.clusters, context.cluster);
    const { found: userEntry, dir: userDir } = first((c) => c.users, context.user);
    const cluster = clusterEntry.cluster ?? {};
    const user = userEntry.user ?? {};
    const bytes = (data: unknown, file: unknown, dir: string): Buffer | undefined =>
        typeof data === "string"
            ? Buffer.from(data, "base64")
            : typeof file === "string"
              ? fs.readFileSync(path.resolve(dir, file))
              : undefined;
    let access: KubeAccess = {
        server: String(cluster.server),
        ca: bytes(cluster["certificate-authority-data"], cluster["certificate-authority"], clusterDir),
        insecure: cluster["insecure-skip-tls-verify"] === true,
        cert: bytes(user["client-certificate-data"], user["client-certificate"], userDir),
        key: bytes(user["client-key-data"], user["client-key"], userDir),
        token:
            typeof user.token === "string"
                ? user.token
                : typeof user.tokenFile === "string"
                  ? fs.readFileSync(path.resolve(userDir, user.tokenFile), "utf8").trim()
                  : undefined,
    };
    if (user.exec) {
        access = { ...access, ...execCredential(user.exec, env) };
    }
    return access;
}

/** Runs an exec credential plugin and returns what it gives. */
function execCredential(exec: ExecConfig, env: NodeJS.ProcessEnv): Partial<KubeAccess> {
    const output = execFileSync(exec.command, exec.args ?? [], {
        encoding: "utf8",
        timeout: 60_000,
        env: {
            ...env,
            ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])),
            KUBERNETES_EXEC_INFO: JSON.stringify({
                apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1",
                kind: "ExecCredential",
                spec: { interactive: false },
            }),
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const status = JSON.parse(output).status ?? {};
    return {
        token: status.token,
        cert: status.clientCertificateData ? Buffer.from(status.clientCertificateData) : undefined,
        key: status.clientKeyData ? Buffer.from(status.clientKeyData) : undefined,
    };
}

/** GETs `apiPath` (e.g. `/api/v1/namespaces/x/pods`) as JSON. */
export function kubeGetJson<T>(access: KubeAccess, apiPath: string): Promise<T> {
    return kubeGet(access, apiPath, "json").then((body) => JSON.parse(body) as T);
}

/** GETs `apiPath` as text (a pod's log). */
export function kubeGet(access: KubeAccess, apiPath: string, as: "json" | "text" = "text"): Promise<string> {
    return kubeRequest(access, "GET", apiPath, as);
}

/**
 * POSTs `body` as JSON to `apiPath` and returns the answer: for the reviews
 * that create nothing (SelfSubjectAccessReview, SelfSubjectReview).
 */
export function kubePostJson<T>(access: KubeAccess, apiPath: string, body: unknown): Promise<T> {
    return kubeRequest(access, "POST", apiPath, "json", JSON.stringify(body)).then((text) => JSON.parse(text) as T);
}

function kubeRequest(
    access: KubeAccess,
    method: "GET" | "POST",
    apiPath: string,
    as: "json" | "text",
    body?: string,
): Promise<string> {
    const url = new URL(apiPath, access.server);
    const client = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const request = client.request(
            url,
            {
                method,
                headers: {
                    // The log endpoint answers */* but refuses text/plain (406).
                    accept: as === "json" ? "application/json" : "*/*",
                    ...(body === undefined ? {} : { "content-type": "application/json" }),
                    ...(access.token ? { authorization: `Bearer ${access.token}` } : {}),
                },
                ca: access.ca,
                cert: access.cert,
                key: access.key,
                rejectUnauthorized: !access.insecure,
                timeout: 15_000,
            },
            (response) => {
                let text = "";
                response.setEncoding("utf8");
                response.on("data", (chunk) => (text += chunk));
                response.on("end", () => {
                    if ((response.statusCode ?? 0) >= 300) {
                        const detail = text.replace(/\s+/g, " ").slice(0, 300);
                        reject(new Error(`${method} ${apiPath}: ${response.statusCode} ${detail}`));
                    } else {
                        resolve(text);
                    }
                });
            },
        );
        request.on("timeout", () => request.destroy(new Error(`${method} ${apiPath}: no answer within 15 s`)));
        request.on("error", reject);
        request.end(body);
    });
}
