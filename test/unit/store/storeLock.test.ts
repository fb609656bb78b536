import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { acquireLock } from "../../../components/store";
import { tempDir } from "../../support/tempDir";

const fast = { pollMs: 20 };

describe("the store lock", () => {
    it("lets one holder in at a time: the second waits until the first releases", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const release = await acquireLock(lock, "archive", fast);
        let waited = false;
        const second = acquireLock(lock, "rotate", { ...fast, onWait: () => (waited = true) });
        await new Promise((r) => setTimeout(r, 100));
        assert.ok(waited, "the second holder is told it waits");
        release();
        const releaseSecond = await second;
        assert.equal(JSON.parse(fs.readFileSync(path.join(lock, "holder.json"), "utf8")).step, "rotate");
        releaseSecond();
        assert.equal(fs.existsSync(lock), false);
    });

    it("gives up after the wait, naming the holder and the way out", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        await acquireLock(lock, "archive", fast);
        await assert.rejects(
            acquireLock(lock, "rotate", { ...fast, waitMs: 100 }),
            new RegExp(`locked by archive on ${os.hostname()} \\(pid ${process.pid}\\).*remove ${lock}`),
        );
    });

    it("takes over a lock whose holder died on this host, or that is older than the stale age", async () => {
        const dir = tempDir("lock-");
        const dead = path.join(dir, "dead");
        const gone = spawnSync("true").pid!;
        fs.mkdirSync(dead);
        fs.writeFileSync(
            path.join(dead, "holder.json"),
            JSON.stringify({ host: os.hostname(), pid: gone, step: "archive", since: new Date().toISOString() }),
        );
        (await acquireLock(dead, "archive", { ...fast, waitMs: 200 }))();

        const old = path.join(dir, "old");
        fs.mkdirSync(old);
        const since = new Date(Date.now() - 3 * 3600_000).toISOString();
        fs.writeFileSync(
            path.join(old, "holder.json"),
            JSON.stringify({ host: "other-host", pid: 1, step: "archive", since }),
        );
        (await acquireLock(old, "archive", { ...fast, waitMs: 200 }))();
    });
});
