/**
 * The rotation step, run by `pulumi up` after the new version rolled out, in
 * the stack's part of the model store, holding its lock: keeps the versions
 * the release plan keeps (the deployed one and the most recent successful
 * others) and moves this model's other entries (`.mar` files and model
 * directories alike, each a rename) to backup/. It never deletes, never
 * overwrites a backup, and never touches other files or other parts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
    BACKUP_DIR,
    LockOptions,
    RotationPlan,
    acquireLock,
    backupFileName,
    claimOwnership,
    listEntries,
    planRotation,
    storeLayout,
} from "../store";
import { RotateSpec, parseRotateArgs } from "./commands";
import { lockLogging, onInterrupt, runStep, stepLogger } from "./step";

const log = stepLogger("rotate");

/** Applies the rotation plan to the stack's part of the store and returns it; `lock` tunes the wait for its lock. */
export async function rotateStore(spec: RotateSpec, lock: LockOptions = {}): Promise<RotationPlan> {
    const layout = storeLayout(spec.store, spec.subdir);
    const entries = listEntries(layout.part, spec.model);
    if (!entries.some((entry) => entry.version === spec.keep[0])) {
        throw new Error(
            `the deployed version ${spec.keep[0]} has no entry (${spec.model}.${spec.keep[0]}.mar or ` +
                `${spec.model}.${spec.keep[0]}/) in ${layout.part}; refusing to rotate`,
        );
    }
    const unlock = await acquireLock(layout.lockDir, "rotate", { ...lockLogging(log), ...lock });
    const forget = onInterrupt(unlock);
    try {
        claimOwnership(layout, spec.owner);
        // Listed again under the lock: another run may have changed the part meanwhile.
        const present = listEntries(layout.part, spec.model);
        const plan = planRotation(
            present.map((entry) => entry.version),
            spec.keep,
        );
        const moving = new Set(plan.moveToBackup);
        const toMove = present.filter((entry) => moving.has(entry.version));
        if (toMove.length > 0) {
            fs.mkdirSync(layout.backup, { recursive: true });
            const taken = new Set(fs.readdirSync(layout.backup));
            for (const entry of toMove) {
                const destination = backupFileName(entry.name, taken, entry.kind);
                fs.renameSync(path.join(layout.part, entry.name), path.join(layout.backup, destination));
                taken.add(destination);
                log(`moved ${entry.name} to ${BACKUP_DIR}/${destination}`);
            }
        }
        const kept = present.filter((entry) => !moving.has(entry.version));
        log(`kept ${kept.map((entry) => entry.name).join(", ")}`);
        return plan;
    } finally {
        forget();
        unlock();
    }
}

if (require.main === module) {
    runStep("rotate", () => rotateStore(parseRotateArgs(process.argv.slice(2))));
}
