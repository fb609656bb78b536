/**
 * Where relative paths in stack config start, and how they reach the archive
 * and rotation commands.
 *
 * Users write paths relative to the project directory (where Pulumi.yaml is).
 * The engine runs the program and the providers (so the commands too) in the
 * program's directory, which is `bin/` here (Pulumi.yaml `main: bin/index.js`).
 * Config paths are therefore rebased from the project directory onto that
 * working directory, and stay relative: an absolute path would differ between
 * checkouts and show as a change in every preview.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ModelSettings, isHandlerFile } from "../config";

const PROJECT_FILES = ["Pulumi.yaml", "Pulumi.yml"];

/** The nearest directory at or above `start` that holds Pulumi.yaml; `start` itself when there is none. */
export function findProjectDir(start: string, exists: (file: string) => boolean = fs.existsSync): string {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
        if (PROJECT_FILES.some((file) => exists(path.join(dir, file)))) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            return path.resolve(start);
        }
    }
}

/** `file` as the user meant it: absolute as given, else relative to the project directory. */
export function resolveFromProject(projectDir: string, file: string): string {
    return path.resolve(projectDir, file);
}

/** `file` (absolute, or relative to `projectDir`) as a path relative to `workDir`; absolute paths stay absolute. */
export function rebase(file: string, projectDir: string, workDir: string): string {
    if (path.isAbsolute(file)) {
        return file;
    }
    return path.relative(workDir, path.resolve(projectDir, file)) || ".";
}

/** The model's files, store and archiver path with relative paths rebased from `projectDir` onto `workDir`. */
export function rebaseModelPaths(model: ModelSettings, projectDir: string, workDir: string): ModelSettings {
    const move = (file: string) => rebase(file, projectDir, workDir);
    const artifacts = model.artifacts;
    return {
        ...model,
        artifacts: artifacts && {
            serializedFile: move(artifacts.serializedFile),
            handler: isHandlerFile(artifacts.handler) ? move(artifacts.handler) : artifacts.handler,
            extraFiles: artifacts.extraFiles.map(move),
            requirementsFile: artifacts.requirementsFile === undefined ? undefined : move(artifacts.requirementsFile),
        },
        storePath: model.storePath === undefined ? undefined : move(model.storePath),
        // A bare name is looked up on PATH; only a path is rebased.
        archiverCommand: model.archiverCommand.includes("/") ? move(model.archiverCommand) : model.archiverCommand,
    };
}
