/**
 * The layout's rules, checked on the sources: no import cycle between
 * modules, each group imports only the groups below it (config/ at the
 * bottom, the wiring and index.ts at the top), and across groups only
 * through the group's index.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const root = path.resolve(__dirname, "..", "..", "..");

/** The groups a module of each group may import (besides its own group). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
    config: [],
    store: ["config"],
    torchserve: ["config", "store"],
    kubernetes: ["config", "torchserve"],
    cli: ["config", "store"],
    wiring: ["config", "store", "torchserve", "kubernetes", "cli"],
    program: ["config", "wiring"],
};

function sources(): string[] {
    const files = ["index.ts"];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(file);
            } else if (file.endsWith(".ts")) {
                files.push(file);
            }
        }
    };
    walk("components");
    return files.sort();
}

/** Project-relative module paths (without .ts) that `file` imports, type-only imports included. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const specifiers = [
        ...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)"(\.{1,2}\/[^"]+)"/gm),
    ].map((m) => m[1]);
    return specifiers.map((spec) => {
        const target = path.join(path.dirname(file), spec);
        return fs.existsSync(path.join(root, `${target}.ts`)) ? target : path.join(target, "index");
    });
}

function groupOf(module: string): string {
    if (module === "index") {
        return "program";
    }
    if (module === path.join("components", "torchServeStack")) {
        return "wiring";
    }
    return module.split(path.sep)[1];
}

const graph = new Map(sources().map((file) => [file.replace(/\.ts$/, ""), importsOf(file)]));

describe("layering", () => {
    it("knows every group", () => {
        for (const module of graph.keys()) {
            assert.ok(groupOf(module) in ALLOWED, `${module} is in no known group`);
        }
    });

    it("has no import cycle", () => {
        const state = new Map<string, "visiting" | "done">();
        const visit = (module: string, trail: string[]) => {
            if (state.get(module) === "done") {
                return;
            }
            assert.notEqual(state.get(module), "visiting", `cycle: ${[...trail, module].join(" -> ")}`);
            state.set(module, "visiting");
            for (const next of graph.get(module) ?? []) {
                visit(next, [...trail, module]);
            }
            state.set(module, "done");
        };
        for (const module of graph.keys()) {
            visit(module, []);
        }
    });

    it("imports only from its own group and the groups below it, across groups only through their index", () => {
        const wrong: string[] = [];
        for (const [module, targets] of graph) {
            const group = groupOf(module);
            for (const target of targets) {
                const targetGroup = groupOf(target);
                if (targetGroup === group) {
                    continue;
                }
                if (!ALLOWED[group].includes(targetGroup)) {
                    wrong.push(`${module} -> ${target} (${group} may not import ${targetGroup})`);
                } else if (
                    target.startsWith("components") &&
                    targetGroup !== "wiring" &&
                    path.basename(target) !== "index"
                ) {
                    wrong.push(`${module} -> ${target} (import ${targetGroup}/ through its index)`);
                }
            }
        }
        assert.deepEqual(wrong, []);
    });
});
