/**
 * The object that holds config.properties: an immutable, auto-named
 * ConfigMap, or, when the rendered file holds a value set as a secret
 * (`pulumi config set --secret --path 'extraProperties.…'`), an immutable,
 * auto-named Secret whose data the program marks secret (so the state holds
 * it encrypted). A stack without secrets keeps its ConfigMap.
 */
import { Settings } from "../config";
import { CONFIG_FILE_NAME } from "../torchserve";

export type ConfigObjectKind = "ConfigMap" | "Secret";

/** Which kind of object holds config.properties for these settings. */
export function configObjectKind(settings: Pick<Settings, "secretConfig">): ConfigObjectKind {
    return settings.secretConfig ? "Secret" : "ConfigMap";
}

/** The object's data: the rendered file under its name (the Secret's `stringData`, the ConfigMap's `data`). */
export function configObjectData(configProperties: string): Record<string, string> {
    return { [CONFIG_FILE_NAME]: configProperties };
}
