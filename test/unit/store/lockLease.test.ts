import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LEASE_MS, LockHolder, holderGone, parseHolder } from "../../../components/store";

const now = Date.parse("2026-12-04T12:00:00Z");
const ago = (ms: number) => new Date(now - ms).toISOString();
const context = { now, host: "pod-a", alive: (pid: number) => pid === 7, lockAgeMs: 0, leaseMs: 60_000 };
const holder = (over: Partial<LockHolder> = {}): LockHolder => ({
    host: "pod-b",
    pid: 8,
    step: "archive",
    since: ago(10 * 60_000),
    token: "t",
    renewed: ago(1000),
    leaseMs: 30_000,
    ...over,
});

describe("the store lock's lease", () => {
    it("keeps a holder on another host while it renews within its own lease, whatever its pid", () => {
        assert.equal(holderGone(holder(), context), undefined);
        assert.equal(holderGone(holder({ renewed: ago(30_000) }), context), undefined, "at the lease, still live");
        assert.equal(
            holderGone(holder({ renewed: ago(30_001) }), context),
            "its lease was last renewed 30 s ago (it lasts 30 s)",
        );
    });

    it("judges by the context's lease when the record names none, and by its start when it has no renewal", () => {
        assert.equal(holderGone(holder({ leaseMs: 0, renewed: ago(59_000) }), context), undefined);
        assert.match(holderGone(holder({ leaseMs: 0, renewed: ago(61_000) }), context)!, /it lasts 60 s/);
        assert.match(holderGone(holder({ renewed: "not a time", since: ago(31_000) }), context)!, /31 s ago/);
        assert.equal(holderGone(holder({ renewed: "not a time", since: ago(1000) }), context), undefined);
    });

    it("gives up at once on a holder of this host whose process is gone, never on one whose process lives", () => {
        assert.equal(holderGone(holder({ host: "pod-a", pid: 9 }), context), "its process 9 on this host is gone");
        assert.equal(holderGone(holder({ host: "pod-a", pid: 7 }), context), undefined);
        assert.match(holderGone(holder({ host: "pod-a", pid: 7, renewed: ago(31_000) }), context)!, /lease/);
        assert.equal(holderGone(holder({ host: "pod-b", pid: 9 }), context), undefined, "another host's pid");
    });

    it("takes over a lock with no record only once it is older than the lease", () => {
        assert.equal(holderGone(undefined, { ...context, lockAgeMs: 60_000 }), undefined);
        assert.equal(holderGone(undefined, { ...context, lockAgeMs: 61_000 }), "it has had no holder record for 61 s");
    });

    it("judges a record of the version before leases (no token) by its age: two hours", () => {
        assert.equal(holderGone(holder({ token: "", since: ago(2 * 3600_000) }), context), undefined);
        assert.equal(
            holderGone(holder({ token: "", since: ago(2 * 3600_000 + 1000) }), context),
            "it was taken 7201 s ago, before leases",
        );
    });

    it("reads records of both versions, and nothing else, as holders", () => {
        const record = holder();
        assert.deepEqual(parseHolder(JSON.stringify(record)), record);
        assert.deepEqual(parseHolder(JSON.stringify({ host: "h", pid: 1, step: "rotate", since: ago(0) })), {
            host: "h",
            pid: 1,
            step: "rotate",
            since: ago(0),
            token: "",
            renewed: ago(0),
            leaseMs: 0,
        });
        assert.equal(parseHolder(JSON.stringify({ host: "h", pid: 1, since: ago(0) }))?.step, "?");
        for (const bad of [
            "",
            "{",
            "null",
            "[]",
            '{"host":1,"pid":1,"since":"x"}',
            '{"host":"h","pid":"1","since":"x"}',
        ]) {
            assert.equal(parseHolder(bad), undefined, bad);
        }
        assert.equal(parseHolder('{"host":"h","pid":1}'), undefined, "no since");
        assert.equal(DEFAULT_LEASE_MS, 120_000, "README: taken over 2 minutes after the last renewal");
    });
});
