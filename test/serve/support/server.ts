/**
 * Runs the real TorchServe the way a pod would: the container's command and
 * args and the mounted files, with the container's mount paths mapped to
 * local directories. Binds loopback only; stop() ends the whole process group
 * (the `torchserve` launcher does not forward signals to its Java child).
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { TorchServeStackArgs } from "../../../components/config";

/** Container path -> local directory. */
export type Mounts = Readonly<Record<string, string>>;

/** Rewrites container paths (longest mount first) in a string. */
export function mapPaths(text: string, mounts: Mounts): string {
    return Object.keys(mounts)
        .sort((a, b) => b.length - a.length)
        .reduce((out, containerPath) => out.split(containerPath).join(mounts[containerPath]), text);
}

/** n distinct free loopback ports. */
export async function freePorts(n: number): Promise<number[]> {
    const servers = await Promise.all(
        Array.from(
            { length: n },
            () =>
                new Promise<net.Server>((resolve) => {
                    const server = net.createServer();
                    server.listen(0, "127.0.0.1", () => resolve(server));
                }),
        ),
    );
    const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    return ports;
}

/**
 * Stack config putting every API of a server on free loopback ports, gRPC too (it has no Service;
 * in a test or a bench it must stay on loopback as well).
 */
export async function loopbackPortArgs(): Promise<
    Pick<TorchServeStackArgs, "inferencePort" | "managementPort" | "metricsPort" | "extraProperties">
> {
    const [inference, management, metrics, grpcInference, grpcManagement] = await freePorts(5);
    return {
        inferencePort: inference,
        managementPort: management,
        metricsPort: metrics,
        extraProperties: {
            grpc_inference_address: "127.0.0.1",
            grpc_inference_port: String(grpcInference),
            grpc_management_address: "127.0.0.1",
            grpc_management_port: String(grpcManagement),
        },
    };
}

export interface ServerOptions {
    /** The container's command and args, as in the pod spec. */
    readonly command: readonly string[];
    /** Files mounted into the container: container file path -> content. */
    readonly files: Readonly<Record<string, string>>;
    readonly mounts: Mounts;
    /** Directory for the server's cwd, temp files and logs. */
    readonly workdir: string;
    /** Directory holding the `torchserve` executable (the venv's bin). */
    readonly binDir: string;
}

export class TorchServeProcess {
    private child?: ChildProcess;
    startedAt = 0;

    constructor(private readonly options: ServerOptions) {}

    /** The server's working directory (TorchServe writes key_file.json here). */
    get workdir(): string {
        return this.options.workdir;
    }

    start(): this {
        const { workdir, mounts, binDir } = this.options;
        const tmp = path.join(workdir, "tmp");
        const logs = path.join(workdir, "logs");
        fs.mkdirSync(tmp, { recursive: true });
        fs.mkdirSync(logs, { recursive: true });
        for (const [containerFile, content] of Object.entries(this.options.files)) {
            const local = mapPaths(containerFile, mounts);
            fs.mkdirSync(path.dirname(local), { recursive: true });
            fs.writeFileSync(local, content);
        }
        const [command, ...args] = this.options.command.map((word) => mapPaths(word, mounts));
        const out = fs.openSync(path.join(workdir, "torchserve.out"), "w");
        this.startedAt = performance.now();
        this.child = spawn(path.join(binDir, command), args, {
            cwd: workdir,
            detached: true,
            stdio: ["ignore", out, out],
            env: this.containerEnv(),
        });
        fs.closeSync(out);
        return this;
    }

    /** Waits up to `seconds` for the launcher and its process group to be gone. */
    async exited(seconds: number): Promise<boolean> {
        const deadline = Date.now() + seconds * 1000;
        while (Date.now() < deadline) {
            if (!this.running && !groupAlive(this.child!.pid!)) {
                return true;
            }
            await new Promise((r) => setTimeout(r, 200));
        }
        return false;
    }

    get running(): boolean {
        return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
    }

    /** The environment every process of the "container" shares (the pid file lives in TMPDIR). */
    private containerEnv(): NodeJS.ProcessEnv {
        const { workdir, binDir } = this.options;
        const tmp = path.join(workdir, "tmp");
        const logs = path.join(workdir, "logs");
        return {
            ...process.env,
            PATH: `${binDir}:${process.env.PATH}`,
            TMPDIR: tmp,
            TEMP: tmp,
            LOG_LOCATION: logs,
            METRICS_LOCATION: logs,
            PIP_DISABLE_PIP_VERSION_CHECK: "1",
        };
    }

    /** Runs an exec probe's or hook's command as the kubelet would (in the server's directory); true on exit 0. */
    probe(command: readonly string[]): boolean {
        const [program, ...args] = command.map((word) => mapPaths(word, this.options.mounts));
        const result = spawnSync(program, args, {
            cwd: this.options.workdir,
            timeout: 30_000,
            env: this.containerEnv(),
        });
        return result.status === 0;
    }

    /**
     * Seconds from `from` (the server's start unless given) until the probe command first passes;
     * fails with the server log after the budget, counted from `from` too.
     */
    async waitForProbe(command: readonly string[], budgetSeconds: number, from = this.startedAt): Promise<number> {
        const deadline = from + budgetSeconds * 1000;
        while (performance.now() < deadline) {
            if (!this.running) {
                throw new Error(`torchserve exited with ${this.child?.exitCode}\n${this.log()}`);
            }
            if (this.probe(command)) {
                return (performance.now() - from) / 1000;
            }
            await new Promise((r) => setTimeout(r, 250));
        }
        throw new Error(`probe did not pass within ${budgetSeconds}s\n${this.log()}`);
    }

    log(): string {
        const { workdir } = this.options;
        const parts = [path.join(workdir, "torchserve.out"), ...listLogs(path.join(workdir, "logs"))];
        return parts
            .filter((p) => fs.existsSync(p))
            .map((p) => `==> ${path.basename(p)}\n${fs.readFileSync(p, "utf8").slice(-4000)}`)
            .join("\n");
    }

    async stop(): Promise<void> {
        const child = this.child;
        if (!child || !this.running) {
            return;
        }
        const exited = new Promise((resolve) => child.once("exit", resolve));
        try {
            process.kill(-child.pid!, "SIGTERM");
        } catch {
            return;
        }
        const timer = setTimeout(() => {
            try {
                process.kill(-child.pid!, "SIGKILL");
            } catch {
                // already gone
            }
        }, 15_000);
        await exited;
        clearTimeout(timer);
        // The Java server and Python workers are in the same group; make sure none is left.
        try {
            process.kill(-child.pid!, "SIGKILL");
        } catch {
            // group is empty
        }
    }
}

function listLogs(dir: string): string[] {
    return fs.existsSync(dir)
        ? fs
              .readdirSync(dir)
              .filter((f) => f.endsWith(".log"))
              .map((f) => path.join(dir, f))
        : [];
}

/** True while any process of the group is alive. */
function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}
