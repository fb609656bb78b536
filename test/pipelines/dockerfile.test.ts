/**
 * deployer/Dockerfile, checked statically (it cannot be built on this machine:
 * no registry, no container daemon): its versions against the repository's
 * pins, ARG scoping, a non-root user, the entrypoint the build produces, and a
 * build context that holds every COPY source.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DEPLOY_ENTRY } from "./support/deployContract";
import { Dockerfile, execForm, expand, parseCopy, parseDockerfile, Stage, stageVariables } from "./support/dockerfile";
import { packageJson, readRepoFile, repoFile, REPO, requirementPin, toolsPin } from "./support/repo";

const df: Dockerfile = parseDockerfile(readRepoFile("deployer", "Dockerfile"));
const finalStage: Stage = df.stages[df.stages.length - 1];
const buildStage: Stage = stageNamed("build");
const pkg = packageJson();

function stageNamed(name: string): Stage {
    const s = df.stages.find((st) => st.name === name);
    assert.ok(s, `no stage '${name}' in deployer/Dockerfile`);
    return s;
}

function runs(stage: Stage): string[] {
    return stage.instructions
        .filter((i) => i.keyword === "RUN")
        .map((i) => expand(i.args, stageVariables(df, stage, i.line)));
}

/** Lines of Dockerfile.dockerignore: ["*", "!package.json", ...]. */
function ignoreRules(): string[] {
    return readRepoFile("deployer", "Dockerfile.dockerignore")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"));
}

/** Is repo path `rel` in the build context (allowlist-style rules: "*" then "!path" / "!dir/")? */
function inContext(rel: string): boolean {
    let included = true;
    for (const rule of ignoreRules()) {
        const negated = rule.startsWith("!");
        const pattern = (negated ? rule.slice(1) : rule).replace(/\/$/, "");
        const re = new RegExp(
            "^" +
                pattern
                    .split("*")
                    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
                    .join("[^/]*") +
                "(/.*)?$",
        );
        if (re.test(rel)) included = negated;
    }
    return included;
}

describe("deployer/Dockerfile", () => {
    it("pins the Pulumi CLI, the providers, Node and the archiver at the repository's versions", () => {
        const a = df.globalArgs;
        assert.equal(a.PULUMI_VERSION, toolsPin("PULUMI_VERSION").replace(/^v/, ""), "scripts/tools.sh PULUMI_VERSION");
        assert.equal(a.PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"], "package.json @pulumi/pulumi");
        assert.equal(
            a.KUBERNETES_PROVIDER_VERSION,
            toolsPin("K8S_PROVIDER_VERSION"),
            "scripts/tools.sh K8S_PROVIDER_VERSION",
        );
        assert.equal(
            a.KUBERNETES_PROVIDER_VERSION,
            pkg.dependencies["@pulumi/kubernetes"],
            "package.json @pulumi/kubernetes",
        );
        assert.equal(
            a.COMMAND_PROVIDER_VERSION,
            toolsPin("COMMAND_PROVIDER_VERSION"),
            "scripts/tools.sh COMMAND_PROVIDER_VERSION",
        );
        assert.equal(a.COMMAND_PROVIDER_VERSION, pkg.dependencies["@pulumi/command"], "package.json @pulumi/command");
        assert.equal(a.NODE_MAJOR, toolsPin("NODE_MAJOR"), "scripts/tools.sh NODE_MAJOR");
        assert.equal(pkg.engines.node, `>=${a.NODE_MAJOR}`, "package.json engines.node");
        assert.equal(
            a.TORCH_MODEL_ARCHIVER_VERSION,
            requirementPin("scripts/requirements-serve.txt", "torch-model-archiver"),
        );
        assert.equal(a.ENUM_COMPAT_VERSION, requirementPin("scripts/requirements-serve.txt", "enum-compat"));
    });

    it("builds FROM tagged images of those versions, never latest", () => {
        const froms = df.stages.map((s) => expand(s.from, df.globalArgs));
        assert.deepEqual(froms, [
            `pulumi/pulumi-base:${df.globalArgs.PULUMI_VERSION}`,
            `node:${df.globalArgs.NODE_MAJOR}-bookworm-slim`,
            `node:${df.globalArgs.NODE_MAJOR}-bookworm-slim`,
        ]);
        for (const f of froms) assert.match(f, /^[^:]+:(?!latest$)[\w.-]+$/, f);
    });

    it("declares in each stage every ARG its instructions use (a global ARG is not visible inside a stage otherwise)", () => {
        for (const stage of df.stages) {
            for (const ins of stage.instructions) {
                const vars = stageVariables(df, stage, ins.line);
                for (const m of ins.args.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
                    const known = m[1] in vars || m[1] === "PATH";
                    assert.ok(
                        known,
                        `line ${ins.line}: \${${m[1]}} is not declared in stage ${stage.name ?? stage.index}`,
                    );
                }
            }
        }
    });

    it("installs both providers with `pulumi plugin install` at their versions, as the runtime user", () => {
        const userLine = finalStage.instructions.find((i) => i.keyword === "USER")!.line;
        const install = finalStage.instructions.find(
            (i) => i.keyword === "RUN" && i.args.includes("pulumi plugin install"),
        );
        assert.ok(install, "no RUN pulumi plugin install in the final stage");
        assert.ok(install.line > userLine, "plugins must be installed after USER, into that user's PULUMI_HOME");
        const cmd = expand(install.args, stageVariables(df, finalStage, install.line));
        assert.match(
            cmd,
            new RegExp(`pulumi plugin install resource kubernetes "?${pkg.dependencies["@pulumi/kubernetes"]}"?`),
        );
        assert.match(
            cmd,
            new RegExp(`pulumi plugin install resource command "?${pkg.dependencies["@pulumi/command"]}"?`),
        );
        const env = stageVariables(df, finalStage);
        assert.equal(env.PULUMI_HOME, "/home/node/.pulumi");
        assert.equal(
            env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION,
            "true",
            "a deploy must never fetch another provider version",
        );
        assert.equal(env.PULUMI_SKIP_UPDATE_CHECK, "true");
    });

    it("installs the pinned archiver into a venv on PATH and checks that it starts", () => {
        const run = runs(finalStage).find((r) => r.includes("torch-model-archiver=="));
        assert.ok(run, "no pip install of torch-model-archiver");
        assert.match(run, new RegExp(`"torch-model-archiver==${df.globalArgs.TORCH_MODEL_ARCHIVER_VERSION}"`));
        assert.match(run, new RegExp(`"enum-compat==${df.globalArgs.ENUM_COMPAT_VERSION}"`));
        assert.match(run, /\/opt\/archiver\/bin\/torch-model-archiver --help/);
        assert.match(stageVariables(df, finalStage).PATH ?? "", /^\/opt\/archiver\/bin:/);
    });

    it("copies the CLI and the Node language host from the Pulumi image", () => {
        const copies = finalStage.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args));
        const fromPulumi = copies.filter((c) => c.flags.from === "pulumi");
        assert.deepEqual(
            fromPulumi.flatMap((c) => c.sources),
            ["/pulumi/bin/pulumi", "/pulumi/bin/pulumi-language-nodejs"],
        );
        assert.deepEqual(
            fromPulumi.map((c) => c.dest),
            ["/usr/local/bin/"],
        );
    });

    it("builds with npm ci and npm run build, checks the entrypoint was built, and keeps runtime dependencies only", () => {
        const r = runs(buildStage);
        assert.ok(
            r.some((x) => /^npm ci --ignore-scripts\b/.test(x)),
            "npm ci --ignore-scripts",
        );
        const build = r.find((x) => x.startsWith("npm run build"));
        assert.ok(build, "npm run build");
        assert.match(build, new RegExp(`test -f ${DEPLOY_ENTRY.replace(/\./g, "\\.")}`));
        assert.match(build, /npm prune --omit=dev/);
        assert.equal(pkg.scripts.build, "tsc -p tsconfig.json");
    });

    it("runs as a non-root user and starts the deploy command", () => {
        const users = finalStage.instructions.filter((i) => i.keyword === "USER");
        assert.equal(users.length, 1);
        const [uid, gid] = users[0].args.split(":");
        assert.match(uid, /^[1-9][0-9]*$/, "a numeric non-zero uid, so runAsNonRoot can verify it");
        assert.match(gid, /^[1-9][0-9]*$/);
        const last = finalStage.instructions[finalStage.instructions.length - 1];
        assert.equal(last.keyword, "ENTRYPOINT");
        assert.ok(users[0].line < last.line);
        assert.deepEqual(execForm(last.args), ["node", `/app/${DEPLOY_ENTRY}`]);
        const workdir = finalStage.instructions.filter((i) => i.keyword === "WORKDIR").pop();
        assert.equal(workdir?.args, "/app", "the project directory (Pulumi.yaml) is /app");
    });

    it("finds every COPY source: in the build context, or made by the build stage", () => {
        for (const stage of df.stages) {
            for (const ins of stage.instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
                assert.equal(ins.keyword, "COPY", `line ${ins.line}: use COPY, not ADD`);
                const { flags, sources } = parseCopy(ins.args);
                if (flags.from === "pulumi") continue; // the official image's files, checked above
                for (const src of sources) {
                    if (flags.from === "build") {
                        const rel = path.posix.relative("/src", src);
                        if (rel === "bin" || rel === "node_modules") continue; // made by npm run build / npm ci
                        const matches = fs
                            .readdirSync(REPO)
                            .filter((f) =>
                                new RegExp("^" + rel.replace(/\./g, "\\.").replace(/\*/g, "[^/]*") + "$").test(f),
                            );
                        assert.ok(matches.length > 0, `line ${ins.line}: ${src} matches nothing in the repository`);
                        for (const f of matches)
                            assert.ok(inContext(f), `line ${ins.line}: ${f} is excluded by Dockerfile.dockerignore`);
                    } else if (src === ".") {
                        assert.equal(ignoreRules()[0], "*", "COPY . . relies on an allowlist context (first rule '*')");
                    } else {
                        assert.ok(fs.existsSync(repoFile(src)), `line ${ins.line}: ${src} does not exist`);
                        assert.ok(inContext(src), `line ${ins.line}: ${src} is excluded by Dockerfile.dockerignore`);
                    }
                }
            }
        }
    });

    it("puts the program's sources in the build context and nothing else", () => {
        for (const f of [
            "package.json",
            "package-lock.json",
            "tsconfig.json",
            "Pulumi.yaml",
            "index.ts",
            "components/torchServeStack.ts",
            "deploy/main.ts",
        ]) {
            assert.ok(inContext(f), `${f} must be in the build context`);
        }
        for (const f of [
            "node_modules/x",
            "bin/index.js",
            ".git/HEAD",
            "test/unit/x.ts",
            ".dev/model/model.pt",
            "pipelines/kubeflow/sample_pipeline.py",
        ]) {
            assert.ok(!inContext(f), `${f} must not be in the build context`);
        }
        for (const rule of ignoreRules().filter((r) => r.startsWith("!") && !r.includes("*"))) {
            const rel = rule.slice(1).replace(/\/$/, "");
            if (rel === "deploy") continue; // the deploy entry point's sources: next test
            assert.ok(fs.existsSync(repoFile(rel)), `Dockerfile.dockerignore lets in ${rel}, which does not exist`);
        }
    });

    it(`finds the entrypoint ${DEPLOY_ENTRY} after npm run build`, (t) => {
        if (!fs.existsSync(repoFile("deploy", "main.ts"))) {
            t.skip("deploy/main.ts (the deploy entry point) is not in this tree yet");
            return;
        }
        assert.ok(
            fs.existsSync(repoFile(DEPLOY_ENTRY)),
            `${DEPLOY_ENTRY} missing: is deploy/ in tsconfig.json's include?`,
        );
    });
});
