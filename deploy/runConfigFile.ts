/**
 * The stack config file a deploy run uses: the committed `Pulumi.<stack>.yaml`
 * (infrastructure config, reviewed in pull requests) plus this run's model
 * keys, written to a separate file that `pulumi up --config-file` reads. The
 * committed file is never edited, so git and the training runs never fight.
 */
import { isMap, parseDocument } from "yaml";
import { RunConfig } from "./options";

/**
 * `stackFileText` (the committed stack file, or undefined when the stack has
 * none) with the run's keys set under `project:`. Everything else, secure
 * values and the secrets provider's salt included, is kept as written.
 */
export function runConfigFileText(stackFileText: string | undefined, project: string, run: RunConfig): string {
    const text = stackFileText !== undefined && stackFileText.trim() !== "" ? stackFileText : "{}\n";
    const document = parseDocument(text);
    if (document.errors.length > 0) {
        throw new Error(`the stack file is not valid YAML: ${document.errors[0].message}`);
    }
    if (!isMap(document.contents)) {
        throw new Error("the stack file is not a YAML map (config: ...)");
    }
    if (!document.has("config")) {
        document.set("config", document.createNode({}));
    }
    for (const [key, value] of Object.entries(run)) {
        document.setIn(["config", `${project}:${key}`], Array.isArray(value) ? [...value] : value);
    }
    return document.toString();
}
