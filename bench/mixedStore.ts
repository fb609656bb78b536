/**
 * serve-mixed: one model with an existing `.mar` version and a new version
 * published as a directory, loaded together (a store that predates a
 * directory default). The program's rendered config with the directory named
 * for the new version only; the pod emulation on loopback (no limits needed:
 * this checks behaviour, not cost). Prints what each URL answers and what
 * TorchServe put in its temp dir.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderConfigProperties } from "../components/torchserve";
import { loopbackPortArgs } from "../test/serve/support/server";
import { BenchStore } from "./support/cases";
import { publishVersion } from "./support/formats";
import { duBytes } from "./support/host";
import { startLikePod } from "./support/loopback";
import { formatBytes, parseSizes, sameAnswer } from "./support/models";

export async function benchMixedStore(venv: string, work: string): Promise<string[]> {
    const bench = new BenchStore(fs.mkdtempSync(path.join(work, "mixed-")), venv);
    const [size] = parseSizes("fixture");
    const model = "demo";
    await publishVersion("zip-store", { ...bench.archiveSpec(size, "zip-store", "v1"), model });
    await publishVersion("dir", { ...bench.archiveSpec(size, "dir", "v2"), model });
    const settings = bench.settings({ model, count: 2 }, await loopbackPortArgs());
    // The program's text for [v2, v1], with only v2 (the new version) named as a directory.
    const text = renderConfigProperties({
        modelName: model,
        versions: ["v2", "v1"],
        directories: ["v2"],
        server: settings.server,
        bindAddress: "127.0.0.1",
    });
    const { server, container, workdir } = startLikePod(venv, bench.store, settings, ["v2", "v1"], text, "mixed");
    const lines = [
        "**A store with an existing `.mar` version and a new directory version of one model** (loopback):",
        "",
        `- store: ${fs.readdirSync(bench.store).sort().join(", ")}`,
        `- ${text.split("\n").find((l) => l.startsWith("load_models="))}`,
    ];
    try {
        const seconds = await server.waitForProbe(container.readinessProbe.exec.command, 180);
        lines.push(`- the pod's readiness check passed after ${seconds.toFixed(1)} s`);
        for (const [url, version] of [
            [model, "v2"],
            [`${model}/v1`, "v1"],
            [`${model}/v2`, "v2"],
        ]) {
            const response = await fetch(`http://127.0.0.1:${settings.server.ports.inference}/predictions/${url}`, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ data: [1, 2, 3, 4] }),
            });
            const body = (await response.json()) as { version: string; output: number[] };
            const ok = body.version === version && sameAnswer(body.output, bench.files(size, version).check);
            lines.push(
                `- \`/predictions/${url}\`: ${response.status}, version ${body.version}, ${JSON.stringify(body.output)} ` +
                    `(${ok ? "right" : "WRONG"})`,
            );
        }
        const models = path.join(workdir, "tmp", "models");
        const entries = fs.readdirSync(models).map((uuid) => {
            const inside = fs.readdirSync(path.join(models, uuid));
            const link = path.join(models, uuid, inside[0]);
            return fs.lstatSync(link).isSymbolicLink()
                ? `a link ${inside[0]} -> ${path.relative(bench.store, fs.readlinkSync(link)) || "."} in the store`
                : `an unpacked copy (${inside.sort().join(", ")})`;
        });
        lines.push(
            `- temp dir: ${formatBytes(duBytes(path.join(workdir, "tmp")))}; models/ holds ${entries.join("; ")}`,
        );
    } finally {
        await server.stop();
        fs.rmSync(workdir, { recursive: true, force: true });
        fs.rmSync(bench.work, { recursive: true, force: true });
    }
    return [...lines, ""];
}
