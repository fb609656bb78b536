/** kubectl helpers and a ReplicaSet watch that records a rollout as it happens. */
import { ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { run, runOk } from "./run";

export class Kube {
    constructor(private readonly env: NodeJS.ProcessEnv) {}

    async json(args: readonly string[]): Promise<any> {
        const result = await runOk("kubectl", [...args, "-o", "json"], { env: this.env });
        return JSON.parse(result.stdout);
    }

    async exists(kind: string, name: string, namespace?: string): Promise<boolean> {
        const args = ["get", kind, name, "--ignore-not-found", "-o", "name", ...(namespace ? ["-n", namespace] : [])];
        return (await runOk("kubectl", args, { env: this.env })).stdout.trim() !== "";
    }
}

export interface ReplicaSetSample {
    readonly name: string;
    readonly revision: number;
    readonly version: string;
    readonly desired: number;
    readonly current: number;
    readonly available: number;
}

/** The fields of a ReplicaSet a rollout check needs, `|`-separated (missing status fields print empty). */
const WATCH_TEMPLATE =
    "{.metadata.name}|{.metadata.annotations.deployment\\.kubernetes\\.io/revision}|" +
    '{.spec.template.metadata.labels.app\\.kubernetes\\.io/version}|{.spec.replicas}|{.status.replicas}|{.status.availableReplicas}{"\\n"}';

/**
 * Records a rollout from a `kubectl get --watch` of the ReplicaSets: the API
 * server sends every change in order, so no intermediate state is missed
 * (polling missed them when kwok made pods ready within one poll interval).
 * Keeps one snapshot of all ReplicaSets per change.
 */
export class RolloutRecorder {
    readonly samples: ReplicaSetSample[][] = [];
    private readonly current = new Map<string, ReplicaSetSample>();
    private watch?: ChildProcess;
    private exited?: Promise<void>;

    constructor(
        private readonly env: NodeJS.ProcessEnv,
        private readonly namespace: string,
        private readonly instance: string,
    ) {}

    /** Starts the watch; resolves once the ReplicaSets that exist now have been listed. */
    async start(): Promise<void> {
        const watch = spawn(
            "kubectl",
            [
                "get",
                "replicasets",
                "-n",
                this.namespace,
                "-l",
                `app.kubernetes.io/instance=${this.instance}`,
                "--watch",
                "-o",
                `jsonpath=${WATCH_TEMPLATE}`,
            ],
            { env: this.env, stdio: ["ignore", "pipe", "pipe"] },
        );
        this.watch = watch;
        let stderr = "";
        watch.stderr.on("data", (chunk) => {
            stderr += chunk;
        });
        this.exited = new Promise((resolve) => watch.on("close", () => resolve()));
        const listed = new Promise<void>((resolve, reject) => {
            watch.on("close", (code) => reject(new Error(`kubectl --watch exited ${code} before listing: ${stderr}`)));
            createInterface({ input: watch.stdout }).on("line", (line) => {
                if (line.trim()) {
                    this.record(line);
                    resolve();
                }
            });
        });
        await listed;
    }

    /**
     * Stops the watch once it has caught up: `pulumi up` returns when the API server says the rollout
     * is done, but the watch's events may still be on their way (a loaded machine). Waits, at most
     * `catchUpMs`, until the last sample equals the ReplicaSets as the API server lists them now.
     */
    async stop(catchUpMs = 30_000): Promise<void> {
        const deadline = Date.now() + catchUpMs;
        while (this.watch && this.watch.exitCode === null && Date.now() < deadline) {
            const now = await this.list();
            if (JSON.stringify(this.samples[this.samples.length - 1] ?? []) === JSON.stringify(now)) {
                break;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
        this.watch?.kill();
        await this.exited;
    }

    /** The ReplicaSets as the API server lists them now, in the shape of a sample. */
    private async list(): Promise<ReplicaSetSample[]> {
        const listed = await run(
            "kubectl",
            [
                "get",
                "replicasets",
                "-n",
                this.namespace,
                "-l",
                `app.kubernetes.io/instance=${this.instance}`,
                "-o",
                `jsonpath={range .items[*]}${WATCH_TEMPLATE}{end}`,
            ],
            { env: this.env },
        );
        return listed.stdout
            .split("\n")
            .filter((line) => line.trim())
            .map(parseLine)
            .sort((a, b) => a.revision - b.revision);
    }

    private record(line: string): void {
        const sampled = parseLine(line);
        this.current.set(sampled.name, sampled);
        const sample = [...this.current.values()].sort((a, b) => a.revision - b.revision);
        const last = this.samples[this.samples.length - 1];
        if (!last || JSON.stringify(last) !== JSON.stringify(sample)) {
            this.samples.push(sample);
        }
    }

    /** One line per distinct state: `rev:version desired/current/available` for each ReplicaSet. */
    describe(): string[] {
        return this.samples.map((sample) =>
            sample.map((rs) => `r${rs.revision}:${rs.version} ${rs.desired}/${rs.current}/${rs.available}`).join("  "),
        );
    }
}

function parseLine(line: string): ReplicaSetSample {
    const [name, revision, version, desired, current, available] = line.split("|");
    return {
        name,
        revision: Number(revision || 0),
        version,
        desired: Number(desired || 0),
        current: Number(current || 0),
        available: Number(available || 0),
    };
}
