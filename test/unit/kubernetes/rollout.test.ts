/** How the program tells a finished rollout from one the Deployment controller gave up on. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ROLLOUT_WAIT_FOR, deploymentAnnotations, rolloutOutcome } from "../../../components/kubernetes";

const progressing = (reason: string, message = "") => ({ type: "Progressing", reason, message });

describe("rollout outcome", () => {
    it("makes the provider wait until the rollout is complete or past its deadline", () => {
        assert.deepEqual(deploymentAnnotations(), { "pulumi.com/waitFor": ROLLOUT_WAIT_FOR });
        assert.match(ROLLOUT_WAIT_FOR, /^jsonpath=\{\$\[\?.*\]\}$/);
        for (const field of ["updatedReplicas", "replicas", "availableReplicas"]) {
            assert.match(ROLLOUT_WAIT_FOR, new RegExp(`@\\.${field}==\\$\\.spec\\.replicas`), field);
        }
        assert.match(ROLLOUT_WAIT_FOR, /@\.reason=="ProgressDeadlineExceeded"/);
        assert.doesNotMatch(
            ROLLOUT_WAIT_FOR.slice("jsonpath=".length),
            /[^=!<>]=[^=]/,
            "only == comparisons: a single = splits path and value",
        );
        assert.doesNotMatch(ROLLOUT_WAIT_FOR, /&&[^()]*&&/, "at most two operands per && (the provider's parser)");
    });

    it("reads a failed rollout, with its ReplicaSet, from the Progressing condition", () => {
        const failed = rolloutOutcome({
            metadata: { generation: 4 },
            status: {
                observedGeneration: 4,
                conditions: [
                    { type: "Available", reason: "MinimumReplicasAvailable" },
                    progressing(
                        "ProgressDeadlineExceeded",
                        'ReplicaSet "torchserve-5f8d7c" has timed out progressing.',
                    ),
                ],
            },
        });
        assert.deepEqual(failed, {
            state: "failed",
            replicaSet: "torchserve-5f8d7c",
            message: 'ReplicaSet "torchserve-5f8d7c" has timed out progressing.',
        });
    });

    it("calls a rollout done otherwise, and unknown while the status is missing or of an older generation", () => {
        const done = { observedGeneration: 2, conditions: [progressing("NewReplicaSetAvailable")] };
        assert.deepEqual(rolloutOutcome({ metadata: { generation: 2 }, status: done }), { state: "done" });
        assert.deepEqual(rolloutOutcome(undefined), { state: "unknown" });
        assert.deepEqual(rolloutOutcome({ metadata: { generation: 3 }, status: done }), { state: "unknown" });
        const stale = { observedGeneration: 2, conditions: [progressing("ProgressDeadlineExceeded")] };
        assert.deepEqual(rolloutOutcome({ metadata: { generation: 3 }, status: stale }), { state: "unknown" });
    });
});
