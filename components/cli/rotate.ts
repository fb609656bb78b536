/**
 * The rotation step, run by `pulumi up` after the new version rolled out, in
 * the stack's part of the model store, holding its lock: keeps the versions
 * the release plan keeps (the deployed one and the most recent successful
 * others) and moves this model's other archives to backup/. It never deletes,
 * never overwrites a backup, and never touches other files or other parts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
    BACKUP_DIR,
    RotationPlan,
    acquireLock,
    archiveFileName,
    backupFileName,
    claimOwnership,
    listArchiveVersions,
    planRotation,
    storeLayout,
} from "../store";
import { RotateSpec, parseRotateArgs } from "./commands";
import { onInterrupt, runStep, stepLogger } from "./step";

const log = stepLogger("rotate");

/** Applies the rotation plan to the stack's part of the store and returns it. */
export async function rotateStore(spec: RotateSpec): Promise<RotationPlan> {
    const layout = storeLayout(spec.store, spec.subdir);
    const current = path.join(layout.part, archiveFileName(spec.model, spec.keep[0]));
    if (!fs.existsSync(current)) {
        throw new Error(`the deployed archive ${current} is missing; refusing to rotate`);
    }
    const unlock = await acquireLock(layout.lockDir, "rotate");
    const forget = onInterrupt(unlock);
    try {
        claimOwnership(layout, spec.owner);
        const plan = planRotation(listArchiveVersions(layout.part, spec.model), spec.keep);
        if (plan.moveToBackup.length > 0) {
            fs.mkdirSync(layout.backup, { recursive: true });
            const taken = new Set(fs.readdirSync(layout.backup));
            for (const version of plan.moveToBackup) {
                const file = archiveFileName(spec.model, version);
                const destination = backupFileName(file, taken);
                fs.renameSync(path.join(layout.part, file), path.join(layout.backup, destination));
                taken.add(destination);
                log(`moved ${file} to ${BACKUP_DIR}/${destination}`);
            }
        }
        const kept = plan.keep.filter((v) => fs.existsSync(path.join(layout.part, archiveFileName(spec.model, v))));
        log(`kept ${kept.map((v) => archiveFileName(spec.model, v)).join(", ")}`);
        return plan;
    } finally {
        forget();
        unlock();
    }
}

if (require.main === module) {
    runStep("rotate", () => rotateStore(parseRotateArgs(process.argv.slice(2))));
}
