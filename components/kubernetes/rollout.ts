/**
 * How a rollout ends. The Deployment controller marks a rollout failed
 * (`Progressing` False, `ProgressDeadlineExceeded`) when its new pods made no
 * progress for `progressDeadlineSeconds`; this program sets that to one pod's
 * start: `podStartMarginSeconds` (scheduling, image pull) plus the startup
 * probe's budget. The Kubernetes provider (4.25) does not stop waiting on that
 * condition (it only logs it and fails at its own timeout, 10 minutes by
 * default), so the Deployment tells it, with `pulumi.com/waitFor`, to wait
 * until the rollout is complete or has failed, and the program reads which
 * one it was from the Deployment's status.
 */
import { Settings } from "../config";

/** The Deployment's `progressDeadlineSeconds`: the longest a new pod may take from creation to ready. */
export function progressDeadlineSeconds(settings: Settings): number {
    return settings.server.podStartMarginSeconds + settings.server.startupTimeoutSeconds;
}

/**
 * The provider's wait condition (an RFC 9535 JSONPath on the live
 * Deployment, checked once the controller observed its generation): done as
 * `kubectl rollout status` is (every replica updated and available, no old
 * one left), or failed. The provider's parser takes at most two operands per
 * `&&`, hence the parentheses.
 */
export const ROLLOUT_WAIT_FOR =
    "jsonpath={$[?(@.updatedReplicas==$.spec.replicas && (@.replicas==$.spec.replicas && " +
    '@.availableReplicas==$.spec.replicas)) || @.conditions[?@.type=="Progressing" && ' +
    '@.reason=="ProgressDeadlineExceeded"]]}';

/** Annotations of the Deployment that make the provider wait with {@link ROLLOUT_WAIT_FOR}. */
export function deploymentAnnotations(): Record<string, string> {
    return { "pulumi.com/waitFor": ROLLOUT_WAIT_FOR };
}

/** What the Deployment's status says about its latest rollout. */
export type RolloutOutcome =
    | { readonly state: "done" }
    | { readonly state: "failed"; readonly replicaSet: string; readonly message: string }
    /** The status is not known, or not of the current generation (a preview). */
    | { readonly state: "unknown" };

interface DeploymentLike {
    readonly metadata?: { readonly generation?: number };
    readonly status?: {
        readonly observedGeneration?: number;
        readonly conditions?: readonly { type?: string; reason?: string; message?: string }[];
    };
}

/** Reads the outcome of the rollout from a live Deployment. */
export function rolloutOutcome(deployment: DeploymentLike | undefined): RolloutOutcome {
    const status = deployment?.status;
    const generation = deployment?.metadata?.generation;
    if (!status || generation === undefined || (status.observedGeneration ?? 0) < generation) {
        return { state: "unknown" };
    }
    const progressing = status.conditions?.find((c) => c.type === "Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded") {
        const message = progressing.message ?? "";
        return { state: "failed", replicaSet: /ReplicaSet "([^"]+)"/.exec(message)?.[1] ?? "", message };
    }
    return { state: "done" };
}
