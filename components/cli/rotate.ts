/**
 * The rotation step, run by `pulumi up` after the new version rolled out:
 * keeps the deployed archive and the most recently deployed others, `keep`
 * in all, and moves older archives of this model to backup/. It never
 * deletes, never overwrites a backup, and never touches other files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { RotateSpec } from "./commands";
import { BACKUP_DIR, RotationPlan, archiveFileName, backupFileName, listArchives, planRotation } from "../store";
import { runStep, stepLogger } from "./step";

const log = stepLogger("rotate");

function parseSpec(argv: string[]): RotateSpec {
    const { values } = parseArgs({
        args: argv,
        options: {
            store: { type: "string" },
            model: { type: "string" },
            current: { type: "string" },
            keep: { type: "string" },
        },
        strict: true,
    });
    const keep = Number(values.keep);
    if (!values.store || !values.model || !values.current || !Number.isInteger(keep) || keep < 1) {
        throw new Error("usage: rotate --store DIR --model NAME --current VERSION --keep N (N >= 1)");
    }
    return { store: values.store, model: values.model, current: values.current, keep };
}

/** Applies the rotation plan to the store and returns it. */
export function rotateStore(spec: RotateSpec): RotationPlan {
    const current = path.join(spec.store, archiveFileName(spec.model, spec.current));
    if (!fs.existsSync(current)) {
        throw new Error(`the deployed archive ${current} is missing; refusing to rotate`);
    }
    const plan = planRotation(listArchives(spec.store, spec.model), spec.current, spec.keep);
    if (plan.moveToBackup.length > 0) {
        const backup = path.join(spec.store, BACKUP_DIR);
        fs.mkdirSync(backup, { recursive: true });
        const taken = new Set(fs.readdirSync(backup));
        for (const version of plan.moveToBackup) {
            const file = archiveFileName(spec.model, version);
            const destination = backupFileName(file, taken);
            fs.renameSync(path.join(spec.store, file), path.join(backup, destination));
            taken.add(destination);
            log(`moved ${file} to ${BACKUP_DIR}/${destination}`);
        }
    }
    log(`kept ${plan.keep.map((v) => archiveFileName(spec.model, v)).join(", ")}`);
    return plan;
}

if (require.main === module) {
    runStep("rotate", () => rotateStore(parseSpec(process.argv.slice(2))));
}
