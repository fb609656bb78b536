/** A pipeline pod's credentials on this machine: a ServiceAccount's token, the cluster's CA and address. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { tempDir } from "../../support/tempDir";
import { runOk } from "./run";

/**
 * The environment the deploy command sees in a pod running as `name` in
 * `namespace`: no KUBECONFIG, the API server's address in
 * KUBERNETES_SERVICE_HOST/PORT, and the token (`kubectl create token`), CA
 * and namespace files where TS_SERVICE_ACCOUNT_DIR says (the pod's mount).
 */
export async function serviceAccountEnv(
    env: NodeJS.ProcessEnv,
    kubeconfigFile: string,
    namespace: string,
    name: string,
): Promise<NodeJS.ProcessEnv> {
    const token = (
        await runOk("kubectl", ["create", "token", name, "-n", namespace, "--duration", "2h"], { env })
    ).stdout.trim();
    const kubeconfig = parse(fs.readFileSync(kubeconfigFile, "utf8"));
    const cluster = kubeconfig.clusters[0].cluster;
    const server = new URL(cluster.server);
    const account = tempDir("e2e-sa-");
    fs.writeFileSync(path.join(account, "token"), token);
    const caData = cluster["certificate-authority-data"];
    fs.writeFileSync(
        path.join(account, "ca.crt"),
        caData ? Buffer.from(caData, "base64") : fs.readFileSync(cluster["certificate-authority"]),
    );
    fs.writeFileSync(path.join(account, "namespace"), namespace);
    const podEnv: NodeJS.ProcessEnv = {
        ...env,
        KUBERNETES_SERVICE_HOST: server.hostname,
        KUBERNETES_SERVICE_PORT: server.port,
        TS_SERVICE_ACCOUNT_DIR: account,
    };
    delete podEnv.KUBECONFIG;
    return podEnv;
}
