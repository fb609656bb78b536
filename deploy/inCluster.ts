/**
 * Credentials inside a cluster pod: the pod's service account, as the
 * original deploy step used `load_incluster_config`. Written as a kubeconfig
 * so the Pulumi Kubernetes provider and kubectl read the same thing.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Where Kubernetes mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The service-account directory: `TS_SERVICE_ACCOUNT_DIR` when set (mounted elsewhere), else the standard one. */
export function serviceAccountDir(env: NodeJS.ProcessEnv): string {
    return env.TS_SERVICE_ACCOUNT_DIR || SERVICE_ACCOUNT_DIR;
}

/**
 * A kubeconfig for the pod's service account, or undefined when not running
 * in a pod (no `KUBERNETES_SERVICE_HOST`), when a KUBECONFIG is given (it wins),
 * or when no token is mounted.
 */
export function inClusterKubeconfig(env: NodeJS.ProcessEnv, accountDir = serviceAccountDir(env)): string | undefined {
    const host = env.KUBERNETES_SERVICE_HOST;
    if (!host || env.KUBECONFIG) {
        return undefined;
    }
    const token = path.join(accountDir, "token");
    const ca = path.join(accountDir, "ca.crt");
    if (!fs.existsSync(token)) {
        return undefined;
    }
    const port = env.KUBERNETES_SERVICE_PORT ?? "443";
    const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const namespaceFile = path.join(accountDir, "namespace");
    const namespace = fs.existsSync(namespaceFile) ? fs.readFileSync(namespaceFile, "utf8").trim() : "default";
    // tokenFile, not the token itself: the kubelet rotates projected tokens in place.
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: in-cluster",
        "  cluster:",
        `    server: ${server}`,
        ...(fs.existsSync(ca) ? [`    certificate-authority: ${ca}`] : []),
        "users:",
        "- name: service-account",
        "  user:",
        `    tokenFile: ${token}`,
        "contexts:",
        "- name: in-cluster",
        "  context:",
        "    cluster: in-cluster",
        "    user: service-account",
        `    namespace: ${namespace}`,
        "current-context: in-cluster",
        "",
    ].join("\n");
}
