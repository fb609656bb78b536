/**
 * Settings of how the pods stay available beyond a rollout: the
 * PodDisruptionBudget (node drains), spreading over nodes, and the optional
 * HorizontalPodAutoscaler.
 */
import { DEFAULTS } from "./defaults";
import { ProblemList, setCommand as set } from "./errors";
import { SPREAD_MODES, SpreadMode, TorchServeStackArgs } from "./stackArgs";
import { isIntInRange } from "./validators";

export interface AvailabilitySettings {
    readonly podDisruptionBudget: boolean;
    readonly spreadReplicas: SpreadMode;
    /** Set when an autoscaler scales the Deployment from `replicas` up to `maxReplicas`. */
    readonly autoscale?: { readonly maxReplicas: number; readonly cpuPercent: number };
}

export function resolveAvailability(
    args: TorchServeStackArgs,
    replicas: number,
    problems: ProblemList,
): AvailabilitySettings {
    const spreadReplicas = args.spreadReplicas ?? DEFAULTS.spreadReplicas;
    if (!SPREAD_MODES.includes(spreadReplicas)) {
        problems.add({
            key: "spreadReplicas",
            value: spreadReplicas,
            problem: `must be one of ${SPREAD_MODES.join(", ")}`,
            fix: set("spreadReplicas", DEFAULTS.spreadReplicas),
        });
    }
    const maxReplicas = args.autoscaleMaxReplicas ?? DEFAULTS.autoscaleMaxReplicas;
    if (!isIntInRange(maxReplicas, 0, 1000)) {
        problems.add({
            key: "autoscaleMaxReplicas",
            value: maxReplicas,
            problem: "must be a whole number from 0 (no autoscaler) to 1000",
            fix: set("autoscaleMaxReplicas", "0"),
        });
    } else if (maxReplicas > 0 && maxReplicas <= replicas) {
        problems.add({
            key: "autoscaleMaxReplicas",
            value: maxReplicas,
            problem: `must be larger than replicas (${replicas}), the autoscaler's minimum, or 0 for no autoscaler`,
            fix: set("autoscaleMaxReplicas", String(replicas * 2)),
        });
    }
    const cpuPercent = args.autoscaleCpuPercent ?? DEFAULTS.autoscaleCpuPercent;
    if (!isIntInRange(cpuPercent, 1, 100)) {
        problems.add({
            key: "autoscaleCpuPercent",
            value: cpuPercent,
            problem: "must be a whole number of percent (of cpuRequest) from 1 to 100",
            fix: set("autoscaleCpuPercent", String(DEFAULTS.autoscaleCpuPercent)),
        });
    }
    return {
        podDisruptionBudget: args.podDisruptionBudget ?? DEFAULTS.podDisruptionBudget,
        spreadReplicas,
        ...(maxReplicas > 0 ? { autoscale: { maxReplicas, cpuPercent } } : {}),
    };
}
