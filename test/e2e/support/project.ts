/**
 * A throwaway copy of this Pulumi project (Pulumi.yaml, package.json, the
 * compiled bin/ and a node_modules link), so stacks and their config files
 * never touch the repository, and helpers to drive its stacks with the
 * real Pulumi CLI. `source` is the checkout to copy: this one, or another
 * build of the project (the upgrade test's earlier commit).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { tempDir } from "../../support/tempDir";
import { REPO } from "./environment";
import { RunResult, run, runOk } from "./run";

export class PulumiProject {
    readonly dir: string;

    constructor(
        private readonly env: NodeJS.ProcessEnv,
        source = REPO,
    ) {
        this.dir = tempDir("e2e-project-");
        for (const file of ["Pulumi.yaml", "package.json"]) {
            fs.copyFileSync(path.join(source, file), path.join(this.dir, file));
        }
        fs.cpSync(path.join(source, "bin"), path.join(this.dir, "bin"), { recursive: true });
        fs.symlinkSync(path.join(source, "node_modules"), path.join(this.dir, "node_modules"));
    }

    /** The stack's config file (Pulumi.<stack>.yaml), e.g. to hand a stack to another checkout. */
    stackFile(stack: string): string {
        return path.join(this.dir, `Pulumi.${stack}.yaml`);
    }

    pulumi(args: readonly string[], timeoutMs = 15 * 60_000): Promise<RunResult> {
        return run("pulumi", [...args, "--non-interactive"], { cwd: this.dir, env: this.env, timeoutMs });
    }

    /** Creates a stack and writes its config (keys without the project prefix). */
    async initStack(stack: string, config: Record<string, unknown>): Promise<void> {
        await runOk("pulumi", ["stack", "init", stack, "--non-interactive"], { cwd: this.dir, env: this.env });
        await this.setConfig(stack, config);
    }

    /** Replaces or adds config keys of a stack (undefined removes a key). */
    async setConfig(stack: string, config: Record<string, unknown>): Promise<void> {
        const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
        const document = (fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8")) : {}) ?? {};
        document.config = document.config ?? {};
        for (const [key, value] of Object.entries(config)) {
            if (value === undefined) {
                delete document.config[`torchserve-stack:${key}`];
            } else {
                document.config[`torchserve-stack:${key}`] = value;
            }
        }
        fs.writeFileSync(file, stringify(document));
    }

    /** Replaces all of this project's config keys of a stack (others, and the secrets salt, stay). */
    async replaceConfig(stack: string, config: Record<string, unknown>): Promise<void> {
        const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
        const document = (fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8")) : {}) ?? {};
        document.config = Object.fromEntries(
            Object.entries(document.config ?? {}).filter(([key]) => !key.startsWith("torchserve-stack:")),
        );
        fs.writeFileSync(file, stringify(document));
        await this.setConfig(stack, config);
    }

    up(stack: string, extra: readonly string[] = []): Promise<RunResult> {
        return this.pulumi(["up", "--stack", stack, "--yes", "--skip-preview", ...extra]);
    }

    preview(stack: string, extra: readonly string[] = []): Promise<RunResult> {
        return this.pulumi(["preview", "--stack", stack, "--diff", ...extra]);
    }

    destroy(stack: string): Promise<RunResult> {
        return this.pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"]);
    }

    async outputs(stack: string): Promise<Record<string, unknown>> {
        const result = await runOk("pulumi", ["stack", "output", "--json", "--stack", stack], {
            cwd: this.dir,
            env: this.env,
        });
        return JSON.parse(result.stdout) as Record<string, unknown>;
    }
}
