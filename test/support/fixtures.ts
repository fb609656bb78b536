/** Valid stack args over real temporary model files, for tests to vary one key at a time. */
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./tempDir";
import { FileChecks, TorchServeStackArgs } from "../../components/config";
import { isRegularFile } from "../../components/store";

/** A temporary directory with model artifacts and an empty store path. */
export function makeModelDir(prefix = "tsstack-"): { dir: string; store: string; args: TorchServeStackArgs } {
    const dir = tempDir(prefix);
    fs.writeFileSync(path.join(dir, "model.pt"), "weights-v1");
    fs.writeFileSync(path.join(dir, "handler.py"), "# handler\n");
    fs.writeFileSync(path.join(dir, "labels.json"), '["a","b"]\n');
    fs.writeFileSync(path.join(dir, "requirements.txt"), "# none\n");
    const store = path.join(dir, "store");
    return {
        dir,
        store,
        args: {
            namespace: "ml-dev",
            modelName: "demo",
            serializedFile: path.join(dir, "model.pt"),
            handler: path.join(dir, "handler.py"),
            extraFiles: [path.join(dir, "labels.json")],
            modelStorePath: store,
        },
    };
}

/** File checks against the real file system. */
export const realFiles: FileChecks = { isFile: isRegularFile };
