/**
 * The stack config file a deploy run uses: the committed `Pulumi.<stack>.yaml`
 * (infrastructure config, reviewed in pull requests) plus this run's model
 * keys, written to a separate file that `pulumi up --config-file` reads. The
 * committed file is never edited, so git and the training runs never fight.
 */
import { isMap, parseDocument } from "yaml";
import { RunConfig, UsageError } from "./options";

/**
 * `stackFileText` (the committed stack file, or undefined when the stack has
 * none) with the run's keys set under `project:`. Everything else, secure
 * values and the secrets provider's salt included, is kept as written.
 * A file that cannot be read as a stack file is bad input ({@link UsageError},
 * naming `stackFile`, the file's path): nothing runs.
 */
export function runConfigFileText(
    stackFileText: string | undefined,
    project: string,
    run: RunConfig,
    stackFile = "the stack file",
): string {
    const text = stackFileText !== undefined && stackFileText.trim() !== "" ? stackFileText : "{}\n";
    const document = parseDocument(text);
    if (document.errors.length > 0) {
        // The parser's message names the line and column and quotes the line: no config value beyond it.
        throw new UsageError(
            `${stackFile} is not valid YAML: ${document.errors[0].message.trim()}\n` +
                "Fix the file (e.g. a merge left it broken) and run again; nothing was deployed.",
        );
    }
    if (!isMap(document.contents)) {
        throw new UsageError(`${stackFile} is not a YAML map (config: ...); nothing was deployed.`);
    }
    if (!document.has("config")) {
        document.set("config", document.createNode({}));
    }
    for (const [key, value] of Object.entries(run)) {
        document.setIn(["config", `${project}:${key}`], Array.isArray(value) ? [...value] : value);
    }
    return document.toString();
}
