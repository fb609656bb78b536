/**
 * The real tools the end-to-end tests drive: the Pulumi CLI and providers
 * and kubectl from scripts/tools.sh, torch-model-archiver and torch from the
 * venv of scripts/python-env.sh, and a Kubernetes cluster (E2E_KUBECONFIG if
 * set, else a throwaway local control plane from scripts/cluster.sh).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tempDir } from "../../support/tempDir";

export const REPO = path.resolve(__dirname, "..", "..", "..", "..");

/** PATH with the cached tools first; fails with the setup command when they are missing. */
export function toolPath(): string {
    try {
        const prefix = execFileSync("bash", [path.join(REPO, "scripts", "tools.sh"), "--path"], {
            encoding: "utf8",
        }).trim();
        return `${prefix}:${process.env.PATH}`;
    } catch (error) {
        throw new Error(
            `the Pulumi CLI, providers and cluster tools are missing: run scripts/tools.sh first (${(error as Error).message})`,
            { cause: error },
        );
    }
}

/** The Python venv with torch-model-archiver, TorchServe and torch. */
export function venv(): string {
    return execFileSync("bash", [path.join(REPO, "scripts", "python-env.sh")], { encoding: "utf8" })
        .trim()
        .split("\n")
        .pop()!;
}

/** A Kubernetes cluster for the suite. */
export interface Cluster {
    readonly kubeconfig: string;
    stop(): void;
}

/**
 * The cluster named by E2E_KUBECONFIG (a kubeconfig path: your kind or real cluster), else a local
 * kwok cluster started now. An ambient KUBECONFIG is deliberately not used: running the tests must
 * not deploy into whatever cluster the shell happens to point at. Give each run its own `name`
 * (suites pass one with their process id): `cluster.sh up` reuses a running cluster of that name
 * and `stop` removes it, so a shared name would stop another run's cluster.
 * With `realNode`, the local cluster gets this machine's real node (kubelet, containerd, kube-proxy:
 * pods really run TorchServe); a given cluster (E2E_KUBECONFIG) must run pods itself.
 */
export function startCluster(name: string, env: NodeJS.ProcessEnv, options: { realNode?: boolean } = {}): Cluster {
    const given = process.env.E2E_KUBECONFIG;
    if (given) {
        return { kubeconfig: given, stop: () => undefined };
    }
    const script = path.join(REPO, "scripts", "cluster.sh");
    const stop = () => execFileSync("bash", [script, "down", name], { env, stdio: "inherit" });
    let out: string;
    try {
        out = execFileSync("bash", [script, "up", name, ...(options.realNode ? ["--real-node"] : [])], {
            encoding: "utf8",
            env,
            stdio: ["ignore", "pipe", "inherit"],
        });
    } catch (error) {
        // A cluster that never became ready still has its processes running.
        stop();
        throw error;
    }
    return { kubeconfig: out.trim().split("\n").pop()!, stop };
}

/** The plugin cache where scripts/tools.sh installed the providers (`pulumi plugin install --file`). */
export function pluginsDir(): string {
    return path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins");
}

/**
 * Environment for pulumi and kubectl: local file state, no update checks or plugin downloads.
 * PULUMI_HOME is a fresh directory (no credentials or workspace settings leak in) whose plugins
 * are the user's plugin cache, so the engine finds the providers by version as in a user's shell.
 */
export function testEnv(kubeconfig: string, extraPath: string): NodeJS.ProcessEnv {
    const home = tempDir("e2e-pulumi-home-");
    fs.mkdirSync(path.join(home, "state"));
    fs.symlinkSync(pluginsDir(), path.join(home, "plugins"));
    return {
        ...process.env,
        PATH: `${extraPath}:${toolPath()}`,
        KUBECONFIG: kubeconfig,
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${home}/state`,
        PULUMI_CONFIG_PASSPHRASE: "e2e",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
        TS_STACK_CACHE: home,
    };
}
