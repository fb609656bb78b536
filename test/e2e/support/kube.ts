/** kubectl helpers and a ReplicaSet sampler that records a rollout as it happens. */
import { runOk } from "./run";

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

    /** ReplicaSets of a stack's Deployment, oldest revision first. */
    async replicaSets(namespace: string, instance: string): Promise<ReplicaSetSample[]> {
        const list = await this.json(["get", "replicasets", "-n", namespace, "-l", `app.kubernetes.io/instance=${instance}`]);
        return (list.items as any[])
            .map((rs) => ({
                name: rs.metadata.name as string,
                revision: Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0),
                version: rs.spec.template.metadata.labels["app.kubernetes.io/version"] as string,
                desired: rs.spec.replicas as number,
                current: (rs.status.replicas ?? 0) as number,
                available: (rs.status.availableReplicas ?? 0) as number,
            }))
            .sort((a, b) => a.revision - b.revision);
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

/** Samples ReplicaSets until stopped; keeps only samples that differ from the previous one. */
export class RolloutRecorder {
    readonly samples: ReplicaSetSample[][] = [];
    private running = true;
    private loop?: Promise<void>;

    constructor(private readonly kube: Kube, private readonly namespace: string, private readonly instance: string) {}

    start(): void {
        this.loop = (async () => {
            while (this.running) {
                const sample = await this.kube.replicaSets(this.namespace, this.instance);
                const last = this.samples[this.samples.length - 1];
                if (!last || JSON.stringify(last) !== JSON.stringify(sample)) {
                    this.samples.push(sample);
                }
                await new Promise((r) => setTimeout(r, 150));
            }
        })();
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
    }

    /** One line per distinct state: `rev:version desired/current/available` for each ReplicaSet. */
    describe(): string[] {
        return this.samples.map((sample) => sample.map((rs) => `r${rs.revision}:${rs.version} ${rs.desired}/${rs.current}/${rs.available}`).join("  "));
    }
}
