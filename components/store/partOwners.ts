/**
 * Who owns which part of the store, around one part: the owner records of
 * its ancestors (parts it would lie inside), its own, and its descendants'
 * (parts it would contain). Two stacks must never share a part, and neither
 * may lie inside the other's: the pods of the outer stack would see the inner
 * one's directory, and each stack's rotation would move the other's entries
 * (a part inside `prod/torchserve/backup` serves that stack's rotated-out
 * versions). Read by the archive and rotate steps under the part's lock, and
 * by the program at preview wherever the store is mounted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigProblem, setCommand } from "../config";
import { MANIFEST_PATH } from "./archiveNames";
import { storeLayout } from "./storeLayout";

/** The stack that owns a part of the store. */
export interface StoreOwner {
    /** `<organization>/<project>/<stack>`: unique per state backend. */
    readonly stack: string;
    /** Namespace and app name, for messages. */
    readonly namespace: string;
    readonly appName: string;
}

/** Another stack's part that is this part, lies around it or inside it. */
export interface PartConflict {
    /** `same`: the same part; `inside`: this part lies inside the other's; `contains`: the other's lies inside this. */
    readonly relation: "same" | "inside" | "contains";
    /** The other part's `modelStoreSubdir`. */
    readonly subdir: string;
    readonly owner: StoreOwner;
}

/** The longest `modelStoreSubdir` (see config's `isStoreSubdir`): no part lies deeper. */
const MAX_SUBDIR_LENGTH = 200;

/** The parts a part lies inside: `a` and `a/b` for `a/b/c`. */
export function ancestorSubdirs(subdir: string): string[] {
    const segments = subdir.split("/");
    return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

/** The owner record of the part at `subdir`, or undefined when it has none. */
export function readOwner(root: string, subdir: string): StoreOwner | undefined {
    const file = storeLayout(root, subdir).ownerFile;
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") {
            return undefined;
        }
        throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    try {
        return JSON.parse(text) as StoreOwner;
    } catch (error) {
        throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
}

/**
 * The owner records at, around and inside the part `subdir` of the store at
 * `root`. Inside, only directories a part can be are searched (names a
 * `modelStoreSubdir` segment may have, no links, no model directories, no
 * deeper than a `modelStoreSubdir` goes), so a part full of versions and
 * backups is cheap to search.
 */
export function ownersAround(root: string, subdir: string): Omit<PartConflict, "relation">[] {
    const found: Omit<PartConflict, "relation">[] = [];
    for (const at of [...ancestorSubdirs(subdir), subdir]) {
        const owner = readOwner(root, at);
        if (owner) {
            found.push({ subdir: at, owner });
        }
    }
    const search = (at: string) => {
        let names: string[];
        try {
            names = fs.readdirSync(path.join(root, at));
        } catch {
            return;
        }
        for (const name of names) {
            const inner = `${at}/${name}`;
            if (!/^[a-z0-9_.-]+$/.test(name) || name.startsWith(".") || inner.length > MAX_SUBDIR_LENGTH) {
                continue;
            }
            const dir = path.join(root, inner);
            if (!isPlainDirectory(dir) || fs.existsSync(path.join(dir, MANIFEST_PATH))) {
                continue;
            }
            const owner = readOwner(root, inner);
            if (owner) {
                found.push({ subdir: inner, owner });
            }
            search(inner);
        }
    };
    search(subdir);
    return found;
}

/** Other stacks' parts that are, contain or lie inside the part `subdir` (a stack's own old parts do not count). */
export function partConflicts(root: string, subdir: string, owner: StoreOwner): PartConflict[] {
    return ownersAround(root, subdir)
        .filter((found) => found.owner.stack !== owner.stack)
        .map((found) => ({
            ...found,
            relation: found.subdir === subdir ? "same" : subdir.startsWith(`${found.subdir}/`) ? "inside" : "contains",
        }));
}

/** The problem a conflict makes for `modelStoreSubdir`, with the other stack and the fix. */
export function partConflictProblem(subdir: string, conflict: PartConflict): ConfigProblem {
    const { stack, namespace, appName } = conflict.owner;
    const other = `stack ${stack} (namespace ${namespace}, app ${appName})`;
    const where = {
        same: `is the part of the model store that belongs to ${other}`,
        inside: `lies inside ${conflict.subdir}, the part of the model store that belongs to ${other}`,
        contains: `contains ${conflict.subdir}, the part of the model store that belongs to ${other}`,
    }[conflict.relation];
    return {
        key: "modelStoreSubdir",
        value: subdir,
        problem:
            `${where}: two stacks must not share a part, nor hold one inside the other (the pods would load the ` +
            "other's entries, and each stack's rotation would move the other's)",
        fix:
            "give this stack a part of its own, neither inside nor around another stack's: " +
            `${setCommand("modelStoreSubdir", "<namespace>/<appName>")} (a directory beside ${conflict.subdir}, ` +
            "not in it nor above it)",
    };
}

/**
 * What stops a run from using the part `subdir`, when this machine sees the
 * store (`root` exists); nothing otherwise (a pull request's runner has no
 * store: the archive step checks again where it runs).
 */
export function storePartProblems(root: string | undefined, subdir: string, owner: StoreOwner): ConfigProblem[] {
    if (root === undefined || !fs.existsSync(root)) {
        return [];
    }
    return partConflicts(root, subdir, owner).map((conflict) => partConflictProblem(subdir, conflict));
}

function isPlainDirectory(dir: string): boolean {
    try {
        return fs.lstatSync(dir).isDirectory();
    } catch {
        return false;
    }
}
